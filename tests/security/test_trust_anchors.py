"""Issue 11, defect 1: nobody becomes awareness team or organisers by creating rooms of their own.

The escalation as reported: a plain member opens a direct chat with the bot (power 100 there as its
creator), invites the bot into a room she made with a second account, and claims the roles there.
"""
from __future__ import annotations

import pytest

from bot.runner import invite_allowed
from storage.db import Database
from storage.schema import REGISTRY
from tests.conversation.safespace_setup import AWA, AWARE, ORGA, ROOM, SafeChat, dm
from tests.conversation.test_posts_fakes import FakePublisher
from tests.fakes import BOT, start_conversation

ADMIN, MALLORY, MAL2 = "@admin:test", "@mallory:test", "@mal2:test"
ORGS, OWN = "!orgs:test", "!own:test"


@pytest.fixture
async def group(tmp_path):
    chat = SafeChat()
    chat.add_room(ROOM, [ADMIN, ORGA, AWA, MALLORY], power={ADMIN: 100, ORGA: 50}, name="Ortsgruppe")
    chat.add_room(ORGS, [ORGA, AWA], power={BOT: 100, ORGA: 50}, name="Orga")
    chat.add_room(AWARE, [AWA, ORGA], power={BOT: 100, AWA: 50}, name="Awareness")
    chat.add_room(dm(MALLORY), [MALLORY], creators=[MALLORY])  # she created it: unlimited power there
    conv = await start_conversation(tmp_path, chat, rate_limit=1000, publishers={"main": FakePublisher("main")})
    assert "Orga-Raum" in (await conv.reply(ADMIN, "!raum orga", ORGS)).body
    assert "Awareness-Team" in (await conv.reply(ADMIN, "!raum awareness", AWARE)).body
    yield conv
    await conv.app.db.close()


async def holder(conv, role: str) -> str | None:
    return await conv.app.anchors.holder(role)


async def test_power_in_a_direct_chat_does_not_bring_the_bot_into_an_own_room(group):
    assert await group.app.chat.room_info(dm(MALLORY))  # she is organiser of her direct chat ...
    assert not await invite_allowed(group.app, MALLORY, direct=False)  # ... which vouches for nothing
    assert await invite_allowed(group.app, MALLORY, direct=True)  # a direct chat she may open
    assert await invite_allowed(group.app, ORGA, direct=False)  # an organiser of the group room, with the admin
    assert await invite_allowed(group.app, ADMIN, direct=False)


async def test_a_room_of_strangers_vouches_for_nobody(group):
    # her own room, with a second account the bot has never seen elsewhere, as another organiser
    group.chat.add_room(OWN, [MALLORY, MAL2], creators=[MALLORY], power={MAL2: 100}, name="Meins")
    assert not await invite_allowed(group.app, MALLORY, direct=False)
    # her second account is an organiser there, but only beside her, and she is no organiser elsewhere
    assert not await invite_allowed(group.app, MAL2, direct=False)


async def test_a_room_entered_as_a_direct_chat_never_vouches(group):
    group.chat.add_room(OWN, [MALLORY, MAL2, ORGA], creators=[MALLORY], power={MAL2: 100, ORGA: 50}, name="Meins")
    async with group.app.db.transaction():
        await group.app.anchors.mark_direct(OWN)  # she invited the bot with is_direct, then others joined
    assert not await invite_allowed(group.app, MALLORY, direct=False)


async def test_the_escalation_reaches_no_role_no_report_and_no_post(group):
    group.chat.add_room(OWN, [MALLORY, MAL2], creators=[MALLORY], power={MAL2: 100}, name="Meins")
    before = len(group.chat.sent)
    answer = await group.reply(MALLORY, "!raum awareness", OWN)
    assert "muss das dort bestätigt werden" in answer.body
    told = [s for s in group.chat.sent[before:] if s.room_id == AWARE]
    assert told and "möchte die Rolle" in told[0].body  # the real awareness team hears of it
    number = answer.body.split("bestätigen ")[1].split(".")[0]
    refused = await group.reply(MAL2, f"!raum bestätigen {number}", OWN)
    assert "im Raum, der die Rolle jetzt hat" in refused.body
    assert "Admin-Person" not in (await group.reply(MALLORY, "!raum orga", OWN)).body
    assert await holder(group, "awareness") == AWARE and await holder(group, "organisers") == ORGS

    await group.reply(MALLORY, "melden Jemand bedrängt mich", dm(MALLORY))
    assert not [s for s in group.chat.sent if s.room_id == OWN and "Meldung" in s.body]
    assert [s for s in group.chat.sent if s.room_id == AWARE and "bedrängt" in s.body]
    assert "Orga-Raum" in (await group.reply(MAL2, "!beitrag Wir sind jetzt die Orga", OWN)).body
    assert "Awareness" in (await group.reply(MALLORY, "!antworten 1 hallo", OWN)).body


async def test_the_holder_room_confirms_a_move_and_the_old_room_is_told(group):
    group.chat.add_room("!neu:test", [AWA, ORGA], power={AWA: 50}, name="Awareness neu")
    asked = await group.reply(AWA, "!raum awareness", "!neu:test")
    number = asked.body.split("bestätigen ")[1].split(".")[0]
    before = len(group.chat.sent)
    done = await group.reply(AWA, f"!raum bestätigen {number}", AWARE)
    assert "nicht mehr" in done.body and "Awareness neu" in done.body
    assert [s for s in group.chat.sent[before:] if s.room_id == "!neu:test" and "bestätigt" in s.body]
    assert await holder(group, "awareness") == "!neu:test"
    assert "gibt es nicht" in (await group.reply(AWA, f"!raum bestätigen {number}", AWARE)).body


async def test_an_admin_moves_an_anchor_at_once_and_the_old_room_is_told(group):
    group.chat.add_room("!neu:test", [ORGA, AWA], power={ORGA: 50}, name="Orga neu")
    before = len(group.chat.sent)
    answer = await group.reply(ADMIN, "!raum orga", "!neu:test")
    assert "hat sie nicht mehr" in answer.body
    assert [s for s in group.chat.sent[before:] if s.room_id == ORGS and "nicht mehr" in s.body]
    assert await holder(group, "organisers") == "!neu:test"


async def test_room_shows_which_room_holds_each_anchor(group):
    shown = await group.reply(MALLORY, "!raum", ROOM)
    assert "Orga-Raum: „Orga“" in shown.body and "Awareness-Team: „Awareness“" in shown.body


async def test_without_admins_only_a_vouched_organiser_founds_an_anchor(tmp_path):
    chat = SafeChat()
    chat.add_room(ROOM, [ORGA, AWA, MALLORY], power={ORGA: 50, AWA: 50}, name="Ortsgruppe")
    chat.add_room(AWARE, [AWA, ORGA], power={AWA: 50, ORGA: 50}, name="Awareness")
    chat.add_room(OWN, [MALLORY, MAL2], creators=[MALLORY], power={MAL2: 100}, name="Meins")
    conv = await start_conversation(tmp_path, chat, admins=[])
    try:
        assert "zweite Person mit Orga-Rechten" in (await conv.reply(MALLORY, "!raum awareness", OWN)).body
        assert "Awareness-Team" in (await conv.reply(AWA, "!raum awareness", AWARE)).body
        assert await conv.app.anchors.holder("awareness") == AWARE
    finally:
        await conv.app.db.close()


async def test_upgrade_keeps_the_first_of_duplicate_anchors(tmp_path):
    """A database from before anchors were unique may hold the attacker's second awareness room."""
    db = Database(tmp_path / "old.db")
    await db.open()
    before = {name: (steps[:2] if name == "core" else steps) for name, steps in REGISTRY.items()}
    await db.migrate(before)
    async with db.transaction():
        for room in ("!real:test", "!mallory:test"):
            await db.execute("INSERT INTO room_roles (room_id, role) VALUES (?, 'awareness')", (room,))
    await db.migrate(REGISTRY)
    rows = await db.fetchall("SELECT room_id FROM room_roles WHERE role = 'awareness'")
    assert [r["room_id"] for r in rows] == ["!real:test"]
    await db.close()


async def test_direct_chats_the_bot_opened_never_vouch_even_grown_and_forgotten(tmp_path):
    """Review finding: two members let the bot open direct chats (!meinedaten), then turn them into rooms
    where each gives the other power; neither chat may vouch, also after !vergessen dropped the mapping."""
    u, s, third = "@u:test", "@s:test", "@third:test"
    chat = SafeChat()
    chat.add_room(ROOM, [u, s, third], name="Ortsgruppe")
    conv = await start_conversation(tmp_path, chat, admins=[], rate_limit=1000)
    try:
        for user in (u, s):
            await conv.say(user, "!meinedaten", ROOM)  # the bot opens a direct chat with each
        for user, other in ((u, s), (s, u)):
            room = chat.rooms[dm(user)]
            room.members += [other, third]
            room.power.update({user: 100, other: 50})
            room.name = "Unser Raum"
        assert not await invite_allowed(conv.app, u, direct=False)
        refused = await conv.reply(u, "!raum awareness", dm(u))
        assert "zweite Person mit Orga-Rechten" in refused.body
        for user in (u, s):
            await conv.say(user, "!vergessen", ROOM)
            await conv.say(user, "!vergessen bestätigen", ROOM)
        assert await conv.app.dms.get(u) is None  # the mapping is gone ...
        assert not await invite_allowed(conv.app, u, direct=False)  # ... and the room still vouches for nobody
        rows = await conv.app.db.fetchall("SELECT room_id FROM direct_joins")
        assert rows and all(r["room_id"].startswith("h:") for r in rows)  # recorded as a digest, not the room id
    finally:
        await conv.app.db.close()


async def test_a_role_whose_room_the_bot_left_is_founded_anew_by_an_admin_only(group):
    del group.chat.rooms[AWARE]  # the bot was removed from the awareness room
    group.chat.add_room("!neu:test", [AWA, ORGA], power={AWA: 50}, name="Awareness neu")
    assert "Admin-Person" in (await group.reply(AWA, "!raum awareness", "!neu:test")).body
    assert "Awareness-Team" in (await group.reply(ADMIN, "!raum awareness", "!neu:test")).body
    assert await holder(group, "awareness") == "!neu:test"
