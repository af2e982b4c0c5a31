"""Planning duties ahead: which occurrences are planned (slots), who holds them, and the jobs of each slot.

The fair choice itself is commands.fairness.assign; this module feeds it from the database.
Every stored holder of a future slot is passed as `fixed`, so a plan only changes where an
event removed someone (absence, leave, handback, take-over) or where a slot is still short;
`replan_open` re-plans the turns nobody was told about yet (when the pool or the rules change).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.scheduler import Scheduler
from commands.fairness import Absence, Turn, assign
from commands.recurrence import Recurrence, occurrences
from storage.duties import HOLDING, OPEN, Absences, Duties, Duty, Slot, TurnRow, Turns

AHEAD = 3  # occurrences planned beyond those already inside the lead time
MAX_SLOTS = 60
LOAD_WINDOW = timedelta(days=183)  # load counts turns of about the last six months
HISTORY = timedelta(days=400)
ESCALATE_AFTER = timedelta(days=1)  # a turn not confirmed a day after its time goes to the organisers
WELCOME_NAMES = ("welcome", "willkommen")

JOB_ANNOUNCE, JOB_REMIND, JOB_ESCALATE = "duty.announce", "duty.remind", "duty.escalate"


def recurrence_of(duty: Duty) -> Recurrence | None:
    return Recurrence.from_json(duty.recurrence) if duty.recurrence else None


def job_key(duty_id: int, occurrence: datetime, what: str) -> str:
    return f"duty.{duty_id}.{int(occurrence.timestamp())}.{what}"


@dataclass
class Move:
    """One slot whose holders changed: who gave it up, who has it now (empty: nobody available)."""

    duty: Duty
    occurrence: datetime
    from_users: list[str] = field(default_factory=list)
    to_users: list[str] = field(default_factory=list)


class Planner:
    def __init__(self, duties: Duties, turns: Turns, absences: Absences, scheduler: Scheduler, tz: str) -> None:
        self.duties, self.turns, self.absences, self.scheduler, self.tz = duties, turns, absences, scheduler, tz
        self.zone = ZoneInfo(tz)

    def day(self, dt: datetime) -> date:
        return dt.astimezone(self.zone).date()

    async def ensure(self, duty: Duty, now: datetime, count: int = 0) -> dict[datetime, list[str]]:
        """Plan the slots inside the lead time, AHEAD more, and at least `count`; fill short slots.

        Returns the people newly put into each slot.
        """
        rec = recurrence_of(duty)
        if rec is None or duty.deleted_at is not None:
            return {}
        within = occurrences(rec, self.tz, now, until=now + timedelta(minutes=duty.lead_minutes))
        want = occurrences(rec, self.tz, now, count=min(MAX_SLOTS, max(count, len(within) + AHEAD)))
        stored = {s.occurrence for s in await self.turns.slots_after(duty.id, now)}
        fixed: dict[datetime, list[str]] = {occ: [] for occ in stored}
        passed_on: list[Absence] = []  # nobody gets back a turn they handed back, swapped away or that was taken from them
        for row in await self.turns.of_duty(duty.id, now):
            if row.user_id is None:
                continue
            if row.occurrence in stored and row.status in HOLDING:
                fixed[row.occurrence].append(row.user_id)
            elif row.status in ("handed_back", "released", "swapped"):
                passed_on.append(Absence(row.user_id, self.day(row.occurrence), self.day(row.occurrence)))
        occs = sorted(set(want) | stored)
        plan = await self._assign(duty, occs, now, fixed, passed_on)
        added: dict[datetime, list[str]] = {}
        for occ in occs:
            new = [u for u in plan[occ] if u not in fixed.get(occ, [])]
            if occ not in stored:
                await self.turns.add_slot(duty.id, occ, now)
                await self.schedule(duty, occ)
            for user in new:
                await self.turns.add(duty.id, occ, user, "assigned", "refill" if occ in stored else "plan",
                                     duty.weight, now)
            if new:
                added[occ] = new
        return added

    async def ensure_day(self, duty: Duty, day: date, now: datetime) -> None:
        """Plan far enough ahead to include the duty's occurrence on `day`, if it has one within MAX_SLOTS."""
        rec = recurrence_of(duty)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)
        ahead = occurrences(rec, self.tz, now, count=MAX_SLOTS, until=end) if rec is not None and end > now else []
        if ahead and self.day(ahead[-1]) == day:
            await self.ensure(duty, now, len(ahead))

    async def _assign(self, duty: Duty, occs: list[datetime], now: datetime, fixed: dict[datetime, list[str]],
                      extra_absences: list[Absence], pool_without: str | None = None,
                      people: int | None = None) -> dict[datetime, list[str]]:
        pool = [m for m in await self.duties.pool(duty.id) if m.user_id != pool_without]
        absences = await self.absences.current([m.user_id for m in pool], self.day(now))
        history = [Turn(r.occurrence, r.user_id, r.weight, r.status, str(r.duty_id))
                   for r in await self.turns.since(now - HISTORY, duty.id, [m.user_id for m in pool])]
        return assign(occs, pool, history, [*absences, *extra_absences], people or duty.people, duty.weight, self.tz,
                      now - LOAD_WINDOW, fixed, duty=str(duty.id), top_up=True)

    async def replan_open(self, duty: Duty, now: datetime) -> None:
        """Plan again every turn nobody was told about yet (announced slots and take-overs stay)."""
        await self.turns.drop_unannounced_plan(duty.id, now)
        await self.ensure(duty, now)

    async def release(self, duty: Duty, rows: list[TurnRow], status: str, kind: str, now: datetime) -> list[Move]:
        """Take future turns away from their holders (status handed_back/dropped), refill, log overrides."""
        moves: dict[datetime, Move] = {}
        for row in rows:
            await self.turns.set_status(row.id, status)
            moves.setdefault(row.occurrence, Move(duty, row.occurrence)).from_users.append(row.user_id or "")
        added = await self.ensure(duty, now)
        for occ, move in moves.items():
            move.to_users = added.get(occ, [])
            givers = move.from_users + [""] * max(0, len(move.to_users) - len(move.from_users))
            for i, giver in enumerate(givers):
                taker = move.to_users[i] if i < len(move.to_users) else None
                await self.turns.override(duty.id, occ, kind, giver or None, taker, now)
        return sorted(moves.values(), key=lambda m: m.occurrence)

    async def release_turns(self, rows: list[TurnRow], status: str, kind: str, now: datetime) -> list[Move]:
        """`release` for turns of any duties: each live duty is refilled once; turns of deleted duties stay."""
        by_duty: dict[int, list[TurnRow]] = {}
        for row in rows:
            by_duty.setdefault(row.duty_id, []).append(row)
        moves: list[Move] = []
        for duty_id, duty_rows in by_duty.items():
            duty = await self.duties.get(duty_id)
            if duty is not None and duty.deleted_at is None:
                moves += await self.release(duty, duty_rows, status, kind, now)
        return moves

    def shifted(self, occ: datetime, delta: timedelta) -> datetime:
        """occ + delta on the local wall clock: a day before Monday 18:00 is Sunday 18:00, also across DST."""
        return (occ.astimezone(self.zone) + delta).astimezone(occ.tzinfo)

    async def schedule(self, duty: Duty, occ: datetime) -> None:
        """(Re)arm the announcement, reminder and escalation of one slot; each runs at most once per slot."""
        payload = {"duty": duty.id, "occ": int(occ.timestamp() * 1000)}
        await self.scheduler.schedule(JOB_ANNOUNCE, job_key(duty.id, occ, "announce"),
                                      self.shifted(occ, -timedelta(minutes=duty.lead_minutes)), payload)
        if duty.remind_minutes > 0:
            await self.scheduler.schedule(JOB_REMIND, job_key(duty.id, occ, "remind"),
                                          self.shifted(occ, -timedelta(minutes=duty.remind_minutes)), payload)
        else:
            await self.scheduler.cancel(job_key(duty.id, occ, "remind"))
        await self.scheduler.schedule(JOB_ESCALATE, job_key(duty.id, occ, "escalate"),
                                      self.shifted(occ, ESCALATE_AFTER), payload)

    async def reschedule(self, duty: Duty, now: datetime) -> None:
        for slot in await self.turns.slots_after(duty.id, now - ESCALATE_AFTER):
            await self.schedule(duty, slot.occurrence)

    async def cancel_slots(self, duty: Duty, now: datetime, keep: set[datetime] = frozenset(),
                           kind: str = "edit") -> list[Slot]:
        """Cancel future slots not in keep: their open turns are dropped (logged), their jobs cancelled."""
        cancelled = []
        for slot in await self.turns.slots_after(duty.id, now):
            if slot.occurrence in keep:
                continue
            for row in await self.turns.holders(duty.id, slot.occurrence, OPEN):
                await self.turns.set_status(row.id, "dropped")
                await self.turns.override(duty.id, slot.occurrence, kind, row.user_id, None, now)
            await self.turns.mark_slot(duty.id, slot.occurrence, "cancelled_at", now)
            for what in ("announce", "remind", "escalate"):
                await self.scheduler.cancel(job_key(duty.id, slot.occurrence, what))
            cancelled.append(slot)
        return cancelled

    async def pick(self, duty: Duty, when: datetime, newcomer: str) -> str | None:
        """The fairest pool member for an on-demand turn at `when` (a welcome buddy), or None."""
        plan = await self._assign(duty, [when], when, {}, [], pool_without=newcomer, people=1)
        chosen = plan.get(when, [])
        return chosen[0] if chosen else None
