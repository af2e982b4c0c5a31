"""Fixtures and helpers for the duty conversation tests (no tests here)."""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.fakes import Conversation, FakeChat, Sent, start_conversation

ALICE, BOB, CAROL, DAVE, ORGA = "@alice:test", "@bob:test", "@carol:test", "@dave:test", "@orga:test"
MEMBERS = (ALICE, BOB, CAROL, DAVE)
ROOM, ORGS, EN = "!ortsgruppe:test", "!orga:test", "!english:test"
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)  # a Saturday; Tuesdays 18:00 are 24.11., 1.12., …

_PLAN_LINE = re.compile(r"^• (\S+ [\d.]+ \d\d:\d\d): (.+)$")


def make_chat() -> FakeChat:
    chat = FakeChat()
    chat.add_room(ROOM, [*MEMBERS, ORGA], power={ORGA: 50}, name="Ortsgruppe")
    chat.add_room(ORGS, [ORGA, "@orga2:test"], power={ORGA: 100}, name="Orga")
    chat.add_room(EN, [ALICE, BOB, ORGA], power={ORGA: 50}, name="English room")
    return chat


@pytest.fixture
async def duty_conv(tmp_path):
    c = await start_conversation(tmp_path, make_chat(), start=START)
    yield c
    await c.app.db.close()


async def restart(conv: Conversation, tmp_path, at: datetime | None = None) -> Conversation:
    """Stop the app and start a new one on the same database and transport, maybe later."""
    await conv.app.db.close()
    again = await start_conversation(tmp_path, conv.chat, start=at or conv.clock.now())
    again._ids = itertools.count(10_000)  # event ids must not repeat across the restart
    return again


def plan_rows(body: str) -> list[tuple[str, tuple[str, ...]]]:
    """[("Di 24.11. 18:00", ("@alice:test",)), …] from a `!dienst plan` answer."""
    out = []
    for line in body.splitlines():
        m = _PLAN_LINE.match(line)
        if m:
            users = () if "niemand" in m.group(2) or "nobody" in m.group(2) else tuple(m.group(2).split(", "))
            out.append((m.group(1), users))
    return out


async def advance_to(conv: Conversation, when: datetime) -> list[Sent]:
    return await conv.advance(when - conv.clock.now())


def local(*args: int) -> datetime:
    """A Berlin wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=BERLIN).astimezone(timezone.utc)


async def minutes_duty(conv: Conversation, members=MEMBERS, extra: str = "") -> None:
    await conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr" + extra, ROOM)
    for user in members:
        await conv.reply(user, "!dienst mitmachen Protokoll", ROOM)


__all__ = ["ALICE", "BOB", "CAROL", "DAVE", "ORGA", "MEMBERS", "ROOM", "ORGS", "EN", "START", "duty_conv", "restart",
           "plan_rows", "advance_to", "local", "minutes_duty", "make_chat", "timedelta"]
