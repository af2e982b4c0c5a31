"""Test-wide options: --db chooses the database every conversation, storage and integration test uses."""
from __future__ import annotations

import os

import pytest

from tests import backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgres"], default=os.environ.get("PLENUM_TEST_DB", "sqlite"),
                     help="database backend for the tests (default sqlite; postgres starts pgserver if needed)")


def pytest_configure(config: pytest.Config) -> None:
    backend.NAME = config.getoption("--db")


def pytest_report_header(config: pytest.Config) -> str:
    return f"plenum database backend: {backend.NAME}"


def pytest_unconfigure(config: pytest.Config) -> None:
    backend.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about SQLite's files (WAL, secure_delete, raw bytes) say so with @pytest.mark.sqlite_only;
    on PostgreSQL they are reported as skipped with that reason, never silently."""
    if backend.postgres():
        skip = pytest.mark.skip(reason="about SQLite's files; not applicable with --db=postgres")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Set up first, torn down last: after the test's own fixtures closed their connections."""
    yield
    backend.drop_created()
