"""Outgoing messages: recorded in the outbox inside the current transaction, delivered after commit.

Features never send directly; they call the Messenger, so a message exists exactly
when the effect that caused it was committed, and Delivery sends it once (the row id
is the Matrix transaction id, which the homeserver de-duplicates on a resend).

Every event is measured when it is queued (Messenger._queue, the one way into the outbox):
one that would not fit into a Matrix event raises TooLarge, so a command refuses it and its
writes roll back. Each row remembers the event that caused it (`caused_by`, set by the
pipeline), so a message the homeserver refuses for good is reported there at once instead of
being retried and blocking the room.

Side effects other than messages (invite, kick, power levels, state, uploads, room creation) are
outbox rows too, of their kind (bot/effects.py): no feature calls the network inside a transaction.
A row may need another's result (`needs`): a file message the upload's mxc URI, an introduction the
room just created, a reaction or a poll's end the event id of the poll's message. Delivery fills it
in (effects.RESULT) once that row is done, in the same lane and order.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any, Protocol

from bot.effects import EFFECT_KINDS, FALLBACK, STARTED, fill, perform, power_change, upload_content
from bot.errors import TooLarge
from bot.eventsize import CONTENT_BUDGET, wire_size
from bot.ports import Chat, Clock, SendRefused
from bot.render import EDIT_RESERVE, Rich, edit_content, message_content
from storage.core import (FAILURE_REF, PRIVATE_FAILURE_REF, PRIVATE_REF, DirectRooms, KeyValue, Outbox,
                          effect_ref, private_failure_ref)
from storage.db import Database

log = logging.getLogger(__name__)


# the command (room, event id) being handled: messages queued meanwhile are its doing
_CAUSE: ContextVar[tuple[str, str | None] | None] = ContextVar("plenum_cause", default=None)
# an edit is measured with the longest possible target event id (room versions 1-3 allow 255 bytes)
_LONGEST_EVENT_ID = "$" + "x" * 254


@contextlib.asynccontextmanager
async def caused_by(room_id: str, event_id: str | None) -> AsyncIterator[None]:
    """Attribute everything queued inside the block to this event (its room hears of failures)."""
    token = _CAUSE.set((room_id, event_id))
    try:
        yield
    finally:
        _CAUSE.reset(token)


def require_whole(rich: Rich, reserve: int = 0) -> None:
    """TooLarge unless rich fits whole into one message with `reserve` bytes to spare: for text stored
    now and shown later inside other text (a safe space's rules in the welcome message)."""
    size = wire_size(message_content(rich, budget=None)) + reserve
    if size > CONTENT_BUDGET:
        raise TooLarge(size, CONTENT_BUDGET)


class Messenger:
    def __init__(self, outbox: Outbox, clock: Clock, wake: Callable[[], None] = lambda: None) -> None:
        self.outbox = outbox
        self.clock = clock
        self.wake = wake

    async def send(self, room_id: str | None, rich: Rich, *, reply_to: str | None = None, ref: str | None = None,
                   msgtype: str = "m.notice", whole: bool = False, needs: str | None = None) -> int:
        """A notice; too big, it is shortened (whole=True: refused with TooLarge, for text the bot only
        passes on, like a report, where a cut would lose what someone said). room_id None with needs:
        into the room that row created."""
        content = message_content(rich, reply_to=reply_to, msgtype=msgtype, budget=None if whole else CONTENT_BUDGET)
        return await self._queue(room_id=room_id, type="m.room.message", content=content, ref=ref, needs_ref=needs)

    async def send_event(self, room_id: str, type: str, content: dict[str, Any], *, ref: str | None = None,
                         needs: str | None = None, fallback: dict[str, Any] | None = None) -> int:
        """Any event; with needs, effects.RESULT in content becomes that row's result (an event id to relate
        to, an upload's mxc URI), and fallback (if given) is sent instead should that row be given up."""
        if fallback is not None:
            self._measure(fallback)
            content = {**content, FALLBACK: fallback}
        return await self._queue(room_id=room_id, type=type, content=content, ref=ref, needs_ref=needs)

    # ------------------------------------------------------------------ side effects (bot/effects.py)
    async def invite(self, room_id: str, user_id: str) -> int:
        return await self._queue(room_id=room_id, type="", content={"user": user_id}, kind="invite")

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> int:
        return await self._queue(room_id=room_id, type="", content={"user": user_id, "reason": reason}, kind="kick")

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> int:
        return await self.change_power_levels(room_id, power_change(users={user_id: level}))

    async def change_power_levels(self, room_id: str, change: dict[str, Any]) -> int:
        """Applied at delivery to the power levels the room has then (effects.apply_power_change)."""
        return await self._queue(room_id=room_id, type="", content=change, kind="power")

    async def put_state(self, room_id: str, type: str, content: dict[str, Any], state_key: str = "") -> int:
        return await self._queue(room_id=room_id, type="", kind="state",
                                 content={"type": type, "content": content, "state_key": state_key})

    async def upload(self, room_id: str, data: bytes, mime: str, filename: str) -> str:
        """Upload a small file (bytes kept in the row until done); returns the ref a message in room_id
        passes as needs= to embed the mxc URI (effects.RESULT)."""
        ref = effect_ref()
        await self._queue(room_id=room_id, type="", content=upload_content(data, mime, filename), ref=ref,
                          kind="upload")
        return ref

    async def create_room(self, invite: list[str], name: str | None = None, is_direct: bool = False) -> str:
        """Create a room at delivery; returns the ref whose result (the room id) later rows use (needs=)."""
        ref = effect_ref()
        await self._queue(room_id=None, type="", content={"invite": list(invite), "name": name, "is_direct": is_direct},
                          ref=ref, kind="create_room")
        return ref

    async def edit(self, target_ref: str, rich: Rich) -> int:
        """Replace the text of the message sent with ref=target_ref (pending edits coalesce).

        The new text is shortened to leave room for the edit's own fields."""
        content = message_content(rich, budget=CONTENT_BUDGET - EDIT_RESERVE)
        return await self._queue(room_id=None, type="m.room.message", content=content, edits_ref=target_ref)

    async def dm(self, user_id: str, rich: Rich, *, ref: str | None = None, whole: bool = False) -> int:
        """A notice in the direct chat with user_id (opened at delivery if there is none)."""
        content = message_content(rich, budget=None if whole else CONTENT_BUDGET)
        return await self._queue(room_id=None, to_user=user_id, type="m.room.message", content=content, ref=ref)

    async def _queue(self, *, room_id: str | None, type: str, content: dict[str, Any], ref: str | None = None,
                     to_user: str | None = None, edits_ref: str | None = None, kind: str = "event",
                     needs_ref: str | None = None) -> int:
        """Measure the event as it will be sent (an edit with its relation and fallback), then queue it."""
        if kind == "event":
            self._measure({k: v for k, v in content.items() if k != FALLBACK}, edit=bool(edits_ref))
        cause = _CAUSE.get()
        item = await self.outbox.add(room_id=room_id, to_user=to_user, type=type, content=content,
                                     at=self.clock.now(), ref=ref, edits_ref=edits_ref,
                                     cause_room=cause[0] if cause else None, cause_event=cause[1] if cause else None,
                                     kind=kind, needs_ref=needs_ref)
        self.wake()
        return item

    @staticmethod
    def _measure(content: dict[str, Any], edit: bool = False) -> None:
        # an event id filled in at delivery (effects.RESULT) is at most as long as the longest one
        sent = fill(edit_content(content, _LONGEST_EVENT_ID) if edit else content, _LONGEST_EVENT_ID)
        size = wire_size(sent)
        if size > CONTENT_BUDGET:
            raise TooLarge(size, CONTENT_BUDGET)

    async def event_for(self, ref: str) -> tuple[str, str] | None:
        return await self.outbox.event_for_ref(ref)

    async def ref_for(self, event_id: str) -> str | None:
        return await self.outbox.ref_for_event(event_id)


class FailureReporter(Protocol):
    async def __call__(self, room_id: str, reason: str, *, what: str, reply_to: str | None, ref: str) -> None:
        """what: here (the answer to a command), elsewhere (a message a command caused in another room)
        or unprompted (a message of the bot's own, reported in its room)."""


class Delivery:
    """Sends pending outbox rows in order; a failure is retried, never duplicated.

    A permanent refusal (SendRefused: too large, forbidden, malformed) is not retried: the row
    is marked failed, whoever caused it is told (`report`, set by the app), and the room's
    later rows go on. So is a row that failed MAX_ATTEMPTS times."""

    MAX_ATTEMPTS = 8
    PAGE = 100  # outbox rows read at a time
    RETRY_BASE = 0.5  # seconds; doubled per failed attempt, at most a minute

    def __init__(self, db: Database, outbox: Outbox, dms: DirectRooms, kv: KeyValue, chat: Chat,
                 clock: Clock) -> None:
        self.db, self.outbox, self.dms, self.kv, self.chat, self.clock = db, outbox, dms, kv, chat, clock
        self.report: FailureReporter | None = None
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
        messages to the same room wait behind it, so a room's order is kept. One that
        fails for good is dropped (and reported), so it blocks nothing.
        """
        async with self._lock:
            prefix = await self._txn_prefix()
            sent = 0
            while True:
                progress, blocked, added = False, set(), self._added
                page = await self.outbox.pending(self.PAGE)
                for item in page:
                    lane = item.room_id or item.to_user or item.edits_ref or item.needs_ref or item.ref or item.id
                    if lane in blocked or self._not_before.get(item.id, 0.0) > time.monotonic():
                        blocked.add(lane)
                        continue
                    outcome = await self._deliver(item, prefix)
                    if outcome == "sent":
                        sent += 1
                    if outcome == "wait":
                        blocked.add(lane)
                    else:
                        progress = True
                # look again only for more pages or rows added meanwhile (a pass sends an original
                # before its edits)
                if not progress or (added == self._added and len(page) < self.PAGE):
                    return sent

    async def _deliver(self, item: Any, prefix: str) -> str:
        """'sent', 'wait' (try again later; the lane waits) or 'dropped' (failed for good)."""
        room_id = item.room_id
        try:
            content = item.content
            if item.needs_ref:
                needed = await self.outbox.needed(item.needs_ref)
                if needed.state == "pending":
                    return "wait"  # delivered before this row in the same pass, or it waits for a retry
                if needed.state == "done":
                    content, room_id = fill(content, needed.value or ""), room_id or needed.room_id
                elif FALLBACK in content:
                    content = content[FALLBACK]
                else:  # given up (and reported) already: so is this row, quietly
                    async with self.db.transaction():
                        await self.outbox.mark_attempt(item.id, "needed row " + needed.state)
                    return "dropped"
            content = {k: v for k, v in content.items() if k != FALLBACK}
            if item.kind in EFFECT_KINDS:
                result = (await self._create(item, content) if item.kind == "create_room"
                          else await perform(self.chat, item.kind, room_id, content))
                self._not_before.pop(item.id, None)
                async with self.db.transaction():  # first thing after the call: a retry must not repeat it
                    await self.outbox.mark_sent(item.id, None, room_id or result, self.clock.now(), item.version,
                                                result=result)
                return "sent"
            if item.to_user:
                room_id = await self.dms.get(item.to_user)
                if room_id is None:
                    room_id = await self._direct_room(item, prefix)
                    async with self.db.transaction():
                        await self.dms.set(item.to_user, room_id)
            if item.edits_ref:
                target = await self.outbox.event_for_ref(item.edits_ref)
                if target is None:
                    # the original was dropped, or erased by !forget: so is its edit
                    if await self.outbox.ref_failed(item.edits_ref) or not await self.outbox.ref_exists(item.edits_ref):
                        async with self.db.transaction():
                            await self.outbox.mark_attempt(item.id, "original gone")
                        return "dropped"
                    return "wait"  # the original is not sent yet; try again on the next flush
                room_id, target_event = target
                content = edit_content(content, target_event)
            txn = f"plenum.{prefix}.{item.id}" + (f".{item.version}" if item.version else "")
            if item.ref and item.ref.startswith(PRIVATE_REF):
                # a private row is deleted once sent and SQLite hands its id out again: the random
                # ref keeps the next message from being taken for a resend of this one
                txn += "." + item.ref[len(PRIVATE_REF):]
            event_id = await self.chat.send(room_id, item.type, content, txn_id=txn)
        except SendRefused as exc:
            log.warning("outbox #%d refused by the homeserver (%s %s); not retried", item.id, exc.status or "",
                        exc.errcode or "")
            await self._drop(item, room_id, "too_large" if exc.too_large else "refused", exc.errcode or "refused")
            return "dropped"
        except Exception as exc:  # noqa: BLE001 - any other transport failure is retried
            log.warning("delivery of outbox #%d failed (attempt %d): %s", item.id, item.attempts + 1,
                        type(exc).__name__)
            if item.attempts + 1 >= self.MAX_ATTEMPTS:
                await self._drop(item, room_id, "gave_up", type(exc).__name__)
                return "dropped"
            async with self.db.transaction():
                await self.outbox.mark_attempt(item.id, None)
            self._not_before[item.id] = time.monotonic() + min(60.0, self.RETRY_BASE * 2 ** item.attempts)
            return "wait"
        self._not_before.pop(item.id, None)
        async with self.db.transaction():
            done = await self.outbox.mark_sent(item.id, event_id, room_id, self.clock.now(), item.version)
        return "sent" if done else "wait"

    async def _direct_room(self, item: Any, prefix: str) -> str:
        """Open the direct chat a row goes to, once, like _create (the marker is unique while the row waits)."""
        marker = f"dm.{prefix}.{item.id}"
        if item.result == STARTED:
            found = self.chat.created_room(marker)
            if found is not None:
                return found
        else:
            async with self.db.transaction():
                await self.outbox.set_result(item.id, STARTED)
        return await self.chat.direct_room(item.to_user, marker=marker)

    async def _create(self, item: Any, content: dict[str, Any]) -> str | None:
        """A room, created once: the row says STARTED before the call, and a row found so (a crash before
        its mark) first looks for the room that carries its ref (bot/effects.py)."""
        if item.result == STARTED:
            found = self.chat.created_room(item.ref)
            if found is not None:
                log.info("outbox #%d: the room was created before a restart; not creating another", item.id)
                return found
        else:
            async with self.db.transaction():
                await self.outbox.set_result(item.id, STARTED)
        return await perform(self.chat, "create_room", None, {**content, "marker": item.ref})

    async def _drop(self, item: Any, room_id: str | None, reason: str, note: str) -> None:
        """Mark the row failed and, in the same transaction, tell whoever caused it (a failure notice
        that fails itself is only logged)."""
        self._not_before.pop(item.id, None)
        where = item.cause_room or room_id
        async with self.db.transaction():
            await self.outbox.mark_attempt(item.id, note)
            own = item.ref or ""
            if self.report is not None and where and not own.startswith((FAILURE_REF, PRIVATE_FAILURE_REF)):
                what = ("action" if item.kind != "event" else "unprompted" if not item.cause_room
                        else "here" if room_id == where else "elsewhere")
                # a private message's failure is private too: its notice goes once delivered, naming no row
                ref = private_failure_ref() if own.startswith(PRIVATE_REF) else FAILURE_REF + str(item.id)
                await self.report(where, reason, what=what, reply_to=item.cause_event, ref=ref)

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
