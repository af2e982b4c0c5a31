"""Conversation tests for date polls: !termin, answers by typing and by clicking, the deadline, nudges, fixing."""
from __future__ import annotations

import logging
from types import SimpleNamespace

from datetime import datetime, timedelta, timezone

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM, ROOM_EN
from tests.fakes import BOT, FakeChat, start_conversation

MEETING = "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00 | 2.12.2026 18:00\nbis: 28.11. 12:00"
ONE, TWO, THREE = "1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3"


async def create(conv, body: str = MEETING, sender: str = ALICE, room: str = ROOM):
    ev = conv.event(sender, body, room)
    sent = await conv.deliver(ev)
    table, maybe = [s for s in sent if s.type == "m.room.message"]  # then the bot's keycaps under both
    assert table.reply_to == ev.event_id
    return table, maybe


def edits(sent, target: str):
    return [s for s in sent if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
            and s.content["m.relates_to"]["event_id"] == target]


def react(conv, sender: str, target: str, key: str):
    return conv.event(sender, "", ROOM, type="m.reaction",
                      content={"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})


def row(body: str, number: int) -> str:
    return next(line for line in body.split("\n") if line.lstrip("★ ").startswith(f"{number} "))


async def test_meeting_posts_a_table_in_the_rooms_language(conv):
    table, maybe = await create(conv)
    assert table.content["msgtype"] == "m.notice"
    assert table.body.startswith("📅 #1 Plenum – offen bis Sa., 28. Nov. 2026, 12:00")
    for date in ("Mo 30.11. 18:00", "Di 1.12. 19:00", "Mi 2.12. 18:00"):
        assert date in table.body
    assert "<table>" in table.html
    assert "!abstimmen 1 1 2=vielleicht" in table.body
    assert maybe.body.startswith("🤔 Vielleicht – für #1 Plenum")
    await conv.reply(ORGA, "!raum sprache en", ROOM_EN)
    table_en, _ = await create(conv, "!meeting Board | Wed 2.12. 18:00 | Thu 3.12. 6pm", room=ROOM_EN)
    assert "Wed Dec 2, 6:00 PM" in table_en.body and "Thu Dec 3, 6:00 PM" in table_en.body
    assert "!vote 2 1 2=maybe" in table_en.body


async def test_bot_offers_keycaps_to_click_under_both_messages(conv):
    table, maybe = await create(conv)
    # in the same delivery, right behind the two messages (the rows wait for their event ids, no job polls)
    seeded = [s for s in conv.chat.sent if s.type == "m.reaction"]
    keys = [(s.content["m.relates_to"]["event_id"], s.content["m.relates_to"]["key"]) for s in seeded]
    assert keys == [(table.event_id, k) for k in (ONE, TWO, THREE)] + [(maybe.event_id, k) for k in (ONE, TWO, THREE)]
    assert await conv.advance(timedelta(minutes=5)) == []  # only once
    assert await conv.app.db.fetchval("SELECT COUNT(*) FROM jobs WHERE kind = 'polls.relate'") == 0


async def test_keycaps_wait_for_a_table_whose_send_fails_first(conv):
    conv.app.delivery.RETRY_BASE = 0
    conv.chat.fail_sends = 1
    ev = conv.event(ALICE, MEETING, ROOM)
    assert await conv.deliver(ev) == []  # the table failed: everything behind it in the room waits
    sent = await conv.deliver(conv.event(BOB, "hallo", ROOM))
    table = next(s for s in sent if s.reply_to == ev.event_id)
    reactions = [s for s in sent if s.type == "m.reaction"]
    assert sent.index(table) < sent.index(reactions[0])
    assert {s.content["m.relates_to"]["event_id"] for s in reactions[:3]} == {table.event_id}


async def test_typed_answers_update_the_table_without_pinging(conv):
    table, _ = await create(conv)
    answer = await conv.reply(BOB, "!abstimmen 1 1 3=vielleicht", ROOM)
    assert answer.body == "Eingetragen für #1: ja zu 1, vielleicht zu 3, sonst nein."
    [edit] = edits(conv.chat.sent, table.event_id)
    new = edit.content["m.new_content"]
    assert edit.content["m.mentions"] == {} and new["m.mentions"] == {}
    assert "✅ @bob:test" in row(new["body"], 1) and "🤔 @bob:test" in row(new["body"], 3)
    assert "matrix.to" not in new["formatted_body"]  # a table names people, it does not link or ping them
    assert "1 Person hat geantwortet." in new["body"]
    await conv.reply(BOB, "!abstimmen 1 2=ja", ROOM)  # replaces the earlier answer: 1 and 3 are no now
    body = edits(conv.chat.sent, table.event_id)[-1].content["m.new_content"]["body"]
    assert "bob" not in row(body, 1) and "✅ @bob:test" in row(body, 2) and "bob" not in row(body, 3)
    assert "1 Person hat geantwortet." in body


async def test_clicking_numbers_answers_yes_and_maybe_and_taking_back_removes(conv):
    table, maybe = await create(conv)
    yes_click = react(conv, CAROL, table.event_id, ONE)
    await conv.deliver(yes_click)
    await conv.deliver(react(conv, CAROL, maybe.event_id, "2\u20e3"))  # without the variation selector
    body = edits(conv.chat.sent, table.event_id)[-1].content["m.new_content"]["body"]
    assert "✅ @carol:test" in row(body, 1) and "🤔 @carol:test" in row(body, 2)
    await conv.deliver(conv.event(CAROL, "", ROOM, type="m.room.redaction", content={}, redacts=yes_click.event_id))
    body = edits(conv.chat.sent, table.event_id)[-1].content["m.new_content"]["body"]
    assert "carol" not in row(body, 1) and "🤔 @carol:test" in row(body, 2)
    other = await conv.say(CAROL, "", ROOM, type="m.reaction",
                           content={"m.relates_to": {"rel_type": "m.annotation", "event_id": table.event_id,
                                                     "key": "👍"}})
    assert other == []  # not an answer: no edit


async def test_a_burst_of_clicks_becomes_one_edit(conv):
    table, _ = await create(conv)
    for who, key in ((BOB, ONE), (CAROL, ONE), (ORGA, TWO)):
        await conv.app.pipeline.handle(react(conv, who, table.event_id, key))
    sent = await conv.advance(timedelta(0))
    [edit] = edits(sent, table.event_id)
    assert "✅ @bob:test, @carol:test" in row(edit.content["m.new_content"]["body"], 1)


async def test_a_vote_while_the_previous_edit_is_being_sent_still_reaches_the_table(conv):
    table, _ = await create(conv)
    late = react(conv, CAROL, table.event_id, TWO)
    send = conv.chat.send

    async def send_and_meanwhile_a_vote(room_id, type, content, txn_id):
        if content.get("m.relates_to", {}).get("rel_type") == "m.replace" and not late_seen:
            late_seen.append(True)
            await conv.app.pipeline.handle(late)  # joins the edit that is on its way with the old text
        return await send(room_id, type, content, txn_id)

    late_seen: list[bool] = []
    conv.chat.send = send_and_meanwhile_a_vote
    await conv.deliver(react(conv, BOB, table.event_id, ONE))
    assert "carol" not in edits(conv.chat.sent, table.event_id)[-1].content["m.new_content"]["body"]
    conv.chat.send = send
    sent = await conv.advance(timedelta(seconds=3))
    body = edits(sent, table.event_id)[-1].content["m.new_content"]["body"]
    assert "✅ @bob:test" in row(body, 1) and "✅ @carol:test" in row(body, 2)


async def test_deadline_closes_and_names_the_best_date_first(conv):
    table, _ = await create(conv)
    await conv.reply(BOB, "!abstimmen 1 1 2=vielleicht", ROOM)
    await conv.reply(CAROL, "!abstimmen 1 1 2", ROOM)
    assert [s for s in await conv.advance(timedelta(days=7)) if "Bester" in s.body] == []  # 11:00 local
    sent = await conv.advance(timedelta(hours=1))
    result = next(s for s in sent if s.type == "m.room.message" and "m.new_content" not in s.content)
    assert result.body.split("\n")[0] == "Bester Termin für „Plenum“ (#1): 1. Mo 30.11. 18:00 – 2× ja, 0× vielleicht."
    assert "!termin festlegen 1 1" in result.body
    final = edits(sent, table.event_id)[-1].content["m.new_content"]["body"]
    assert "geschlossen" in final.split("\n")[0] and "★ 1" in final
    answer = await conv.reply(ALICE, "!abstimmen 1 2", ROOM)
    assert answer.body.startswith("Umfrage #1 ist schon geschlossen.")


async def test_ties_are_all_named_and_nobody_means_no_date(conv):
    await create(conv)
    await conv.reply(BOB, "!abstimmen 1 1 3", ROOM)
    answer = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert answer.body.split("\n")[0] == ("Beste Termine für „Plenum“ (#1), gleichauf mit je 1× ja, 0× vielleicht: "
                                          "1. Mo 30.11. 18:00; 3. Mi 2.12. 18:00.")
    await create(conv)
    answer = await conv.reply(ALICE, "!schliessen 2", ROOM)
    assert answer.body.startswith("Für „Plenum“ (#2) passt kein Termin")


async def test_nudge_mentions_once_those_who_have_not_answered(conv):
    await create(conv)  # created Sat 21.11. 11:00, deadline Sat 28.11. 12:00: nudge a day before
    await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    assert [s for s in await conv.advance(timedelta(days=5, hours=23)) if s.type != "m.reaction"] == []
    [nudge] = await conv.advance(timedelta(hours=2))
    assert nudge.body.startswith("⏰ #1 „Plenum“ läuft bis Sa., 28. Nov. 2026, 12:00. Noch keine Antwort von:")
    assert sorted(nudge.mentions) == [ALICE, CAROL, ORGA]  # not bob, not the bot
    assert BOT not in nudge.body
    assert [s for s in await conv.advance(timedelta(hours=12)) if s.body.startswith("⏰")] == []


async def test_deadline_across_the_end_of_summer_time_closes_at_local_time(tmp_path):
    chat = FakeChat()
    chat.add_room(ROOM, [ALICE, BOB])
    conv = await start_conversation(tmp_path, chat, start=datetime(2026, 10, 20, 10, 0, tzinfo=timezone.utc))
    try:
        table = await conv.reply(ALICE, "!termin Herbst | 27.10. 19:00 | 28.10. 19:00\nbis: 26.10. 18:00", ROOM)
        assert "offen bis Mo., 26. Okt. 2026, 18:00" in table.body
        # 18:00 CET on Monday after the change is 17:00 UTC; in summer time it would be 16:00 UTC
        before = await conv.advance(datetime(2026, 10, 26, 16, 59, tzinfo=timezone.utc) - conv.clock.now())
        assert not any("passt kein Termin" in s.body for s in before)
        after = await conv.advance(timedelta(minutes=1))
        assert any(s.body.startswith("Für „Herbst“ (#1) passt kein Termin") for s in after)
    finally:
        await conv.app.db.close()


async def test_close_after_downtime_ignores_answers_after_the_deadline(conv):
    await create(conv)
    deadline = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)
    conv.clock.set(deadline + timedelta(hours=3))  # the bot was down at the deadline
    late = conv.event(BOB, "", ROOM, type="m.reaction", ts=deadline + timedelta(hours=1),
                      content={"m.relates_to": {"rel_type": "m.annotation",
                                                "event_id": conv.chat.sent[0].event_id, "key": ONE}})
    await conv.deliver(late)
    sent = await conv.advance(timedelta(seconds=1))
    assert any(s.body.startswith("Für „Plenum“ (#1) passt kein Termin") for s in sent)


# --------------------------------------------------------------------------- bad input
async def test_bad_meetings_get_one_sentence(conv):
    cases = {
        "!termin Plenum | Mo 30.11. 18 Uhr | irgendwann": "„irgendwann“",
        "!termin Plenum | Mo 30.11. 18 Uhr | 1.1.2020 18:00": "„1.1.2020 18:00“ liegt in der Vergangenheit",
        "!termin Plenum | Mo 30.11. 18 Uhr": "mindestens 2 Optionen",
        "!termin Plenum | Mo 30.11. 18 Uhr | 30.11.2026 18:00": "„Mo 30.11. 18:00“ steht zweimal",
        "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00\nbis: 1.1.2020 10:00": "„1.1.2020 10:00“ liegt in der "
                                                                                   "Vergangenheit",
        "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00\nbis: 1.12. 10:00": "muss vor dem ersten Termin",
        "!termin Plenum | " + " | ".join(f"{d}.12. 18:00" for d in range(1, 22)): "Höchstens 20 Optionen",
    }
    for body, expected in cases.items():
        answer = await conv.reply(ALICE, body, ROOM)
        assert expected in answer.body, (body, answer.body)
    assert await conv.app.feature("polls").repo.open_in_room(ROOM) == []


async def test_bad_votes_get_one_sentence(conv):
    await create(conv)
    cases = {
        "!abstimmen 1 4": "Umfrage #1 hat die Optionen 1 bis 3; eine 4 gibt es nicht.",
        "!abstimmen 1 2=naja": "„2=naja“: als Antwort gehen ja, vielleicht oder nein.",
        "!abstimmen 9 1": "Eine Umfrage #9 gibt es hier nicht.",
        "!abstimmen 1": "Da fehlt noch",
    }
    for body, expected in cases.items():
        answer = await conv.reply(BOB, body, ROOM)
        assert answer.body.startswith(expected), (body, answer.body)


async def test_more_than_ten_dates_only_the_first_ten_get_keycaps(conv):
    body = "!termin Viele | " + " | ".join(f"{d}.12. 18:00" for d in range(1, 13))
    table, _ = await create(conv, body)
    assert "Termine ab Nr. 11 gehen nur getippt: !abstimmen 1 11" in table.body
    seeded = [s for s in conv.chat.sent if s.type == "m.reaction"]
    assert len(seeded) == 20
    await conv.reply(BOB, "!abstimmen 1 12", ROOM)


# --------------------------------------------------------------------------- fixing the date
async def test_fixing_posts_the_meeting_with_calendar_file_and_reminds(conv):
    await create(conv)
    await conv.reply(BOB, "!abstimmen 1 1 2=vielleicht", ROOM)
    await conv.reply(CAROL, "!abstimmen 1 2", ROOM)
    refused = await conv.reply(BOB, "!termin festlegen 1 2", ROOM)
    assert refused.body.startswith("Den Termin von #1 festlegen dürfen nur @alice:test")
    ev = conv.event(ALICE, "!termin festlegen 1 2\nort: Stadtteilzentrum", ROOM)
    sent = await conv.deliver(ev)
    [announcement] = [s for s in sent if s.reply_to == ev.event_id]
    assert announcement.body.startswith("📅 Termin steht: „Plenum“ (#1) am Di., 1. Dez. 2026, 19:00.")
    assert "Ort: Stadtteilzentrum" in announcement.body and "Dauer: 2 Stunden" in announcement.body
    assert "Ich erinnere 1 Tag und 1 Stunde vorher." in announcement.body
    assert sorted(announcement.mentions) == [BOB, CAROL]  # said yes or maybe to that date
    result = next(s for s in sent if s.body.startswith("Bester Termin"))  # fixing closed the poll
    assert result.reply_to is None and "!termin festlegen" not in result.body
    [file] = [s for s in sent if s.content.get("msgtype") == "m.file"]
    ics = SimpleNamespace(body=conv.chat.uploads[file.content["url"]].decode().replace("\r\n", "\n"))
    assert "DTSTART:20261201T180000Z" in ics.body and "DTEND:20261201T200000Z" in ics.body
    assert "SUMMARY:Plenum" in ics.body and "LOCATION:Stadtteilzentrum" in ics.body
    assert "TRIGGER:-P1D" in ics.body and "TRIGGER:-PT1H" in ics.body
    assert file.content["filename"] == "termin-1.ics"
    day_before = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
    assert await conv.advance(day_before - timedelta(minutes=1) - conv.clock.now()) == []
    [reminder] = await conv.advance(timedelta(minutes=1))
    assert reminder.body.startswith("⏰ Erinnerung: „Plenum“ beginnt in 1 Tag – Di., 1. Dez. 2026, 19:00.")
    assert sorted(reminder.mentions) == [BOB, CAROL]
    [hour_before] = await conv.advance(timedelta(hours=23))
    assert "beginnt in 1 Stunde" in hour_before.body
    assert await conv.advance(timedelta(days=3)) == []


async def test_fix_yes_fixes_the_single_best_date_at_the_deadline(conv):
    await create(conv, MEETING + "\nfix: ja")
    await conv.reply(BOB, "!abstimmen 1 2", ROOM)
    sent = await conv.advance(datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc) - conv.clock.now())
    bodies = [s.body for s in sent if s.type == "m.room.message" and "m.new_content" not in s.content]
    assert bodies[0].startswith("Bester Termin für „Plenum“ (#1): 2. Di 1.12. 19:00")
    assert "!termin festlegen" not in bodies[0]
    assert bodies[1].startswith("📅 Termin steht: „Plenum“ (#1) am Di., 1. Dez. 2026, 19:00.")
    assert bodies[2] == "termin-1.ics"
    assert "DTSTART:20261201T180000Z" in next(iter(conv.chat.uploads.values())).decode()
    [reminder] = await conv.advance(datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc) - conv.clock.now())
    assert "beginnt in 1 Tag" in reminder.body and reminder.mentions == [BOB]
    await create(conv, "!termin Jour fixe | 3.12. 18:00 | 4.12. 18:00\nbis: 2.12. 12:00\nfix: ja")
    # a tie: nothing is fixed, the organisers decide
    await conv.reply(BOB, "!abstimmen 2 1 2", ROOM)
    sent = await conv.advance(timedelta(days=7))
    assert not any(s.body.startswith("📅 Termin steht") for s in sent)
    answer = await conv.reply(ALICE, "!termin Plenum | 20.12. 18:00 | 21.12. 19:00\nfix: ja", ROOM)
    assert answer.body.startswith("„festlegen: ja“ legt den besten Termin zur Frist fest")


async def test_fix_without_number_takes_the_best_or_asks(conv):
    await create(conv)
    await conv.reply(BOB, "!abstimmen 1 1 3", ROOM)
    answer = await conv.reply(ORGA, "!termin festlegen 1", ROOM)
    assert answer.body.startswith("Welcher Termin?") and "(die besten: 1, 3)" in answer.body
    await conv.reply(CAROL, "!abstimmen 1 3", ROOM)
    answer = await conv.reply(ORGA, "!termin festlegen 1\nerinnerung: keine", ROOM)
    assert "am Mi., 2. Dez. 2026, 18:00" in answer.body and "Ohne Erinnerung." in answer.body
    answer = await conv.reply(ORGA, "!termin festlegen 1 5", ROOM)
    assert answer.body == "Umfrage #1 hat die Optionen 1 bis 3; eine 5 gibt es nicht."
    answer = await conv.reply(ORGA, "!termin festlegen 1 1\nerinnerung: bald", ROOM)
    assert answer.body.startswith("„bald“ verstehe ich nicht")


async def test_refixing_moves_the_reminders(conv):
    await create(conv)
    await conv.reply(ALICE, "!termin festlegen 1 1\nerinnerung: 2 Stunden", ROOM)
    await conv.reply(ALICE, "!termin festlegen 1 3", ROOM)  # keeps the reminder setting, moves the date
    sent = await conv.advance(datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc) - conv.clock.now())
    assert not any(s.body.startswith("⏰") for s in sent)
    [reminder] = await conv.advance(datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc) - conv.clock.now())
    assert "beginnt in 2 Stunden – Mi., 2. Dez. 2026, 18:00" in reminder.body
    ics = [SimpleNamespace(body=data.decode().replace("\r\n", "\n")) for data in conv.chat.uploads.values()]
    assert "SEQUENCE:0" in ics[0].body and "SEQUENCE:1" in ics[1].body
    uid = [line for line in ics[0].body.split("\n") if line.startswith("UID:")]
    assert uid and uid[0] in ics[1].body


class UploadingChat(FakeChat):
    """A transport that records uploads and answers with a fixed mxc URI."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[tuple[bytes, str, str]] = []

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        self.uploads.append((data, mime, filename))
        return "mxc://test/ics1"


async def test_calendar_file_is_an_attachment_where_the_transport_can_upload(tmp_path):
    chat = UploadingChat()
    chat.add_room(ROOM, [ALICE, BOB])
    conv = await start_conversation(tmp_path, chat)
    try:
        await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
        sent = await conv.say(ALICE, "!termin festlegen 1 1", ROOM)
        [file] = [s for s in sent if s.content.get("msgtype") == "m.file"]
        assert file.content["url"] == "mxc://test/ics1" and file.content["info"]["mimetype"] == "text/calendar"
        assert chat.uploads[0][0].startswith(b"BEGIN:VCALENDAR") and chat.uploads[0][2] == "termin-1.ics"
    finally:
        await conv.app.db.close()


async def test_fixing_from_a_direct_chat_announces_in_the_polls_room_in_its_language(conv):
    dm = "!dm-alice:test"
    conv.chat.add_room(dm, [ALICE], name="Alice DM")
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await create(conv, "!meeting Plenary | Mon 30.11. 18:00 | Tue 1.12. 19:00", room=ROOM_EN)
    await conv.reply(BOB, "!vote 1 2", ROOM_EN)
    ev = conv.event(ALICE, "termin festlegen 1 2", dm)
    sent = await conv.deliver(ev)
    [answer] = [s for s in sent if s.room_id == dm]
    assert answer.reply_to == ev.event_id
    assert answer.body == ("Termin #1 ist festgelegt; die Ankündigung und die Kalenderdatei stehen im Raum "
                           "der Umfrage.")
    [announcement] = [s for s in sent if s.room_id == ROOM_EN and s.body.startswith("📅")]
    assert announcement.body.startswith("📅 Date fixed: “Plenary” (#1) on ")
    assert announcement.reply_to is None and announcement.mentions == [BOB]
    [file] = [s for s in sent if s.content.get("msgtype") == "m.file"]
    assert file.room_id == ROOM_EN
    ics = conv.chat.uploads[file.content["url"]].decode().replace("\r\n", "\n")
    assert "DESCRIPTION:Fixed by date poll #1 in English room." in ics and "Alice DM" not in ics


async def test_a_settle_job_left_by_an_older_version_finishes_quietly(conv, caplog):
    """Table edits were re-sent by `polls.settle` jobs; the outbox re-sends a merged edit itself now."""
    table, _ = await create(conv)
    async with conv.app.db.transaction():
        await conv.app.scheduler.schedule("polls.settle", "polls.1.settle", conv.clock.now(), {"poll": 1})
    with caplog.at_level(logging.WARNING):
        sent = await conv.advance(timedelta(seconds=3))
    assert edits(sent, table.event_id) == [] and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert await conv.app.db.fetchval("SELECT state FROM jobs WHERE key = 'polls.1.settle'") == "done"


async def test_votes_in_a_burst_are_one_table_edit_and_no_job(conv):
    table, _ = await create(conv)
    for who in (BOB, CAROL):
        await conv.app.pipeline.handle(react(conv, who, table.event_id, ONE))
    assert len(edits(await conv.advance(timedelta(0)), table.event_id)) == 1
    assert await conv.app.db.fetchval("SELECT count(*) FROM jobs WHERE key LIKE 'polls.1.settle'") == 0


async def test_dates_that_read_alike_are_one_option(conv):
    answer = await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | 30.11.2026 18:00", ROOM)
    assert answer.body.startswith("„Mo 30.11. 18:00“ steht zweimal in der Liste.")


async def test_a_failed_upload_is_retried_then_the_calendar_entry_sent_as_text(conv, caplog):
    await create(conv)
    delivery = conv.app.delivery
    delivery.RETRY_BASE = 0
    conv.chat.fail_effects = delivery.MAX_ATTEMPTS  # every attempt to upload the .ics fails (after commit)
    with caplog.at_level(logging.WARNING, logger="bot.messenger"):
        sent = await conv.say(ALICE, "!termin festlegen 1 1", ROOM)
        assert not [s for s in sent if "BEGIN:VCALENDAR" in s.body]  # the file message waits for its upload
        for _ in range(delivery.MAX_ATTEMPTS):
            sent += await conv.deliver(conv.event(BOB, "hallo", ROOM))
    [text] = [s for s in sent if "BEGIN:VCALENDAR" in s.body]
    assert text.room_id == ROOM and not [s for s in sent if s.content.get("msgtype") == "m.file"]
    assert "plenum.fallback" not in text.content and text.content["msgtype"] == "m.notice"
    [told] = [s for s in sent if s.body.startswith("Etwas, das ich dafür tun sollte")]  # the upload, once
    assert told.room_id == ROOM
    assert len([r for r in caplog.records if "failed (attempt" in r.getMessage()]) == delivery.MAX_ATTEMPTS
    assert conv.chat.uploads == {}


async def test_refused_fixes_say_what_to_type(conv):
    await conv.reply(ALICE, "!umfrage Frage | A | B", ROOM)
    answer = await conv.reply(ALICE, "!termin festlegen 1 1", ROOM)
    assert answer.body == ("Umfrage #1 ist keine Terminumfrage, da gibt es keinen Termin festzulegen. "
                           "Beenden kannst du sie mit !schliessen 1")
    await create(conv, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00")
    conv.clock.advance(datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc) - conv.clock.now())
    answer = await conv.reply(ALICE, "!termin festlegen 2 1", ROOM)
    assert answer.body == ("Der Termin Mo., 30. Nov. 2026, 18:00 liegt schon in der Vergangenheit. Wähl einen "
                           "späteren: !termin festlegen 2 <Nr.> (die Nummern zeigt !ergebnis 2)")
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await conv.reply(ALICE, "!poll Lunch? | Pizza | Sushi | Soup\nchoices: 2", ROOM_EN)
    answer = await conv.reply(ALICE, "!meeting fix 3 1", ROOM_EN)
    assert answer.body == "Poll #3 is not a date poll, so there is no date to fix. To end it, type !close 3"
    answer = await conv.reply(BOB, "!vote 3 1 2 3", ROOM_EN)
    assert answer.body == "In poll #3 you can choose at most 2, e.g. !vote 3 1 2"
