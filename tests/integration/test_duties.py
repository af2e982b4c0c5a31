"""Duties against a real Synapse: `!duty plan` mentions the assignee; a newcomer gets a buddy chat; a swap by ✅."""
from __future__ import annotations

import asyncio
import re

from nio import AsyncClient, RoomMessageNotice, RoomSendResponse, SyncError

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import SYNC_FILTER, wait_for
from tests.integration.test_bot import make_room, reply_target, send


async def command(client: AsyncClient, room: str, body: str, bot_id: str, timeout: float = 30) -> RoomMessageNotice:
    """Send a command and wait for the bot's answer to it."""
    event_id = await send(client, room, body)
    return await wait_for(client, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                          and e.sender == bot_id and reply_target(e) == event_id, timeout=timeout)


async def wait_invite(client: AsyncClient, timeout: float = 30) -> str:
    """Sync until the client is invited to a room; returns its id."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        resp = await client.sync(timeout=2000, sync_filter=SYNC_FILTER)
        assert not isinstance(resp, SyncError), resp
        if resp.rooms.invite:
            return next(iter(resp.rooms.invite))
    raise TimeoutError(f"{client.user_id} was not invited within {timeout} s")


async def test_duty_plan_names_the_assignee_without_a_ping(bot_factory, matrix_user):
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id])
    await bob.join(room)
    created = await command(alice, room, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", bot.user_id)
    assert "Dienst #1 „Protokoll“ ist angelegt." in created.body
    joined = await command(bob, room, "!dienst mitmachen Protokoll", bot.user_id)
    assert "Du bist jetzt im Pool von Protokoll" in joined.body
    plan = await command(alice, room, "!dienst plan Protokoll 2", bot.user_id)
    content = plan.source["content"]
    assert content["m.mentions"] == {}  # a plan names, it never pings (issue 11 defect 10)
    assert "matrix.to" not in content["formatted_body"]
    bob_name = bob.user_id[1:].split(":")[0]  # Synapse's default display name: the localpart
    assert plan.body.count(bob_name) == 2 and bob.user_id not in plan.body  # named, not shown by id
    assert bot.stop() == 0


async def test_newcomer_gets_a_buddy_in_a_new_chat(bot_factory, matrix_user):
    alice, bob, carol = await matrix_user("alice"), await matrix_user("bob"), await matrix_user("carol")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id])
    await bob.join(room)
    assert "Willkommensraum" in (await command(alice, room, "!raum willkommen", bot.user_id)).body
    await command(alice, room, "!dienst anlegen Willkommen", bot.user_id)
    await command(bob, room, "!dienst mitmachen Willkommen", bot.user_id)
    await carol.sync(timeout=0, sync_filter=SYNC_FILTER)
    await bob.sync(timeout=0, sync_filter=SYNC_FILTER)
    await alice.room_invite(room, carol.user_id)
    await carol.join(room)

    chat_room = await wait_invite(carol)
    assert await wait_invite(bob) == chat_room  # both are invited to the same new room
    await carol.join(chat_room)
    intro = await wait_for(carol, lambda r, e: r == chat_room and isinstance(e, RoomMessageNotice)
                           and e.sender == bot.user_id, timeout=30)
    name = {u.user_id: u.user_id[1:].split(":")[0] for u in (bob, carol)}  # default display names: localparts
    assert intro.body.startswith(f"Hallo {name[carol.user_id]}, willkommen in Ortsgruppe!")
    assert f"{name[bob.user_id]} ist deine Ansprechperson" in intro.body
    assert sorted(intro.source["content"]["m.mentions"]["user_ids"]) == sorted([bob.user_id, carol.user_id])
    members = await carol.joined_members(chat_room)
    assert bot.user_id in {m.user_id for m in members.members}
    assert bot.stop() == 0


async def test_swap_offered_and_accepted_by_reaction(bot_factory, matrix_user):
    alice, bob, carol = await matrix_user("alice"), await matrix_user("bob"), await matrix_user("carol")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id, carol.user_id])
    await bob.join(room)
    await carol.join(room)
    await command(alice, room, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", bot.user_id)
    clients = {bob.user_id: bob, carol.user_id: carol}
    for client in clients.values():
        await command(client, room, "!dienst mitmachen Protokoll", bot.user_id)
    plan = await command(alice, room, "!dienst plan Protokoll 2", bot.user_id)
    rows = [re.match(r"^• \S+ ([\d.]+) \d\d:\d\d: (\S+)$", line) for line in plan.body.splitlines()]
    (day, offerer_name), (other_day, target_name) = [m.groups() for m in rows if m]
    by_name = {user[1:].split(":")[0]: user for user in clients}  # plans name people (default: the localpart)
    assert {offerer_name, target_name} == set(by_name)
    offerer, target = by_name[offerer_name], by_name[target_name]

    offer = await command(clients[offerer], room, f"!dienst tauschen Protokoll {day} {target}", bot.user_id)
    assert offer.body.startswith(f"🔁 {target_name}: {offerer_name} möchte bei Protokoll mit dir tauschen (Tausch #1)")
    assert offer.source["content"]["m.mentions"] == {"user_ids": [target]}
    resp = await clients[target].room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": offer.event_id, "key": "✅"}})
    assert isinstance(resp, RoomSendResponse), resp
    done = await wait_for(clients[offerer], lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                          and e.sender == bot.user_id and reply_target(e) == offer.event_id, timeout=30)
    assert done.body.startswith(f"✅ Tausch #1 ist abgemacht, {offerer_name}: Protokoll am ")
    assert done.source["content"]["m.mentions"] == {"user_ids": [offerer]}
    after = await command(alice, room, "!dienst plan Protokoll 2", bot.user_id)
    assert [m.groups() for m in (re.match(r"^• \S+ ([\d.]+) \d\d:\d\d: (\S+)$", line)
                                 for line in after.body.splitlines()) if m] == [(day, target_name), (other_day, offerer_name)]
    assert bot.stop() == 0
