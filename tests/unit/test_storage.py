"""Storage: migrations from an empty database and from every earlier version; WAL; the outbox and jobs."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

import storage.db

from storage.core import Jobs, Outbox
from storage.db import Database
from storage.schema import REGISTRY
from tests import backend

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


async def open_db(tmp_path) -> Database:
    db = backend.database(tmp_path / "plenum.db")
    await db.open()
    return db


async def test_migrations_from_empty_and_idempotent(tmp_path):
    db = await open_db(tmp_path)
    versions = await db.migrate(REGISTRY)
    assert versions == {name: len(steps) for name, steps in REGISTRY.items()}
    assert await db.migrate(REGISTRY) == versions
    if db.dialect == "sqlite":
        assert (await db.fetchval("PRAGMA journal_mode")) == "wal"
    else:  # the identity columns that stand for SQLite's rowids exist
        assert await db.fetchval("SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'rowid'"
                                 " AND table_name = 'poll_votes' AND is_identity = 'YES'") == 1
    await db.close()


async def test_migrations_from_every_earlier_version(tmp_path):
    for component, steps in REGISTRY.items():
        for stop in range(len(steps)):
            db = backend.database(tmp_path / f"{component}-{stop}.db")
            await db.open()
            partial = {name: (s[:stop] if name == component else s) for name, s in REGISTRY.items()}
            await db.migrate(partial)
            assert (await db.migrate(REGISTRY))[component] == len(steps)
            await db.close()


async def test_reads_outside_a_transaction_see_only_committed_data(tmp_path):
    """The delivery loop reads the outbox while a command's transaction may still roll back."""
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    outbox = Outbox(db)
    written, seen_by_other_task = asyncio.Event(), []

    async def other_task() -> None:
        await written.wait()
        seen_by_other_task.append(len(await outbox.pending()))

    reader = asyncio.create_task(other_task())
    try:
        async with db.transaction():
            await outbox.add(room_id="!r", type="m.room.message", content={"body": "t"}, at=T0)
            assert len(await outbox.pending()) == 1  # the transaction sees its own write
            written.set()
            await reader  # the other task reads while this transaction is open
            raise RuntimeError("the command failed")
    except RuntimeError:
        pass
    assert seen_by_other_task == [0]
    assert await outbox.pending() == []
    await db.close()


@pytest.mark.sqlite_only
async def test_checkpoints_run_in_the_background_and_at_close(tmp_path, monkeypatch):
    monkeypatch.setattr(storage.db, "CHECKPOINT_EVERY", 5)
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    wal = tmp_path / "plenum.db-wal"
    calls = []
    real = storage.db._checkpoint_file
    monkeypatch.setattr(storage.db, "_checkpoint_file", lambda path, mode: (calls.append(mode), real(path, mode)))
    for i in range(12):
        async with db.transaction():
            await db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{i}", "v"))
        await asyncio.sleep(0.01)
    assert calls and set(calls) == {"PASSIVE"}
    await db.close()
    assert not wal.exists() or wal.stat().st_size == 0  # TRUNCATE at close
    db = await open_db(tmp_path)
    assert await db.fetchval("SELECT COUNT(*) FROM kv WHERE key LIKE 'k%'") == 12
    await db.close()


async def test_failed_step_rolls_back_completely(tmp_path):
    db = await open_db(tmp_path)
    bad = {"x": [("CREATE TABLE a (id INTEGER)", "CREATE TABLE a (id INTEGER)")]}
    try:
        await db.migrate(bad)
    except Exception:
        pass
    tables = ("SELECT COUNT(*) FROM sqlite_master WHERE name = 'a'" if db.dialect == "sqlite" else
              "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'a'")
    assert await db.fetchval(tables) == 0
    assert await db.fetchval("SELECT version FROM schema_version WHERE component = 'x'") is None
    await db.close()


async def test_outbox_coalesces_pending_edits(tmp_path):
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    outbox = Outbox(db)
    async with db.transaction():
        await outbox.add(room_id="!r", type="m.room.message", content={"body": "t"}, at=T0, ref="poll:1")
        first = await outbox.add(room_id=None, type="m.room.message", content={"body": "1"}, at=T0,
                                 edits_ref="poll:1")
        second = await outbox.add(room_id=None, type="m.room.message", content={"body": "2"}, at=T0,
                                  edits_ref="poll:1")
    assert first == second
    pending = await outbox.pending()
    assert [p.content["body"] for p in pending] == ["t", "2"]
    await db.close()


async def test_jobs_claim_once(tmp_path):
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    jobs = Jobs(db)
    async with db.transaction():
        await jobs.put("k", "key1", T0, {"a": 1})
    [job] = await jobs.due(T0 + timedelta(seconds=1))
    async with db.transaction():
        assert await jobs.finish(job.id, T0)
        assert not await jobs.finish(job.id, T0)
    assert await jobs.due(T0 + timedelta(days=1)) == []
    await db.close()


async def test_edit_merged_while_in_flight_is_sent_again(tmp_path):
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    outbox = Outbox(db)
    async with db.transaction():
        await outbox.add(room_id="!r", type="m.room.message", content={"body": "t"}, at=T0, ref="poll:1")
        await outbox.add(room_id=None, type="m.room.message", content={"body": "v1"}, at=T0, edits_ref="poll:1")
    _, in_flight = await outbox.pending()
    async with db.transaction():  # a vote arrives while v1 is on its way
        await outbox.add(room_id=None, type="m.room.message", content={"body": "v2"}, at=T0, edits_ref="poll:1")
        assert not await outbox.mark_sent(in_flight.id, "$e1", "!r", T0, in_flight.version)
    [again] = [p for p in await outbox.pending() if p.edits_ref]
    assert again.content["body"] == "v2" and again.version == in_flight.version + 1
    async with db.transaction():
        assert await outbox.mark_sent(again.id, "$e2", "!r", T0, again.version)
    await db.close()


async def test_a_row_needed_by_another_reports_its_state_and_result(tmp_path):
    db = await open_db(tmp_path)
    await db.migrate(REGISTRY)
    outbox = Outbox(db)
    assert (await outbox.needed("effect.none")).state == "missing"
    async with db.transaction():
        upload = await outbox.add(room_id="!r", type="", content={"data": "eA=="}, at=T0, ref="effect.u",
                                  kind="upload")
        message = await outbox.add(room_id="!r", type="m.room.message", content={"url": "plenum.result"}, at=T0,
                                   needs_ref="effect.u")
    assert [(p.kind, p.needs_ref) for p in await outbox.pending()] == [("upload", None), ("event", "effect.u")]
    assert (await outbox.needed("effect.u")).state == "pending"
    async with db.transaction():
        assert await outbox.mark_sent(upload, None, "!r", T0, result="mxc://x/1")
        await outbox.mark_attempt(message, "gone")
    done = await outbox.needed("effect.u")
    assert (done.state, done.room_id, done.value) == ("done", "!r", "mxc://x/1")
    assert await db.fetchval("SELECT content FROM outbox WHERE id = ?", (upload,)) == "{}"  # the bytes went
    async with db.transaction():
        assert await outbox.prune_sent(T0 + timedelta(days=1)) == 1  # a done effect is not kept
    await db.close()


def test_every_table_whose_sql_uses_rowid_has_one_on_postgresql():
    """storage/pg.py gives a `rowid` column only to ROWID_TABLES; a new query using rowid elsewhere fails here."""
    import re
    from pathlib import Path

    from storage.pg import ROWID_TABLES

    used = set()
    for path in Path(storage.db.__file__).parent.glob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"FROM (\w+)[^\"]*?\browid\b|\browid\b[^\"]*?FROM (\w+)", text):
            used.add(m.group(1) or m.group(2))
    used.discard("sqlite_master")
    assert used and used <= ROWID_TABLES, used - ROWID_TABLES
