"""Fixtures for conversation tests: a fresh app on a real database (SQLite file, or PostgreSQL with --db=postgres)
with a fake Matrix transport."""
from __future__ import annotations

import pytest

from tests import backend
from tests.fakes import FakeChat, start_conversation

ALICE, BOB, CAROL, ORGA = "@alice:test", "@bob:test", "@carol:test", "@orga:test"
ROOM, ROOM_EN = "!room:test", "!english:test"


@pytest.fixture
async def conv(tmp_path):
    chat = FakeChat()
    chat.add_room(ROOM, [ALICE, BOB, CAROL, ORGA], power={ORGA: 50}, name="Ortsgruppe")
    chat.add_room(ROOM_EN, [ALICE, BOB, ORGA], power={ORGA: 100}, name="English room")
    c = await start_conversation(tmp_path, chat)
    assert c.app.db.dialect == ("postgresql" if backend.postgres() else "sqlite")  # --db really switched it
    yield c
    await c.app.db.close()
    assert (tmp_path / "plenum.db").exists() != backend.postgres()
