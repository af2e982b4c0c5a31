"""Issue 11, defect 7: what was erased must leave the WAL too, not only the database file.

secure_delete zeroes erased rows in plenum.db; the WAL keeps the older image of each page
written since the last checkpoint. After !forget, after a secret poll closes and after a private
message is delivered (and deleted), the WAL is checkpointed with TRUNCATE.
"""
from __future__ import annotations

import pytest

import re
from datetime import timedelta
from pathlib import Path

from tests.conversation.conftest import ALICE, BOB, CAROL, ROOM

DM_BOB, DM_CAROL = "!dm-bob:test", "!dm-carol:test"

pytestmark = pytest.mark.sqlite_only  # about SQLite's WAL file



def files(conv) -> dict[str, bytes]:
    base = Path(conv.app.db.path)
    return {p.name: p.read_bytes() for p in base.parent.glob(base.name + "*")}


async def test_forget_leaves_nothing_in_the_wal(conv):
    conv.chat.add_room(DM_BOB, [BOB])
    for n in range(2):
        await conv.reply(BOB, f"!umfrage Frage {n} | A | B", ROOM)
        await conv.reply(BOB, f"!abstimmen {n + 1} 1", ROOM)
    await conv.reply(BOB, "vergessen", DM_BOB)
    before = files(conv)
    assert BOB.encode() in before["plenum.db-wal"]  # the check below can fail
    await conv.reply(BOB, "vergessen ja", DM_BOB)
    await conv.app.db.settled()
    after = files(conv)
    for name, data in after.items():
        assert BOB.encode() not in data, name
        assert DM_BOB.encode() not in data, name
    assert len(after.get("plenum.db-wal", b"")) < len(before["plenum.db-wal"])


async def test_closing_a_secret_poll_leaves_no_tag_or_key_in_the_wal(conv):
    conv.chat.add_room(DM_BOB, [BOB])
    conv.chat.add_room(DM_CAROL, [CAROL])
    await conv.reply(ALICE, "!umfrage Vorstandswahl | Anna | Ben\ngeheim: ja", ROOM)
    await conv.reply(BOB, "abstimmen 1 1", DM_BOB)
    await conv.reply(BOB, "abstimmen 1 2", DM_BOB)  # the WAL also held the replaced ballot
    await conv.reply(CAROL, "abstimmen 1 1", DM_CAROL)
    db = conv.app.db
    key = await db.fetchval("SELECT secret_key FROM polls WHERE id = 1")
    tags = [r[0] for r in await db.fetchall("SELECT tag FROM poll_secret_ballots WHERE tag IS NOT NULL")]
    assert key and len(tags) == 2
    assert any(tag.encode() in files(conv)["plenum.db-wal"] for tag in tags)
    await conv.reply(ALICE, "!schliessen 1", ROOM)
    await db.settled()
    for name, data in files(conv).items():
        assert bytes(key) not in data, name
        for tag in tags:
            assert tag.encode() not in data, name


async def test_checkpoint_truncates_even_while_the_reader_was_used(conv):
    conv.chat.add_room(DM_BOB, [BOB])
    await conv.reply(BOB, "!meinedaten", ROOM)  # a private answer: deleted once sent, WAL truncated
    await conv.app.db.fetchall("SELECT * FROM outbox")  # the reader connection has read meanwhile
    await conv.app.db.settled()
    # everything after the truncation is the delivery's own bookkeeping: a few pages at most
    assert len(files(conv).get("plenum.db-wal", b"")) <= 8 * 4096 + 32 * 8


async def test_after_a_secret_poll_closes_nothing_links_a_voter_to_a_choice(conv):
    conv.chat.add_room(DM_BOB, [BOB])
    conv.chat.add_room(DM_CAROL, [CAROL])
    await conv.reply(ALICE, "!umfrage Wahl | Anna | Ben\ngeheim: ja", ROOM)
    await conv.reply(BOB, "abstimmen 1 2", DM_BOB)
    await conv.reply(CAROL, "abstimmen 1 1", DM_CAROL)
    await conv.reply(ALICE, "!schliessen 1", ROOM)
    await conv.app.db.settled()
    db = conv.app.db
    ballots = [tuple(r) for r in await db.fetchall("SELECT id, tag, payload FROM poll_secret_ballots")]
    assert [b[1] for b in ballots] == [None, None]
    assert [b[2] for b in ballots] == sorted(b[2] for b in ballots)  # stored in no order of casting
    tables = [r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table == "dm_rooms":
            continue  # which room is whose direct chat: kept, and linked to nothing below
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            text = repr(tuple(row))
            for voter, room in ((BOB, DM_BOB), (CAROL, DM_CAROL)):
                assert voter not in text and room not in text, (table, text)
    for name, data in files(conv).items():
        if name != "plenum.db":
            assert DM_BOB.encode() not in data and DM_CAROL.encode() not in data, name


async def test_expired_traces_leave_the_wal_too(conv):
    answer = await conv.reply(BOB, "!umfragen", ROOM)
    await conv.app.db.settled()
    assert re.search(re.escape(answer.event_id.encode()) + rb"(?!\d)", files(conv)["plenum.db-wal"])
    for _ in range(32):  # housekeeping runs daily and prunes what is older than 30 days
        await conv.advance(timedelta(days=1))
    await conv.app.db.settled()
    assert await conv.app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE event_id = ?", (answer.event_id,)) == 0
    exact = re.compile(re.escape(answer.event_id.encode()) + rb"(?!\d)")
    for name, data in files(conv).items():
        assert not exact.search(data), name
