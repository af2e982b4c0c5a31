"""Issue 13, item 2: one broken event never stops the pipeline, and is not replayed for ever."""
from __future__ import annotations

import logging

from tests.conversation.conftest import ALICE, ROOM


async def test_an_error_outside_any_handler_parks_the_event_and_the_room_goes_on(conv, monkeypatch, caplog):
    calls = {"n": 0}
    real = conv.app.rooms.joined_at

    async def broken(room_id):
        calls["n"] += 1
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conv.app.rooms, "joined_at", broken)
    with caplog.at_level(logging.ERROR):
        ev = conv.event(ALICE, "!hilfe", ROOM)
        await conv.deliver(ev)  # does not raise
    assert calls["n"] == 3
    assert any("parked an event" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info for r in caplog.records if "could not handle an event" in r.getMessage())
    assert await conv.app.pipeline.handled.seen(ev.event_id)  # a replay after restart is not tried again
    monkeypatch.setattr(conv.app.rooms, "joined_at", real)
    assert "!umfrage" in (await conv.reply(ALICE, "!hilfe umfrage", ROOM)).body  # the next command is answered


async def test_a_passing_hiccup_is_retried_and_answered_once(conv, monkeypatch):
    real, calls = conv.app.rooms.joined_at, {"n": 0}

    async def flaky(room_id):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return await real(room_id)

    monkeypatch.setattr(conv.app.rooms, "joined_at", flaky)
    answer = await conv.reply(ALICE, "!umfragen", ROOM)
    assert answer.body


async def test_a_database_outage_is_raised_not_parked_so_the_command_comes_again(conv, monkeypatch):
    """Review finding: a locked or full database parked commands as handled without an answer."""
    import sqlite3

    import pytest

    real = conv.app.rooms.joined_at

    async def locked(room_id):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(conv.app.rooms, "joined_at", locked)
    ev = conv.event(ALICE, "!umfragen", ROOM)
    with pytest.raises(sqlite3.OperationalError):
        await conv.app.pipeline.handle(ev)  # the sync loop does not store its position
    assert not await conv.app.pipeline.handled.seen(ev.event_id)
    monkeypatch.setattr(conv.app.rooms, "joined_at", real)
    await conv.deliver(ev)  # the next sync brings it again: answered once
    assert len(conv.chat.replies_to(ev.event_id)) == 1


async def test_a_parked_direct_chat_event_keeps_no_room_and_the_log_names_none(conv, monkeypatch, caplog):
    conv.chat.add_room("!dm-alice:test", [ALICE])

    async def broken(room_id):
        raise RuntimeError("bug")

    monkeypatch.setattr(conv.app.rooms, "joined_at", broken)
    with caplog.at_level(logging.ERROR):
        await conv.deliver(conv.event(ALICE, "hilfe", "!dm-alice:test"))
    assert not any("!dm-alice:test" in r.getMessage() for r in caplog.records)
    rows = await conv.app.db.fetchall("SELECT room_id FROM handled_events")
    assert all(r["room_id"] != "!dm-alice:test" for r in rows)
