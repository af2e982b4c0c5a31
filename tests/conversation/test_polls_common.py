"""Conversation tests for all polls: !polls, !results, votes cast while the bot was down, !mydata / !forget."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM
from tests.fakes import start_conversation

RESPONSE = "org.matrix.msc3381.poll.response"
ONE, TWO, THREE = "1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3"


def newest_table(conv, target: str) -> str:
    edits = [s for s in conv.chat.sent if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
             and s.content["m.relates_to"]["event_id"] == target]
    return edits[-1].content["m.new_content"]["body"] if edits else ""


def row(body: str, number: int) -> str:
    return next(line for line in body.split("\n") if line.lstrip("★ ").startswith(f"{number} "))


async def restart(conv, tmp_path):
    """Stop the app and start a new one on the same database and transport (features' on_start runs)."""
    await conv.app.db.close()
    fresh = await start_conversation(tmp_path, conv.chat, start=conv.clock.now())
    fresh._ids = conv._ids  # event ids keep counting, as on a real homeserver
    return fresh


async def test_polls_lists_the_open_polls_of_this_room(conv):
    answer = await conv.reply(BOB, "!umfragen", ROOM)
    assert answer.body == "Hier ist gerade keine Umfrage offen."
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00\nbis: 28.11. 12:00", ROOM)
    await conv.reply(ALICE, "!umfrage Beamer?", ROOM)
    await conv.reply(ALICE, "!konsens Wohin? | Park", ROOM)
    await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    await conv.reply(ALICE, "!schliessen 2", ROOM)
    answer = await conv.reply(BOB, "!umfragen", ROOM)
    assert answer.body.split("\n") == [
        "Offene Umfragen hier:",
        "#1 📅 Termin „Plenum“ – 1 Antwort, bis Sa., 28. Nov. 2026, 12:00",
        "#3 🤝 Konsensieren „Wohin?“ – 0 Antworten",
    ]
    answer = await conv.reply(BOB, "!polls", "!english:test")
    assert answer.body == "Hier ist gerade keine Umfrage offen."  # other room; language not set there: German


async def test_results_shows_standing_then_result(conv):
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    await conv.reply(BOB, "!abstimmen 1 2=vielleicht", ROOM)
    answer = await conv.reply(CAROL, "!ergebnis 1", ROOM)
    assert answer.body.startswith("Zwischenstand von #1 (noch offen):\n📅 #1 Plenum – offen")
    assert "🤔 @bob:test" in row(answer.body, 2) and answer.content["m.mentions"] == {}
    await conv.reply(ALICE, "!schliessen 1", ROOM)
    answer = await conv.reply(CAROL, "!results 1", ROOM)
    assert answer.body.startswith("Bester Termin für „Plenum“ (#1): 2. Di 1.12. 19:00 – 0× ja, 1× vielleicht.")
    assert answer.body.endswith("Umfrage #1 ist geschlossen.")
    answer = await conv.reply(CAROL, "!ergebnis 7", ROOM)
    assert answer.body == "Eine Umfrage #7 gibt es hier nicht. !umfragen zeigt die offenen."


async def test_poll_of_another_room_is_unknown_here(conv):
    await conv.reply(ALICE, "!umfrage Frage | A | B", ROOM)
    answer = await conv.reply(ALICE, "!abstimmen 1 1", "!english:test")
    assert answer.body.startswith("Eine Umfrage #1 gibt es hier nicht.")


async def test_help_names_every_poll_command(conv):
    answer = await conv.reply(ALICE, "!hilfe termine", ROOM)
    for name in ("!termin", "!umfrage", "!konsens", "!abstimmen", "!ergebnis", "!schliessen", "!umfragen"):
        assert name in answer.body
    answer = await conv.reply(ALICE, "!hilfe termin festlegen", ROOM)
    assert answer.body.startswith("!termin festlegen <Nr> [<Option>]")


# --------------------------------------------------------------------------- downtime
async def test_clicks_while_the_bot_was_down_are_counted_once_after_restart(conv, tmp_path):
    sent = await conv.say(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00 | Mi 2.12. 18:00", ROOM)
    table, maybe = [s for s in sent if s.type == "m.room.message"]  # and the bot's keycaps under both
    taken_back = conv.event(CAROL, "", ROOM, type="m.reaction", content={
        "m.relates_to": {"rel_type": "m.annotation", "event_id": table.event_id, "key": THREE}})
    await conv.deliver(taken_back)
    assert "✅ @carol:test" in row(newest_table(conv, table.event_id), 3)
    # the bot is down: bob clicks yes on 1, carol maybe on 2 and takes back her yes on 3
    clicks = [conv.event(BOB, "", ROOM, type="m.reaction", content={
        "m.relates_to": {"rel_type": "m.annotation", "event_id": table.event_id, "key": ONE}}),
        conv.event(CAROL, "", ROOM, type="m.reaction", content={
            "m.relates_to": {"rel_type": "m.annotation", "event_id": maybe.event_id, "key": TWO}})]
    redaction = conv.event(CAROL, "", ROOM, type="m.room.redaction", content={}, redacts=taken_back.event_id)
    del conv.chat.rooms[ROOM].events[taken_back.event_id]  # a redacted reaction is gone from the relations
    conv = await restart(conv, tmp_path)
    await conv.app.delivery.flush()
    body = newest_table(conv, table.event_id)
    assert "✅ @bob:test" in row(body, 1) and "🤔 @carol:test" in row(body, 2) and "carol" not in row(body, 3)
    assert "2 Personen haben geantwortet." in body
    before = len(conv.chat.sent)
    for ev in [*clicks, redaction]:  # then the sync delivers the same events: nothing changes
        await conv.deliver(ev)
    assert conv.chat.sent[before:] == []
    conv = await restart(conv, tmp_path)  # and a second restart counts nothing twice either
    await conv.app.delivery.flush()
    assert len(conv.chat.sent) == before
    await conv.app.db.close()


async def test_native_votes_while_the_bot_was_down_are_counted_once_after_restart(conv, tmp_path):
    sent = await conv.say(ALICE, "!umfrage Mittagessen? | Pizza | Sushi", ROOM)
    start, status = sent
    await conv.deliver(conv.event(BOB, "", ROOM, type=RESPONSE, content={
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id}, RESPONSE: {"answers": ["1"]}}))
    conv.clock.advance(timedelta(minutes=5))
    down = [conv.event(who, "", ROOM, type=RESPONSE, content={
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id}, RESPONSE: {"answers": [a]}})
        for who, a in ((BOB, "2"), (CAROL, "2"), (ORGA, "1"))]
    conv = await restart(conv, tmp_path)
    await conv.app.delivery.flush()
    body = newest_table(conv, status.event_id)
    assert "3 Stimmen abgegeben." in body
    assert row(body, 2).replace(" ", "").startswith("2|Sushi|2|")
    for ev in down:
        await conv.deliver(ev)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.startswith("Ergebnis #1 „Mittagessen?“: gewonnen hat 2. Sushi mit 2 von 3 gültigen Stimmen.")
    await conv.app.db.close()


async def test_deadline_that_passed_while_down_closes_at_start(conv, tmp_path):
    await conv.reply(ALICE, "!umfrage Frage | A | B\nbis: morgen 12:00", ROOM)
    await conv.reply(BOB, "!abstimmen 1 2", ROOM)
    await conv.app.db.close()
    conv.clock.advance(timedelta(days=3))
    conv = await restart(conv, tmp_path)
    sent = await conv.advance(timedelta(0))  # what App.start does: run what fell due
    assert any(s.body.startswith("Ergebnis #1 „Frage“: gewonnen hat 2. B") for s in sent)
    await conv.app.db.close()


# --------------------------------------------------------------------------- !mydata / !forget
async def context(conv, sender: str):
    ev = conv.event(sender, "!meinedaten", ROOM)
    return await conv.app.dispatcher.context(ev, False)


async def test_my_data_and_forget(conv):
    conv.chat.add_room("!dm-bob:test", [BOB])
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    await conv.reply(BOB, "!abstimmen 1 1 2=vielleicht", ROOM)
    await conv.reply(BOB, "!umfrage Alt | A | B", ROOM)
    await conv.reply(BOB, "!abstimmen 2 2", ROOM)
    await conv.reply(CAROL, "!abstimmen 2 2", ROOM)
    await conv.reply(ORGA, "!schliessen 2", ROOM)
    await conv.reply(ALICE, "!umfrage Geheim | A | B\ngeheim: ja", ROOM)
    await conv.reply(BOB, "abstimmen 3 1", "!dm-bob:test")
    polls = conv.app.feature("polls")
    ctx = await context(conv, BOB)
    mine = [r.text for r in await polls.my_data(BOB, ctx)]
    assert mine == [
        "Umfrage #1 „Plenum“ (offen): deine Antwort ja: 1; vielleicht: 2",
        "Umfrage #2 „Alt“ (geschlossen): deine Antwort zählt im Ergebnis.",
        "Geheime Abstimmung #3 „Geheim“: du hast abgestimmt (was du gewählt hast, ist nirgends mit dir verknüpft).",
        "Du hast 1 Umfrage angelegt: #2.",
    ]
    async with conv.app.db.transaction():  # as inside the !forget command
        done = [r.text for r in await polls.forget(BOB, ctx)]
    await conv.app.delivery.flush()
    assert done == [
        "Deine Antworten in 2 offenen Umfragen sind gelöscht: #1, #3.",
        "In 1 geschlossenen Umfrage zählt deine Stimme weiter, aber ohne deinen Namen.",
        "Bei 1 Umfrage bist du nicht mehr als Ersteller*in eingetragen.",
    ]
    assert "bob" not in newest_table(conv, conv.chat.sent[0].event_id)
    assert await polls.my_data(BOB, ctx) == []
    result = await conv.reply(CAROL, "!ergebnis 2", ROOM)
    assert result.body.startswith("Ergebnis #2 „Alt“: gewonnen hat 2. B mit 2 von 2 gültigen Stimmen.")
    assert "jemand (anonym)" in result.body and "bob" not in result.body
    answer = await conv.reply(CAROL, "!schliessen 2", ROOM)
    assert answer.body.startswith("Umfrage #2 ist schon geschlossen.")
    stored = await conv.app.db.fetchall("SELECT voter, event_id FROM poll_votes UNION ALL "
                                        "SELECT voter, event_id FROM poll_reactions")
    assert all(BOB not in tuple(r) for r in stored)


async def test_a_whole_english_round(conv):
    room = "!english:test"
    await conv.reply(ORGA, "!room language en", room)
    table = await conv.reply(ALICE, "!meeting Board | Wed 2.12. 6pm | Thu 3.12. 6pm\nuntil: Tue 1.12. 12:00", room)
    assert table.body.startswith("📅 #1 Board – open until Tue, Dec 1, 2026, 12:00 PM")
    answer = await conv.reply(BOB, "!vote 1 1=maybe 2", room)
    assert answer.body == "Noted for #1: yes to 2, maybe to 1, otherwise no."
    answer = await conv.reply(ALICE, "!close 1", room)
    assert answer.body.split("\n")[0] == "Best date for “Board” (#1): 2. Thu Dec 3, 6:00 PM – 1× yes, 0× maybe."
    await conv.reply(ALICE, "!poll Buy a projector?\nquorum: 2", room)
    await conv.reply(BOB, "!vote 2 yes", room)
    answer = await conv.reply(ALICE, "!results 2", room)
    assert answer.body.startswith("Standing of #2 (still open):")
    answer = await conv.reply(ORGA, "!close 2", room)
    assert answer.body.split("\n")[0] == ("Result #2 “Buy a projector?”: no decision – the quorum of 2 votes was "
                                          "not reached (1 cast).")
    answer = await conv.reply(BOB, "!vote 2 yes", room)
    assert answer.body == "Poll #2 is already closed. !results 2 shows the result."
    answer = await conv.reply(BOB, "!polls", room)
    assert answer.body == "No poll is open here right now."


async def test_a_poll_closed_while_its_relations_are_read_stays_as_closed(conv):
    """reread fetches outside its transaction; it counts only if the poll is still open inside it."""
    sent = await conv.say(ALICE, "!termin Plenum | 30.11. 18:00 | 1.12. 19:00", ROOM)
    table = sent[0]
    await conv.advance(timedelta(0))  # the bot's own keycaps
    conv.event(BOB, "", ROOM, type="m.reaction", content={  # a click while the bot was down
        "m.relates_to": {"rel_type": "m.annotation", "event_id": table.event_id, "key": "1\ufe0f\u20e3"}})
    polls = conv.app.feature("polls")
    poll = await polls.repo.get(1)
    relations = conv.chat.relations

    async def relations_while_closing(room_id, event_id, rel_type):
        found = await relations(room_id, event_id, rel_type)
        async with conv.app.db.transaction():
            await polls.repo.close(1, conv.clock.now())
        return found

    conv.chat.relations = relations_while_closing
    await polls.reread(poll)
    assert await polls.repo.reactions(1) == []
