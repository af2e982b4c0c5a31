"""!duty / !dienst: duties with a recurrence, their pools, the fair plan ahead, the list and the statistics.

Turn-level commands (done, handback, take) live in commands/duty_turns.py, the statistics in
commands/duty_stats.py, absences in commands/duty_away.py, welcome buddies in commands/welcome.py;
`duty_features` wires them all.
"""
from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Int, Items, Setting, command
from bot.i18n import I18n
from bot.numbers import format_number
from bot.ports import Clock
from bot.render import Rich, bullets, lines
from bot.scheduler import JobHandler, Scheduler
from bot.voice import Short, Voice
from commands.duty_jobs import DutyJobs
from commands.duty_planner import WELCOME_NAMES, Planner, recurrence_of
from commands.duty_text import (DutyFinder, DutyName, Duration, People, RecurrenceText, Weight,
                                describe, duration_text, tell_moves, who)
from commands.recurrence import Recurrence, occurrences
from storage.core import Rooms
from storage.db import Database
from storage.duties import HOLDING, OPEN, Absences, Duties, Duty, Turns, Welcomes

DEFAULT_LEAD, DEFAULT_REMIND = timedelta(days=7), timedelta(days=1)
DEFAULT_PLAN, MAX_PLAN, UPCOMING = 5, 26, 3


class DutyFeature(Feature):
    name = "duties"

    def __init__(self, duties: Duties, turns: Turns, welcomes: Welcomes, planner: Planner, finder: DutyFinder,
                 voice: Voice, jobs: DutyJobs) -> None:
        self.duties, self.turns, self.welcomes, self.planner = duties, turns, welcomes, planner
        self.finder, self.voice, self._jobs = finder, voice, jobs

    def jobs(self) -> dict[str, JobHandler]:
        return self._jobs.handlers()

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _one(recurrence: list[Recurrence] | None) -> Recurrence | None:
        if recurrence and len(recurrence) > 1:
            raise UserError("duty.one_recurrence")
        return recurrence[0] if recurrence else None

    async def _check_name(self, ctx: Ctx, name: str, current: Duty | None = None) -> None:
        if re.fullmatch(r"#?\d+", name):
            raise UserError("duty.bad_name_number", value=name)
        existing = await self.duties.by_name(ctx.room_id, name)
        if existing is not None and (current is None or existing.id != current.id):
            raise UserError("duty.exists", name=existing.name, number=existing.number, usage=False)

    def _check_rule(self, ctx: Ctx, rec: Recurrence) -> None:
        upcoming = occurrences(rec, ctx.tz, ctx.now, count=4)
        if not upcoming:
            raise UserError("duty.never", rule=rec.describe(ctx.lang))
        if any(b - a < timedelta(hours=1) for a, b in zip(upcoming, upcoming[1:])):
            raise UserError("duty.too_frequent", rule=rec.describe(ctx.lang))

    @staticmethod
    def _check_times(lead: timedelta, remind: timedelta) -> None:
        if lead <= timedelta(0):
            raise UserError("duty.bad_lead")
        if remind >= lead:
            raise UserError("duty.remind_after_lead")

    def _summary(self, ctx: Ctx, duty: Duty) -> Rich:
        i18n: I18n = ctx.i18n
        rich = ctx.rich("duty.summary", duty.people, number=duty.number, name=duty.name,
                        rule=describe(i18n, ctx.lang, recurrence_of(duty)),
                        lead=duration_text(i18n, ctx.lang, timedelta(minutes=duty.lead_minutes)))
        if duty.remind_minutes:
            rich += ctx.rich("duty.summary_remind",
                             remind=duration_text(i18n, ctx.lang, timedelta(minutes=duty.remind_minutes)))
        if duty.weight != 1:
            rich += ctx.rich("duty.summary_weight", weight=format_number(duty.weight, ctx.lang, 2))
        return rich

    # ------------------------------------------------------------------ create / edit / delete
    @command("duty create", aliases=["dienst anlegen", "dienst erstellen"], who="organiser", where="room",
             stores_text=True)
    async def create(self, ctx: Ctx, name: DutyName, recurrence: Items[RecurrenceText] = None,
                     people: Setting[People] = 1, lead: Setting[Duration] = None, remind: Setting[Duration] = None,
                     weight: Setting[Weight] = 1.0):
        rec = self._one(recurrence)
        await self._check_name(ctx, name)
        lead = DEFAULT_LEAD if lead is None else lead
        remind = DEFAULT_REMIND if remind is None else remind
        self._check_times(lead, remind)
        if rec is not None:
            self._check_rule(ctx, rec)
        duty = await self.duties.create(ctx.room_id, name, rec.to_json() if rec else None, people,
                                        int(lead.total_seconds() // 60), int(remind.total_seconds() // 60),
                                        weight, ctx.now)
        if duty.name.casefold() in WELCOME_NAMES:  # who is here already needs no contact person
            info = await ctx.room()
            for member in info.members if info else ():
                await self.welcomes.add(ctx.room_id, member, "baseline", ctx.now)
        await self.planner.ensure(duty, ctx.now)
        parts = [ctx.rich("duty.created", number=duty.number, name=duty.name), self._summary(ctx, duty)]
        if rec is not None and rec.time_assumed:
            parts.append(ctx.rich("duty.time_assumed", time=f"{rec.hour}:{rec.minute:02d}"))
        parts.append(ctx.rich("duty.join_hint" if rec else "duty.on_demand_hint", name=duty.name))
        await ctx.reply_rich(lines(parts))

    @command("duty edit", aliases=["dienst ändern", "dienst aendern", "dienst bearbeiten"], who="organiser",
             where="room", stores_text=True)
    async def edit(self, ctx: Ctx, duty: DutyName, recurrence: Items[RecurrenceText] = None,
                   name: Setting[DutyName] = None, people: Setting[People] = None, lead: Setting[Duration] = None,
                   remind: Setting[Duration] = None, weight: Setting[Weight] = None):
        found = await self.finder.find(ctx, duty)
        rec = self._one(recurrence)
        if rec is None and all(v is None for v in (name, people, lead, remind, weight)):
            raise UserError("duty.edit_nothing")
        changes: dict = {}
        if name is not None:
            await self._check_name(ctx, name, found)
            changes["name"] = name
        if rec is not None:
            self._check_rule(ctx, rec)
            changes["recurrence"] = rec.to_json()
        new_lead = timedelta(minutes=found.lead_minutes) if lead is None else lead
        new_remind = timedelta(minutes=found.remind_minutes) if remind is None else remind
        if lead is not None or remind is not None:
            self._check_times(new_lead, new_remind)
            changes.update(lead_minutes=int(new_lead.total_seconds() // 60),
                           remind_minutes=int(new_remind.total_seconds() // 60))
        if people is not None:
            changes["people"] = people
        if weight is not None:
            changes["weight"] = weight
        await self.duties.update(found.id, **changes)
        updated = await self.duties.get(found.id)
        assert updated is not None
        cancelled = []
        if rec is not None:
            slots = await self.turns.slots_after(found.id, ctx.now)
            keep = set(occurrences(rec, ctx.tz, ctx.now, until=slots[-1].occurrence)) if slots else set()
            cancelled = await self.planner.cancel_slots(updated, ctx.now, keep)
        replan = bool({"recurrence", "people", "weight"} & set(changes))
        if replan:
            await self.planner.replan_open(updated, ctx.now)  # ends in ensure
        if {"lead_minutes", "remind_minutes"} & set(changes):
            await self.planner.reschedule(updated, ctx.now)
        if not replan:
            await self.planner.ensure(updated, ctx.now)  # a longer lead time may reach further occurrences
        parts = [ctx.rich("duty.edited", number=updated.number, name=updated.name), self._summary(ctx, updated)]
        if cancelled:
            parts.append(ctx.rich("duty.cancelled_dates", len(cancelled), dates=", ".join(
                self.voice.value(ctx.lang, Short(s.occurrence, ctx.now)) for s in cancelled)))
        await ctx.reply_rich(lines(parts))

    @command("duty delete", aliases=["dienst löschen", "dienst loeschen"], who="organiser", where="room")
    async def delete(self, ctx: Ctx, duty: DutyName):
        found = await self.finder.find(ctx, duty)
        await self.planner.cancel_slots(found, ctx.now, kind="delete")
        await self.planner.scheduler.cancel_prefix(f"duty.{found.id}.")
        await self.duties.delete(found.id, ctx.now)
        await ctx.reply("duty.deleted", number=found.number, name=found.name)

    # ------------------------------------------------------------------ pool
    @command("duty join", aliases=["dienst mitmachen", "dienst beitreten"], where="room")
    async def join(self, ctx: Ctx, duty: DutyName):
        found = await self.finder.find(ctx, duty)
        if not await self.duties.join(found.id, ctx.sender, ctx.now):
            raise UserError("duty.already_in", name=found.name, usage=False)
        await self.planner.replan_open(found, ctx.now)  # the newcomer gets a fair share of what is not announced
        size = len(await self.duties.pool(found.id))
        mine = await self.turns.of_user(ctx.sender, OPEN, after=ctx.now, duty_id=found.id)
        parts = [ctx.rich("duty.joined", size, name=found.name)]
        if mine:
            parts.append(ctx.rich("duty.your_next", name=found.name,
                                  when=self.voice.value(ctx.lang, mine[0].occurrence)))
        elif recurrence_of(found) is None:
            parts.append(ctx.rich("duty.joined_on_demand"))
        await ctx.reply_rich(lines(parts))

    @command("duty leave", aliases=["dienst austreten", "dienst verlassen"], where="room")
    async def leave(self, ctx: Ctx, duty: DutyName):
        found = await self.finder.find(ctx, duty)
        if not await self.duties.leave(found.id, ctx.sender):
            raise UserError("duty.not_in", name=found.name, usage=False)
        rows = await self.turns.of_user(ctx.sender, OPEN, after=ctx.now, duty_id=found.id)
        moves = await self.planner.release(found, rows, "dropped", "leave", ctx.now) if rows else []
        parts = [ctx.rich("duty.left", len(moves), name=found.name) if moves else
                 ctx.rich("duty.left_none", name=found.name)]
        await ctx.reply_rich(lines(parts + await tell_moves(self.voice, ctx, moves)))

    # ------------------------------------------------------------------ showing the plan
    @command("duty plan", aliases=["dienst plan", "dienst planen"])
    async def plan(self, ctx: Ctx, duty: DutyName, count: Int = None):
        found = await self.finder.find(ctx, duty)
        count = DEFAULT_PLAN if count is None else count
        if not 1 <= count <= MAX_PLAN:
            raise UserError("duty.bad_count", max=MAX_PLAN)
        pool = await self.duties.pool(found.id)
        head = [self._summary(ctx, found), ctx.rich("duty.pool", len(pool))]
        if recurrence_of(found) is None:
            await ctx.reply_rich(lines(head + [ctx.rich("duty.on_demand_plan")]))
            return
        await self.planner.ensure(found, ctx.now, count)
        await ctx.reply_rich(lines([*head, bullets(await self._plan_lines(ctx, found, count))]))

    @command("duties", aliases=["dienste"], where="room")
    async def overview(self, ctx: Ctx):
        found = await self.duties.in_room(ctx.room_id)
        if not found:
            await ctx.reply("duty.none_here")
            return
        blocks = [ctx.rich("duty.list_header", len(found))]
        for duty in found:
            await self.planner.ensure(duty, ctx.now)
            size = len(await self.duties.pool(duty.id))
            blocks.append(ctx.rich("duty.list_entry", size, number=duty.number, name=duty.name,
                                   rule=describe(ctx.i18n, ctx.lang, recurrence_of(duty))))
            entries = await self._plan_lines(ctx, duty, UPCOMING)
            if entries:
                blocks.append(bullets(entries))
        await ctx.reply_rich(lines(blocks))

    async def _plan_lines(self, ctx: Ctx, duty: Duty, count: int) -> list[Rich]:
        """The next `count` planned dates of a duty, each with its holders (or "nobody yet").

        Holders are named, never pinged: a plan of 26 dates must not notify everyone in it;
        the reminders before each turn are what notify (duty_jobs)."""
        entries = []
        for slot in await self.turns.slots_after(duty.id, ctx.now, limit=count):
            users = [r.user_id for r in await self.turns.holders(duty.id, slot.occurrence, HOLDING)]
            when = self.voice.value(ctx.lang, Short(slot.occurrence, ctx.now))  # 26 months ahead: with year
            entries.append(ctx.rich("duty.plan_line", when=when, users=who(users, await self.voice.names(duty.room_id), ping=False)) if users
                           else ctx.rich("duty.plan_nobody", when=when))
        return entries

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        for duty in await self.duties.pools_of(user_id):
            out.append(ctx.rich("duty.mydata_pool", name=duty.name, room=await self.voice.room_name(duty.room_id)))
        for row in await self.turns.of_user(user_id, OPEN, after=ctx.now):
            duty = await self.duties.get(row.duty_id)
            if duty and duty.deleted_at is None:
                out.append(ctx.rich("duty.mydata_turn", name=duty.name, when=self.voice.value(ctx.lang, row.occurrence)))
        total = await self.turns.count_of(user_id)
        if total:
            out.append(ctx.rich("duty.mydata_history", total))
        changes = await self.turns.overrides_of(user_id)
        if changes:
            out.append(ctx.rich("duty.mydata_overrides", changes))
        return out

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        left = await self.duties.pools_of(user_id)
        for duty in left:
            await self.duties.leave(duty.id, user_id)
        moves = await self.planner.release_turns(await self.turns.of_user(user_id, OPEN, after=ctx.now),
                                                 "dropped", "forget", ctx.now)
        await tell_moves(self.voice, ctx, moves, reply_here=False)
        moved = sum(len(m.from_users) for m in moves)
        if left:
            out.append(ctx.rich("duty.forgot_pools", len(left), names=", ".join(d.name for d in left)))
        if moved:
            out.append(ctx.rich("duty.forgot_turns", moved))
        anonymised = await self.turns.anonymise(user_id)
        if anonymised:
            out.append(ctx.rich("duty.forgot_history", anonymised))
        return out


def duty_features(db: Database, rooms: Rooms, scheduler: Scheduler, voice: Voice, clock: Clock,
                  tz: str) -> list[Feature]:
    """The duty features, wired: the duty commands, turn commands, swaps, absences, welcome buddies."""
    from commands.duty_away import AwayFeature
    from commands.duty_stats import StatsFeature
    from commands.duty_swaps import SwapFeature
    from commands.duty_turns import TurnsFeature
    from commands.welcome import WelcomeFeature
    from storage.duty_swaps import Swaps

    duties, turns, absences, welcomes = Duties(db), Turns(db), Absences(db), Welcomes(db)
    planner = Planner(duties, turns, absences, scheduler, tz)
    finder = DutyFinder(duties)
    return [
        DutyFeature(duties, turns, welcomes, planner, finder, voice, DutyJobs(duties, turns, planner, voice, clock)),
        TurnsFeature(duties, turns, absences, planner, finder, voice),
        SwapFeature(duties, turns, absences, Swaps(db), planner, finder, voice, scheduler),
        StatsFeature(duties, turns, voice),
        AwayFeature(turns, absences, planner, voice),
        WelcomeFeature(duties, turns, welcomes, rooms, planner, voice, scheduler, clock),
    ]
