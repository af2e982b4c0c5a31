"""!duty done / handback / take: one person's turn — confirm it, give it back, or take over someone else's.

Only future turns change hands; a turn whose time has passed stays as it was (it can only be
confirmed). Every change is appended to the override log.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import command
from bot.voice import Short, Voice
from commands.duty_planner import HISTORY, Planner
from commands.duty_text import DutyAndDay, DutyFinder, DutyName, who
from storage.duties import HOLDING, OPEN, Absences, Duties, Duty, Slot, Turns


class TurnsFeature(Feature):
    name = "duty_turns"

    def __init__(self, duties: Duties, turns: Turns, absences: Absences, planner: Planner, finder: DutyFinder,
                 voice: Voice) -> None:
        self.duties, self.turns, self.absences, self.planner = duties, turns, absences, planner
        self.finder, self.voice = finder, voice

    def _end_of_today(self, now: datetime) -> datetime:
        local = now.astimezone(self.planner.zone)
        return datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=self.planner.zone)

    async def _tell(self, ctx: Ctx, room_id: str, key: str, **params) -> None:
        """Answer; if the command came from elsewhere (a direct chat), the duty's room is told too."""
        await ctx.reply_rich(self.voice.rich(ctx.lang, key, **params))
        if room_id != ctx.room_id:
            await self.voice.say(room_id, key, **params)

    @command("duty done", aliases=["dienst erledigt", "dienst fertig"])
    async def done(self, ctx: Ctx, duty: DutyName):
        found = await self.finder.find(ctx, duty)
        past = await self.turns.of_user(ctx.sender, ("assigned", "taken", "missed"),
                                        until=self._end_of_today(ctx.now), duty_id=found.id)
        if past:
            turn = past[-1]  # the latest one: "I did today's minutes"
            await self.turns.set_status(turn.id, "done", ctx.now)
            await ctx.reply("duty.done", name=found.name, when=self.voice.value(ctx.lang, Short(turn.occurrence)))
            return
        upcoming = await self.turns.of_user(ctx.sender, OPEN, after=ctx.now, duty_id=found.id)
        if upcoming:
            raise UserError("duty.done_too_early", name=found.name, usage=False,
                            when=self.voice.value(ctx.lang, Short(upcoming[0].occurrence)))
        raise UserError("duty.done_not_yours", name=found.name, usage=False, **await self._current(ctx, found))

    async def _current(self, ctx: Ctx, duty: Duty) -> dict[str, str]:
        """Who has the duty's latest turn up to today, or else the next one (for the "not yours" message)."""
        rows = [r for r in await self.turns.of_duty(duty.id, ctx.now - HISTORY,
                                                    self._end_of_today(ctx.now)) if r.status in HOLDING]
        if not rows:
            slots = await self.turns.slots_after(duty.id, ctx.now, limit=1)
            rows = await self.turns.holders(duty.id, slots[0].occurrence) if slots else []
        if not rows:
            return {"when": "–", "users": "–"}
        occ = rows[-1].occurrence
        names = await self.voice.names(duty.room_id)
        users = [names.name(r.user_id) if r.user_id else "–" for r in rows if r.occurrence == occ]
        return {"when": self.voice.value(ctx.lang, Short(occ)), "users": ", ".join(users)}

    @command("duty handback", aliases=["dienst abgeben", "dienst zurückgeben", "dienst zurueckgeben"])
    async def handback(self, ctx: Ctx, duty: DutyName):
        found = await self.finder.find(ctx, duty)
        mine = await self.turns.of_user(ctx.sender, OPEN, after=ctx.now, duty_id=found.id)
        if not mine:
            raise UserError("duty.handback_none", name=found.name, usage=False)
        moves = await self.planner.release(found, [mine[0]], "handed_back", "handback", ctx.now)
        if not moves or not moves[0].to_users:
            raise UserError("duty.handback_nobody", name=found.name, usage=False,
                            when=self.voice.value(ctx.lang, Short(mine[0].occurrence)))
        names = await self.voice.names(found.room_id)
        await self._tell(ctx, found.room_id, "duty.handed_back", user=names.plain(ctx.sender), duty=found.name,
                         when=Short(mine[0].occurrence), users=who(moves[0].to_users, names, ping=True))

    async def _slots_on(self, duty: Duty, day: date, now: datetime) -> list[Slot]:
        return [s for s in await self.turns.slots_after(duty.id, now) if self.planner.day(s.occurrence) == day]

    @command("duty take", aliases=["dienst übernehmen", "dienst uebernehmen"])
    async def take(self, ctx: Ctx, turn: DutyAndDay):
        found, day = await self.finder.find_with_day(ctx, turn)
        slots = await self._slots_on(found, day, ctx.now)
        if not slots:  # a date beyond the plan so far is planned first
            await self.planner.ensure_day(found, day, ctx.now)
            slots = await self._slots_on(found, day, ctx.now)
        if not slots:
            upcoming = await self.turns.slots_after(found.id, ctx.now, limit=3)
            raise UserError("duty.take_no_turn", name=found.name, usage=False,
                            date=self.voice.value(ctx.lang, day),
                            dates=", ".join(self.voice.value(ctx.lang, Short(s.occurrence)) for s in upcoming) or "–")
        occ = slots[0].occurrence
        holders = await self.turns.holders(found.id, occ)
        if any(r.user_id == ctx.sender for r in holders):
            raise UserError("duty.take_already", name=found.name, usage=False, when=self.voice.value(ctx.lang, Short(occ)))
        if any(a.first_day <= day <= a.last_day for a in await self.absences.current([ctx.sender], day)):
            raise UserError("duty.take_absent", usage=False, date=self.voice.value(ctx.lang, day))
        open_rows = [r for r in holders if r.status in OPEN]
        original = open_rows[-1] if len(holders) >= found.people and open_rows else None
        if original is None and len(holders) >= found.people:
            raise UserError("duty.take_done", name=found.name, usage=False, when=self.voice.value(ctx.lang, Short(occ)))
        if original is not None:
            await self.turns.set_status(original.id, "released")
        await self.turns.add(found.id, occ, ctx.sender, "taken", "take", found.weight, ctx.now)
        await self.turns.override(found.id, occ, "take", original.user_id if original else None, ctx.sender, ctx.now)
        names = await self.voice.names(found.room_id)
        if original is not None and original.user_id:
            await self._tell(ctx, found.room_id, "duty.taken_from", user=names.mention(original.user_id),
                             taker=names.plain(ctx.sender), duty=found.name, when=Short(occ))
        else:
            await self._tell(ctx, found.room_id, "duty.taken_free", taker=names.plain(ctx.sender), duty=found.name,
                             when=Short(occ))
