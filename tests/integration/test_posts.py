"""Announcements end to end: the real bot process on Synapse, publishing to mastodon-mock with Mastodon.py.

Draft with a picture, alt text, approval by a second organiser, publication at the chosen
minute with content warning and media description, the link in the room; faults (503, 429,
timeout, malformed) and kill -9 around publication still give exactly one status per part;
the announcements room; relayed mentions.
"""
from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomMessageNotice, RoomSendResponse, UploadResponse
from PIL import Image

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import unique, wait_for

STATUSES = "/api/v1/statuses*"


# --------------------------------------------------------------------------- helpers
def mastodon_account(mock) -> dict[str, Any]:
    return mock.dev_user(unique("plenum"))


def account_config(mock, account: dict[str, Any], name: str = "main") -> dict[str, str]:
    return {"name": name, "api_base_url": mock.base_url, "access_token": account["access_token"],
            "poll_seconds": "10"}


def statuses(mock, account: dict[str, Any]) -> list[dict[str, Any]]:
    """Every status of the account (any visibility), oldest first."""
    return list(reversed(mock.statuses(account["id"], token=account["access_token"])))


def post_as(mock, token: str, text: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{mock.base_url}/api/v1/statuses", data=json.dumps({"status": text}).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def organisers_room(alice: AsyncClient, bob: AsyncClient, bot) -> str:
    """Alice creates it (v12 creator), Bob is an organiser by power level, the bot is invited and joins."""
    resp = await alice.room_create(name="Orga", invite=[bot.user_id, bob.user_id],
                                   power_level_override={"users": {bob.user_id: 50}})
    assert isinstance(resp, RoomCreateResponse), resp
    await bob.join(resp.room_id)
    await wait_for(alice, lambda r, e: r == resp.room_id and getattr(e, "state_key", None) == bot.user_id
                   and getattr(e, "membership", None) == "join", timeout=30)
    await command(alice, resp.room_id, bot, "!raum orga", expect="Orga-Raum")
    return resp.room_id


async def send(client: AsyncClient, room_id: str, content: dict[str, Any]) -> str:
    resp = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


def reply_target(event) -> str | None:
    return (event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")


async def command(client: AsyncClient, room_id: str, bot, body: str, *, expect: str, reply_to: str | None = None,
                  timeout: float = 30) -> Any:
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    event_id = await send(client, room_id, content)
    answer = await wait_for(client, lambda r, e: r == room_id and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == event_id, timeout=timeout)
    assert answer.sender == bot.user_id
    assert expect in answer.body, answer.body
    return answer


async def notice(client: AsyncClient, room_id: str, bot, text: str, timeout: float) -> Any:
    return await wait_for(client, lambda r, e: r == room_id and isinstance(e, RoomMessageNotice)
                          and e.sender == bot.user_id and text in e.body, timeout=timeout)


async def send_image(client: AsyncClient, room_id: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    up, _ = await client.upload(io.BytesIO(data), content_type="image/png", filename="plakat.png",
                                filesize=len(data))
    assert isinstance(up, UploadResponse), up
    return await send(client, room_id, {"msgtype": "m.image", "body": "plakat.png", "url": up.content_uri,
                                        "info": {"mimetype": "image/png", "size": len(data), "w": 16, "h": 16}})


def next_minute(lead: float = 30) -> datetime:
    """The first full minute at least `lead` seconds from now (UTC)."""
    soon = datetime.now(timezone.utc) + timedelta(seconds=lead)
    return soon.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def until(predicate, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(step)
    raise TimeoutError("condition not met")


# --------------------------------------------------------------------------- the whole story
async def test_draft_with_picture_approved_by_second_organiser_appears_once_at_its_minute(
        bot_factory, matrix_user, mastodon_mock):
    account = mastodon_account(mastodon_mock)
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id], mastodon=[account_config(mastodon_mock, account)])
    room = await organisers_room(alice, bob, bot)

    image = await send_image(alice, room)
    due = next_minute()
    cmd_body = f"!beitrag Kommt zur Demo am Samstag!\ninhaltswarnung: Politik\num: {due.isoformat(timespec='minutes')}"
    preview = await command(alice, room, bot, cmd_body, expect="#1 – Vorschau für das Konto main", reply_to=image)
    assert "Bild 1: noch ohne Alternativtext" in preview.body and "Inhaltswarnung" in preview.body
    await command(bob, room, bot, "!freigeben 1", expect="Bild 1 hat keinen Alternativtext")
    await command(alice, room, bot, "!alt 1 1 Rotes Plakat mit dem Aufruf zur Demo", expect="Alternativtext")
    await command(alice, room, bot, "!freigeben 1", expect="Den eigenen Beitrag #1 kannst du nicht freigeben")
    await command(bob, room, bot, "!freigeben 1", expect="Beitrag #1 ist freigegeben.")
    assert statuses(mastodon_mock, account) == []

    wait = (due - datetime.now(timezone.utc)).total_seconds() + 45
    link = await notice(alice, room, bot, "ist auf main veröffentlicht", timeout=wait)
    [status] = statuses(mastodon_mock, account)
    created = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))
    assert due <= created < due + timedelta(seconds=40)
    assert status["spoiler_text"] == "Politik"
    assert status["language"] == "de" and status["visibility"] == "public"
    [media] = status["media_attachments"]
    assert media["description"] == "Rotes Plakat mit dem Aufruf zur Demo" and media["type"] == "image"
    assert status["url"] in link.body
    assert reply_target(link) is not None

    await asyncio.sleep(3)
    assert len(statuses(mastodon_mock, account)) == 1
    assert bot.stop() == 0


async def test_faults_still_give_one_status_per_part(bot_factory, matrix_user, mastodon_faults):
    mock = mastodon_faults
    account = mastodon_account(mock)
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id], mastodon=[account_config(mock, account)])
    room = await organisers_room(alice, bob, bot)
    text = "Wir laden herzlich zur Mitgliederversammlung ein. Alle sind willkommen. " * 10
    await command(alice, room, bot, f"!beitrag {text}\ncw: Einladung", expect="── Teil 2 von 2 ──")

    only_ours = {"methods": ["POST"], "path": STATUSES}
    mock.add_fault(only_ours, {"type": "status", "status": 503}, count=3)
    mock.add_fault(only_ours, {"type": "ratelimit", "headers": {"X-RateLimit-Reset": str(int(time.time()) + 4)}},
                   count=1)
    mock.add_fault(only_ours, {"type": "timeout"}, count=1)  # the server holds it 30 s, then creates the status
    mock.add_fault(only_ours, {"type": "malformed"}, count=1)
    await command(bob, room, bot, "!freigeben 1", expect="freigegeben")

    await notice(alice, room, bot, "als Thread mit 2 Teilen veröffentlicht", timeout=180)
    posted = statuses(mock, account)
    assert len(posted) == 2
    assert posted[1]["in_reply_to_id"] == posted[0]["id"]
    assert all(s["spoiler_text"] == "Einladung" for s in posted)
    assert mock.faults() == []  # every fault was hit
    await asyncio.sleep(3)
    assert len(statuses(mock, account)) == 2
    assert bot.stop() == 0


async def test_kill_9_during_publication_then_restart_gives_no_duplicate(bot_factory, matrix_user, mastodon_faults):
    mock = mastodon_faults
    account = mastodon_account(mock)
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id], mastodon=[account_config(mock, account)])
    room = await organisers_room(alice, bob, bot)
    await command(alice, room, bot, "!beitrag Genau einmal, auch nach einem Absturz.", expect="#1")
    # The status request is slow: it is on its way (sent, not yet answered) when the bot dies.
    mock.add_fault({"methods": ["POST"], "path": STATUSES}, {"type": "latency", "delay_ms": 4000}, count=1)
    await command(bob, room, bot, "!freigeben 1", expect="freigegeben")
    await until(lambda: mock.faults() == [], timeout=30, step=0.05)  # the request reached the server
    await asyncio.sleep(0.5)
    bot.kill()
    await asyncio.sleep(5)  # the server finishes the abandoned request (or drops it)
    before = len(statuses(mock, account))
    assert before <= 1
    bot.start()
    await notice(alice, room, bot, "ist auf main veröffentlicht", timeout=60)
    await asyncio.sleep(3)
    posted = statuses(mock, account)
    assert len(posted) == 1 and posted[0]["content"].count("Genau einmal") == 1
    assert "resuming the publication of post 1" in bot.log_text()
    assert bot.stop() == 0


async def test_announcements_room_is_mirrored_after_approval(bot_factory, matrix_user, mastodon_mock):
    account = mastodon_account(mastodon_mock)
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id], mastodon=[account_config(mastodon_mock, account)])
    orga = await organisers_room(alice, bob, bot)
    resp = await alice.room_create(name="Neuigkeiten", invite=[bot.user_id])
    news = resp.room_id
    await wait_for(alice, lambda r, e: r == news and getattr(e, "state_key", None) == bot.user_id
                   and getattr(e, "membership", None) == "join", timeout=30)
    await command(alice, news, bot, "!raum ankündigungen main", expect="Ankündigungen")
    await send(alice, news, {"msgtype": "m.text", "body": "Samstag 10 Uhr: Infostand am Markt."})
    preview = await notice(bob, orga, bot, "Neuer Beitrag #1 aus dem Ankündigungsraum", timeout=30)
    assert "Samstag 10 Uhr: Infostand am Markt." in preview.body
    await command(bob, orga, bot, "!freigeben 1", expect="freigegeben")
    await notice(bob, orga, bot, "ist auf main veröffentlicht", timeout=60)
    [status] = statuses(mastodon_mock, account)
    assert "Infostand am Markt" in status["content"]
    assert bot.stop() == 0


async def test_mentions_are_relayed_to_the_organisers_room_once(bot_factory, matrix_user, mastodon_mock):
    account = mastodon_account(mastodon_mock)
    follower = mastodon_account(mastodon_mock)
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id], mastodon=[account_config(mastodon_mock, account)])
    room = await organisers_room(alice, bob, bot)
    await until(lambda: "mentions of main are relayed" in bot.log_text(), timeout=30)
    status = post_as(mastodon_mock, follower["access_token"], f"@{account['username']} Wann ist das nächste Treffen?")
    relayed = await notice(alice, room, bot, "Nachricht an main", timeout=40)
    assert follower["username"] in relayed.body and "Wann ist das nächste Treffen?" in relayed.body
    assert status["url"] in relayed.body
    await asyncio.sleep(25)  # two more polls: nothing is relayed twice
    resp = await alice.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 100}}})
    again = [e for e in resp.rooms.join.get(room).timeline.events if isinstance(e, RoomMessageNotice)
             and "Nachricht an main" in e.body] if room in resp.rooms.join else []
    assert again == []
    assert bot.stop() == 0
