"""Storage for safe spaces: migrations from empty, keyed report routes, private outbox rows going at delivery."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests import backend
from storage import core, safespace
from storage.core import PRIVATE_REF, Outbox, Rooms
from storage.db import Database
from storage.safespace import Reports, SafeSpaces

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
REGISTRY = {"core": core.MIGRATIONS, "safespace": safespace.MIGRATIONS}


@pytest.fixture
async def db(tmp_path):
    database = backend.database(tmp_path / "plenum.db")
    await database.open()
    assert await database.migrate(REGISTRY) == {name: len(steps) for name, steps in REGISTRY.items()}
    yield database
    await database.close()


async def test_migrating_again_changes_nothing(db):
    assert await db.migrate(REGISTRY) == {name: len(steps) for name, steps in REGISTRY.items()}


async def test_report_routes_are_keyed_references(db, tmp_path):
    reports = Reports(db, tmp_path / "safespace.key")
    async with db.transaction():
        first = await reports.create("@alice:test")
        second = await reports.create("@alice:test")
        third = await reports.create("@bob:test")
    routes = [r["route"] for r in await db.fetchall("SELECT route FROM safespace_reports ORDER BY id")]
    assert all(len(r) == 64 and "alice" not in r and "bob" not in r for r in routes)
    assert len(set(routes)) == 3  # two reports of one person cannot be linked without the key
    people = ["@bob:test", "@carol:test", "@alice:test"]
    assert await reports.reporter(first, people) == "@alice:test"
    assert await reports.reporter(third, people) == "@bob:test"
    assert await reports.reporter(99, people) is None

    again = Reports(db, tmp_path / "safespace.key")  # a restart reads the same key
    assert await again.reporter(second, people) == "@alice:test"
    other_key = Reports(db, tmp_path / "other.key")
    assert await other_key.reporter(second, people) is None

    async with db.transaction():
        assert await reports.erase_routes("@alice:test") == [first, second]
    assert await reports.reporter(first, people) is None and await reports.exists(first)
    assert await reports.of_user("@bob:test") == [third]


async def test_private_rows_go_when_delivered_or_given_up(db):
    outbox = Outbox(db)
    async with db.transaction():
        sent = await outbox.add(room_id="!dm:t", type="m.room.message", content={}, at=NOW, ref=PRIVATE_REF + "a")
        assert await outbox.mark_sent(sent, "$e", "!dm:t", NOW)
        await outbox.add(room_id="!dm:t", type="m.room.message", content={}, at=NOW, ref=PRIVATE_REF + "b")
        failed = await outbox.add(room_id=None, to_user="@a:t", type="m.room.message", content={}, at=NOW,
                                  ref=PRIVATE_REF + "c")
        await outbox.mark_attempt(failed, "ConnectionError")
        other = await outbox.add(room_id="!r:t", type="m.room.message", content={}, at=NOW, ref="poll.1")
        await outbox.mark_sent(other, "$f", "!r:t", NOW)
        old = await outbox.add(room_id="!dm:t", type="m.room.message", content={}, at=NOW,
                               ref="safespace.private.d")  # an earlier version's prefix, already sent
        await db.execute("UPDATE outbox SET sent_at = 1 WHERE id = ?", (old,))
        assert await outbox.drop_private_done() == 1
    refs = [r["ref"] for r in await db.fetchall("SELECT ref FROM outbox ORDER BY id")]
    assert refs == [PRIVATE_REF + "b", "poll.1"]


async def test_safe_space_is_active_only_with_its_role(db):
    spaces, rooms = SafeSpaces(db), Rooms(db)
    async with db.transaction():
        space = await spaces.mark("!s:t", approval=True)
        assert await spaces.get("!s:t") is None
        await rooms.set_role("!s:t", "safespace")
        assert (await spaces.get("!s:t")).approval
        await spaces.set_rules("!s:t", "Respekt")
        assert await spaces.mark("!s:t", approval=False) == space.__class__(space.id, "!s:t", "Respekt", False)
        await rooms.clear_role("!s:t", "safespace")
    assert await spaces.all() == [] and await spaces.get("!s:t") is None
