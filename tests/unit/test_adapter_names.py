"""The Matrix adapter hands members' display names to the rest of the bot (issue 16 item 4)."""
from __future__ import annotations

from types import SimpleNamespace

from nio import MatrixRoom

from bot.matrix_adapter import MatrixAdapter
from bot.names import Names
from tests.fakes import BOT, make_config


async def test_room_info_carries_the_display_names_of_joined_members(tmp_path):
    adapter = MatrixAdapter(make_config(tmp_path))
    room = MatrixRoom("!r:test", BOT)
    room.add_member(BOT, "Plenum", None)
    room.add_member("@anna:test", "Anna", None)
    room.add_member("@ben:test", None, None)  # no display name set
    room.add_member("@eve:test", "Anna", None, invited=True)  # invited, not joined: not a member yet
    adapter.client = SimpleNamespace(rooms={"!r:test": room})
    info = await adapter.room_info("!r:test")
    assert info.display_names == {BOT: "Plenum", "@anna:test": "Anna"}
    names = Names.of(info)
    assert (names.name("@anna:test"), names.name("@ben:test")) == ("Anna", "@ben:test")
