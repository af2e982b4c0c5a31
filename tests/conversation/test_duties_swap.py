"""Conversation tests for direct swaps: offer, accept by command or ✅, decline, withdraw, lapse, privacy."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.test_duties_support import (ALICE, BOB, CAROL, DAVE, EN, ORGA, ROOM, advance_to,  # noqa: F401
                                                    duty_conv, local, minutes_duty, plan_rows, restart)


async def plan(conv, n: int = 4, room: str = ROOM, name: str = "Protokoll"):
    return plan_rows((await conv.reply(ORGA, f"!dienst plan {name} {n}", room)).body)


async def two_members(conv):
    """Alice and Bob alternate on Tuesdays; returns (holder of 24.11., holder of 1.12., the plan)."""
    await minutes_duty(conv, members=(ALICE, BOB))
    rows = await plan(conv)
    first, second = rows[0][1][0], rows[1][1][0]
    assert {first, second} == {ALICE, BOB} and rows[2][1] == (first,)
    return first, second, rows


async def holders(conv) -> list[tuple]:
    """Who holds the planned turns, in date order (for rooms whose plan is not in German)."""
    return [tuple(r) for r in await conv.app.db.fetchall(
        "SELECT user_id FROM duty_turns WHERE status IN ('assigned', 'taken', 'done') ORDER BY occurrence")]


def react(conv, sender: str, target: str, key: str = "✅"):
    return conv.event(sender, "", ROOM, type="m.reaction",
                      content={"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})


async def swap_rows(conv) -> list[tuple]:
    return [tuple(r) for r in await conv.app.db.fetchall(
        "SELECT occurrence, user_id, status, kind FROM duty_turns WHERE kind = 'swap' OR status = 'swapped'"
        " ORDER BY id")]


async def test_swap_offered_and_accepted_by_command(duty_conv):
    a, b, rows = await two_members(duty_conv)
    offer = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    assert offer.body == (f"🔁 {b}: {a} möchte bei Protokoll mit dir tauschen (Tausch #1) – du übernimmst "
                          f"Di 24.11. 18:00, {a} übernimmt dafür deinen Einsatz am Di 1.12. 18:00. Einverstanden? "
                          "Dann !dienst annehmen 1 oder ✅ auf diese Nachricht; sonst !dienst ablehnen 1. "
                          "Das Angebot gilt bis Di., 24. Nov. 2026, 18:00.")
    assert offer.mentions == [b] and f'href="https://matrix.to/#/{b}"' in offer.html
    assert await plan(duty_conv) == rows  # nothing moves before the other agrees

    wrong = await duty_conv.reply(CAROL, "!dienst annehmen 1", ROOM)
    assert wrong.body == f"Das Tauschangebot #1 ist an {b} gerichtet; nur diese Person kann es annehmen oder ablehnen."
    assert await plan(duty_conv) == rows

    accept = duty_conv.event(b, "!dienst annehmen", ROOM)
    sent = await duty_conv.deliver(accept)
    assert [s.body for s in sent] == [f"✅ Tausch #1 ist abgemacht, {a}: Protokoll am Di 24.11. 18:00 macht jetzt {b}, "
                                      "am Di 1.12. 18:00 machst du es. Danke euch!"]
    assert sent[0].mentions == [a] and sent[0].reply_to == accept.event_id
    after = await plan(duty_conv)
    assert after[0] == (rows[0][0], (b,)) and after[1] == (rows[1][0], (a,)) and after[2:] == rows[2:]

    assert await duty_conv.deliver(accept) == []  # the same event again (a replay) moves nothing
    again = await duty_conv.reply(b, "!dienst annehmen 1", ROOM)
    assert again.body == "Das Tauschangebot #1 ist schon angenommen."
    assert await plan(duty_conv) == after
    history = await swap_rows(duty_conv)  # who was planned stays, next to who does it now
    assert [(u, s) for _, u, s, _ in history] == [(a, "swapped"), (b, "swapped"), (b, "assigned"), (a, "assigned")]
    assert [k for *_, k in history][2:] == ["swap", "swap"]
    log = await duty_conv.app.db.fetchall("SELECT from_user, to_user FROM duty_overrides WHERE kind = 'swap'")
    assert [tuple(r) for r in log] == [(a, b), (b, a)]
    # a swapped 24.11. away because they cannot come: handing it back never returns it to them
    back = await duty_conv.reply(b, "!dienst abgeben Protokoll", ROOM)
    assert back.body.startswith("Für Protokoll am Di 24.11. 18:00 ist sonst niemand verfügbar")


async def test_swap_accepted_by_reaction_moves_the_turns_once(duty_conv):
    a, b, rows = await two_members(duty_conv)
    offer = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    assert await duty_conv.deliver(react(duty_conv, CAROL, offer.event_id)) == []  # not hers to accept
    assert await duty_conv.deliver(react(duty_conv, b, offer.event_id, "👀")) == []  # not a yes
    assert await plan(duty_conv) == rows

    sent = await duty_conv.deliver(react(duty_conv, b, offer.event_id, "✅\ufe0f"))
    assert len(sent) == 1 and sent[0].room_id == ROOM and sent[0].reply_to == offer.event_id
    assert sent[0].body.startswith(f"✅ Tausch #1 ist abgemacht, {a}:") and sent[0].mentions == [a]
    # ✅ and the command together, and a second ✅: still one swap
    late = await duty_conv.reply(b, "!dienst annehmen 1", ROOM)
    assert late.body == "Das Tauschangebot #1 ist schon angenommen."
    assert await duty_conv.deliver(react(duty_conv, b, offer.event_id, "✔️")) == []
    assert len(await swap_rows(duty_conv)) == 4
    after = await plan(duty_conv)
    assert after[0][1] == (b,) and after[1][1] == (a,) and after[2:] == rows[2:]

    # the slot's reminder goes to whoever holds the turn now
    sent = await advance_to(duty_conv, local(2026, 11, 23, 18))
    reminders = [s for s in sent if s.body.startswith("⏰")]
    assert len(reminders) == 1 and reminders[0].mentions == [b]


async def test_swap_declined_and_withdrawn(duty_conv):
    a, b, rows = await two_members(duty_conv)
    await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    no = await duty_conv.reply(b, "!dienst ablehnen 1", ROOM)
    assert no.body == f"{a}: {b} hat den Tausch #1 abgelehnt. Protokoll am Di 24.11. 18:00 bleibt bei dir."
    assert no.mentions == [a]
    assert (await duty_conv.reply(b, "!dienst annehmen 1", ROOM)).body == "Das Tauschangebot #1 ist schon abgelehnt."
    assert (await duty_conv.reply(b, "!dienst annehmen", ROOM)).body == "Gerade hat dir niemand einen Tausch angeboten."
    assert await plan(duty_conv) == rows

    second = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    assert "(Tausch #2)" in second.body
    twice = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {CAROL}", ROOM)
    assert twice.body == ("Für deinen Einsatz am Di 24.11. 18:00 läuft schon das Tauschangebot #2. Zurückziehen geht "
                          "mit !dienst zurückziehen 2.")
    assert (await duty_conv.reply(b, "!dienst zurückziehen 2", ROOM)).body == (
        f"Das Tauschangebot #2 hat {a} gemacht; nur diese Person kann es zurückziehen.")
    gone = await duty_conv.reply(a, "!dienst zurückziehen", ROOM)
    assert gone.body == f"{a} hat das Tauschangebot #2 an {b} zurückgezogen." and gone.mentions == []
    assert (await duty_conv.reply(b, "!dienst annehmen 2", ROOM)).body == "Das Tauschangebot #2 ist schon zurückgezogen."
    assert await plan(duty_conv) == rows


async def test_swap_refused_when_the_other_is_away_or_not_here(duty_conv):
    a, b, rows = await two_members(duty_conv)
    await duty_conv.reply(CAROL, "!abwesend 23.11. 25.11.", ROOM)
    away = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {CAROL}", ROOM)
    assert away.body == f"{CAROL} hat sich für Di., 24. Nov. 2026 abwesend gemeldet."
    stranger = await duty_conv.reply(a, "!dienst tauschen Protokoll 24.11. @zoe:test", ROOM)
    assert stranger.body == ("@zoe:test ist nicht im Raum Ortsgruppe. Tauschen kannst du nur mit Leuten aus dem Raum "
                             "des Dienstes.")
    not_mine = await duty_conv.reply(b, f"!dienst tauschen Protokoll 24.11. {a}", ROOM)
    assert not_mine.body == ("Du hast bei Protokoll am Di., 24. Nov. 2026 keinen Einsatz. Deine nächsten: "
                             "Di 1.12. 18:00, Di 15.12. 18:00.")
    assert (await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {a}", ROOM)).body == (
        "Mit dir selbst kannst du nicht tauschen.")
    await duty_conv.reply(a, "!abwesend 1.12. 1.12.", ROOM)  # a cannot do b's next turn, but a later one
    mine_away = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    assert mine_away.body == (f"Du hast dich für Di., 1. Dez. 2026 abwesend gemeldet, den Einsatz von {b} an dem Tag "
                              "kannst du nicht übernehmen. Nenne mit „für <Datum>“ einen anderen.")
    later = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b} für 15.12.", ROOM)
    assert "deinen Einsatz am Di 15.12. 18:00" in later.body
    await duty_conv.reply(a, "!dienst zurückziehen 1", ROOM)
    await duty_conv.reply(a, "!abwesend löschen", ROOM)
    # away only after the offer: accepting is refused, the offer stays open
    await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {DAVE}", ROOM)
    await duty_conv.reply(DAVE, "!abwesend 24.11. 24.11.", ROOM)
    late = await duty_conv.reply(DAVE, "!dienst annehmen 2", ROOM)
    assert late.body.startswith("Du hast dich für Di., 24. Nov. 2026 abwesend gemeldet.")
    await duty_conv.reply(DAVE, "!abwesend löschen", ROOM)
    assert (await duty_conv.reply(DAVE, "!dienst annehmen 2", ROOM)).body.startswith("✅ Tausch #2 ist abgemacht")
    assert await swap_rows(duty_conv) and (await plan(duty_conv))[0][1] == (DAVE,)


async def test_handover_counts_for_whoever_did_the_turn(duty_conv):
    a, b, rows = await two_members(duty_conv)
    offer = await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {CAROL}", ROOM)  # Carol is not in the pool
    assert offer.body.startswith(f"🔁 {CAROL}: {a} fragt, ob du Protokoll am Di 24.11. 18:00 übernimmst (Tausch #1). "
                                 "Du hast bei Protokoll keinen Einsatz, also ist es eine Übergabe")
    sent = await duty_conv.deliver(react(duty_conv, CAROL, offer.event_id))
    assert [s.body for s in sent] == [f"✅ Tausch #1 ist abgemacht, {a}: {CAROL} übernimmt Protokoll am "
                                      "Di 24.11. 18:00, du bist frei. Danke!"]
    assert (await plan(duty_conv))[0][1] == (CAROL,)
    await advance_to(duty_conv, local(2026, 11, 24, 20))
    assert (await duty_conv.reply(CAROL, "!dienst erledigt Protokoll", ROOM)).body.startswith("Danke!")
    stats = await duty_conv.reply(ORGA, "!dienst statistik", ROOM)
    assert f"{CAROL:<11} | Protokoll | 1        | 1        |" in stats.body, stats.body
    assert f"{a:<11} | Protokoll | 0        | 0        |" in stats.body, stats.body


async def test_swap_names_the_other_turn_and_lapses(duty_conv):
    a, b, rows = await two_members(duty_conv)
    offer = await duty_conv.reply(a, f"!dienst tauschen Protokoll 8.12. {b} für 15.12.", ROOM)
    assert "du übernimmst Di 8.12. 18:00" in offer.body and "deinen Einsatz am Di 15.12. 18:00" in offer.body
    assert offer.body.endswith("Das Angebot gilt bis Di., 8. Dez. 2026, 18:00.")
    wrong_day = await duty_conv.reply(a, f"!dienst tauschen Protokoll 22.12. {b} für 29.11.", ROOM)
    assert wrong_day.body == (f"{b} hat bei Protokoll am So., 29. Nov. 2026 keinen Einsatz. Nächste Einsätze von {b}: "
                              "Di 1.12. 18:00, Di 15.12. 18:00.")
    sent = await advance_to(duty_conv, local(2026, 12, 8, 18))
    lapsed = [s for s in sent if s.body.startswith("⌛")]
    assert [s.body for s in lapsed] == [f"⌛ Das Tauschangebot #1 ist verfallen, niemand hat es angenommen. "
                                        f"Protokoll am Di 8.12. 18:00 bleibt bei {a}."]
    assert lapsed[0].reply_to == offer.event_id
    assert (await duty_conv.reply(b, "!dienst annehmen 1", ROOM)).body == "Das Tauschangebot #1 ist schon verfallen."
    assert not await swap_rows(duty_conv)


async def test_offer_void_when_the_plan_changed(duty_conv):
    a, b, rows = await two_members(duty_conv)
    await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {CAROL}", ROOM)
    await duty_conv.reply(DAVE, "!dienst übernehmen Protokoll 24.11.", ROOM)  # someone else took it meanwhile
    void = await duty_conv.reply(CAROL, "!dienst annehmen 1", ROOM)
    assert void.body.startswith("Das Tauschangebot #1 gilt nicht mehr")
    assert (await plan(duty_conv))[0][1] == (DAVE,) and not await swap_rows(duty_conv)


async def test_swap_in_english_with_a_pill(duty_conv):
    await duty_conv.reply(ORGA, "!room language en", EN)
    await duty_conv.reply(ORGA, "!duty create Minutes | every Tuesday 6pm", EN)
    for user in (ALICE, BOB):
        await duty_conv.reply(user, "!duty join Minutes", EN)
    await duty_conv.reply(ORGA, "!duty plan Minutes 4", EN)
    a, b = [u for u, in await holders(duty_conv)][:2]
    # Element puts the display name into the body and the id into the mentions
    offer = await duty_conv.reply(a, "!duty swap Minutes 2026-11-24 Bobby", EN, mentions=(b,))
    assert offer.body == (f"🔁 {b}: {a} would like to swap Minutes turns with you (swap #1) – you take "
                          f"Tue Nov 24, 6:00 PM, and {a} takes your turn on Tue Dec 1, 6:00 PM in return. "
                          "OK with you? Then !duty accept 1 or react ✅ to this message; otherwise !duty decline 1. "
                          "The offer stands until Tue, Nov 24, 2026, 6:00 PM.")
    assert offer.mentions == [b]
    wrong = await duty_conv.reply(ORGA, "!duty accept 1", EN)
    assert wrong.body == f"Swap offer #1 is addressed to {b}; only they can accept or decline it."
    done = await duty_conv.reply(b, "!duty accept 1", EN)
    assert done.body == (f"✅ Swap #1 is done, {a}: {b} now does Minutes on Tue Nov 24, 6:00 PM, and you do it on "
                         "Tue Dec 1, 6:00 PM. Thanks, both of you!")
    assert [u for u, in await holders(duty_conv)][:4] == [b, a, a, b]
    assert (await duty_conv.reply(b, "!duty accept 1", EN)).body == "Swap offer #1 is already closed (accepted)."
    second = await duty_conv.reply(b, f"!duty swap Minutes 2026-12-15 {a}", EN)
    assert (await duty_conv.reply(a, "!duty decline", EN)).body == (
        f"{b}: {a} declined swap #2. Minutes on Tue Dec 15, 6:00 PM stays with you.")
    assert "(swap #2)" in second.body
    away = await duty_conv.reply(b, "!duty swap Minutes 2026-12-15 @carol:test", EN)
    assert away.body == "@carol:test is not in English room. You can only swap with people in the duty's room."


async def test_swap_offers_in_mydata_and_forget(duty_conv):
    a, b, rows = await two_members(duty_conv)
    await duty_conv.reply(a, f"!dienst tauschen Protokoll 24.11. {b}", ROOM)
    duty_conv.chat.add_room("!dm-b:test", [b])
    mine = await duty_conv.reply(b, "meinedaten", "!dm-b:test")
    assert f"Offenes Tauschangebot #1 von {a} an dich: Protokoll am Di 24.11. 18:00." in mine.body
    await duty_conv.reply(b, "vergessen", "!dm-b:test")
    forgot = await duty_conv.reply(b, "vergessen bestätigen", "!dm-b:test")
    assert "Aus 1 Tauschangebot ist dein Name entfernt; offene sind zurückgezogen." in forgot.body
    assert await duty_conv.app.db.fetchval(
        "SELECT COUNT(*) FROM duty_swaps WHERE offerer = ? OR target = ?", (b, b)) == 0
    assert (await duty_conv.reply(b, "!dienst annehmen 1", ROOM)).body == "Das Tauschangebot #1 ist schon hinfällig."


async def test_reaction_after_a_restart_and_an_offer_from_a_direct_chat(duty_conv, tmp_path):
    a, b, rows = await two_members(duty_conv)
    dm = f"!dm-{a.strip('@').split(':')[0]}:test"
    duty_conv.chat.add_room(dm, [a])
    sent = await duty_conv.say(a, f"dienst tauschen Protokoll 24.11. mit {b}", dm)
    answer = next(s for s in sent if s.room_id == dm)
    offer = next(s for s in sent if s.room_id == ROOM)
    assert answer.body == f"Dein Tauschangebot #1 an {b} steht jetzt im Raum Ortsgruppe." and answer.mentions == []
    assert offer.body.startswith(f"🔁 {b}: {a} möchte bei Protokoll mit dir tauschen") and offer.mentions == [b]
    conv = await restart(duty_conv, tmp_path)
    try:
        done = await conv.deliver(react(conv, b, offer.event_id))
        assert len(done) == 1 and done[0].room_id == ROOM and done[0].body.startswith("✅ Tausch #1 ist abgemacht")
        assert [u for u, in await holders(conv)][:2] == [b, a]
    finally:
        duty_conv.app = conv.app  # the fixture closes this one


async def test_swap_with_a_pill_in_german_and_two_people_per_date(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB, CAROL), extra="\npersonen: 2")
    rows = await plan(duty_conv, 3)
    first = rows[0][1]
    outsider = next(u for u in (ALICE, BOB, CAROL) if u not in first)
    giver = first[0]
    busy = await duty_conv.reply(giver, f"!dienst tauschen Protokoll 24.11. {first[1]}", ROOM)
    assert busy.body == f"{first[1]} ist bei Protokoll am Di 24.11. 18:00 schon eingeteilt."
    offer = await duty_conv.reply(giver, "!dienst tauschen Protokoll 24.11. mit Caro Line", ROOM, mentions=(outsider,))
    assert offer.mentions == [outsider] and "(Tausch #1)" in offer.body
    await duty_conv.reply(outsider, "!dienst annehmen 1", ROOM)
    after = await plan(duty_conv, 3)
    assert sorted(after[0][1]) == sorted([first[1], outsider])
    assert sum(users.count(giver) for _, users in after) == sum(users.count(giver) for _, users in rows)


async def test_help_names_the_swap_commands(duty_conv):
    shown = await duty_conv.reply(ALICE, "!hilfe dienst tauschen", ROOM)
    assert shown.body.startswith("!dienst tauschen <Dienst> <Datum> <@Person>")
    english = await duty_conv.reply(ALICE, "!help duty accept", ROOM)
    assert "Nimmt ein Tauschangebot an dich an" in english.body
