"""Safe spaces against a real Synapse: invite after confirming, the homeserver refusing a muted
newcomer until !accept, a room-v12 creator as organiser, knocking, and the anonymous report
round trip with the bot's log checked for the reporter's id."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomGetStateEventResponse, RoomMessageNotice, RoomSendError, \
    RoomSendResponse

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import wait_for

FILTER = {"room": {"timeline": {"limit": 100}}}


def reply_target(event) -> str | None:
    return (event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")


async def until(client: AsyncClient, condition: Callable[[], bool], timeout: float = 30) -> None:
    """Sync client until condition() holds (nio keeps rooms and invites across syncs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met for {client.user_id} within {timeout} s")
        await client.sync(timeout=500, sync_filter=FILTER)


async def create(owner: AsyncClient, bot_id: str, name: str | None, invite: list[str] = (), **kw) -> str:
    resp = await owner.room_create(name=name, invite=[bot_id, *invite], **kw)
    assert isinstance(resp, RoomCreateResponse), resp
    await wait_for(owner, lambda r, e: r == resp.room_id and getattr(e, "state_key", None) == bot_id
                   and getattr(e, "membership", None) == "join", timeout=30)
    return resp.room_id


async def send(client: AsyncClient, room_id: str, body: str):
    return await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})


async def ask(client: AsyncClient, room_id: str, body: str, bot_id: str, timeout: float = 30) -> RoomMessageNotice:
    """Send a command and wait for the bot's answer to it."""
    resp = await send(client, room_id, body)
    assert isinstance(resp, RoomSendResponse), resp
    return await wait_for(client, lambda r, e: r == room_id and isinstance(e, RoomMessageNotice)
                          and e.sender == bot_id and reply_target(e) == resp.event_id, timeout=timeout)


async def notice(client: AsyncClient, room_id: str, bot_id: str, text: str, timeout: float = 30):
    return await wait_for(client, lambda r, e: r == room_id and isinstance(e, RoomMessageNotice)
                          and e.sender == bot_id and text in e.body, timeout=timeout)


@pytest.fixture
async def group(bot_factory, matrix_user):  # noqa: F811
    """host (admin) runs the group room, where orga is an organiser and alice, bob members;
    orga creates the future safe space (a room-v12 creator, not in power_levels) with the bot at 100."""
    host, orga, alice, bob, awa = [await matrix_user(n) for n in ("host", "orga", "alice", "bob", "awa")]
    bot = bot_factory(admins=[host.user_id])
    # alice is an organiser of the group room only so that the bot accepts her direct-chat invite:
    # MatrixAdapter.invites() reads is_direct from ev.source["content"], which nio pops for
    # invite events, so every direct chat from a plain member is declined (reported).
    room = await create(host, bot.user_id, "Ortsgruppe", [orga.user_id, alice.user_id, bob.user_id],
                        power_level_override={"users": {orga.user_id: 50, alice.user_id: 50}})
    for user in (orga, alice, bob):
        await user.join(room)
    safe = await create(orga, bot.user_id, "FINTA*-Treff", power_level_override={"users": {bot.user_id: 100}})
    aware = await create(host, bot.user_id, "Awareness", [awa.user_id])
    await awa.join(aware)
    await host.sync(timeout=0, sync_filter=FILTER)
    assert "Awareness-Team" in (await ask(host, aware, "!raum awareness", bot.user_id)).body
    return bot, host, orga, alice, bob, awa, room, safe, aware


async def open_dm(client: AsyncClient, bot_id: str) -> str:
    return await create(client, bot_id, None, is_direct=True)


async def test_confirm_invite_muted_until_accept_with_v12_creator_as_organiser(group):
    bot, host, orga, alice, bob, awa, room, safe, aware = group
    answer = await ask(orga, safe, "!raum schutzraum", bot.user_id)  # orga: creator, unlisted in users
    assert "Schutzraum Nr. 1" in answer.body, answer.body
    pl = await orga.room_get_state_event(safe, "m.room.power_levels")
    assert isinstance(pl, RoomGetStateEventResponse)
    assert pl.content["events_default"] == 1 and orga.user_id not in pl.content["users"]
    rules = await orga.room_get_state_event(safe, "m.room.join_rules")
    assert rules.content["join_rule"] == "invite"
    await ask(orga, safe, "!regeln Wir hören einander zu.", bot.user_id)

    dm = await open_dm(alice, bot.user_id)
    asked = await ask(alice, dm, "schutzraum beitreten FINTA*-Treff", bot.user_id)
    assert "Wir hören einander zu." in asked.body and "!bestätigen" in asked.body
    assert safe not in alice.invited_rooms  # nobody is invited before confirming
    assert "eingeladen" in (await ask(alice, dm, "bestätigen", bot.user_id)).body
    await until(alice, lambda: safe in alice.invited_rooms)
    await alice.join(safe)
    await notice(alice, dm, bot.user_id, "Willkommen")

    refused = await send(alice, safe, "Hallo!")
    assert isinstance(refused, RoomSendError) and refused.status_code == "M_FORBIDDEN", refused
    assert "kannst jetzt" in (await ask(alice, dm, "akzeptieren", bot.user_id)).body
    allowed = await send(alice, safe, "Hallo!")
    assert isinstance(allowed, RoomSendResponse), allowed


async def test_knock_leads_to_a_direct_chat_and_an_invite(group):
    bot, host, orga, alice, bob, awa, room, safe, aware = group
    await ask(orga, safe, "!raum schutzraum anklopfen", bot.user_id)
    rules = await orga.room_get_state_event(safe, "m.room.join_rules")
    assert rules.content["join_rule"] == "knock"
    await bob.room_knock(safe)
    await until(bob, lambda: any(r != safe for r in bob.invited_rooms))  # the bot opens a direct chat
    dm = next(r for r in bob.invited_rooms if r != safe)
    await bob.join(dm)
    await notice(bob, dm, bot.user_id, "angeklopft")
    assert "eingeladen" in (await ask(bob, dm, "bestätigen", bot.user_id)).body
    await until(bob, lambda: safe in bob.invited_rooms)
    await bob.join(safe)
    await notice(bob, dm, bot.user_id, "Willkommen")


async def test_anonymous_report_round_trip(group):
    bot, host, orga, alice, bob, awa, room, safe, aware = group
    dm = await open_dm(alice, bot.user_id)
    await awa.sync(timeout=0, sync_filter=FILTER)
    before = len(bot.log_text())
    text = "Im Plenum wurde ich dreimal unterbrochen"
    ack = await ask(alice, dm, f"melden {text}", bot.user_id)
    assert "Meldung Nr. 1" in ack.body
    report = await notice(awa, aware, bot.user_id, "Meldung Nr. 1")
    assert text in report.body
    assert alice.user_id not in str(report.source) and "m.relates_to" not in report.source["content"]
    assert report.source["content"]["m.mentions"] == {}

    answered = await ask(awa, aware, "!antworten 1 Danke, wir sprechen das an.", bot.user_id)
    assert alice.user_id not in answered.body
    delivered = await notice(alice, dm, bot.user_id, "Antwort des Awareness-Teams")
    assert "Meldung Nr. 1" in delivered.body and "Danke, wir sprechen das an." in delivered.body

    log = bot.log_text()
    assert alice.user_id not in log[before:], log[before:]  # nothing from the report on was logged about her
    assert text not in log
    if bot.database_url:  # --db=postgres: the bot's PostgreSQL database
        from storage.pg import PgDatabase

        pg = PgDatabase(bot.database_url)
        await pg.open()
        try:
            rows = [tuple(r) for r in await pg.fetchall("SELECT id, route FROM safespace_reports")]
        finally:
            await pg.close()
    else:
        db = sqlite3.connect(f"file:{bot.workdir / 'data' / 'plenum.db'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT id, route FROM safespace_reports").fetchall()
        finally:
            db.close()
    assert len(rows) == 1 and alice.user_id not in str(rows) and len(rows[0][1]) == 64
