"""Outgoing messages: recorded in the outbox inside the current transaction, delivered after commit.

Features never send directly; they call the Messenger, so a message exists exactly
when the effect that caused it was committed, and Delivery sends it once (the row id
is the Matrix transaction id, which the homeserver de-duplicates on a resend).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from bot.ports import Chat, Clock
from bot.render import Rich, edit_content, message_content
from storage.core import PRIVATE_REF, DirectRooms, KeyValue, Outbox
from storage.db import Database

log = logging.getLogger(__name__)


class Messenger:
    def __init__(self, outbox: Outbox, clock: Clock, wake: Callable[[], None] = lambda: None) -> None:
        self.outbox = outbox
        self.clock = clock
        self.wake = wake

    async def send(self, room_id: str, rich: Rich, *, reply_to: str | None = None, ref: str | None = None,
                   msgtype: str = "m.notice") -> int:
        return await self.send_event(room_id, "m.room.message",
                                     message_content(rich, reply_to=reply_to, msgtype=msgtype), ref=ref)

    async def send_event(self, room_id: str, type: str, content: dict[str, Any], *, ref: str | None = None) -> int:
        item = await self.outbox.add(room_id=room_id, type=type, content=content, at=self.clock.now(), ref=ref)
        self.wake()
        return item

    async def edit(self, target_ref: str, rich: Rich) -> int:
        """Replace the text of the message sent with ref=target_ref (pending edits coalesce)."""
        item = await self.outbox.add(room_id=None, type="m.room.message", content=message_content(rich),
                                     at=self.clock.now(), edits_ref=target_ref)
        self.wake()
        return item

    async def dm(self, user_id: str, rich: Rich, *, ref: str | None = None) -> int:
        """A notice in the direct chat with user_id (opened at delivery if there is none)."""
        item = await self.outbox.add(room_id=None, to_user=user_id, type="m.room.message",
                                     content=message_content(rich), at=self.clock.now(), ref=ref)
        self.wake()
        return item

    async def event_for(self, ref: str) -> tuple[str, str] | None:
        return await self.outbox.event_for_ref(ref)

    async def ref_for(self, event_id: str) -> str | None:
        return await self.outbox.ref_for_event(event_id)


class Delivery:
    """Sends pending outbox rows in order; a failure is retried, never duplicated."""

    MAX_ATTEMPTS = 8
    PAGE = 100  # outbox rows read at a time
    RETRY_BASE = 0.5  # seconds; doubled per failed attempt, at most a minute

    def __init__(self, db: Database, outbox: Outbox, dms: DirectRooms, kv: KeyValue, chat: Chat,
                 clock: Clock) -> None:
        self.db, self.outbox, self.dms, self.kv, self.chat, self.clock = db, outbox, dms, kv, chat, clock
        self._event = asyncio.Event()
        self._salt: str | None = None
        self._lock = asyncio.Lock()
        self._not_before: dict[int, float] = {}  # outbox id -> monotonic time of the next attempt
        self._added = 0  # wake() calls so far: rows may have been added since the last look

    def wake(self) -> None:
        self._added += 1
        self._event.set()

    async def _txn_prefix(self) -> str:
        # A per-database salt keeps transaction ids unique if a data directory is restored.
        if self._salt is None:
            salt = await self.kv.get("txn_salt")
            if salt is None:
                salt = secrets.token_hex(6)
                async with self.db.transaction():
                    await self.kv.set("txn_salt", salt)
            self._salt = salt
        return self._salt

    async def flush(self) -> int:
        """Send everything pending; returns how many were sent.

        A message that fails waits (with backoff) without blocking other rooms; later
        messages to the same room wait behind it, so a room's order is kept.
        """
        async with self._lock:
            prefix = await self._txn_prefix()
            sent = 0
            while True:
                progress, blocked, added = False, set(), self._added
                page = await self.outbox.pending(self.PAGE)
                for item in page:
                    lane = item.room_id or item.to_user or item.edits_ref
                    if lane in blocked or self._not_before.get(item.id, 0.0) > time.monotonic():
                        blocked.add(lane)
                        continue
                    if await self._deliver(item, prefix):
                        sent += 1
                        progress = True
                    else:
                        blocked.add(lane)
                # look again only for more pages or rows added meanwhile (a pass sends an original
                # before its edits)
                if not progress or (added == self._added and len(page) < self.PAGE):
                    return sent

    async def _deliver(self, item: Any, prefix: str) -> bool:
        try:
            room_id = item.room_id
            content = item.content
            if item.to_user:
                room_id = await self.dms.get(item.to_user)
                if room_id is None:
                    room_id = await self.chat.direct_room(item.to_user)
                    async with self.db.transaction():
                        await self.dms.set(item.to_user, room_id)
            if item.edits_ref:
                target = await self.outbox.event_for_ref(item.edits_ref)
                if target is None:
                    return False  # the original is not sent yet; try again on the next flush
                room_id, target_event = target
                content = edit_content(content, target_event)
            txn = f"plenum.{prefix}.{item.id}" + (f".{item.version}" if item.version else "")
            if item.ref and item.ref.startswith(PRIVATE_REF):
                # a private row is deleted once sent and SQLite hands its id out again: the random
                # ref keeps the next message from being taken for a resend of this one
                txn += "." + item.ref[len(PRIVATE_REF):]
            event_id = await self.chat.send(room_id, item.type, content, txn_id=txn)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried
            failed = None if item.attempts + 1 < self.MAX_ATTEMPTS else type(exc).__name__
            log.warning("delivery of outbox #%d failed (attempt %d): %s", item.id, item.attempts + 1,
                        type(exc).__name__)
            async with self.db.transaction():
                await self.outbox.mark_attempt(item.id, failed)
            if failed is None:
                self._not_before[item.id] = time.monotonic() + min(60.0, self.RETRY_BASE * 2 ** item.attempts)
            else:  # given up: no longer pending, so no reason to wake up for it
                self._not_before.pop(item.id, None)
            return False
        self._not_before.pop(item.id, None)
        async with self.db.transaction():
            return await self.outbox.mark_sent(item.id, event_id, room_id, self.clock.now(), item.version)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver whenever woken, until stop is set."""
        while not stop.is_set():
            self._event.clear()
            try:
                await self.flush()
            except Exception:  # noqa: BLE001
                log.exception("delivery loop error")
            waiter = asyncio.create_task(self._event.wait())
            stopper = asyncio.create_task(stop.wait())
            timeout = 1.0 if self._not_before else 30.0
            done, pending = await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
