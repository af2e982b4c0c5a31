"""Conversation tests for the awareness team: approval, removal, anonymous reports and answers."""
from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest

from tests.conversation.safespace_setup import (
    ALICE, AWA, AWA2, AWARE, BOB, CAROL, EVE, ORGA, ROOM, SAFE, all_rows, dm, member_event, start,
)


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    await c.reply(ORGA, "!raum schutzraum genehmigung", SAFE)
    c.chat.actions.clear()
    yield c
    await c.app.db.close()


async def request(conv, user=ALICE) -> str:
    await conv.reply(user, "schutzraum beitreten 1", dm(user))
    answer = await conv.reply(user, "bestätigen", dm(user))
    assert "liegt jetzt beim Awareness-Team" in answer.body
    return conv.chat.in_room(AWARE)[-1].body


# ---------------------------------------------------------------- approval
async def test_request_goes_to_awareness_room_naming_the_requester(conv):
    notice = await request(conv)
    assert notice.startswith("Anfrage Nr. 1: @alice:test möchte in „FINTA*-Treff“")
    assert "!zulassen 1" in notice
    assert conv.chat.actions_of("invite") == []
    assert "liegt beim Awareness-Team" in (await conv.reply(ALICE, "schutzraum", dm(ALICE))).body
    again = await conv.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    assert "schon beim Awareness-Team" in again.body


async def test_admit_invites_and_tells_the_requester(conv):
    await request(conv)
    answer = await conv.reply(AWA2, "!zulassen 1", AWARE)  # any member of the awareness room
    assert "Anfrage Nr. 1 zugelassen: @alice:test" in answer.body
    assert conv.chat.actions_of("invite") == [("invite", SAFE, ALICE)]
    assert "hat dich in „FINTA*-Treff“ aufgenommen" in conv.chat.in_room(dm(ALICE))[-1].body
    assert "Eine offene Anfrage Nr. 1 gibt es nicht" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body
    await member_event(conv, ALICE, SAFE, "join")
    assert "Willkommen" in conv.chat.in_room(dm(ALICE))[-1].body
    assert "kannst jetzt" in (await conv.reply(ALICE, "akzeptieren", dm(ALICE))).body


async def test_deny_tells_the_requester_and_invites_nobody(conv):
    await request(conv)
    answer = await conv.reply(AWA, "!ablehnen 1", AWARE)
    assert "Anfrage Nr. 1 abgelehnt: @alice:test" in answer.body
    assert "nicht angenommen" in conv.chat.in_room(dm(ALICE))[-1].body
    assert conv.chat.actions_of("invite") == []
    assert "gibt es nicht" in (await conv.reply(AWA, "!deny 1", AWARE)).body


async def test_unconfirmed_asking_is_no_request(conv):
    await conv.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    assert "Eine offene Anfrage Nr. 1 gibt es nicht" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body
    assert conv.chat.actions_of("invite") == []


async def test_bad_request_number(conv):
    answer = await conv.reply(AWA, "!zulassen eins", AWARE)
    assert answer.body.startswith("„eins“ ist keine Zahl") and "!zulassen <Nr>" in answer.body
    assert "Da fehlt noch" in (await conv.reply(AWA, "!ablehnen", AWARE)).body


async def test_approval_without_awareness_room(conv):
    async with conv.app.db.transaction():
        await conv.app.rooms.clear_role(AWARE, "awareness")
    await conv.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    answer = await conv.reply(ALICE, "bestätigen", dm(ALICE))
    assert "noch kein Awareness-Raum" in answer.body
    assert "Achtung" in (await conv.reply(ORGA, "!raum schutzraum genehmigung", SAFE)).body


async def test_admit_when_room_is_no_longer_a_safe_space(conv):
    await request(conv)
    await conv.reply(ORGA, "!raum entfernen schutzraum", SAFE)
    assert "kein Schutzraum mehr" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body
    assert conv.chat.actions_of("invite") == []


async def test_closing_a_request_for_a_former_safe_space_persists(conv):
    await request(conv)
    await conv.reply(ORGA, "!raum entfernen schutzraum", SAFE)
    assert "ich habe sie geschlossen" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body
    assert "Eine offene Anfrage Nr. 1 gibt es nicht" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body
    assert "Anfrage Nr. 1" not in (await conv.reply(ALICE, "meinedaten", dm(ALICE))).body


# ---------------------------------------------------------------- who may decide
@pytest.mark.parametrize("command", ["!zulassen 1", "!ablehnen 1", "!entfernen @carol:test 1", "!antworten 1 Hallo"])
async def test_awareness_commands_only_in_awareness_room(conv, command):
    await request(conv)
    assert "nur im Awareness-Raum" in (await conv.reply(ORGA, command, ROOM)).body  # organiser elsewhere
    assert "nur im Awareness-Raum" in (await conv.reply(ORGA, command, SAFE)).body  # organiser of the space
    assert "nur im Awareness-Raum" in (await conv.reply(BOB, command, ROOM)).body  # member
    assert "Gruppenraum" in (await conv.reply(EVE, command.lstrip("!"), dm(EVE))).body  # stranger
    assert "Gruppenraum" in (await conv.reply(AWA, command.lstrip("!"), dm(AWA))).body  # awareness, wrong place
    assert conv.chat.actions_of("invite") == [] and conv.chat.actions_of("kick") == []


# ---------------------------------------------------------------- removal
async def test_remove_kicks_revokes_and_logs(conv):
    answer = await conv.reply(AWA, "!entfernen @carol:test FINTA*-Treff", AWARE)
    assert "Entfernt: @carol:test aus „FINTA*-Treff“" in answer.body
    assert ("kick", SAFE, CAROL) in conv.chat.actions
    assert ("power", SAFE, CAROL, "0") in conv.chat.actions
    assert CAROL not in conv.chat.rooms[SAFE].members
    # without approval too, coming back needs the awareness team now
    await conv.reply(ORGA, "!raum schutzraum", SAFE)
    asked = await conv.reply(CAROL, "schutzraum beitreten 1", dm(CAROL))
    assert "Awareness-Team" in asked.body
    notice = await request(conv, CAROL)
    assert "Anfrage Nr. 1: @carol:test" in notice
    assert ("invite", SAFE, CAROL) not in conv.chat.actions
    await conv.reply(AWA, "!zulassen 1", AWARE)
    assert ("invite", SAFE, CAROL) in conv.chat.actions
    await member_event(conv, CAROL, SAFE, "join")
    assert "Willkommen" in conv.chat.in_room(dm(CAROL))[-1].body  # level 0 again: rules gate


async def test_remove_someone_not_in_the_room_still_revokes(conv):
    await request(conv)
    answer = await conv.reply(AWA, "!remove @alice:test 1", AWARE)
    assert "war nicht in" in answer.body
    assert conv.chat.actions_of("kick") == []
    assert "gibt es nicht" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body  # open request closed
    assert "Entfernt" not in answer.body


async def test_remove_cannot_touch_someone_as_powerful_as_the_bot(conv):
    conv.chat.rooms[SAFE].power[ORGA] = 100
    answer = await conv.reply(AWA, "!entfernen @orga:test 1", AWARE)
    assert "kann ich die Person nicht" in answer.body
    assert conv.chat.actions_of("kick") == []


async def test_remove_bad_inputs(conv):
    assert "keine Matrix-ID" in (await conv.reply(AWA, "!entfernen carol FINTA*-Treff", AWARE)).body
    assert "finde ich nicht" in (await conv.reply(AWA, "!entfernen @carol:test Lesekreis", AWARE)).body
    assert "Da fehlt noch" in (await conv.reply(AWA, "!entfernen @carol:test", AWARE)).body


# ---------------------------------------------------------------- anonymous reports
def bot_log(caplog) -> str:
    """Everything logged, at every level (no library in the process logs SQL statements)."""
    return "\n".join(r.getMessage() for r in caplog.records)


async def test_report_reaches_awareness_room_without_trace_of_the_sender(conv, caplog):
    caplog.set_level("DEBUG")
    text = "Im Plenum wurde ich dreimal unterbrochen"
    ev = conv.event(ALICE, f"melden {text}", dm(ALICE))
    await conv.deliver(ev)
    [ack] = conv.chat.replies_to(ev.event_id)
    assert "Meldung Nr. 1" in ack.body and "ohne deinen Namen" in ack.body
    notice = conv.chat.in_room(AWARE)[-1]
    assert notice.body.startswith("Meldung Nr. 1 (anonym):") and text in notice.body
    assert "m.relates_to" not in notice.content and notice.content["m.mentions"] == {}
    assert "alice" not in str(notice.content)
    assert "alice" not in bot_log(caplog) and text not in bot_log(caplog)

    answer = await conv.reply(AWA, "!antworten 1 Danke, wir sprechen das im Plenum an.", AWARE)
    assert "Meldung Nr. 1 ist unterwegs" in answer.body and "alice" not in str(answer.content)
    delivered = conv.chat.in_room(dm(ALICE))[-1]
    assert "Antwort des Awareness-Teams auf deine Meldung Nr. 1" in delivered.body
    assert "Danke, wir sprechen das im Plenum an." in delivered.body
    assert "alice" not in bot_log(caplog)

    # what a host could read: no user id near a report, and once sent, no DM message about it
    await conv.advance(timedelta(minutes=2))
    rows = await all_rows(conv)
    report_rows = [line for line in rows.splitlines() if line.startswith(("safespace_", "outbox", "jobs"))]
    assert not any(ALICE in line or dm(ALICE) in line for line in report_rows), report_rows
    assert text not in rows


async def test_named_report(conv):
    await conv.reply(ALICE, "melden Bitte ruft mich an\nname: ja", dm(ALICE))
    notice = conv.chat.in_room(AWARE)[-1]
    assert notice.body.startswith("Meldung Nr. 1 von @alice:test")
    assert "Bitte ruft mich an" in notice.body and "name:" not in notice.body


async def test_report_numbers_count_up_and_answers_find_each_reporter(conv):
    await conv.reply(ALICE, "melden Erstens", dm(ALICE))
    await conv.reply(BOB, "report Second", dm(BOB))
    assert "Meldung Nr. 3" in (await conv.reply(BOB, "report Third", dm(BOB))).body
    await conv.reply(AWA, "!antworten 2 an zwei", AWARE)
    await conv.reply(AWA, "!answer 1 an eins", AWARE)
    assert "an zwei" in conv.chat.in_room(dm(BOB))[-1].body
    assert "an eins" in conv.chat.in_room(dm(ALICE))[-1].body


async def test_report_errors(conv):
    assert "Da fehlt noch" in (await conv.reply(ALICE, "melden", dm(ALICE))).body
    assert "Direktchat" in (await conv.reply(ALICE, "!melden Hilfe", ROOM)).body
    assert "kenne dich aus keinem Gruppenraum" in (await conv.reply(EVE, "melden Hallo", dm(EVE))).body
    assert "Eine Meldung Nr. 7 gibt es nicht" in (await conv.reply(AWA, "!antworten 7 Hallo", AWARE)).body
    assert "Da fehlt noch" in (await conv.reply(AWA, "!antworten 7", AWARE)).body
    async with conv.app.db.transaction():
        await conv.app.rooms.clear_role(AWARE, "awareness")
    assert "kein Awareness-Raum" in (await conv.reply(ALICE, "melden Hallo", dm(ALICE))).body


async def test_report_route_key_is_a_private_file(conv):
    await conv.reply(ALICE, "melden Hallo", dm(ALICE))
    key = conv.app.config.bot.data_dir / "safespace.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and len(key.read_bytes()) == 32


async def test_forget_erases_the_route_but_keeps_the_report(conv):
    await conv.reply(ALICE, "melden Hallo", dm(ALICE))
    await request(conv)
    feature = conv.app.feature("awareness")
    ctx = await conv.app.dispatcher.context(conv.event(ALICE, "meinedaten", dm(ALICE)), True)
    shown = [r.text for r in await feature.my_data(ALICE, ctx)]
    assert shown and "1 Meldung von dir" in shown[0] and "Nr." not in shown[0]
    safespace = [r.text for r in await conv.app.feature("safespace").my_data(ALICE, ctx)]
    assert safespace == ["Anfrage Nr. 1 für „FINTA*-Treff“ liegt beim Awareness-Team (mit deiner Matrix-ID)."]
    async with conv.app.db.transaction():
        done = [r.text for r in await feature.forget(ALICE, ctx)]
        await conv.app.feature("safespace").forget(ALICE, ctx)
    assert "Weg zurück zu dir ist gelöscht" in done[0]
    assert await feature.my_data(ALICE, ctx) == []
    answer = await conv.reply(AWA, "!antworten 1 Hallo?", AWARE)
    assert "kann ich nicht mehr erreichen" in answer.body
    assert "gibt es nicht" in (await conv.reply(AWA, "!zulassen 1", AWARE)).body


async def test_forget_keeps_removal(conv):
    await conv.reply(AWA, "!entfernen @carol:test 1", AWARE)
    ctx = await conv.app.dispatcher.context(conv.event(CAROL, "vergessen", dm(CAROL)), True)
    feature = conv.app.feature("safespace")
    assert "entfernt" in (await feature.my_data(CAROL, ctx))[0].text
    async with conv.app.db.transaction():
        done = [r.text for r in await feature.forget(CAROL, ctx)]
    assert any("Behalten" in line for line in done)
    await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Awareness-Team" in (await conv.reply(CAROL, "schutzraum beitreten 1", dm(CAROL))).body


async def test_reporter_who_left_every_room_cannot_be_answered(conv):
    await conv.reply(ALICE, "melden Hallo", dm(ALICE))
    conv.chat.rooms[ROOM].members.remove(ALICE)
    del conv.chat.rooms[dm(ALICE)]
    assert "kann ich nicht mehr erreichen" in (await conv.reply(AWA, "!antworten 1 Hallo?", AWARE)).body
