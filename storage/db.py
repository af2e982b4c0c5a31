"""The database handle: one SQLite file in WAL mode, a unit-of-work lock, ordered migrations.

All SQL of the project lives in storage/. Every write happens inside
`async with db.transaction():`; the transaction is re-entrant within one task, so a
command handler, the repositories it calls and the handled-event mark commit together.

Statements run on the event loop's thread with the standard library's sqlite3. The
queries here are keyed and take microseconds; a hop to a worker thread (aiosqlite)
cost 70 µs of CPU each, measured in bench/ (about 20 per command). What could block
the loop for long is kept off it: WAL checkpoints (the only fsyncs with
synchronous=NORMAL) run in a worker thread on their own connection.

Two connections: the writer carries transactions; reads outside a transaction go to
the reader, which sees only committed data. So a task that reads while another task's
transaction is open (the delivery loop, the scheduler) never acts on writes that may
still be rolled back.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A migration step is a sequence of SQL statements applied in one transaction.
Step = Sequence[str]
Registry = dict[str, Sequence[Step]]
Row = sqlite3.Row

class _TaskMark:
    """Whether the running task holds the open transaction. A context variable alone is inherited by every
    task and timer callback created inside a transaction (asyncio copies the context): the scheduler's
    wake-up, started from a transaction that scheduled a job, took that transaction for its own and ran
    its batch outside the lock (on PostgreSQL: 'SAVEPOINT can only be used in transaction blocks'). So the
    owning task is recorded, and only that task is inside."""

    def __init__(self) -> None:
        self._owner: contextvars.ContextVar[asyncio.Task | None] = contextvars.ContextVar("plenum_tx", default=None)

    def get(self) -> bool:
        owner = self._owner.get()
        if owner is None:
            return False
        try:
            return owner is asyncio.current_task()
        except RuntimeError:  # no running loop
            return False

    def set(self, value: bool) -> contextvars.Token:
        return self._owner.set(asyncio.current_task() if value else None)

    def reset(self, token: contextvars.Token) -> None:
        self._owner.reset(token)


_in_tx = _TaskMark()

CHECKPOINT_EVERY = 200  # commits between two background checkpoints (each commit adds a few WAL pages)


def to_ms(dt: datetime | None) -> int | None:
    """Aware datetime -> epoch milliseconds (how every timestamp is stored)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return int(dt.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)  # autocommit: BEGIN/COMMIT are ours
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")  # erased votes and names leave no trace in free pages
    conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run off the loop (Database._checkpoint)
    return conn


def _checkpoint_file(path: Path, mode: str) -> bool:
    """Copy the WAL back into the database file, on a connection of this (worker) thread; False if busy."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        busy = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
        return not busy
    finally:
        conn.close()


class Database:
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint_task: asyncio.Task | None = None
        self._erase_in_tx = False  # this transaction erased personal data (see erase_traces)
        self._truncate_again = False
        self._truncate_task: asyncio.Task | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(self.path)
        self._writer.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives any process crash; sync position and effects live
        # in the same file, so a power loss can only roll both back together.
        self._writer.execute("PRAGMA synchronous=NORMAL")
        self._reader = _connect(self.path)
        self._reader.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        await self.settled()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._writer is not None:
            try:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                log.warning("final checkpoint failed; the WAL is kept and replayed at the next start")
            self._writer.close()
            self._writer = None

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def in_transaction(self) -> bool:
        """Whether the calling task is inside a transaction (holding the one write lock): no network
        call belongs there (tests/fakes.py refuses them)."""
        return _in_tx.get()

    def _for_read(self) -> sqlite3.Connection:
        """The writer inside a transaction (it sees its own writes), else the reader."""
        conn = self._writer if _in_tx.get() else self._reader
        if conn is None:
            raise RuntimeError("database is not open")
        return conn

    def _committed(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and self._checkpoint_task is None:
            self._commits = 0
            self._checkpoint_task = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(_checkpoint_file, self.path, "PASSIVE")
        except sqlite3.Error as exc:
            log.warning("background checkpoint failed: %s", type(exc).__name__)
        finally:
            self._checkpoint_task = None

    def erase_traces(self) -> None:
        """Call inside a transaction that erased personal data (a forgotten member, a closed secret
        poll, a delivered private message): after it commits, the WAL is checkpointed with TRUNCATE.

        secure_delete zeroes erased rows in the database file, but the WAL keeps the earlier images
        of every page written since the last checkpoint; only a truncating checkpoint drops them.
        """
        if not _in_tx.get():
            raise RuntimeError("erase_traces outside a transaction")
        self._erase_in_tx = True

    def _erased(self) -> None:
        self._truncate_again = True
        if self._truncate_task is None:
            self._truncate_task = asyncio.get_running_loop().create_task(self._truncate())

    async def _truncate(self) -> None:
        try:
            while self._truncate_again:
                self._truncate_again = False
                # holding the lock, no transaction is open on the writer; the reader holds no read
                # transaction between statements, so the checkpoint can reset the WAL to empty
                async with self._lock:
                    try:
                        done = await asyncio.to_thread(_checkpoint_file, self.path, "TRUNCATE")
                    except sqlite3.Error as exc:
                        log.warning("truncating checkpoint failed: %s", type(exc).__name__)
                        done = False
                if not done:
                    log.warning("truncating checkpoint was busy; erased data may stay in the WAL until the next one")
        finally:
            self._truncate_task = None

    async def settled(self) -> None:
        """Wait for background checkpoints (shutdown, and tests that read the files)."""
        while self._checkpoint_task is not None or self._truncate_task is not None:
            await asyncio.gather(*(t for t in (self._checkpoint_task, self._truncate_task) if t is not None),
                                 return_exceptions=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One unit of work. Nested calls in the same task join the outer transaction."""
        if _in_tx.get():
            yield
            return
        async with self._lock:
            token = _in_tx.set(True)
            try:
                self.writer.execute("BEGIN IMMEDIATE")
                self._erase_in_tx = False
                try:
                    yield
                except BaseException:
                    self._erase_in_tx = False
                    self.writer.execute("ROLLBACK")
                    raise
                else:
                    self.writer.execute("COMMIT")
                    self._committed()
                    if self._erase_in_tx:
                        self._erase_in_tx = False
                        self._erased()
            finally:
                _in_tx.reset(token)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside a transaction: undo only this block's writes if it raises."""
        if not _in_tx.get():
            raise RuntimeError("savepoint outside a transaction")
        self.writer.execute("SAVEPOINT plenum_sp")
        try:
            yield
        except BaseException:
            self.writer.execute("ROLLBACK TO plenum_sp")
            self.writer.execute("RELEASE plenum_sp")
            raise
        else:
            self.writer.execute("RELEASE plenum_sp")

    def _check_write(self, sql: str) -> None:
        if not _in_tx.get() and not sql.lstrip().upper().startswith(("SELECT", "PRAGMA", "WITH")):
            raise RuntimeError("write outside a transaction: " + sql.split("\n")[0][:60])

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run a write; returns lastrowid."""
        self._check_write(sql)
        return self._for_read().execute(sql, params).lastrowid or 0

    async def execute_rowcount(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        self._check_write(sql)
        return self._for_read().execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._check_write(sql)
        self._for_read().executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        return self._for_read().execute(sql, params).fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return self._for_read().execute(sql, params).fetchall()

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def tables(self) -> list[str]:
        """The names of every table (tests that read everything the database keeps, migrate-db)."""
        rows = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                                   " ORDER BY name")
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ migrations
    async def migrate(self, registry: Registry) -> dict[str, int]:
        """Apply every component's pending steps in order, each step in its own transaction.

        Components (core, polls, duties, ...) keep separate version numbers so features
        own their schema without a shared sequence to fight over.
        """
        async with self.transaction():
            await self.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        versions: dict[str, int] = {}
        for component, steps in registry.items():
            current = await self.fetchval(
                "SELECT version FROM schema_version WHERE component = ?", (component,)
            ) or 0
            for number, step in enumerate(steps, start=1):
                if number <= current:
                    continue
                async with self.transaction():
                    for statement in step:
                        await self.execute(statement)
                    await self.execute(
                        "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                        "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (component, number),
                    )
                log.info("migrated %s to version %d", component, number)
                current = number
            versions[component] = current
        return versions


def is_outage(exc: BaseException) -> bool:
    """The database failed (locked, disk full, connection gone), not the event being handled: retry later,
    drop nothing. asyncpg's connection errors are told by name, so SQLite hosts need not import it."""
    if isinstance(exc, (sqlite3.OperationalError, OSError)):
        return True
    kind = type(exc)
    return kind.__module__.startswith("asyncpg") and any(
        word in kind.__name__ for word in ("Connection", "Interface", "CannotConnect", "TooMany", "Unavailable"))


def database_for(url: str | None, data_dir: Path) -> Database:
    """The configured database: PostgreSQL for a postgresql:// url, else SQLite in data_dir (not opened yet)."""
    if url:
        from storage.pg import PgDatabase  # asyncpg is needed only when PostgreSQL is configured

        return PgDatabase(url)
    return Database(Path(data_dir) / "plenum.db")
