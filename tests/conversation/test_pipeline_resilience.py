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
    assert any("parked event" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info for r in caplog.records if "could not handle event" in r.getMessage())
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
