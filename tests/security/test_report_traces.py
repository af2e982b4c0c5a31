"""Issue 11, defect 6: the database alone must not tell who sent a report, nor when a direct chat was used.

A database reader has every table, and the awareness room's timeline (when report #N arrived).
dm_rooms says which room is whose direct chat, legitimately. So nothing the report or its
answer caused may name the reporter's direct chat, and no time stored anywhere may be close
to a report's (other direct-chat answers keep their times: they are not reports).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import to_ms
from tests.conversation.safespace_setup import ALICE, AWA, AWARE, BOB, dm, start

DAY_MS = 86_400_000


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    yield c
    await c.app.db.close()


async def rows(conv) -> dict[str, list[tuple]]:
    db = conv.app.db
    tables = await db.tables()
    return {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t}")] for t in tables}


async def test_no_row_or_time_links_a_report_to_a_direct_chat(conv):
    conv.clock.advance(timedelta(hours=1))
    await conv.reply(BOB, "schutzraum", dm(BOB))  # someone else used a direct chat earlier
    conv.clock.advance(timedelta(hours=2, minutes=17, seconds=5))  # not a round time
    reported = conv.clock.now()
    await conv.reply(ALICE, "melden Im Plenum wurde ich ausgelacht", dm(ALICE))
    conv.clock.advance(timedelta(minutes=9))
    answered = conv.clock.now()
    await conv.reply(AWA, "!antworten 1 Danke, wir melden uns.", AWARE)
    assert "wir melden uns" in conv.chat.in_room(dm(ALICE))[-1].body
    await conv.advance(timedelta(minutes=5))

    found = await rows(conv)
    assert (ALICE, dm(ALICE)) in found["dm_rooms"]
    for table, content in found.items():
        if table == "dm_rooms":
            continue
        for row in content:
            assert dm(ALICE) not in str(row) and ALICE not in str(row), (table, row)
            if AWARE in row:
                continue  # the awareness room's own messages: its timeline shows those times anyway
            for value in row:  # no stored time within an hour of the report or the answer
                if isinstance(value, int) and value > 10**12:
                    for moment in (reported, answered):
                        assert abs(value - to_ms(moment)) > 3_600_000 or value % DAY_MS == 0, (table, row)
    # the handled marks keep the day only, and no event id in clear
    for event_id, room_id, handled_at, outcome in found["handled_events"]:
        assert event_id.startswith("h:") and handled_at % DAY_MS == 0 and outcome in (0, 1, 2)
    assert not [j for j in found["jobs"] if "scrub" in str(j)]


async def test_the_answer_still_reaches_the_reporter_and_only_them(conv):
    await conv.reply(ALICE, "melden Eins", dm(ALICE))
    await conv.reply(BOB, "melden Zwei", dm(BOB))
    await conv.reply(AWA, "!antworten 2 an Bob", AWARE)
    await conv.reply(AWA, "!antworten 1 an Alice", AWARE)
    assert "an Bob" in conv.chat.in_room(dm(BOB))[-1].body
    assert "an Alice" in conv.chat.in_room(dm(ALICE))[-1].body
    # the reporter is found by the keyed route (key file outside the database), not by a stored mapping
    routes = [r[1] for r in (await rows(conv))["safespace_reports"]]
    assert all(len(route) == 64 and ALICE not in route for route in routes)


async def test_each_private_message_gets_its_own_transaction_id(conv):
    """A private row is deleted once sent; the next message may get its row id and must still go out."""
    for n in range(3):
        await conv.reply(ALICE, f"melden Nummer {n}", dm(ALICE))
        answer = await conv.reply(AWA, f"!antworten {n + 1} gelesen {n}", AWARE)
        assert "unterwegs" in answer.body
        assert f"gelesen {n}" in conv.chat.in_room(dm(ALICE))[-1].body
    txns = [s.txn_id for s in conv.chat.sent]
    assert len(txns) == len(set(txns))


async def test_a_handled_mark_from_an_earlier_version_still_counts(conv):
    ev = conv.event(ALICE, "melden Schon erledigt", dm(ALICE))
    async with conv.app.db.transaction():
        await conv.app.db.execute("INSERT INTO handled_events (event_id, room_id, handled_at) VALUES (?, ?, 0)",
                                  (ev.event_id, dm(ALICE)))
    assert await conv.app.pipeline.handled.seen(ev.event_id)
    assert await conv.deliver(ev) == []
