"""Storage for announcements: which parts of a post Mastodon has (sent) and still shows (online)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests import backend
from storage import core, posts
from storage.db import Database
from storage.posts import MirrorRooms, Posts

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
REGISTRY = {"core": core.MIGRATIONS, "posts": posts.MIGRATIONS}


@pytest.fixture
async def db(tmp_path):
    database = backend.database(tmp_path / "plenum.db")
    await database.open()
    await database.migrate(REGISTRY)
    yield database
    await database.close()


async def test_sent_parts_and_online_parts(db):
    repo = Posts(db)
    async with db.transaction():
        post_id = await repo.create(room_id="!orga:test", source_room="!orga:test", source_event="$e", author="@a:test",
                                    account="main", text="x", cw=None, visibility="public", language="de", at=None,
                                    origin="command", now=NOW)
        await repo.set_parts(post_id, ["eins", "zwei", "drei"])
    assert await repo.sent_parts(post_id) == [] and await repo.sent_parts(post_id, online=True) == []
    async with db.transaction():
        await repo.record_part(post_id, 0, "101", "https://social.test/101")
        await repo.record_part(post_id, 1, "102", "https://social.test/102")
        await repo.mark_part_deleted(post_id, 1)
    assert [p.idx for p in await repo.sent_parts(post_id)] == [0, 1]
    assert [p.idx for p in await repo.sent_parts(post_id, online=True)] == [0]


async def test_mirrored_is_an_announcements_room_that_is_no_safe_space(db):
    rooms, mirrors = core.Rooms(db), MirrorRooms(db)
    async with db.transaction():
        await rooms.set_role("!news:test", "announcements", "jugend")
        await rooms.set_role("!default:test", "announcements")
        await rooms.set_role("!both:test", "announcements", "main")
        await rooms.set_role("!both:test", "safespace")
        await rooms.set_role("!orga:test", "organisers")
    assert await mirrors.mirrored("!news:test") == (True, "jugend")
    assert await mirrors.mirrored("!default:test") == (True, None)
    assert await mirrors.mirrored("!both:test") == (False, None)
    assert await mirrors.mirrored("!orga:test") == (False, None)
    assert await mirrors.mirrored("!unknown:test") == (False, None)
