"""A limited sync's gap ends at the previous sync's newest event, now that chat is not marked handled."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from nio import Event

from bot.matrix_adapter import MatrixAdapter
from tests.fakes import make_config

ROOM = "!busy:test"
NOW = datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)


def event(n: int, body: str = "chat") -> Event:
    return Event.parse_event({"type": "m.room.message", "event_id": f"$e{n}", "sender": "@a:test",
                              "origin_server_ts": int((NOW + timedelta(seconds=n)).timestamp() * 1000),
                              "content": {"msgtype": "m.text", "body": body}})


class Pages:
    """/messages backwards from the gap: newest first, 3 events a page."""

    def __init__(self, events: list[Event]) -> None:
        self.events, self.calls = list(reversed(events)), 0

    async def room_messages(self, room_id, start, direction, limit):
        self.calls += 1
        i = int(start)
        return SimpleNamespace(chunk=self.events[i:i + 3], end=str(i + 3))


async def nothing_handled(event_id: str) -> bool:
    return False


async def test_the_gap_stops_at_the_previous_syncs_newest_event(tmp_path):
    adapter = MatrixAdapter(make_config(tmp_path))
    adapter.client = Pages([event(n) for n in range(1, 11)])  # $e1 … $e10; the gap is $e6 … $e10
    timeline = SimpleNamespace(events=[event(5)], limited=False, prev_batch=None)
    batch, _ = await adapter.collect(SimpleNamespace(rooms=SimpleNamespace(join={ROOM: SimpleNamespace(
        state=[], timeline=timeline)})), nothing_handled, None)  # the previous sync ended with $e5
    assert [e.event_id for e in batch[ROOM]] == ["$e5"]
    found = await adapter._fill_gap(ROOM, "0", nothing_handled, NOW - timedelta(minutes=5))
    assert [e.event_id for e in found] == ["$e6", "$e7", "$e8", "$e9", "$e10"]
    assert adapter.client.calls == 2  # not paged back to the cutoff


async def test_is_direct_says_what_room_info_says(tmp_path):
    """The pipeline's O(1) direct-chat test (asked for every message) agrees with room_info."""
    from nio import MatrixRoom

    adapter = MatrixAdapter(make_config(tmp_path))
    me = adapter.own_user_id
    adapter.client = SimpleNamespace(rooms={})
    cases = {"!two:t": [me, "@a:t"], "!three:t": [me, "@a:t", "@b:t"], "!named:t": [me, "@a:t"],
             "!invited:t": [me, "@a:t"], "!without-me:t": ["@a:t", "@b:t"]}
    for room_id, users in cases.items():
        room = MatrixRoom(room_id, me)
        for user in users:
            room.add_member(user, None, None)
        adapter.client.rooms[room_id] = room
    adapter.client.rooms["!named:t"].name = "Vorstand"
    adapter.client.rooms["!invited:t"].add_member("@c:t", None, None, invited=True)
    for room_id in [*cases, "!unknown:t"]:
        info = await adapter.room_info(room_id)
        assert await adapter.is_direct(room_id) == bool(info and info.is_direct), room_id
    assert await adapter.is_direct("!two:t")
