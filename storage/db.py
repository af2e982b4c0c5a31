"""The database handle: one SQLite file in WAL mode, a unit-of-work lock, ordered migrations.

All SQL of the project lives in storage/. Every write happens inside
`async with db.transaction():`; the transaction is re-entrant within one task, so a
command handler, the repositories it calls and the handled-event mark commit together.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

# A migration step is a sequence of SQL statements applied in one transaction.
Step = Sequence[str]
Registry = dict[str, Sequence[Step]]

_in_tx: contextvars.ContextVar[bool] = contextvars.ContextVar("plenum_in_tx", default=False)


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


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives any process crash; sync position and effects live
        # in the same file, so a power loss can only roll both back together.
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA secure_delete=ON")  # erased votes and names leave no trace in free pages
        await self._conn.execute("PRAGMA busy_timeout=5000")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One unit of work. Nested calls in the same task join the outer transaction."""
        if _in_tx.get():
            yield
            return
        async with self._lock:
            token = _in_tx.set(True)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                else:
                    await self.conn.execute("COMMIT")
            finally:
                _in_tx.reset(token)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside a transaction: undo only this block's writes if it raises."""
        if not _in_tx.get():
            raise RuntimeError("savepoint outside a transaction")
        await self.conn.execute("SAVEPOINT plenum_sp")
        try:
            yield
        except BaseException:
            await self.conn.execute("ROLLBACK TO plenum_sp")
            await self.conn.execute("RELEASE plenum_sp")
            raise
        else:
            await self.conn.execute("RELEASE plenum_sp")

    def _check_write(self, sql: str) -> None:
        if not _in_tx.get() and not sql.lstrip().upper().startswith(("SELECT", "PRAGMA", "WITH")):
            raise RuntimeError("write outside a transaction: " + sql.split("\n")[0][:60])

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run a write; returns lastrowid."""
        self._check_write(sql)
        # every aiosqlite call is a hop to its thread; the cursor is finalised when dropped
        return (await self.conn.execute(sql, params)).lastrowid or 0

    async def execute_rowcount(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        self._check_write(sql)
        return (await self.conn.execute(sql, params)).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._check_write(sql)
        await self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        """The first row (queries here are keyed; one thread hop instead of three)."""
        rows = await self.conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

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
