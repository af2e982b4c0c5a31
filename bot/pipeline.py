"""Exactly-once event handling: each event is acted on in one transaction with its handled mark.

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
from bot.messenger import caused_by
from bot.ports import Chat, Clock, Incoming
from storage.core import DirectRooms, HandledEvents, Rooms
from storage.db import Database, is_outage

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

    async def handle_batch(self, batch: Mapping[str, Sequence[Incoming]]) -> None:
        await asyncio.gather(*(self.handle_room(events) for events in batch.values()))

    async def handle_room(self, events: Sequence[Incoming]) -> None:
        for ev in events:
            await self.handle(ev)

    async def room_joined(self, room_id: str, ts) -> None:
        async with self.db.transaction():
            await self.rooms.set_joined(room_id, ts)

    async def handle(self, ev: Incoming) -> None:
        """Handle one event; an error of the event's own never stops the room (or the bot): the event is
        tried again a few times, then logged with a reference and parked as handled so it cannot
        crash-loop. An outage of the database is no reason to drop a command: it is raised, so the
        sync position is not stored and the event comes again."""
        info = await self.chat.room_info(ev.room_id)
        where = "a direct chat" if info is not None and info.is_direct else ev.room_id  # who wrote to the bot is private
        for attempt in range(1, EVENT_TRIES + 1):
            try:
                await self._handle(ev)
                return
            except Exception as exc:  # noqa: BLE001 - the one place where a broken event is parked
                ref = error_ref()
                log.exception("could not handle an event in %s (ref=%s, try %d of %d)", where, ref, attempt,
                              EVENT_TRIES)
                if is_outage(exc) and attempt == EVENT_TRIES:
                    raise
                await asyncio.sleep(0.05 * attempt)
        async with self.db.transaction():  # if even this fails, the error reaches the sync loop: no position stored
            await self.handled.mark(ev.event_id, ev.room_id, self.clock.now(),
                                    direct=bool(info is not None and info.is_direct))
        log.error("parked an event in %s after %d tries (ref above); the room goes on", where, EVENT_TRIES)

    async def _handle(self, ev: Incoming) -> None:
        if ev.sender == self.chat.own_user_id:
            return
        if ev.type == "m.room.message" and ev.msgtype == "m.notice":
            return  # other bots' notices are never commands
        if ev.type != "m.room.message" and ev.type not in self.routes:
            return  # nothing here acts on it, so there is nothing to record either
        info = await self.chat.room_info(ev.room_id)
        is_dm = bool(info and info.is_direct)
        text = ev.type == "m.room.message" and ev.msgtype == "m.text"
        replied = await self.dispatcher.prepare(ev, is_dm) if text else None  # network: before the transaction
        try:
            # a refused answer is reported where it was caused; as a reply to a message, not to a reaction
            async with self.db.transaction(), caused_by(ev.room_id, ev.event_id if ev.type == "m.room.message"
                                                        else None):
                if not await self.handled.mark(ev.event_id, ev.room_id, self.clock.now(), direct=is_dm):
                    return
                joined = await self.rooms.joined_at(ev.room_id)
                if joined is not None and ev.ts < joined:
                    return
                if is_dm:
                    await self.dms.remember(ev.sender, ev.room_id)
                relation = ev.content.get("m.relates_to") or {}
                is_edit = isinstance(relation, dict) and relation.get("rel_type") == "m.replace"
                if ev.type == "m.room.message" and ev.msgtype == "m.text" and not is_edit:
                    if await self.dispatcher.dispatch(ev, is_dm, replied):
                        return
                features = self.routes.get(ev.type, ())
                ctx = await self.dispatcher.context(ev, is_dm) if features else None
                for feature in features:
                    try:
                        async with self.db.savepoint():
                            await feature.on_event(ev, ctx)
                    except Exception:  # noqa: BLE001 - one feature's bug must not block the room
                        log.exception("event handler error ref=%s in %s for %s", error_ref(), feature.name,
                                      ev.event_id)
        finally:
            self.after_commit()
