"""Conversation tests for turns: done, handback, take, absences, announcements, reminders, escalation, stats."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.conversation.test_duties_support import (ALICE, BOB, CAROL, DAVE, MEMBERS, ORGA, ORGS, ROOM,  # noqa: F401
                                                    advance_to, duty_conv, local, minutes_duty, plan_rows)

TUESDAYS = [local(2026, 11, 24, 18), local(2026, 12, 1, 18), local(2026, 12, 8, 18), local(2026, 12, 15, 18),
            local(2026, 12, 22, 18), local(2026, 12, 29, 18), local(2027, 1, 5, 18), local(2027, 1, 12, 18)]


async def plan(conv, n: int = 8):
    return plan_rows((await conv.reply(ORGA, f"!dienst plan Protokoll {n}", ROOM)).body)


async def test_done_when_four_members_absence_reminders_and_stats(duty_conv):
    """Issue 4, "done when": the whole story in one conversation."""
    conv = duty_conv
    await minutes_duty(conv)
    before = await plan(conv)
    assert Counter(u for _, users in before for u in users) == {m: 2 for m in MEMBERS}  # twice in eight weeks

    away = before[1][1][0]  # whoever has 1.12. is away that week
    answer = await conv.reply(away, "!abwesend 30.11. 4.12.", ROOM)
    assert answer.body.startswith("Abwesenheit vermerkt: Mo., 30. Nov. 2026 bis Fr., 4. Dez. 2026. "
                                  "Dieser Einsatz geht an andere:")
    after = await plan(conv)
    assert [i for i in range(8) if before[i] != after[i]] == [1]  # exactly the affected turn moved
    assert away not in after[1][1] and after[1][1][0] in answer.mentions

    await conv.advance(timedelta(minutes=1))  # the first turn is announced (it lies within the 7-day lead)
    for i, occ in enumerate(TUESDAYS):
        holder = after[i][1][0]
        sent = await advance_to(conv, occ - timedelta(days=1))
        reminders = [s for s in sent if s.body.startswith("⏰ Erinnerung")]
        assert len(reminders) == 1 and reminders[0].mentions == [holder], [s.body for s in sent]
        assert reminders[0].room_id == ROOM and "18:00" in reminders[0].body
        await advance_to(conv, occ + timedelta(hours=2))
        done = await conv.reply(holder, "!dienst erledigt Protokoll", ROOM)
        assert done.body.startswith("Danke! Protokoll am ")
    sent = await conv.advance(timedelta(days=2))
    assert not [s for s in sent if s.body.startswith("⚠️")]  # everything was confirmed

    stats = await conv.reply(ALICE, "!dienst statistik", ROOM)
    counts = Counter(u for _, users in after for u in users)
    for member in MEMBERS:
        assert f"{member:<11} | Protokoll | {counts[member]:<8} | {counts[member]:<8} | 0" in stats.body, stats.body
    expected = max(counts.values()) - min(counts.values())
    assert f"Spanne der Last (höchste − niedrigste): {expected} –" in stats.body
    assert stats.mentions == []


async def test_announcement_mentions_the_assignee_once(duty_conv):
    await minutes_duty(duty_conv)
    rows = await plan(duty_conv, 2)
    sent = await duty_conv.advance(timedelta(minutes=1))
    announcements = [s for s in sent if s.body.startswith("📋")]
    assert len(announcements) == 1
    assert announcements[0].mentions == list(rows[0][1])
    assert "Protokoll dran – Di., 24. Nov. 2026, 18:00" in announcements[0].body
    sent = await advance_to(duty_conv, local(2026, 11, 24, 18, 1))  # seven days before 1.12. 18:00
    announced = [s.mentions for s in sent if s.body.startswith("📋")]
    assert announced == [list(rows[1][1])]  # the next one, seven days ahead, once
    assert not [s for s in await duty_conv.advance(timedelta(hours=1)) if s.body.startswith("📋")]


async def test_nobody_in_the_pool_is_announced_as_open(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    sent = await duty_conv.advance(timedelta(minutes=1))
    assert [s.body for s in sent] == ["📋 Für Protokoll am Di., 24. Nov. 2026, 18:00 ist niemand eingeteilt – "
                                      "wer kann? !dienst übernehmen Protokoll 24.11.2026"]
    taken = await duty_conv.reply(CAROL, "!dienst übernehmen Protokoll 24.11.2026", ROOM)
    assert taken.body == "@carol:test übernimmt Protokoll am Di 24.11. 18:00. Danke!"


async def test_unconfirmed_turn_is_escalated_once_to_the_organisers(duty_conv):
    await duty_conv.reply("@admin:test", "!raum orga", ORGS)
    await minutes_duty(duty_conv, members=(ALICE,))
    sent = await advance_to(duty_conv, local(2026, 11, 25, 18) + timedelta(minutes=1))
    escalations = [s for s in sent if s.body.startswith("⚠️")]
    assert len(escalations) == 1 and escalations[0].room_id == ORGS
    assert escalations[0].body == ("⚠️ Protokoll (Ortsgruppe) am Di., 24. Nov. 2026, 18:00 ist nicht als erledigt "
                                   "bestätigt. Eingeteilt war: @alice:test.")
    assert escalations[0].mentions == []  # named, not pinged, in the organisers' room
    assert not [s for s in await duty_conv.advance(timedelta(days=1)) if "Protokoll (Ortsgruppe) am Di., 24." in s.body]
    late = await duty_conv.reply(ALICE, "!dienst erledigt Protokoll", ROOM)  # a late confirmation still counts
    assert late.body == "Danke! Protokoll am Di 24.11. 18:00 ist als erledigt vermerkt. ✓"


async def test_escalation_goes_to_the_duty_room_without_organisers_room(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE,))
    sent = await advance_to(duty_conv, local(2026, 11, 25, 18) + timedelta(minutes=1))
    assert [s.room_id for s in sent if s.body.startswith("⚠️")] == [ROOM]


async def test_done_errors(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    rows = await plan(duty_conv, 2)
    first, second = rows[0][1][0], rows[1][1][0]
    early = await duty_conv.reply(first, "!dienst erledigt Protokoll", ROOM)
    assert early.body == ("Dein nächster Einsatz bei Protokoll ist am Di 24.11. 18:00. Bestätige ihn, wenn er "
                          "erledigt ist (ab dem Tag selbst).")
    stranger = await duty_conv.reply(CAROL, "!dienst erledigt Protokoll", ROOM)
    assert stranger.body.startswith(f"Du bist bei Protokoll nicht dran (Di 24.11. 18:00: {first}).")
    await advance_to(duty_conv, local(2026, 11, 24, 12))  # on the day itself, confirming early is fine
    assert (await duty_conv.reply(first, "!dienst erledigt Protokoll", ROOM)).body.startswith("Danke!")
    other = await duty_conv.reply(second, "!dienst erledigt Protokoll", ROOM)
    assert other.body.startswith("Dein nächster Einsatz bei Protokoll ist am Di 1.12. 18:00.")


async def test_handback_goes_to_the_next_fair_member_who_is_told(duty_conv):
    await minutes_duty(duty_conv)
    rows = await plan(duty_conv)
    giver = rows[0][1][0]
    answer = await duty_conv.reply(giver, "!dienst abgeben Protokoll", ROOM)
    after = await plan(duty_conv)
    taker = after[0][1][0]
    assert taker not in (giver, rows[1][1][0])  # not the giver, and not the one who has the next date
    assert answer.body == f"{giver} hat Protokoll am Di 24.11. 18:00 abgegeben. Übernehmen wird: {taker} – danke!"
    assert answer.mentions == [taker]
    assert after[1:] == rows[1:]
    again = await duty_conv.reply(giver, "!dienst abgeben Protokoll", ROOM)  # the giver's next turn now
    assert f"am {rows[4][0]} abgegeben" in again.body
    stats = await duty_conv.reply(ALICE, "!dienst statistik", ROOM)
    assert f"{giver:<11} | Protokoll | 0        | 0        | 2" in stats.body


async def test_handback_with_nobody_else_available_keeps_the_turn(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE,))
    answer = await duty_conv.reply(ALICE, "!dienst abgeben Protokoll", ROOM)
    assert answer.body.startswith("Für Protokoll am Di 24.11. 18:00 ist sonst niemand verfügbar")
    assert (await plan(duty_conv, 1)) == [("Di 24.11. 18:00", (ALICE,))]
    none = await duty_conv.reply(BOB, "!dienst abgeben Protokoll", ROOM)
    assert none.body == "Du hast bei Protokoll keinen anstehenden Einsatz, den du abgeben könntest."


async def test_take_over_tells_the_original_assignee(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    rows = await plan(duty_conv, 4)
    date, (original,) = rows[2]
    taker = ALICE if original == BOB else BOB
    answer = await duty_conv.reply(taker, "!dienst übernehmen Protokoll 8.12.", ROOM)
    assert answer.body == f"{original}: {taker} übernimmt deinen Einsatz bei Protokoll am Di 8.12. 18:00 – du bist frei."
    assert answer.mentions == [original]
    after = await plan(duty_conv, 4)
    assert after[2] == (date, (taker,)) and [after[i] for i in (0, 1, 3)] == [rows[i] for i in (0, 1, 3)]
    mine = await duty_conv.reply(taker, "!dienst übernehmen Protokoll 8.12.", ROOM)
    assert mine.body == "Der Einsatz bei Protokoll am Di 8.12. 18:00 ist schon deiner."
    nothing = await duty_conv.reply(taker, "!dienst übernehmen Protokoll 9.12.", ROOM)
    assert nothing.body == ("Am Mi., 9. Dez. 2026 gibt es keinen Termin von Protokoll. Die nächsten Termine: "
                            "Di 24.11. 18:00, Di 1.12. 18:00, Di 8.12. 18:00.")
    missing = await duty_conv.reply(taker, "!dienst übernehmen Protokoll", ROOM)
    assert missing.body.startswith("Da fehlt noch: <Datum>.")
    await duty_conv.advance(timedelta(days=30))
    stats = await duty_conv.reply(ALICE, "!dienst statistik", ROOM)
    assert f"{taker:<11} | Protokoll |" in stats.body and " | 1\n" in stats.body + "\n"


async def test_take_while_absent_is_refused(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    await duty_conv.reply(CAROL, "!abwesend 8.12. 9.12.", ROOM)
    answer = await duty_conv.reply(CAROL, "!dienst übernehmen Protokoll 8.12.", ROOM)
    assert answer.body.startswith("Für Di., 8. Dez. 2026 hast du dich abwesend gemeldet.")


async def test_away_list_clear_and_past(duty_conv):
    assert (await duty_conv.reply(ALICE, "!abwesend", ROOM)).body.startswith("Du hast keine Abwesenheiten")
    noted = await duty_conv.reply(ALICE, "!abwesend 1.12. 5.12.", ROOM)
    assert noted.body == ("Abwesenheit vermerkt: Di., 1. Dez. 2026 bis Sa., 5. Dez. 2026. In der Zeit teile ich "
                          "dich nicht ein.")
    await duty_conv.reply(ALICE, "!away 2027-01-04 2027-01-06", ROOM)
    listed = await duty_conv.reply(ALICE, "!abwesend", ROOM)
    assert listed.body.splitlines() == ["Deine Abwesenheiten:", "• Di., 1. Dez. 2026 bis Sa., 5. Dez. 2026",
                                        "• Mo., 4. Jan. 2027 bis Mi., 6. Jan. 2027"]
    past = await duty_conv.reply(ALICE, "!abwesend 1.11.2026 3.11.2026", ROOM)
    assert past.body.startswith("Das liegt in der Vergangenheit")
    bad = await duty_conv.reply(ALICE, "!abwesend 5.12. 1.12.2026", ROOM)
    assert "Ende vor dem Anfang" in bad.body
    cleared = await duty_conv.reply(ALICE, "!abwesend löschen", ROOM)
    assert cleared.body.startswith("2 Abwesenheiten gelöscht.")
    assert (await duty_conv.reply(ALICE, "!away clear", ROOM)).body.startswith("Du hast keine laufenden")


async def test_absent_members_are_never_assigned(duty_conv):
    await duty_conv.reply(BOB, "!abwesend 20.11. 31.12.", ROOM)
    await minutes_duty(duty_conv)
    rows = await plan(duty_conv, 8)
    december = [users for day, users in rows if ".12." in day or "24.11." in day]
    assert december and all(BOB not in users for users in december)


async def test_commands_in_a_direct_chat_reach_the_duty_room(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    duty_conv.chat.add_room("!dm-alice:test", [ALICE])
    rows = await plan(duty_conv, 2)
    holder = rows[0][1][0]
    dm = "!dm-alice:test" if holder == ALICE else None
    if dm is None:
        duty_conv.chat.add_room("!dm-bob:test", [BOB])
        dm = "!dm-bob:test"
    ev = duty_conv.event(holder, "dienst abgeben Protokoll", dm)
    sent = await duty_conv.deliver(ev)
    assert {s.room_id for s in sent} == {dm, ROOM}
    room_notice = next(s for s in sent if s.room_id == ROOM)
    assert "abgegeben" in room_notice.body and room_notice.mentions
    unknown = await duty_conv.reply(CAROL, "dienst plan Protokoll", "!dm-alice:test")
    assert unknown.body.startswith("Einen Dienst „Protokoll“ finde ich unter deinen Diensten nicht")


async def test_overrides_never_rewrite_the_past(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB, CAROL))
    rows = await plan(duty_conv, 4)
    await advance_to(duty_conv, local(2026, 11, 26, 12))  # 24.11. is over (and escalated)
    db = duty_conv.app.db
    history = "SELECT id, user_id, status, kind FROM duty_turns WHERE occurrence < ? ORDER BY id"
    now_ms = int(duty_conv.clock.now().timestamp() * 1000)
    past = [tuple(r) for r in await db.fetchall(history, (now_ms,))]
    assert past and past[0][1] == rows[0][1][0]
    past_holder = rows[0][1][0]
    await duty_conv.reply(past_holder, "!dienst abgeben Protokoll", ROOM)
    await duty_conv.reply(DAVE, "!dienst übernehmen Protokoll 1.12.", ROOM)
    assert (await duty_conv.reply(DAVE, "!dienst übernehmen Protokoll 24.11.2026", ROOM)).body.startswith(
        "Am Di., 24. Nov. 2026 gibt es keinen Termin")
    await duty_conv.reply(past_holder, "!dienst austreten Protokoll", ROOM)
    await duty_conv.reply(CAROL, "!abwesend 20.11. 30.11.", ROOM)
    assert [tuple(r) for r in await db.fetchall(history, (now_ms,))] == past
    log = await db.fetchall("SELECT kind FROM duty_overrides ORDER BY id")
    assert {r["kind"] for r in log} >= {"handback", "take"}


async def test_mydata_and_forget(duty_conv):
    await minutes_duty(duty_conv)
    await duty_conv.reply(ALICE, "!abwesend 1.3.2027 2.3.2027", ROOM)
    await duty_conv.advance(timedelta(days=10))  # a past turn exists now
    duty_conv.chat.add_room("!dm-alice:test", [ALICE])
    mine = await duty_conv.reply(ALICE, "meinedaten", "!dm-alice:test")
    assert "Du bist im Pool des Dienstes Protokoll (Ortsgruppe)." in mine.body
    assert "Geplanter Einsatz: Protokoll" in mine.body
    assert "1 Abwesenheit" in mine.body
    await duty_conv.reply(ALICE, "vergessen", "!dm-alice:test")
    forgot = await duty_conv.reply(ALICE, "vergessen bestätigen", "!dm-alice:test")
    assert "Aus dem Pool von Protokoll ausgetreten." in forgot.body
    assert "geplante Einsätze gingen an andere" in forgot.body or "geplanter Einsatz ging an andere" in forgot.body
    assert "anonymisiert" in forgot.body and "1 Abwesenheit gelöscht." in forgot.body
    rows = await plan(duty_conv, 8)
    assert all(ALICE not in users for _, users in rows)
    assert await duty_conv.app.db.fetchval("SELECT COUNT(*) FROM duty_turns WHERE user_id = ?", (ALICE,)) == 0
    stats = await duty_conv.reply(BOB, "!dienst statistik", ROOM)
    assert ALICE not in stats.body


async def test_forget_moves_all_turns_of_a_duty_in_one_notice(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    rows = await plan(duty_conv, 4)
    alices = [day for day, users in rows if ALICE in users]
    assert len(alices) == 2
    duty_conv.chat.add_room("!dm-alice:test", [ALICE])
    await duty_conv.reply(ALICE, "vergessen", "!dm-alice:test")
    sent = await duty_conv.deliver(duty_conv.event(ALICE, "vergessen bestätigen", "!dm-alice:test"))
    notices = [s for s in sent if s.room_id == ROOM]
    assert len(notices) == 1 and notices[0].body.startswith("Änderungen im Dienstplan:")
    assert all(day in notices[0].body for day in alices) and notices[0].mentions == [BOB]
    assert "2 geplante Einsätze gingen an andere." in next(s for s in sent if s.room_id == "!dm-alice:test").body
    assert all(users == (BOB,) for _, users in await plan(duty_conv, 4))


async def test_take_a_date_beyond_the_plan_so_far(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    answer = await duty_conv.reply(CAROL, "!dienst übernehmen Protokoll 12.1.2027", ROOM)
    assert answer.body.endswith(f"{CAROL} übernimmt deinen Einsatz bei Protokoll am Di 12.1. 18:00 – du bist frei.")
    rows = await plan(duty_conv, 8)
    assert rows[7] == ("Di 12.1. 18:00", (CAROL,)) and all(CAROL not in users for _, users in rows[:7])
    far = await duty_conv.reply(CAROL, "!dienst übernehmen Protokoll 8.1.2030", ROOM)  # beyond what is ever planned
    assert far.body.startswith("Am Di., 8. Jan. 2030 gibt es keinen Termin von Protokoll.")
