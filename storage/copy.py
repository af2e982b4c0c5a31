"""`plenum migrate-db`: copy a (stopped) SQLite installation into an empty PostgreSQL database.

Both sides are first brought to the current schema by the same migrations, so their tables and
columns match. Every row is copied in one PostgreSQL transaction, parents before children (the
foreign keys are checked at once there), with its ids and, where PostgreSQL has the `rowid` column
that stands for SQLite's insertion order, SQLite's rowid. Numbering then continues after the
highest id SQLite ever gave (sqlite_sequence), as it would have in SQLite. Row counts are compared table by table before the commit: a
difference rolls everything back, so the target is either a complete copy or still empty.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from storage.db import Database, Registry

log = logging.getLogger(__name__)

BATCH = 1000


class CopyError(Exception):
    pass


async def _parents_first(source: Database, tables: list[str]) -> list[str]:
    deps = {t: {r["table"] for r in await source.fetchall(f"PRAGMA foreign_key_list({t})")} - {t} for t in tables}
    ordered: list[str] = []
    while deps:
        ready = sorted(t for t, d in deps.items() if not (d & deps.keys()))
        if not ready:
            raise CopyError("foreign keys form a cycle: " + ", ".join(sorted(deps)))
        ordered += ready
        for t in ready:
            del deps[t]
    return ordered


async def _columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        return [r["name"] for r in await db.fetchall(f"PRAGMA table_info({table})")]
    rows = await db.fetchall("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                             " AND table_name = ? ORDER BY ordinal_position", (table,))
    return [r[0] for r in rows]


async def copy_database(source: Database, target: Database, registry: Registry,
                        extra: Callable[[], Awaitable[int]] | None = None) -> dict[str, int]:
    """Copy every row of source into target (which must hold no rows); the row count per table.
    `extra` runs inside the same transaction (the encryption state files) and returns a count."""
    if source.dialect != "sqlite" or target.dialect != "postgresql":
        raise CopyError("copies from SQLite to PostgreSQL only")
    await source.migrate(registry)
    if "schema_version" in await target.tables() and await target.fetchval("SELECT COUNT(*) FROM schema_version"):
        if any([await target.fetchval(f"SELECT COUNT(*) FROM {t}") for t in await target.tables()
                if t != "schema_version"]):
            raise CopyError("the PostgreSQL database is not empty; copy into a new database")
    await target.migrate(registry)
    tables = [t for t in await source.tables() if t != "schema_version"]
    missing = sorted(set(tables) - set(await target.tables()))
    if missing:
        raise CopyError("tables missing in PostgreSQL after migrating: " + ", ".join(missing))
    counts: dict[str, int] = {}
    high: dict[str, int] = {}
    if await source.fetchval("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"):
        high = {r[0]: r[1] for r in await source.fetchall("SELECT name, seq FROM sqlite_sequence")}
    async with target.transaction():
        for table in await _parents_first(source, tables):
            cols = await _columns(source, table)
            target_cols = await _columns(target, table)
            if set(cols) - set(target_cols):
                raise CopyError(f"{table}: columns missing in PostgreSQL: {sorted(set(cols) - set(target_cols))}")
            select = cols
            if "rowid" in target_cols and "rowid" not in cols:
                select = ["rowid", *cols]  # SQLite's insertion order, kept
            names = ", ".join(select)
            insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(select))})"
            rows = await source.fetchall(f"SELECT {names} FROM {table} ORDER BY rowid")
            for i in range(0, len(rows), BATCH):
                await target.executemany(insert, [tuple(r) for r in rows[i:i + BATCH]])
            if "rowid" in target_cols:
                await target.fetchval(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'rowid'), COALESCE(MAX(rowid), 0) + 1, false)"
                    f" FROM {table}")
            if "id" in target_cols and await target._id_table(table):  # type: ignore[attr-defined]
                # numbering goes on after the highest id ever given (AUTOINCREMENT's high-water mark)
                last = max(await source.fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {table}"), high.get(table, 0))
                await target.execute("INSERT INTO plenum_ids (name, last) VALUES (?, ?) ON CONFLICT (name)"
                                     " DO UPDATE SET last = excluded.last", (table, last))
            have = await target.fetchval(f"SELECT COUNT(*) FROM {table}")
            if have != len(rows):
                raise CopyError(f"{table}: {len(rows)} rows in SQLite, {have} in PostgreSQL; nothing was copied")
            counts[table] = have
        versions = {r[0]: r[1] for r in await source.fetchall("SELECT component, version FROM schema_version")}
        theirs = {r[0]: r[1] for r in await target.fetchall("SELECT component, version FROM schema_version")}
        if versions != theirs:
            raise CopyError(f"schema versions differ: SQLite {versions}, PostgreSQL {theirs}")
        if extra is not None:
            counts["(encryption state files)"] = await extra()
    return counts
