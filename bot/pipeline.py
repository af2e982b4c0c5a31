"""Exactly-once event handling: each event is acted on in one transaction with its handled mark.

Events nothing here acts on (people talking in a room: no command for us, no feature wants it)
are dropped before any transaction, unrecorded: deciding that is pure or a read, and gives the
same answer when a crash brings the event again.

The Matrix adapter hands over a sync batch room by room; rooms run concurrently, events
within a room in order. The adapter stores the sync position only after the whole batch
went through here, so a crash at any moment re-delivers events that this module then
recognises as handled or handles for the first time, never twice.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from bot.dispatcher import Dispatcher
from bot.errors import error_ref
from bot.feature import Feature
from bot.ports import Chat, Clock, Incoming
from storage.core import DirectRooms, HandledEvents, Rooms
from storage.db import Database

log = logging.getLogger(__name__)

EVENT_TRIES = 3  # an event that fails this often outside any handler's own error path is parked


class Pipeline:
    def __init__(self, db: Database, handled: HandledEvents, rooms: Rooms, dms: DirectRooms, chat: Chat,
                 dispatcher: Dispatcher, features: list[Feature], clock: Clock, after_commit) -> None:
        self.db, self.handled, self.rooms, self.dms, self.chat = db, handled, rooms, dms, chat
        self.dispatcher, self.clock, self.after_commit = dispatcher, clock, after_commit
        self.routes: dict[str, list[Feature]] = {}
        for feature in features:
            for type_ in feature.event_types:
                self.routes.setdefault(type_, []).append(feature)

    async def handle_batch(self, batch: Mapping[str, Sequence[Incoming]]) -> int:
        """Handle a sync batch; returns how many events were recorded (0: nothing in it concerned the bot)."""
        counts = await asyncio.gather(*(self.handle_room(events) for events in batch.values()))
        return sum(counts)

    async def handle_room(self, events: Sequence[Incoming]) -> int:
        recorded = 0
        for ev in events:
            recorded += await self.handle(ev)
        return recorded

    async def room_joined(self, room_id: str, ts) -> None:
        async with self.db.transaction():
            await self.rooms.set_joined(room_id, ts)

    async def handle(self, ev: Incoming) -> bool:
        """Handle one event; True if it was recorded as handled. An unexpected error never stops the room (or
        the bot): the event is tried again a few times, then logged with a reference and marked handled so it
        cannot crash-loop."""
        for attempt in range(1, EVENT_TRIES + 1):
            try:
                return await self._handle(ev)
            except Exception:  # noqa: BLE001 - the one place where a broken event is parked
                ref = error_ref()
                log.exception("could not handle event %s in %s (ref=%s, try %d of %d)", ev.event_id, ev.room_id,
                              ref, attempt, EVENT_TRIES)
                await asyncio.sleep(0.05 * attempt)
        try:
            async with self.db.transaction():
                await self.handled.mark(ev.event_id, ev.room_id, self.clock.now())
            log.error("parked event %s after %d tries; the room goes on", ev.event_id, EVENT_TRIES)
            return True
        except Exception:  # noqa: BLE001 - the database itself is gone: the next sync brings it again
            log.exception("could not park event %s", ev.event_id)
            return False

    async def _matters(self, ev: Incoming, is_dm: bool) -> bool:
        """Before the transaction: can anything here act on this event? A direct chat always matters (any text
        in it is a command); elsewhere a message matters if it is a command for us or a feature wants it. What
        does not matter is dropped unrecorded, so people talking cost no database write; a replay of it after a
        crash is dropped again by the same test."""
        if is_dm:
            return True
        if ev.type == "m.room.message" and ev.msgtype == "m.text" and not _is_edit(ev) \
                and self.dispatcher.parse(ev.body, is_dm) is not None:
            return True
        for feature in self.routes.get(ev.type, ()):
            if await feature.wants(ev):
                return True
        return False

    async def _handle(self, ev: Incoming) -> bool:
        if ev.sender == self.chat.own_user_id:
            return False
        if ev.type == "m.room.message" and ev.msgtype == "m.notice":
            return False  # other bots' notices are never commands
        if ev.type != "m.room.message" and ev.type not in self.routes:
            return False  # nothing here acts on it, so there is nothing to record either
        is_dm = await self.chat.is_direct(ev.room_id)
        if not await self._matters(ev, is_dm):
            return False
        try:
            async with self.db.transaction():
                if not await self.handled.mark(ev.event_id, ev.room_id, self.clock.now()):
                    return True
                joined = await self.rooms.joined_at(ev.room_id)
                if joined is not None and ev.ts < joined:
                    return True
                if is_dm:
                    await self.dms.remember(ev.sender, ev.room_id)
                if ev.type == "m.room.message" and ev.msgtype == "m.text" and not _is_edit(ev):
                    if await self.dispatcher.dispatch(ev, is_dm):
                        return True
                features = self.routes.get(ev.type, ())
                ctx = await self.dispatcher.context(ev, is_dm) if features else None
                for feature in features:
                    try:
                        async with self.db.savepoint():
                            await feature.on_event(ev, ctx)
                    except Exception:  # noqa: BLE001 - one feature's bug must not block the room
                        log.exception("event handler error ref=%s in %s for %s", error_ref(), feature.name,
                                      ev.event_id)
            return True
        finally:
            self.after_commit()


def _is_edit(ev: Incoming) -> bool:
    relation = ev.content.get("m.relates_to") or {}
    return isinstance(relation, dict) and relation.get("rel_type") == "m.replace"
