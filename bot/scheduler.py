"""Scheduled work: a database row first, run exactly once, also after downtime.

Features call `schedule()` inside their unit of work; the row is the truth. An event-loop
timer only wakes us at the earliest pending due time (rebuilt from the rows at start and after
every change; and a poll every 30 s. APScheduler did this before and cost 1.7 MB resident),
and `run_due()` claims each due row in the same transaction as the work's effects (a batch of
rows per transaction, a savepoint per row), so a crash re-runs it at most until it committed,
and never after.
Work that fell due while the bot was down runs at start; if it is later than the grace
period, a job kind may choose to do something else (e.g. ask the organisers first).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.errors import error_ref
from bot.ports import Clock
from storage.core import Job, Jobs
from storage.db import Database

log = logging.getLogger(__name__)

BATCH = 50  # jobs per transaction: holds the writer lock for ~10 ms at most, so commands wait little
POLL_SECONDS = 30  # wake up this often anyway


@dataclass(frozen=True)
class JobHandler:
    """run(job) does the work; missed(job), if given, replaces it when the job is later than the grace."""

    run: Callable[[Job], Awaitable[None]]
    missed: Callable[[Job], Awaitable[None]] | None = None


class Scheduler:
    def __init__(self, db: Database, jobs: Jobs, clock: Clock, grace: timedelta,
                 after_commit: Callable[[], None] = lambda: None) -> None:
        self.db, self.jobs, self.clock, self.grace, self.after_commit = db, jobs, clock, grace, after_commit
        self.handlers: dict[str, JobHandler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # set while started
        self._poll_handle: asyncio.TimerHandle | None = None
        self._wake_handle: asyncio.TimerHandle | None = None  # the next due time's wake-up
        self._wake_at: datetime | None = None
        self._running = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._again = False

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind registered twice: {kind}")
        self.handlers[kind] = handler

    async def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None) -> None:
        """Create or move the job `key` (call inside a transaction)."""
        if kind not in self.handlers:
            raise ValueError(f"no handler for job kind {kind}")
        await self.jobs.put(kind, key, due_at, payload or {})
        self._arm(due_at)

    async def cancel(self, key: str) -> bool:
        return await self.jobs.cancel(key)

    async def cancel_prefix(self, prefix: str) -> int:
        return await self.jobs.cancel_prefix(prefix)

    # ------------------------------------------------------------------ running
    async def run_due(self) -> int:
        """Run every job that is due now; returns how many ran."""
        ran = 0
        async with self._running:
            while True:
                now = self.clock.now()
                due = await self.jobs.due(now)
                if not due:
                    break
                for start in range(0, len(due), BATCH):
                    ran += await self._run_batch(due[start:start + BATCH], now)
        await self._rearm()
        return ran

    async def _run_batch(self, batch: list[Job], now: datetime) -> int:
        """Claim and run up to BATCH jobs in one transaction, each in a savepoint with its claim: a failing
        job's effects roll back alone and it is marked failed, the others commit. One commit (and one turn of
        the writer lock) per batch instead of per job is what lets 1,000 jobs due at one minute run on time.
        If the transaction itself breaks, the batch runs again one job per transaction."""
        ran = 0
        try:
            async with self.db.transaction():
                for job in batch:
                    try:
                        async with self.db.savepoint():
                            ran += await self._claim_and_run(job, now)
                    except Exception:  # noqa: BLE001 - a failing job must not stop the others
                        await self.jobs.finish(job.id, now, state="failed", note="ref " + self._failed(job))
        except Exception:  # noqa: BLE001 - e.g. the database refused the commit: nothing of the batch stayed
            log.exception("a batch of %d jobs could not commit; running them one by one", len(batch))
            return sum([await self._run_one(job, now) for job in batch])
        finally:
            self.after_commit()
        return ran

    async def _run_one(self, job: Job, now: datetime) -> int:
        try:
            async with self.db.transaction():
                return await self._claim_and_run(job, now)
        except Exception:  # noqa: BLE001 - a failing job must not stop the others
            ref = self._failed(job)
            async with self.db.transaction():  # the work was rolled back, so the job is pending again
                await self.jobs.finish(job.id, now, state="failed", note="ref " + ref)
            return 0
        finally:
            self.after_commit()

    async def _claim_and_run(self, job: Job, now: datetime) -> int:
        """Inside a transaction: mark the job done (0 if someone else did) and do its work."""
        handler = self.handlers.get(job.kind)
        if handler is None:
            if await self.jobs.finish(job.id, now, state="failed", note="unknown kind"):
                log.error("job %s has unknown kind %s; marked failed", job.key, job.kind)
            return 0
        if not await self.jobs.finish(job.id, now):
            return 0
        late = now - job.due_at > self.grace
        if late and handler.missed is not None:
            log.info("job %s was due %s, later than the grace period", job.key, job.due_at.isoformat())
            await handler.missed(job)
        else:
            await handler.run(job)
        return 1

    @staticmethod
    def _failed(job: Job) -> str:
        ref = error_ref()
        log.exception("job %s failed ref=%s", job.key, ref)
        return ref

    # ------------------------------------------------------------------ waking up
    async def start(self) -> None:
        """Start waking up at due times; runs what fell due while the bot was down."""
        self._loop = asyncio.get_running_loop()
        self._poll_handle = self._loop.call_later(POLL_SECONDS, self._poll)
        await self.run_due()

    async def stop(self) -> None:
        for handle in (self._poll_handle, self._wake_handle):
            if handle is not None:
                handle.cancel()
        self._loop = self._poll_handle = self._wake_handle = self._wake_at = None
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=20)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                log.warning("a scheduled job was still running at shutdown; it resumes at the next start")

    def _poll(self) -> None:
        """Every POLL_SECONDS, whatever was armed: a safety net, e.g. after the wall clock jumped."""
        assert self._loop is not None
        self._poll_handle = self._loop.call_later(POLL_SECONDS, self._poll)
        self._wake()

    def _wake(self) -> None:
        """Returns at once, so wake-ups never overlap or get skipped."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run_rounds())
        else:
            self._again = True

    def _fire(self) -> None:
        self._wake_handle = self._wake_at = None
        self._wake()

    async def _run_rounds(self) -> None:
        while True:
            self._again = False
            try:
                await self.run_due()
            except Exception:  # noqa: BLE001
                log.exception("scheduler wake failed")
            if not self._again:
                return

    def _arm(self, due_at: datetime) -> None:
        """Wake at due_at unless a wake-up at or before it is armed already."""
        if self._loop is None:
            return
        if self._wake_at is not None and self._wake_at <= due_at:
            return
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        delay = max(0.0, (due_at - datetime.now(timezone.utc)).total_seconds())
        self._wake_handle, self._wake_at = self._loop.call_later(delay, self._fire), due_at

    async def _rearm(self) -> None:
        if self._loop is None:
            return
        nxt = await self.jobs.next_due()
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        self._wake_handle = self._wake_at = None
        if nxt is not None:
            self._arm(nxt)
