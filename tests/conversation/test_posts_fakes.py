"""A fake Mastodon account (bot.ports.Publisher) and helpers shared by the announcement conversation tests.

The fake behaves like Mastodon where it matters: an Idempotency-Key returns the first status,
statuses over the limit are rejected (422), and scripted faults can fail a call before or
after the status was created (the latter is the ambiguous case a network error hides).
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.ports import InstanceLimits, Mention, PermanentError, PublishedStatus
from commands.threadsplit import count_chars, graphemes
from tests.fakes import FakeChat, NetworkInTransaction, start_conversation

ANNA, BEN, CARO, MIA = "@anna:test", "@ben:test", "@caro:test", "@mia:test"  # MIA is no organiser
ADMIN = "@admin:test"
ORGA = "!orga:test"
PLAIN = "!plain:test"


@dataclass
class AfterCreate:
    """A fault that strikes after the status was created: the client never hears of it."""

    error: Exception


@dataclass
class FakePublisher:
    name: str = "main"
    instance: InstanceLimits = field(default_factory=InstanceLimits)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    faults: list[Any] = field(default_factory=list)  # for post_status, in order
    media_faults: list[Exception] = field(default_factory=list)
    delete_faults: list[Exception] = field(default_factory=list)
    inbox: list[Mention] = field(default_factory=list)
    mention_faults: list[Exception] = field(default_factory=list)
    calls: int = 0
    hang: asyncio.Event | None = None  # post_status creates the status, then waits for this forever
    db: Any = None  # the app's Database (set by open_conversation): no call inside a transaction
    _ids: Any = field(default_factory=lambda: itertools.count(100))

    def _network(self, what: str) -> None:
        if self.db is not None and self.db.in_transaction:
            raise NetworkInTransaction(f"Mastodon {what} called inside a database transaction")

    async def limits(self) -> InstanceLimits:
        self._network("limits")
        return self.instance

    async def upload_media(self, data: bytes, mime: str, description: str) -> str:
        self._network("upload_media")
        if self.media_faults:
            raise self.media_faults.pop(0)
        media_id = f"m{next(self._ids)}"
        self.media[media_id] = {"data": data, "mime": mime, "description": description}
        return media_id

    async def post_status(self, text: str, *, idempotency_key: str, in_reply_to_id: str | None = None,
                          spoiler_text: str | None = None, visibility: str = "public", language: str | None = None,
                          media_ids: list[str] | None = None) -> PublishedStatus:
        self._network("post_status")
        self.calls += 1
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Exception):
            raise fault
        if idempotency_key not in self.by_key:
            length = count_chars(text, self.instance.url_length) + len(graphemes(spoiler_text or ""))
            if length > self.instance.max_characters:
                detail = f"Validation failed: Text is too long ({length})"
                raise PermanentError(f"post status: rejected (422): {detail}", code="rejected", detail=detail)
            status_id = str(next(self._ids))
            self.statuses[status_id] = {
                "id": status_id, "text": text, "key": idempotency_key, "in_reply_to_id": in_reply_to_id,
                "spoiler_text": spoiler_text, "visibility": visibility, "language": language,
                "media": [self.media[m] for m in media_ids or []], "url": f"https://social.test/@{self.name}/{status_id}",
            }
            self.by_key[idempotency_key] = status_id
        status = self.statuses[self.by_key[idempotency_key]]
        if isinstance(fault, AfterCreate):
            raise fault.error
        if self.hang is not None:
            await self.hang.wait()
        return PublishedStatus(status["id"], status["url"])

    async def delete_status(self, status_id: str) -> bool:
        self._network("delete_status")
        if self.delete_faults:
            raise self.delete_faults.pop(0)
        if status_id not in self.statuses:
            return False  # like Mastodon: 404, deleted there already
        self.deleted.append(status_id)
        self.statuses.pop(status_id, None)
        return True

    async def mentions(self, since_id: str | None) -> list[Mention]:
        self._network("mentions")
        if self.mention_faults:
            raise self.mention_faults.pop(0)
        return [m for m in self.inbox if since_id is None or int(m.id) > int(since_id)]

    def mention(self, who: str, text: str) -> Mention:
        m = Mention(str(len(self.inbox) + 1), who, text, f"https://elsewhere.test/@{who}/{len(self.inbox) + 1}",
                    datetime(2026, 11, 21, tzinfo=timezone.utc))
        self.inbox.append(m)
        return m

    def live(self) -> list[dict[str, Any]]:
        """Statuses that exist now, oldest first."""
        return sorted(self.statuses.values(), key=lambda s: int(s["id"]))


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def make_chat() -> FakeChat:
    chat = FakeChat()
    chat.add_room(ORGA, [ANNA, BEN, CARO, MIA], power={ANNA: 50, BEN: 50, CARO: 50}, name="Orga")
    chat.add_room(PLAIN, [ANNA, BEN, MIA], power={ANNA: 50, BEN: 50}, name="Allgemein")
    return chat


async def open_conversation(tmp_path, chat: FakeChat | None = None, pubs: dict | None = None, **bot: Any):
    """The real app with two fake accounts ("main", "jugend") and an organisers room.

    Pass the same chat and pubs again to "restart" the bot on the same database."""
    chat = chat or make_chat()
    pubs = pubs or {"main": FakePublisher("main"), "jugend": FakePublisher("jugend")}
    conv = await start_conversation(tmp_path, chat, publishers=pubs, **bot)
    for pub in pubs.values():
        pub.db = conv.app.db
    restarts = getattr(chat, "restarts", 0)
    chat.restarts = restarts + 1  # type: ignore[attr-defined]
    conv._ids = itertools.count(1 + 1000 * restarts)  # event ids stay unique across "restarts"
    conv.pubs = pubs  # type: ignore[attr-defined]
    conv.pub = pubs["main"]  # type: ignore[attr-defined]
    conv.youth = pubs["jugend"]  # type: ignore[attr-defined]
    conv.feature = conv.app.feature("posts")  # type: ignore[attr-defined]
    conv.feature.publishing.sleep = no_sleep  # type: ignore[attr-defined]
    return conv


async def settle(conv, delta: timedelta = timedelta(0)) -> list:
    """Move time, run what fell due, let publications finish, deliver what they said."""
    before = len(conv.chat.sent)
    conv.clock.advance(delta)
    await conv.app.scheduler.run_due()
    for _ in range(3):
        await conv.feature.publishing.settle()
        await conv.app.scheduler.run_due()
    await conv.feature.publishing.settle()
    await conv.app.delivery.flush()
    return conv.chat.sent[before:]


@pytest.fixture
async def pconv(tmp_path):
    conv = await open_conversation(tmp_path)
    await conv.reply("@admin:test", "!raum orga", ORGA)
    await settle(conv)  # first mention poll: sets the starting point
    yield conv
    await conv.feature.publishing.settle()
    await conv.app.db.close()


def image_event(conv, sender: str, room: str, name: str = "plakat.png"):
    content = {"msgtype": "m.image", "body": name, "url": f"mxc://test/{name}",
               "info": {"mimetype": "image/png", "size": 1234}}
    return conv.event(sender, name, room, msgtype="m.image", content=content)
