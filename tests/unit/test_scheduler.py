"""Scheduler: work is a row first; due-while-down runs once at start; late work can be diverted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from bot.scheduler import JobHandler, Scheduler
from tests import backend
from storage.core import Jobs
from storage.db import Database
from storage.schema import REGISTRY

T0 = datetime(2026, 10, 24, 12, 0, tzinfo=timezone.utc)


async def make(tmp_path, clock, ran, missed=None, grace=timedelta(minutes=60)):
    db = backend.database(tmp_path / "plenum.db")
    await db.open()
    await db.migrate(REGISTRY)
    s = Scheduler(db, Jobs(db), clock, grace)

    async def run(job):
        ran.append((job.key, clock.now()))

    async def late(job):
        ran.append(("missed:" + job.key, clock.now()))

    s.register("remind", JobHandler(run, late if missed else None))
    return db, s


async def test_due_while_down_runs_once_after_restart(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    async with db.transaction():
        await s.schedule("remind", "r1", T0 + timedelta(minutes=5))
    await db.close()  # the bot goes down
    clock.advance(timedelta(minutes=30))
    db, s = await make(tmp_path, clock, ran)  # and comes back
    assert await s.run_due() == 1
    assert await s.run_due() == 0
    await db.close()
    db, s = await make(tmp_path, clock, ran)
    assert await s.run_due() == 0
    assert [k for k, _ in ran] == ["r1"]
    await db.close()


async def test_later_than_grace_goes_to_missed(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran, missed=True)
    async with db.transaction():
        await s.schedule("remind", "soon", T0 + timedelta(minutes=1))
        await s.schedule("remind", "long-ago", T0 - timedelta(hours=3))
    clock.advance(timedelta(minutes=2))
    await s.run_due()
    assert sorted(k for k, _ in ran) == ["missed:long-ago", "soon"]
    await db.close()


async def test_failing_job_does_not_block_others_and_is_not_retried_forever(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)

    async def boom(job):
        raise RuntimeError("bug")

    s.register("boom", JobHandler(boom))
    async with db.transaction():
        await s.schedule("boom", "b", T0)
        await s.schedule("remind", "r", T0)
    assert await s.run_due() == 1
    assert await s.run_due() == 0
    assert await db.fetchval("SELECT state FROM jobs WHERE key = 'b'") == "failed"
    await db.close()


async def test_rescheduling_moves_the_job(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    async with db.transaction():
        await s.schedule("remind", "r", T0 + timedelta(hours=1))
        await s.schedule("remind", "r", T0 + timedelta(hours=2))
    clock.advance(timedelta(minutes=90))
    assert await s.run_due() == 0
    clock.advance(timedelta(minutes=31))
    assert await s.run_due() == 1
    await db.close()


async def test_local_time_across_october_dst_change(tmp_path):
    """A job at 18:00 Berlin time on the Monday after the clocks go back runs at 17:00 UTC."""
    berlin = ZoneInfo("Europe/Berlin")
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    due = datetime(2026, 10, 26, 18, 0, tzinfo=berlin).astimezone(timezone.utc)
    assert due.hour == 17
    async with db.transaction():
        await s.schedule("remind", "meeting", due)
    clock.set(due - timedelta(seconds=1))
    assert await s.run_due() == 0
    clock.set(due)
    assert await s.run_due() == 1
    assert ran[0][1].astimezone(berlin).hour == 18
    await db.close()


async def test_a_job_of_unknown_kind_is_recorded_as_failed(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    async with db.transaction():
        await s.jobs.put("gone.kind", "g1", T0, {})  # e.g. written by a feature since removed
    assert await s.run_due() == 0
    assert tuple(await db.fetchone("SELECT state, note FROM jobs WHERE key = 'g1'")) == ("failed", "unknown kind")
    await db.close()
