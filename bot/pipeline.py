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
from dataclasses import replace

from bot.dispatcher import DONE, Dispatcher
from bot.errors import error_ref
from bot.feature import Feature
from bot.incoming import edit_target, mentions_of, text_of
from bot.messenger import caused_by
from bot.ports import Chat, Clock, Incoming
from storage.core import OUTCOME_DONE, OUTCOME_NONE, OUTCOME_TOLD, DirectRooms, HandledEvents, Rooms
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
        """Handle one event; True if it was recorded as handled. An error of the event's own never stops the
        room (or the bot): the event is tried again a few times, then logged with a reference and parked as
        handled so it cannot crash-loop. An outage of the database is no reason to drop a command: it is
        raised, so the sync position is not stored and the event comes again."""
        for attempt in range(1, EVENT_TRIES + 1):
            try:
                return await self._handle(ev)
            except Exception as exc:  # noqa: BLE001 - the one place where a broken event is parked
                direct = await self.chat.is_direct(ev.room_id)
                where = "a direct chat" if direct else ev.room_id  # who wrote to the bot is private
                log.exception("could not handle an event in %s (ref=%s, try %d of %d)", where, error_ref(),
                              attempt, EVENT_TRIES)
                if is_outage(exc) and attempt == EVENT_TRIES:
                    raise
                await asyncio.sleep(0.05 * attempt)
        async with self.db.transaction():  # if even this fails, the error reaches the sync loop: no position stored
            await self.handled.mark(ev.event_id, ev.room_id, self.clock.now(), direct=direct)
        log.error("parked an event in %s after %d tries (ref above); the room goes on", where, EVENT_TRIES)
        return True

    async def _matters(self, ev: Incoming, is_dm: bool, edit_of: str | None) -> bool:
        """Before the transaction: can anything here act on this event? A direct chat always matters (any text
        in it is a command); elsewhere a message matters if it is a command for us (or an edit that makes one)
        or a feature wants it. What does not matter is dropped unrecorded, so people talking cost no database
        write; a replay of it after a crash is dropped again by the same test."""
        if is_dm:
            return True
        if ev.type == "m.room.message" and ev.msgtype == "m.text":
            if edit_of is None and self.dispatcher.parse(ev.body, is_dm) is not None:
                return True
            new = ev.content.get("m.new_content") if edit_of is not None else None
            if isinstance(new, dict) and self.dispatcher.named_command(text_of(new, replying=False), is_dm):
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
        text = ev.type == "m.room.message" and ev.msgtype == "m.text"
        target = edit_target(ev.content) if text else None
        if not await self._matters(ev, is_dm, target):
            return False
        # network reads happen before the transaction: what a command replies to, the message an edit fixes
        replied = await self.dispatcher.prepare(ev, is_dm) if text and target is None else None
        original = await self._edited(ev, is_dm, target) if target is not None else None
        try:
            # a refused answer is reported where it was caused; as a reply to a message, not to a reaction
            async with self.db.transaction(), caused_by(ev.room_id, ev.event_id if ev.type == "m.room.message"
                                                        else None):
                if not await self.handled.mark(ev.event_id, ev.room_id, self.clock.now(), direct=is_dm):
                    return True
                joined = await self.rooms.joined_at(ev.room_id)
                if joined is not None and ev.ts < joined:
                    return True
                if is_dm:
                    await self.dms.remember(ev.sender, ev.room_id)
                if text:
                    if target is None:
                        if await self._dispatch(ev, is_dm, replied):
                            return True
                    elif await self._dispatch_edit(ev, is_dm, target, original):
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

    async def _dispatch(self, ev: Incoming, is_dm: bool, replied: Incoming | None = None) -> bool:
        outcome = await self.dispatcher.dispatch(ev, is_dm, replied)
        if outcome == DONE:
            await self.handled.set_outcome(ev.event_id, OUTCOME_DONE)
        return outcome is not None

    async def _edited(self, ev: Incoming, is_dm: bool, target: str) -> Incoming | None:
        """The message an edit changes, if its new text names a command (read before the transaction)."""
        new = ev.content.get("m.new_content")
        if not isinstance(new, dict) or self.dispatcher.named_command(text_of(new, replying=False), is_dm) is None:
            return None
        return await self.chat.get_event(ev.room_id, target)

    async def _dispatch_edit(self, ev: Incoming, is_dm: bool, target: str, original: Incoming | None) -> bool:
        """An edit whose new text is a command that did not go through yet (a typo, an unknown word,
        an error) is that command, answered as a reply to the edited message; the original is then
        done, so a second edit does nothing. An edit of a command that went through is not applied
        (said once), unless the command reads its own edits (!post). True if nothing else may act."""
        new = ev.content.get("m.new_content")
        if not isinstance(new, dict) or new.get("msgtype", "m.text") != "m.text":
            return False
        body = text_of(new, replying=False)
        cmd = self.dispatcher.named_command(body, is_dm)
        if cmd is None:
            return False
        outcome = await self.handled.outcome(target)
        if outcome is not None and outcome != OUTCOME_NONE and (cmd.applies_edits or outcome == OUTCOME_TOLD):
            return False
        if original is None or original.sender != ev.sender:
            return False  # only the author's own edit counts (a homeserver does not check that)
        if outcome == OUTCOME_DONE:
            await self.handled.set_outcome(target, OUTCOME_TOLD)
            ctx = await self.dispatcher.context(replace(ev, event_id=target), is_dm)
            await ctx.reply("error.edit_not_applied")
            return True
        joined = await self.rooms.joined_at(ev.room_id)
        if joined is not None and original.ts < joined:
            return False
        relates = original.content.get("m.relates_to")
        content = {**new, **({"m.relates_to": relates} if isinstance(relates, dict) else {})}
        as_command = replace(ev, event_id=target, content=content, body=body, reply_to=original.reply_to,
                             mentions=tuple(sorted(mentions_of(new))))
        await self.handled.mark(target, ev.room_id, self.clock.now(), direct=is_dm)  # if it never was
        return await self._dispatch(as_command, is_dm)
