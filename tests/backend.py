"""Which database the tests run on: SQLite files (default) or PostgreSQL (`pytest --db=postgres`).

PostgreSQL comes from PLENUM_TEST_POSTGRES_URL (a server where the tests may create databases)
or else from the `pgserver` wheel, started once per test session in a temporary directory. Each
test path gets a database of its own. When it cannot be had: with CI set the tests fail, saying
why; on a developer's machine they are skipped, saying why.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import tempfile
from pathlib import Path

import pytest

from storage.db import Database

NAME = "sqlite"  # set by tests/conftest.py from --db
_server = None
_admin_url: str | None = None
_urls: dict[str, str] = {}
_ids = itertools.count(1)


def postgres() -> bool:
    return NAME == "postgres"


def _unavailable(why: str) -> None:
    message = f"PostgreSQL tests (--db=postgres) cannot run: {why}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message + " (not in CI: skipped; CI fails here)")


def admin_url() -> str:
    """A URL of the test server's maintenance database, starting pgserver on first use."""
    global _server, _admin_url
    if _admin_url is None:
        if os.environ.get("PLENUM_TEST_POSTGRES_URL"):
            _admin_url = os.environ["PLENUM_TEST_POSTGRES_URL"]
        else:
            try:
                import pgserver
            except ImportError:
                _unavailable("neither PLENUM_TEST_POSTGRES_URL nor the pgserver package (pip install pgserver)")
            try:
                _server = pgserver.get_server(tempfile.mkdtemp(prefix="plenum-pg-"), cleanup_mode="delete")
                _admin_url = _server.get_uri()
                # a throw-away server: no fsync per commit (production keeps PostgreSQL's defaults)
                _server.psql("ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off;"
                             " ALTER SYSTEM SET full_page_writes = off;")
                _server.psql("SELECT pg_reload_conf();")
            except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
                _unavailable(f"pgserver did not start: {exc}")
    return _admin_url  # type: ignore[return-value]


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def url_for(key: Path | str) -> str:
    """The PostgreSQL database of one test path (created empty on first use)."""
    key = str(key)
    if key not in _urls:
        import asyncpg

        name = f"plenum_t{os.getpid()}_{next(_ids)}"

        async def create() -> None:
            conn = await asyncpg.connect(admin_url())
            try:
                await conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
            finally:
                await conn.close()

        # on a loop of its own in a worker thread: the test's loop may be running (make_config is sync)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(asyncio.run, create()).result(timeout=60)
            except (OSError, asyncpg.PostgresError, concurrent.futures.TimeoutError) as exc:
                _unavailable(f"cannot create a test database on the server: {type(exc).__name__}: {exc}")
        _urls[key] = _with_db(admin_url(), name)
    return _urls[key]


def drop_created() -> None:
    """Drop the databases made for the test that just ended (each copy of template0 takes ~7 MB)."""
    if not _urls:
        return
    import asyncpg

    from urllib.parse import urlsplit

    names = [urlsplit(u).path.strip("/") for u in _urls.values()]
    _urls.clear()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url())
        try:
            for name in names:
                await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop()).result(timeout=60)


def database(path: Path | str) -> Database:
    """A Database for a test: the SQLite file at path, or a PostgreSQL database of its own."""
    if postgres():
        from storage.pg import PgDatabase

        return PgDatabase(url_for(path))
    return Database(path)


def database_url(key: Path | str) -> str | None:
    """The [database] url a test config gets: None on SQLite."""
    return url_for(key) if postgres() else None


def stop() -> None:
    global _server
    if _server is not None:
        try:
            _server.cleanup()
        except Exception:  # noqa: BLE001 - the temporary directory goes anyway
            pass
        _server = None
