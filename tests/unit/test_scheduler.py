"""Scheduler: work is a row first; due-while-down runs once at start; late work can be diverted."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.scheduler import BATCH, JobHandler, Scheduler
from storage.core import Jobs, KeyValue
from tests import backend
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


async def _effects(db, prefix):
    rows = await db.fetchall("SELECT key FROM kv WHERE key LIKE ? ORDER BY key", (prefix + "%",))
    return [r["key"] for r in rows]


async def test_due_jobs_are_claimed_in_batches_and_each_runs_exactly_once(tmp_path):
    """Issue 15: 120 due jobs commit in a few transactions (one per batch), not 120; none runs twice."""
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    kv = KeyValue(db)

    async def note(job):
        await kv.set("effect:" + job.key, "1")
        ran.append((job.key, clock.now()))

    s.register("note", JobHandler(note))
    async with db.transaction():
        for i in range(120):
            await s.schedule("note", f"n{i:03d}", T0 + timedelta(seconds=i % 7))
    commits: list[str] = []
    if not backend.postgres():  # SQLite says which statements ran; the job rows below hold on both
        db.writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    clock.advance(timedelta(minutes=1))
    assert await s.run_due() == 120
    assert backend.postgres() or len(commits) <= 120 // BATCH + 1
    assert await s.run_due() == 0
    if not backend.postgres():
        db.writer.set_trace_callback(None)
    assert sorted(k for k, _ in ran) == [f"n{i:03d}" for i in range(120)]
    assert len(await _effects(db, "effect:")) == 120
    assert await db.fetchval("SELECT COUNT(*) FROM jobs WHERE state = 'done'") == 120
    await db.close()


async def test_a_failing_job_rolls_back_alone_in_its_batch(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    kv = KeyValue(db)

    async def note(job):
        await kv.set("effect:" + job.key, "1")

    async def half_then_boom(job):
        await kv.set("effect:" + job.key, "half")  # must not survive
        await s.schedule("note", "spawned-by-boom", T0)  # nor this
        raise RuntimeError("bug")

    s.register("note", JobHandler(note))
    s.register("boom", JobHandler(half_then_boom))
    async with db.transaction():
        await s.schedule("note", "a", T0)
        await s.schedule("boom", "b", T0)
        await s.schedule("note", "c", T0)
    assert await s.run_due() == 2
    assert await _effects(db, "effect:") == ["effect:a", "effect:c"]
    states = {r["key"]: r["state"] for r in await db.fetchall("SELECT key, state FROM jobs")}
    assert states == {"a": "done", "b": "failed", "c": "done"}
    assert (await db.fetchval("SELECT note FROM jobs WHERE key = 'b'")).startswith("ref ")
    assert await s.run_due() == 0
    await db.close()


async def test_a_crash_in_the_middle_of_a_batch_leaves_every_job_to_run_once_after_restart(tmp_path):
    clock, ran = FakeClock(T0), []
    db, s = await make(tmp_path, clock, ran)
    kv = KeyValue(db)
    calls = {"n": 0}

    async def dies_at_the_third(job):
        calls["n"] += 1
        if calls["n"] == 3:
            raise asyncio.CancelledError  # the process is stopped mid-batch
        await kv.set("effect:" + job.key, "1")

    s.register("note", JobHandler(dies_at_the_third))
    async with db.transaction():
        for i in range(5):
            await s.schedule("note", f"k{i}", T0)
    with pytest.raises(asyncio.CancelledError):
        await s.run_due()
    await db.close()
    db, s = await make(tmp_path, clock, ran)
    kv = KeyValue(db)

    async def note(job):
        await kv.set("effect:" + job.key, str(int(await kv.get("effect:" + job.key) or 0) + 1))

    s.register("note", JobHandler(note))
    assert await _effects(db, "effect:") == []  # the batch died before its commit: nothing of it stayed
    assert await s.run_due() == 5
    rows = await db.fetchall("SELECT key, value FROM kv WHERE key LIKE 'effect:%'")
    assert sorted(r["key"] for r in rows) == [f"effect:k{i}" for i in range(5)]
    assert all(r["value"] == "1" for r in rows)  # nothing ran twice
    await db.close()


async def test_started_scheduler_wakes_at_the_due_time_of_a_job_scheduled_later(tmp_path):
    """The wake-up is an event-loop timer (no APScheduler): armed by schedule(), re-armed after a run."""
    from bot.clock import SystemClock

    clock, ran = SystemClock(), []
    db, s = await make(tmp_path, clock, ran)
    await s.start()
    now = datetime.now(timezone.utc)
    async with db.transaction():
        await s.schedule("remind", "later", now + timedelta(seconds=0.6))
        await s.schedule("remind", "sooner", now + timedelta(seconds=0.2))
    await asyncio.sleep(0.4)
    assert [k for k, _ in ran] == ["sooner"]
    await asyncio.sleep(0.5)
    assert [k for k, _ in ran] == ["sooner", "later"]
    assert all(t - now < timedelta(seconds=0.9) for _, t in ran)
    await s.stop()
    await db.close()
