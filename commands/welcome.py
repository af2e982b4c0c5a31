"""Welcome buddies: someone who joins a room with the role "welcome" gets a contact person from the
pool of that room's duty "Welcome" (or "Willkommen"), chosen fairly, and the bot introduces the two
in a new chat of their own.

A person is welcomed at most once per room. Matrix sends the same "join" membership for a
profile change as for a real join, and the event does not say which it was, so people who
were in the room when the welcome duty was created (or when the bot first saw a join
there) are recorded as already known.
"""
from __future__ import annotations

from datetime import timedelta

from bot.feature import Ctx, Feature
from bot.messenger import caused_by
from bot.ports import Clock, Incoming
from bot.scheduler import JobHandler, Scheduler
from bot.voice import Voice
from commands.duty_planner import WELCOME_NAMES, Planner
from commands.duty_text import organisers_room
from storage.core import Job, Rooms
from storage.duties import Duties, Duty, Turns, Welcomes

JOB_BUDDY = "duty.buddy"


class WelcomeFeature(Feature):
    name = "welcome"
    event_types = frozenset({"m.room.member"})

    def __init__(self, duties: Duties, turns: Turns, welcomes: Welcomes, rooms: Rooms, planner: Planner,
                 voice: Voice, scheduler: Scheduler, clock: Clock) -> None:
        self.duties, self.turns, self.welcomes, self.rooms = duties, turns, welcomes, rooms
        self.planner, self.voice, self.scheduler, self.clock = planner, voice, scheduler, clock

    def jobs(self) -> dict[str, JobHandler]:
        return {JOB_BUDDY: JobHandler(self._introduce)}

    async def _duty(self, room_id: str) -> Duty | None:
        """The room's own welcome duty, else the only one there is."""
        found = await self.duties.named(WELCOME_NAMES)
        here = [d for d in found if d.room_id == room_id]
        return here[0] if here else found[0] if len(found) == 1 else None

    async def on_event(self, ev: Incoming, ctx: Ctx) -> None:
        user = ev.state_key
        if ev.content.get("membership") != "join" or not user or user == ctx.chat.own_user_id:
            return
        if "welcome" not in (await self.rooms.get(ev.room_id)).roles:
            return
        duty = await self._duty(ev.room_id)
        if duty is None or await self.welcomes.get(ev.room_id, user) is not None:
            return
        if not await self.welcomes.known_room(ev.room_id):
            info = await ctx.chat.room_info(ev.room_id)
            for member in info.members if info else ():
                if member != user:
                    await self.welcomes.add(ev.room_id, member, "baseline", ctx.now)
        when = await self._moment(duty, ctx)
        buddy = await self.planner.pick(duty, when, user)
        if buddy is None:
            await self.welcomes.add(ev.room_id, user, "nobody", ctx.now, duty_id=duty.id)
            target = await organisers_room(self.voice, ev.room_id)
            await self.voice.say(target, "welcome.nobody", user=ctx.names.plain(user), duty=duty.name,
                                 room=await self.voice.room_name(ev.room_id))
            return
        await self.welcomes.add(ev.room_id, user, "buddy", ctx.now, buddy=buddy, duty_id=duty.id)
        await self.turns.add(duty.id, when, buddy, "done", "buddy", duty.weight, ctx.now)
        await self.scheduler.schedule(JOB_BUDDY, f"duty.buddy.{ev.room_id}.{user}", ctx.now,
                                      {"room": ev.room_id, "user": user})

    async def _moment(self, duty: Duty, ctx: Ctx):
        """A distinct instant for this buddy turn (two joins in the same millisecond are two turns)."""
        when = ctx.now.replace(microsecond=ctx.now.microsecond // 1000 * 1000)
        recent = await self.turns.of_duty(duty.id, when - timedelta(milliseconds=1))
        return max([when] + [r.occurrence + timedelta(milliseconds=1) for r in recent])

    async def _introduce(self, job: Job) -> None:
        """Open the chat and introduce the two there, both outbox rows (the room is created after commit,
        the introduction goes into the room that creates); chat_room keeps the creation's outbox ref, so
        the job never asks twice. Should the homeserver refuse, the welcome room is told."""
        room_id, user = job.payload["room"], job.payload["user"]
        row = await self.welcomes.get(room_id, user)
        if row is None or row.kind != "buddy" or row.buddy is None or row.chat_room is not None:
            return
        lang = await self.voice.lang(room_id)
        room_name = await self.voice.room_name(room_id)
        names = await self.voice.names(room_id)  # as they are called in the room they share
        async with caused_by(room_id, None):
            chat = await self.voice.messenger.create_room(
                [user, row.buddy], name=self.voice.t(lang, "welcome.chat_name", room=room_name), is_direct=False)
            await self.voice.messenger.send(None, self.voice.rich(
                lang, "welcome.intro", newcomer=names.mention(user), buddy=names.mention(row.buddy), room=room_name),
                needs=chat)
        await self.welcomes.set_chat_room(room_id, user, chat)

    async def my_data(self, user_id: str, ctx: Ctx):
        out = []
        for row in await self.welcomes.of_user(user_id):
            room = await self.voice.room_name(row.room_id)
            names = await self.voice.names(row.room_id)
            if row.buddy == user_id:
                out.append(ctx.rich("welcome.mydata_as_buddy", user=names.plain(row.user_id), room=room))
            else:
                out.append(ctx.rich("welcome.mydata_" + row.kind, room=room,
                                    buddy=names.plain(row.buddy) if row.buddy else "–"))
        return out

    async def forget(self, user_id: str, ctx: Ctx):
        n = await self.welcomes.forget(user_id)
        return [ctx.rich("welcome.forgotten", n)] if n else []
