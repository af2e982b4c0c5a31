"""Polls against a real Synapse: other clients click keycaps and answer native polls; the bot closes at
the deadline, fixes the date with a calendar entry, and counts votes cast while it was stopped once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from nio import AsyncClient, RoomSendResponse

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import wait_for
from tests.integration.test_bot import make_room, send

START, RESPONSE, END = ("org.matrix.msc3381.poll.start", "org.matrix.msc3381.poll.response",
                        "org.matrix.msc3381.poll.end")
ONE, TWO = "1\ufe0f\u20e3", "2\ufe0f\u20e3"


def src(event: Any) -> dict:
    return getattr(event, "source", None) or {}


def content(event: Any) -> dict:
    return src(event).get("content") or {}


def content_of(source: dict) -> dict:
    return source.get("content") or {}


def text(event: Any) -> str:
    c = content(event)
    return (c.get("m.new_content") or c).get("body", "")


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def event_from(client: AsyncClient, room: str, sender: str, check: Callable[[dict, str], bool],
                     timeout: float = 30) -> Any:
    return await wait_for(client, lambda r, e: r == room and src(e).get("sender") == sender
                          and check(src(e), text(e)), timeout=timeout)


async def respond(client: AsyncClient, room: str, start_id: str, answer: str) -> str:
    resp = await client.room_send(room, RESPONSE, {"m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
                                                   RESPONSE: {"answers": [answer]}})
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def react(client: AsyncClient, room: str, target: str, key: str) -> str:
    resp = await client.room_send(room, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation",
                                                                        "event_id": target, "key": key}})
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def group(matrix_user, bot_factory):
    alice, bob, carol = [await matrix_user(n) for n in ("alice", "bob", "carol")]
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id, carol.user_id])
    for member in (bob, carol):
        await member.join(room)
    await alice.sync(timeout=0)
    return bot, room, alice, bob, carol


async def test_date_found_by_clicking_and_typing_is_fixed_at_deadline_with_calendar_file(matrix_user, bot_factory):
    bot, room, alice, bob, carol = await group(matrix_user, bot_factory)
    now = datetime.now(timezone.utc)
    first = (now + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    second = first + timedelta(days=1)
    until = now + timedelta(seconds=40)
    cmd = await send(alice, room, f"!termin Plenum | {iso(first)} | {iso(second)}\nbis: {iso(until)}\nfix: ja")
    table = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("📅 #1 Plenum"))
    assert content(table)["m.relates_to"]["m.in_reply_to"]["event_id"] == cmd
    maybe = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("🤔 Vielleicht"))
    keycap = await event_from(alice, room, bot.user_id, lambda s, t: s["type"] == "m.reaction"
                              and s["content"]["m.relates_to"]["event_id"] == maybe.event_id)  # keycaps offered
    # with the table, not after a retry seconds later
    assert src(keycap)["origin_server_ts"] - src(table)["origin_server_ts"] < 2000
    await react(bob, room, table.event_id, ONE)  # bob clicks "yes" to the first date
    await send(alice, room, "!abstimmen 1 1 2=vielleicht")
    edit = await event_from(alice, room, bot.user_id, lambda s, t: "bob" in t and "alice" in t
                            and s["content"].get("m.relates_to", {}).get("rel_type") == "m.replace")
    assert content(edit)["m.mentions"] == {} and content(edit)["m.new_content"]["m.mentions"] == {}
    nudge = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("⏰ #1"), timeout=40)
    assert content(nudge)["m.mentions"]["user_ids"] == [carol.user_id]
    await react(carol, room, maybe.event_id, TWO)  # carol clicks "maybe" to the second date
    result = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Bester Termin"), timeout=60)
    assert text(result).split("\n")[0].startswith("Bester Termin für „Plenum“ (#1): 1. ")
    assert "2× ja, 0× vielleicht" in text(result).split("\n")[0]
    announcement = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("📅 Termin steht"))
    assert sorted(content(announcement)["m.mentions"]["user_ids"]) == sorted([alice.user_id, bob.user_id])
    ics = await event_from(alice, room, bot.user_id, lambda s, t: content_of(s).get("msgtype") == "m.file")
    assert content(ics)["info"]["mimetype"] == "text/calendar"
    download = await alice.download(mxc=content(ics)["url"])
    assert f"DTSTART:{first.strftime('%Y%m%dT%H%M%SZ')}" in download.body.decode()
    assert bot.stop() == 0


async def test_native_poll_decides_and_votes_while_stopped_count_once(matrix_user, bot_factory):
    bot, room, alice, bob, carol = await group(matrix_user, bot_factory)
    await send(alice, room, "!umfrage Antrag: Lastenrad anschaffen | Dafür | Dagegen")
    start = await event_from(alice, room, bot.user_id, lambda s, t: s["type"] == START)
    poll = content(start)[START]
    assert poll["kind"] == "org.matrix.msc3381.poll.disclosed" and poll["max_selections"] == 1
    assert [a["id"] for a in poll["answers"]] == ["1", "2"]
    await respond(bob, room, start.event_id, "2")
    await event_from(alice, room, bot.user_id, lambda s, t: "1 Stimme abgegeben." in t)
    assert bot.stop() == 0
    # while the bot is stopped: bob changes his mind, carol and alice vote
    await respond(bob, room, start.event_id, "1")
    await respond(carol, room, start.event_id, "1")
    await respond(alice, room, start.event_id, "2")
    bot.start()
    await event_from(alice, room, bot.user_id, lambda s, t: "3 Stimmen abgegeben." in t, timeout=60)
    bot.stop()
    bot.start()  # a second restart re-reads the relations again: nothing is counted twice
    await send(alice, room, "!schliessen 1")
    result = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Ergebnis #1"))
    assert text(result).split("\n")[0] == ("Ergebnis #1 „Antrag: Lastenrad anschaffen“: gewonnen hat 1. Dafür "
                                           "mit 2 von 3 gültigen Stimmen.")
    end = await event_from(bob, room, bot.user_id, lambda s, t: s["type"] == END)
    assert content(end)["m.relates_to"] == {"rel_type": "m.reference", "event_id": start.event_id}
    await respond(carol, room, start.event_id, "2")  # after the end: ignored
    await asyncio.sleep(2)
    await send(alice, room, "!ergebnis 1")
    again = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Ergebnis #1"))
    assert "mit 2 von 3 gültigen Stimmen" in text(again)
    assert bot.stop() == 0


async def test_consensing_round_picks_the_least_resisted_option(matrix_user, bot_factory):
    bot, room, alice, bob, carol = await group(matrix_user, bot_factory)
    await send(alice, room, "!konsens Sommerfest wo? | Park | Hinterhof")
    await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("🤝 #1"))
    await send(alice, room, "!abstimmen 1 0=8 1=2 2=5")
    await send(bob, room, "!abstimmen 1 0=6 1=3 2=1")
    await send(carol, room, "!abstimmen 1 0=9 1=0")
    await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Es fehlt noch ein Widerstand für Option 2"))
    await send(carol, room, "!abstimmen 1 0=9 1=0 2=4")
    await event_from(alice, room, bot.user_id, lambda s, t: "3 Personen haben bewertet" in t)
    await send(alice, room, "!schliessen 1")
    result = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Ergebnis #1"))
    assert text(result).split("\n")[0] == ("Ergebnis #1 „Sommerfest wo?“: den geringsten Widerstand hat 1. Park "
                                           "(5 Punkte, Akzeptanz 83 %).")
    assert bot.stop() == 0


async def refresh_keys(client: AsyncClient) -> None:
    await client.sync(timeout=0)
    if client.should_query_keys:
        await client.keys_query()


async def test_native_poll_in_an_encrypted_room(matrix_user, bot_factory):
    alice, bob = await matrix_user("alice", e2e=True), await matrix_user("bob", e2e=True)
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, encrypted=True, invite=[bob.user_id])
    await bob.join(room)
    for client in (alice, bob):
        await refresh_keys(client)
    await send(alice, room, "!umfrage Verschlüsselt? | Ja klar | Nein", ignore_unverified_devices=True)
    start = await event_from(alice, room, bot.user_id, lambda s, t: s.get("type") == START, timeout=30)
    await refresh_keys(bob)
    resp = await bob.room_send(room, RESPONSE, {"m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id},
                                                RESPONSE: {"answers": ["1"]}}, ignore_unverified_devices=True)
    assert isinstance(resp, RoomSendResponse), resp
    await event_from(alice, room, bot.user_id, lambda s, t: "1 Stimme abgegeben." in t, timeout=30)
    assert bot.stop() == 0
    resp = await alice.room_send(room, RESPONSE, {"m.relates_to": {"rel_type": "m.reference",
                                                                   "event_id": start.event_id},
                                                  RESPONSE: {"answers": ["1"]}}, ignore_unverified_devices=True)
    assert isinstance(resp, RoomSendResponse), resp
    bot.start()
    await event_from(alice, room, bot.user_id, lambda s, t: "2 Stimmen abgegeben." in t, timeout=60)
    await send(alice, room, "!schliessen 1", ignore_unverified_devices=True)
    result = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Ergebnis #1"), timeout=30)
    assert "gewonnen hat 1. Ja klar mit 2 von 2 gültigen Stimmen" in text(result)
    assert bot.stop() == 0
