"""Issue 11, defect 6, for existing installations: the upgrade removes the traces earlier versions kept."""
from __future__ import annotations

from storage import core
from storage.db import Database
from storage.schema import REGISTRY


async def test_upgrade_drops_the_scrub_job_and_dated_direct_chat_marks(tmp_path):
    db = Database(tmp_path / "plenum.db")
    await db.open()
    await db.migrate({**REGISTRY, "core": core.MIGRATIONS[:2]})
    async with db.transaction():
        await db.execute("INSERT INTO dm_rooms (user_id, room_id) VALUES ('@a:t', '!dm:t')")
        await db.execute("INSERT INTO handled_events VALUES ('$report', '!dm:t', 1795255260123)")
        await db.execute("INSERT INTO handled_events VALUES ('$vote', '!group:t', 1795255260123)")
        await db.execute("INSERT INTO jobs (kind, key, due_at, payload, state, done_at) VALUES"
                         " ('safespace.scrub', 'safespace.scrub', 1795255320123, '{}', 'done', 1795255320200)")
        await db.execute("INSERT INTO outbox (room_id, type, content, ref, created_at, sent_at, event_id) VALUES"
                         " ('!dm:t', 'm.room.message', '{}', 'safespace.private.ab', 1795255260123, 1795255260200, '$e')")
    assert (await db.migrate(REGISTRY))["core"] == len(REGISTRY["core"])
    assert [tuple(r) for r in await db.fetchall("SELECT event_id, room_id FROM handled_events")] == [
        ("$vote", "!group:t")]
    assert await db.fetchval("SELECT COUNT(*) FROM jobs") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    await db.close()
