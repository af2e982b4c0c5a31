"""Issue 13: every side effect is an outbox row performed after commit; no network call inside a transaction.

FakeChat (tests/fakes.py) raises NetworkInTransaction for any Matrix call made while the calling task
holds a transaction, in every conversation test. Here: one flow per capability that touches Matrix,
run with that guard, and what makes each kind of row safe to repeat.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.ports import SendRefused
from bot.render import plain
from tests.conversation import safespace_setup as ss
from tests.conversation.test_duties_support import make_chat as duty_chat
from tests.conversation.test_duties_welcome import NEW, welcome_room
from tests.conversation.test_posts_fakes import ANNA, image_event, open_conversation
from tests.conversation.test_posts_fakes import ORGA as POST_ROOM
from tests.fakes import FakeChat, NetworkInTransaction, start_conversation

ROOM, ALICE, BOB, CAROL = "!room:test", "@alice:test", "@bob:test", "@carol:test"


def plain_chat() -> FakeChat:
    chat = FakeChat()
    chat.add_room(ROOM, [ALICE, BOB, CAROL], power={ALICE: 50}, name="Ortsgruppe")
    return chat


# ------------------------------------------------------------------ one flow per capability
async def mark_space(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)
    return conv, [("state", ss.SAFE, "m.room.join_rules", ""), ("state", ss.SAFE, "m.room.power_levels", "")]


async def admit_by_declaration(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)
    await conv.reply(ss.ALICE, "schutzraum beitreten 1", ss.dm(ss.ALICE))
    await conv.reply(ss.ALICE, "bestätigen", ss.dm(ss.ALICE))
    return conv, [("invite", ss.SAFE, ss.ALICE)]


async def admit_by_the_team(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum genehmigung", ss.SAFE)
    await conv.reply(ss.ALICE, "schutzraum beitreten 1", ss.dm(ss.ALICE))
    await conv.reply(ss.ALICE, "bestätigen", ss.dm(ss.ALICE))
    await conv.reply(ss.AWA, "!zulassen 1", ss.AWARE)
    return conv, [("invite", ss.SAFE, ss.ALICE)]


async def accept_rules(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)
    await ss.member_event(conv, ss.ALICE, ss.SAFE, "join")
    await conv.reply(ss.ALICE, "akzeptieren", ss.dm(ss.ALICE))
    return conv, [("power", ss.SAFE, ss.ALICE, "1")]


async def remove_member(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)
    await conv.reply(ss.AWA, f"!entfernen {ss.CAROL} 1", ss.AWARE)
    return conv, [("kick", ss.SAFE, ss.CAROL), ("power", ss.SAFE, ss.CAROL, "0")]


async def meeting_calendar(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    await conv.say(ALICE, "!termin festlegen 1 1", ROOM)
    return conv, [("upload", "termin-1.ics", "text/calendar")]


async def decisions_export(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    await conv.reply(ALICE, "!umfrage Park?", ROOM)
    await conv.reply(BOB, "!abstimmen 1 ja", ROOM)
    await conv.reply(ALICE, "!schliessen 1", ROOM)
    await conv.say(BOB, "!beschlüsse export", ROOM)
    name = next(a[1] for a in conv.chat.actions if a[0] == "upload")
    return conv, [("upload", name, "text/markdown")]


async def welcome_buddy(tmp_path):
    from tests.conversation.test_duties_support import ALICE as DUTY_ALICE, ROOM as DUTY_ROOM
    conv = await start_conversation(tmp_path, duty_chat())
    await welcome_room(conv, DUTY_ALICE)
    conv.chat.rooms[DUTY_ROOM].members.append(NEW)
    await conv.deliver(conv.event(NEW, "", DUTY_ROOM, type="m.room.member", content={"membership": "join"},
                                  state_key=NEW))
    await conv.advance(timedelta(seconds=1))
    [room_id] = [a[1] for a in conv.chat.actions if a[0] == "create_room"]
    assert [s for s in conv.chat.in_room(room_id) if "Ansprechperson" in s.body]
    return conv, [("create_room", room_id, NEW, DUTY_ALICE)]


async def post_with_picture(tmp_path):
    conv = await open_conversation(tmp_path)
    await conv.reply("@admin:test", "!raum orga", POST_ROOM)
    img = image_event(conv, ANNA, POST_ROOM)
    answer = await conv.reply(ANNA, "!beitrag Demo am Samstag", POST_ROOM, reply_to=img.event_id)
    assert "Bild" in answer.body or "picture" in answer.body
    await conv.feature.publishing.settle()
    return conv, []


FLOWS = [mark_space, admit_by_declaration, admit_by_the_team, accept_rules, remove_member, meeting_calendar,
         decisions_export, welcome_buddy, post_with_picture]


@pytest.mark.parametrize("flow", FLOWS, ids=[f.__name__ for f in FLOWS])
async def test_no_network_call_inside_a_transaction(tmp_path, flow):
    """Each flow runs with the guard on (a call inside a transaction raises through every handler)
    and its side effects did happen, after commit."""
    conv, expected = await flow(tmp_path)
    try:
        assert conv.chat.db is conv.app.db  # the guard is on
        for action in expected:
            assert action in conv.chat.actions
        assert await conv.app.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed IS NULL") == 0
    finally:
        await conv.app.db.close()


async def test_the_guard_refuses_a_call_inside_a_transaction(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    with pytest.raises(NetworkInTransaction):
        async with conv.app.db.transaction():
            await conv.chat.invite(ROOM, "@x:test")
    await conv.chat.invite(ROOM, "@x:test")  # outside one it is fine
    await conv.app.db.close()


# ------------------------------------------------------------------ safe to repeat
@pytest.fixture
async def space(tmp_path):
    conv = await ss.start(tmp_path)
    await conv.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)
    conv.chat.actions.clear()
    yield conv
    await conv.app.db.close()


async def _queue(conv, effect) -> None:
    async with conv.app.db.transaction():
        await effect(conv.app.messenger)
    await conv.app.delivery.flush()


async def test_an_invite_is_not_repeated_for_someone_invited_or_joined_meanwhile(space):
    space.chat.rooms[ss.SAFE].invited.append(ss.ALICE)  # say, a retry after a crash before the mark
    await _queue(space, lambda m: m.invite(ss.SAFE, ss.ALICE))
    await _queue(space, lambda m: m.invite(ss.SAFE, ss.CAROL))  # joined
    assert space.chat.actions_of("invite") == []
    await _queue(space, lambda m: m.invite(ss.SAFE, ss.BOB))
    assert space.chat.actions_of("invite") == [("invite", ss.SAFE, ss.BOB)]


async def test_a_kick_is_skipped_for_someone_who_left_before_delivery(space):
    space.chat.rooms[ss.SAFE].members.remove(ss.CAROL)
    await _queue(space, lambda m: m.kick(ss.SAFE, ss.CAROL, "bye"))
    assert space.chat.actions_of("kick") == []


async def test_a_power_change_applies_to_the_levels_at_delivery_not_a_stale_copy(space):
    async with space.app.db.transaction():
        await space.app.messenger.set_power_level(ss.SAFE, ss.ALICE, 1)
    space.chat.rooms[ss.SAFE].power[ss.BOB] = 50  # someone else changes the levels before delivery
    await space.app.delivery.flush()
    assert space.chat.rooms[ss.SAFE].power[ss.BOB] == 50 and space.chat.rooms[ss.SAFE].power[ss.ALICE] == 1
    await _queue(space, lambda m: m.set_power_level(ss.SAFE, ss.ALICE, 1))  # already so: nothing is sent
    assert space.chat.actions_of("power") == [("power", ss.SAFE, ss.ALICE, "1")]


async def test_a_created_room_is_not_created_again_when_what_follows_fails(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    conv.app.delivery.RETRY_BASE = 0
    async with conv.app.db.transaction():
        ref = await conv.app.messenger.create_room([ALICE, BOB], name="Hallo")
        await conv.app.messenger.send(None, plain("hallo"), needs=ref)
    conv.chat.fail_sends = 1
    await conv.app.delivery.flush()
    await conv.app.delivery.flush()
    [created] = [a for a in conv.chat.actions if a[0] == "create_room"]
    [intro] = conv.chat.sent
    assert intro.room_id == created[1]
    assert await conv.app.db.fetchval("SELECT result FROM outbox WHERE ref = ?", (ref,)) == created[1]
    await conv.app.db.close()


async def test_an_effect_refused_for_good_is_not_retried_and_told_once(space):
    async def refuse(room_id, user_id):
        refuse.calls += 1
        raise SendRefused("forbidden", status=403, errcode="M_FORBIDDEN")
    refuse.calls = 0
    space.chat.invite = refuse
    await space.reply(ss.ALICE, "schutzraum beitreten 1", ss.dm(ss.ALICE))
    ev = space.event(ss.ALICE, "bestätigen", ss.dm(ss.ALICE))
    await space.deliver(ev)
    await space.app.delivery.flush()
    assert refuse.calls == 1
    told = [s for s in space.chat.replies_to(ev.event_id) if s.body.startswith("Etwas, das ich dafür tun sollte")]
    assert len(told) == 1 and "abgelehnt" in told[0].body


async def test_a_room_keeps_its_order_behind_an_effect_that_waits(space):
    space.app.delivery.RETRY_BASE = 3600
    space.chat.fail_effects = 1
    async with space.app.db.transaction():
        await space.app.messenger.invite(ss.SAFE, ss.BOB)
        await space.app.messenger.send(ss.SAFE, plain("hallo"))
    before = len(space.chat.in_room(ss.SAFE))
    await space.app.delivery.flush()
    assert len(space.chat.in_room(ss.SAFE)) == before  # the message waits behind the invite's retry
    space.app.delivery._not_before.clear()  # as if the back-off had passed
    await space.app.delivery.flush()
    assert space.chat.actions_of("invite") == [("invite", ss.SAFE, ss.BOB)]
    assert space.chat.in_room(ss.SAFE)[before:][0].body == "hallo"


async def test_a_relate_job_left_by_an_older_version_queues_its_rows(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    table = await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    before = len([s for s in conv.chat.sent if s.type == "m.reaction"])
    async with conv.app.db.transaction():
        await conv.app.scheduler.schedule("polls.relate", "polls.1.relate.table.m.reaction", conv.clock.now(),
                                          {"poll": 1, "role": "table", "type": "m.reaction",
                                           "data": {"keys": ["1\ufe0f\u20e3"]}, "tries": 3})
    sent = await conv.advance(timedelta(seconds=1))
    assert [s.content["m.relates_to"]["event_id"] for s in sent if s.type == "m.reaction"] == [table.event_id]
    assert before == 4
    await conv.app.db.close()


async def test_a_crash_between_creating_a_room_and_marking_the_row_does_not_create_a_second(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    delivery, outbox = conv.app.delivery, conv.app.delivery.outbox
    async with conv.app.db.transaction():
        ref = await conv.app.messenger.create_room([ALICE, BOB], name="Hallo")
        await conv.app.messenger.send(None, plain("hallo"), needs=ref)
    real_mark = outbox.mark_sent

    async def crash(*args, **kw):
        raise KeyboardInterrupt  # the process dies right after the homeserver created the room

    outbox.mark_sent = crash
    with pytest.raises(KeyboardInterrupt):
        await delivery.flush()
    outbox.mark_sent = real_mark
    [created] = [a for a in conv.chat.actions if a[0] == "create_room"]
    assert await conv.app.db.fetchval("SELECT result FROM outbox WHERE ref = ?", (ref,)) == "plenum.started"
    await delivery.flush()  # the retry finds the room by its marker
    assert [a for a in conv.chat.actions if a[0] == "create_room"] == [created]
    [intro] = conv.chat.sent
    assert intro.room_id == created[1] and intro.body == "hallo"
    await conv.app.db.close()


async def test_a_direct_chat_opened_before_a_crash_is_not_opened_again(tmp_path):
    conv = await start_conversation(tmp_path, plain_chat())
    delivery = conv.app.delivery
    async with conv.app.db.transaction():
        await conv.app.messenger.dm(CAROL, plain("hallo"))
    real_set = delivery.dms.set

    async def crash(*args, **kw):
        raise KeyboardInterrupt  # the process dies before the new direct chat is remembered

    delivery.dms.set = crash
    with pytest.raises(KeyboardInterrupt):
        await delivery.flush()
    delivery.dms.set = real_set
    await delivery.flush()
    assert [a for a in conv.chat.actions if a[0] == "dm"] == [("dm", CAROL)]
    [sent] = conv.chat.sent
    assert sent.room_id == "!dm-carol:test" and await conv.app.dms.get(CAROL) == "!dm-carol:test"
    await conv.app.db.close()
