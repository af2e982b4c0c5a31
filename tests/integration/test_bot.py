"""The bot against a real Synapse: replies, restarts, kill -9 during a burst, encryption, invites."""
from __future__ import annotations

import asyncio
from collections import Counter

from nio import AsyncClient, RoomCreateResponse, RoomMessageNotice, RoomSendResponse

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import wait_for

FILTER = {"room": {"timeline": {"limit": 100}}}


async def make_room(owner: AsyncClient, bot_id: str, *, encrypted: bool = False, invite: list[str] = ()) -> str:
    state = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] \
        if encrypted else []
    resp = await owner.room_create(name="Ortsgruppe", invite=[bot_id, *invite], initial_state=state)
    assert isinstance(resp, RoomCreateResponse), resp
    await wait_for(owner, lambda r, e: r == resp.room_id and getattr(e, "state_key", None) == bot_id
                   and getattr(e, "membership", None) == "join", timeout=30)
    return resp.room_id


async def send(client: AsyncClient, room_id: str, body: str, **kw) -> str:
    resp = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body}, **kw)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


def reply_target(event) -> str | None:
    return (event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")


async def collect_replies(client: AsyncClient, room_id: str, targets: set[str], sender: str,
                          timeout: float = 60, settle: float = 2.0, at_least: int | None = None) -> Counter:
    """Count the bot's notices replying to each target event until all are answered (+ settle time),
    or, with at_least, until that many answers were seen."""
    counts: Counter = Counter()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    settled_at = None
    while loop.time() < deadline:
        resp = await client.sync(timeout=500, sync_filter=FILTER)
        room = resp.rooms.join.get(room_id)
        for ev in room.timeline.events if room else []:
            if isinstance(ev, RoomMessageNotice) and ev.sender == sender and reply_target(ev) in targets:
                counts[reply_target(ev)] += 1
        if at_least is not None and sum(counts.values()) >= at_least:
            break
        if set(counts) >= targets:
            settled_at = settled_at or loop.time()
            if loop.time() - settled_at >= settle:
                break
    return counts


async def test_hilfe_answered_as_notice_reply(bot_factory, matrix_user):
    alice = await matrix_user("alice")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id)
    cmd = await send(alice, room, "!hilfe")
    answer = await wait_for(alice, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == cmd, timeout=20)
    assert answer.sender == bot.user_id
    assert "Das kann ich" in answer.body
    assert bot.stop() == 0
    log = bot.log_text()
    assert bot.password not in log and "syt_" not in log  # no password, no access token
    assert (bot.workdir / "data" / "device.json").stat().st_mode & 0o077 == 0


async def test_command_sent_while_stopped_is_answered_once_after_restart(bot_factory, matrix_user):
    alice = await matrix_user("alice")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id)
    await alice.sync(timeout=0, sync_filter=FILTER)
    assert bot.stop() == 0
    cmd = await send(alice, room, "!hilfe")
    bot.start()
    counts = await collect_replies(alice, room, {cmd}, bot.user_id, settle=3)
    assert counts == {cmd: 1}
    bot.stop()
    bot.start()  # a second restart must not answer it again
    again = await collect_replies(alice, room, {cmd}, bot.user_id, timeout=4, settle=0)
    assert again == Counter()


async def test_kill_during_burst_answers_each_exactly_once(bot_factory, matrix_user):
    users = [await matrix_user(n) for n in ("anna", "ben", "cem")]
    bot = bot_factory(admins=[users[0].user_id])
    room = await make_room(users[0], bot.user_id, invite=[u.user_id for u in users[1:]])
    for u in users[1:]:
        await u.join(room)
    await users[0].sync(timeout=0, sync_filter=FILTER)
    sent: set[str] = set()

    async def burst(client: AsyncClient, n: int) -> None:
        for i in range(n):
            sent.add(await send(client, room, "!raum" if i % 2 else "!hilfe raum"))

    tasks = [asyncio.create_task(burst(u, 10)) for u in users]
    await asyncio.sleep(0.4)
    bot.kill()
    await asyncio.gather(*tasks)
    bot.start()
    counts = await collect_replies(users[0], room, sent, bot.user_id, timeout=120, settle=3)
    assert len(sent) == 30
    assert set(counts) == sent, f"unanswered: {len(sent - set(counts))}"
    assert all(v == 1 for v in counts.values()), {k: v for k, v in counts.items() if v != 1}


async def test_burst_of_100_in_one_room_loses_none(bot_factory, matrix_user):
    alice = await matrix_user("alice")
    bot = bot_factory(admins=[alice.user_id], bot_settings={"rate_limit": 1000})
    room = await make_room(alice, bot.user_id)
    await alice.sync(timeout=0, sync_filter=FILTER)
    bot.stop()
    sent = {await send(alice, room, "!raum") for _ in range(100)}  # more than the timeline limit
    bot.start()
    counts = await collect_replies(alice, room, sent, bot.user_id, timeout=120, settle=2)
    assert set(counts) == sent and set(counts.values()) == {1}


async def test_encrypted_room(bot_factory, matrix_user):
    alice = await matrix_user("alice", e2e=True)
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, encrypted=True)
    await alice.sync(timeout=0, sync_filter=FILTER)
    await alice.keys_query()
    cmd = await send(alice, room, "!hilfe", ignore_unverified_devices=True)
    answer = await wait_for(alice, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == cmd, timeout=30)
    assert "Das kann ich" in answer.body
    assert answer.decrypted


async def test_stranger_invite_is_declined(bot_factory, matrix_user):
    stranger = await matrix_user("stranger")
    bot = bot_factory()
    resp = await stranger.room_create(name="Fremd", invite=[bot.user_id])
    assert isinstance(resp, RoomCreateResponse)
    await wait_for(stranger, lambda r, e: r == resp.room_id and getattr(e, "state_key", None) == bot.user_id
                   and getattr(e, "membership", None) == "leave", timeout=30)


async def test_room_creator_counts_as_organiser(bot_factory, matrix_user):
    admin, bob = await matrix_user("admin"), await matrix_user("bob")
    bot = bot_factory(admins=[admin.user_id])
    resp = await admin.room_create(name="Vorstand", invite=[bot.user_id, bob.user_id],
                                   power_level_override={"users": {bob.user_id: 50}})
    await bob.join(resp.room_id)
    # bob organises a room the bot is in, so the bot accepts his invite to a new room, where
    # bob is the v12 creator: unlimited power, absent from power_levels (nio reports 0).
    room = await make_room(bob, bot.user_id)
    cmd = await send(bob, room, "!raum willkommen")  # organisers only (the anchor roles need an admin)
    answer = await wait_for(bob, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == cmd, timeout=20)
    assert "Willkommensraum" in answer.body, answer.body


async def test_direct_chat_from_a_member_who_shares_a_room_is_accepted(bot_factory, matrix_user):
    admin, member = await matrix_user("admin"), await matrix_user("member")
    bot = bot_factory(admins=[admin.user_id])
    await make_room(admin, bot.user_id, invite=[member.user_id])
    for room_id in list((await member.sync(timeout=0, sync_filter=FILTER)).rooms.invite):
        await member.join(room_id)
    dm = await member.room_create(invite=[bot.user_id], is_direct=True)
    await wait_for(member, lambda r, e: r == dm.room_id and getattr(e, "state_key", None) == bot.user_id
                   and getattr(e, "membership", None) == "join", timeout=30)
    cmd = await send(member, dm.room_id, "hilfe")  # no "!" needed in a direct chat
    answer = await wait_for(member, lambda r, e: r == dm.room_id and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == cmd, timeout=20)
    assert "Das kann ich" in answer.body
    assert member.user_id not in bot.log_text()  # who opened a direct chat is not logged
