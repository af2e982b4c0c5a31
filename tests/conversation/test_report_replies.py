"""Reports both ways: what a reporter writes back in the direct chat reaches the same report, anonymously.

A Matrix reply to the bot's message about a report always belongs to that report (the number rides in
the message's content, in the direct chat's own timeline); a plain message soon after the team's
answer does too. `!melden` in a group room is refused with a pointer to the direct chat.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conversation.safespace_setup import ALICE, AWA, AWARE, BOB, ROOM, all_rows, dm, start
from tests.fakes import BOT


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    yield c
    await c.app.db.close()


def reply_to(sent, text: str) -> dict:
    """A Matrix reply to the bot's message `sent`, with the classic fallback."""
    return {"msgtype": "m.text", "body": f"> <{BOT}> {sent.body.splitlines()[0]}\n\n{text}",
            "m.relates_to": {"m.in_reply_to": {"event_id": sent.event_id}}}


async def reported_and_answered(conv, user=ALICE, text="Im Plenum wurde ich ausgelacht", number=1):
    await conv.reply(user, f"melden {text}", dm(user))
    await conv.reply(AWA, f"!antworten {number} Danke. Magst du uns sagen, wann das war?", AWARE)
    return conv.chat.in_room(dm(user))[-1]


async def test_plain_message_after_the_answer_goes_to_the_same_report_anonymously(conv):
    answer = await reported_and_answered(conv)
    assert answer.body.startswith("Antwort des Awareness-Teams auf deine Meldung Nr. 1")
    ack = await conv.reply(ALICE, "Das war am Dienstag, nach der Pause.", dm(ALICE))
    assert ack.body == "Deine Nachricht ist beim Awareness-Team, zu deiner Meldung Nr. 1 und ohne deinen Namen."
    notice = conv.chat.in_room(AWARE)[-1]
    assert notice.body.startswith("Meldung Nr. 1 – Nachricht der meldenden Person:\nDas war am Dienstag")
    assert "alice" not in str(notice.content) and "m.relates_to" not in notice.content
    assert "kenne ich nicht" not in ack.body


async def test_reply_to_the_answer_always_maps_to_its_report(conv):
    await conv.reply(BOB, "report Second thing", dm(BOB))  # report #1 is bob's
    first = await reported_and_answered(conv, number=2)
    await conv.reply(ALICE, "melden Noch etwas anderes", dm(ALICE))  # report #3
    await conv.reply(AWA, "!antworten 3 Danke auch dafür.", AWARE)
    # a plain message now belongs to #3, the latest answer; a reply to the first answer to #2
    _, sent = await conv.send_content(ALICE, dm(ALICE), reply_to(first, "Hilfe, es ist wieder passiert"))
    assert [s.body for s in sent if s.room_id == dm(ALICE)] == [
        "Deine Nachricht ist beim Awareness-Team, zu deiner Meldung Nr. 2 und ohne deinen Namen."]
    assert conv.chat.in_room(AWARE)[-1].body.startswith("Meldung Nr. 2 – Nachricht der meldenden Person:\n"
                                                       "Hilfe, es ist wieder passiert")  # "Hilfe" is no !hilfe here
    await conv.reply(ALICE, "und noch was", dm(ALICE))
    assert conv.chat.in_room(AWARE)[-1].body.startswith("Meldung Nr. 3 –")


async def test_reply_to_the_report_confirmation_also_reaches_the_team(conv):
    ev = conv.event(ALICE, "melden Ich wurde bedrängt", dm(ALICE))
    await conv.deliver(ev)
    [confirmation] = conv.chat.replies_to(ev.event_id)
    _, sent = await conv.send_content(ALICE, dm(ALICE), reply_to(confirmation, "Es war beim Sommerfest."))
    assert "zu deiner Meldung Nr. 1" in sent[-1].body
    assert "Es war beim Sommerfest." in conv.chat.in_room(AWARE)[-1].body


async def test_reply_to_someone_elses_report_message_is_not_taken(conv):
    bobs = await reported_and_answered(conv, user=BOB)
    # alice cannot reply in bob's direct chat, but a forged reference to it must not work either
    await conv.reply(ALICE, "melden Meins", dm(ALICE))
    conv.chat.sent.append(type(bobs)(dm(ALICE), bobs.type, dict(bobs.content), "$forged", "t"))
    _, sent = await conv.send_content(ALICE, dm(ALICE), reply_to(conv.chat.sent[-1], "hallo"))
    assert "kenne ich nicht" in sent[-1].body
    assert "hallo" not in conv.chat.in_room(AWARE)[-1].body


async def test_commands_and_old_answers_stay_commands(conv):
    await reported_and_answered(conv)
    assert "Das kann ich" in (await conv.reply(ALICE, "hilfe", dm(ALICE))).body  # a command word is a command
    assert "kenne ich nicht" in (await conv.reply(ALICE, "!hallo", dm(ALICE))).body  # so is anything with !
    conv.clock.advance(timedelta(days=8))
    assert "kenne ich nicht" in (await conv.reply(ALICE, "Danke nochmal", dm(ALICE))).body
    assert "kenne ich nicht" in (await conv.reply(BOB, "Danke", dm(BOB))).body  # bob got no answer


async def test_forgetting_ends_the_follow_up(conv):
    await reported_and_answered(conv)
    await conv.say(ALICE, "vergessen", dm(ALICE))
    await conv.say(ALICE, "vergessen ja", dm(ALICE))
    assert "Erledigt" in conv.chat.in_room(dm(ALICE))[-1].body
    assert "kenne ich nicht" in (await conv.reply(ALICE, "noch was", dm(ALICE))).body


async def test_follow_up_leaves_no_trace_of_the_reporter(conv):
    await reported_and_answered(conv)
    await conv.reply(ALICE, "Es war am Dienstag", dm(ALICE))
    await conv.advance(timedelta(minutes=2))
    rows = await all_rows(conv)
    assert "Es war am Dienstag" not in rows
    report_rows = [line for line in rows.splitlines() if line.startswith(("safespace_", "outbox", "jobs"))]
    assert not any(ALICE in line or dm(ALICE) in line for line in report_rows), report_rows


async def test_english_reporter_writes_back(conv):
    await conv.reply(ALICE, "!room language en", dm(ALICE))
    await conv.reply(AWA, "!raum sprache en", AWARE)
    await reported_and_answered(conv)
    ack = await conv.reply(ALICE, "It was on Tuesday.", dm(ALICE))
    assert ack.body == "Your message is with the awareness team, on your report #1 and without your name."
    assert conv.chat.in_room(AWARE)[-1].body.startswith(
        "Report #1 – message from the person who reported:\nIt was on Tuesday.")


async def test_report_in_a_group_room_points_to_the_direct_chat(conv):
    answer = await conv.reply(ALICE, "!melden Jemand bedrängt mich", ROOM)
    assert answer.body.startswith("Meldungen nehme ich nur im Direktchat an")
    assert f"https://matrix.to/#/{BOT}" in answer.body and "bedrängt" not in answer.body
    assert conv.chat.in_room(AWARE) == [] or "bedrängt" not in conv.chat.in_room(AWARE)[-1].body
    english = await conv.reply(ALICE, "!report someone harasses me", ROOM)
    assert "direct chat" in english.body or "Direktchat" in english.body
