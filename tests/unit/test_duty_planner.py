"""Property tests for planning through the real repositories (SQLite): fair spread, absences, untouched past.

The pure rule (commands.fairness.assign) has its own properties in test_fairness.py; these check
that the planner feeds it correctly and that events only ever change future turns.
"""
from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.scheduler import JobHandler, Scheduler
from commands.duty_planner import JOB_ANNOUNCE, JOB_ESCALATE, JOB_REMIND, Planner
from commands.recurrence import parse_recurrence
from tests import backend
from storage import core, duties
from storage.core import Jobs
from storage.db import Database
from storage.duties import HOLDING, OPEN, Absences, Duties, Turns

TZ = "Europe/Berlin"
START = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)  # a Monday, before the spring change


async def _noop(job) -> None:
    return None


class World:
    def __init__(self, db: Database, clock: FakeClock) -> None:
        self.db, self.clock = db, clock
        self.duties, self.turns, self.absences = Duties(db), Turns(db), Absences(db)
        scheduler = Scheduler(db, Jobs(db), clock, timedelta(hours=1))
        for kind in (JOB_ANNOUNCE, JOB_REMIND, JOB_ESCALATE):
            scheduler.register(kind, JobHandler(_noop))
        self.planner = Planner(self.duties, self.turns, self.absences, scheduler, TZ)

    async def duty(self, members: int, people: int = 1):
        async with self.db.transaction():
            rec = parse_recurrence("jeden Dienstag 18 Uhr")
            duty = await self.duties.create("!r:x", "Protokoll", rec.to_json(), people, 7 * 1440, 1440, 1.0,
                                            self.clock.now())
            for i in range(members):
                await self.duties.join(duty.id, f"@m{i}:x", self.clock.now() + timedelta(seconds=i))
        return duty

    async def plan(self, duty, count: int) -> dict[datetime, list[str]]:
        async with self.db.transaction():
            await self.planner.ensure(duty, self.clock.now(), count)
        out: dict[datetime, list[str]] = {}
        for slot in await self.turns.slots_after(duty.id, self.clock.now(), limit=count):
            out[slot.occurrence] = [r.user_id for r in await self.turns.holders(duty.id, slot.occurrence)]
        return out


def run(test) -> None:
    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = backend.database(Path(tmp) / "t.db")
            await db.open()
            await db.migrate({"core": core.MIGRATIONS, "duties": duties.MIGRATIONS})
            try:
                await test(World(db, FakeClock(START)))
            finally:
                await db.close()
    asyncio.run(main())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(1, 3), st.integers(1, 26))
def test_equal_availability_spreads_planned_turns_within_one(members, people, count):
    people = min(people, members)

    async def test(w: World) -> None:
        duty = await w.duty(members, people)
        plan = await w.plan(duty, count)
        assert len(plan) == count and all(len(set(u)) == people for u in plan.values())
        counts = Counter({f"@m{i}:x": 0 for i in range(members)}) + Counter(u for us in plan.values() for u in us)
        counts.update({f"@m{i}:x": 0 for i in range(members)})
        assert max(counts.values()) - min(counts.values()) <= 1
    run(test)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60), st.integers(0, 20)),
                                   max_size=5), st.booleans())
def test_absent_members_are_never_assigned(members, absences, before):
    """Absences noted before planning or after it (then moving the turns in them) are both respected."""
    async def test(w: World) -> None:
        duty = await w.duty(members)
        spans = [(f"@m{m % members}:x", date(2026, 3, 2) + timedelta(days=d), n) for m, d, n in absences]
        if not before:
            await w.plan(duty, 12)
        for user, first, length in spans:
            async with w.db.transaction():
                await w.absences.add(user, first, first + timedelta(days=length), w.clock.now())
                rows = [r for r in await w.turns.of_user(user, OPEN, after=w.clock.now())
                        if first <= w.planner.day(r.occurrence) <= first + timedelta(days=length)]
                if rows:
                    await w.planner.release(duty, rows, "dropped", "absence", w.clock.now())
        plan = await w.plan(duty, 12)
        for occ, users in plan.items():
            day = occ.astimezone(ZoneInfo(TZ)).date()
            for user, first, length in spans:
                if first <= day <= first + timedelta(days=length):
                    assert user not in users
    run(test)


EVENTS = st.lists(st.tuples(st.sampled_from(["handback", "leave", "absence", "join", "advance"]),
                            st.integers(0, 5), st.integers(1, 20)), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), EVENTS)
def test_events_never_rewrite_past_turns(members, events):
    async def test(w: World) -> None:
        duty = await w.duty(members)
        await w.plan(duty, 8)
        joined = members
        for kind, who, amount in events:
            now = w.clock.now()
            user = f"@m{who % joined}:x"
            snapshot = [tuple(r) for r in await w.db.fetchall(
                "SELECT id, user_id, status, kind, occurrence FROM duty_turns WHERE occurrence <= ? ORDER BY id",
                (int(now.timestamp() * 1000),))]
            async with w.db.transaction():
                if kind == "advance":
                    w.clock.advance(timedelta(days=amount))
                    await w.planner.ensure(duty, w.clock.now())
                elif kind == "join":
                    await w.duties.join(duty.id, f"@m{joined}:x", now)
                    joined += 1
                    await w.planner.replan_open(duty, now)
                elif kind == "absence":
                    today = w.planner.day(now)
                    await w.absences.add(user, today, today + timedelta(days=amount), now)
                    rows = [r for r in await w.turns.of_user(user, OPEN, after=now)
                            if w.planner.day(r.occurrence) <= today + timedelta(days=amount)]
                    if rows:
                        await w.planner.release(duty, rows, "dropped", "absence", now)
                else:
                    rows = await w.turns.of_user(user, OPEN, after=now, duty_id=duty.id)
                    if kind == "leave":
                        await w.duties.leave(duty.id, user)
                    if rows:
                        await w.planner.release(duty, rows if kind == "leave" else rows[:1],
                                                "dropped" if kind == "leave" else "handed_back", kind, now)
            after = [tuple(r) for r in await w.db.fetchall(
                "SELECT id, user_id, status, kind, occurrence FROM duty_turns WHERE occurrence <= ? ORDER BY id",
                (int(now.timestamp() * 1000),))]
            assert after == snapshot
            for occ, users in (await w.plan(duty, 4)).items():  # a future slot never has someone twice
                assert len(users) == len(set(users))
        holders = await w.db.fetchall("SELECT status FROM duty_turns")
        assert {r["status"] for r in holders} <= set(HOLDING) | {"handed_back", "dropped"}
    run(test)
