"""Active/standby on PostgreSQL (storage/pg.py): exactly one holds the lock; the other takes over when the
holder's session dies (terminated, or its process killed with -9); a holder that lost it writes nothing.

Needs PostgreSQL whatever --db says (tests/backend.py: pgserver, or a clear failure in CI)."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import asyncpg
import pytest

from storage.pg import LOCK_KEY, LostLead, PgDatabase
from storage.schema import REGISTRY
from tests import backend


async def opened(url: str) -> PgDatabase:
    db = PgDatabase(url)
    await db.open()
    return db


async def test_one_leads_the_other_takes_over_when_the_session_dies(tmp_path):
    url = backend.url_for(tmp_path)
    a, b = await opened(url), await opened(url)
    stop = asyncio.Event()
    try:
        assert await a.try_lead()
        await a.migrate(REGISTRY)
        assert not await b.try_lead()
        waiting = asyncio.create_task(b.wait_for_lead(stop, every=0.2))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # standby while a holds the lock
        admin = await asyncpg.connect(url)
        await admin.execute("SELECT pg_terminate_backend($1)", a._pg_writer.get_server_pid())
        await admin.close()
        started = time.monotonic()
        assert await asyncio.wait_for(waiting, timeout=5)
        await asyncio.wait_for(a.lost.wait(), timeout=5)
        assert time.monotonic() - started < 5
        with pytest.raises(LostLead):  # the old one writes nothing more
            async with a.transaction():
                await a.execute("INSERT INTO kv (key, value) VALUES ('x', 'y')")
        async with b.transaction():
            await b.execute("INSERT INTO kv (key, value) VALUES ('x', 'from b')")
        assert await b.fetchval("SELECT value FROM kv WHERE key = 'x'") == "from b"
    finally:
        stop.set()
        await a.close()
        await b.close()


async def test_the_watchdog_steps_down_when_the_lock_is_gone(tmp_path):
    a = await opened(backend.url_for(tmp_path))
    try:
        assert await a.try_lead()
        async with a._wlock:  # as if the lock had vanished under the session (e.g. unlocked by mistake)
            await a._pg_writer.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await asyncio.wait_for(a.lost.wait(), timeout=8)
    finally:
        await a.close()


LEADER = """
import asyncio, sys
from storage.pg import PgDatabase
async def main():
    db = PgDatabase(sys.argv[1])
    await db.open()
    assert await db.try_lead()
    print("leading", flush=True)
    await asyncio.sleep(120)
asyncio.run(main())
"""


async def test_kill_9_of_the_holder_frees_the_lock_at_once(tmp_path):
    url = backend.url_for(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", LEADER, url], stdout=subprocess.PIPE, text=True)
    b = await opened(url)
    stop = asyncio.Event()
    try:
        assert (await asyncio.to_thread(proc.stdout.readline)).strip() == "leading"
        assert not await b.try_lead()
        waiting = asyncio.create_task(b.wait_for_lead(stop, every=0.5))
        killed = time.monotonic()
        proc.kill()
        proc.wait(10)
        assert await asyncio.wait_for(waiting, timeout=10)
        assert time.monotonic() - killed < 3  # the server sees the socket close; one poll later it is ours
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        await b.close()


async def test_closing_normally_is_not_losing_the_lock(tmp_path):
    """SIGTERM closes the database: that must not read as a lost lock (exit 3, an error in the log)."""
    a = await opened(backend.url_for(tmp_path))
    assert await a.try_lead()
    await a.close()
    await asyncio.sleep(0.2)
    assert not a.lost.is_set()
