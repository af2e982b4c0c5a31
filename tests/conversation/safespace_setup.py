"""Shared set-up for the safe-space conversation tests: a group room, a safe space, an awareness room, DMs.

SafeChat extends the fake transport just enough for power levels: room_info reports the
raw m.room.power_levels content last put (plus what a test pre-sets), and putting that
state updates the explicit user levels, as a homeserver would.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.ports import RoomInfo
from tests.fakes import BOT, Conversation, FakeChat, start_conversation

ALICE, BOB, CAROL, ORGA = "@alice:test", "@bob:test", "@carol:test", "@orga:test"
AWA, AWA2, EVE = "@awa:test", "@awa2:test", "@eve:test"
ROOM, SAFE, AWARE = "!room:test", "!safe:test", "!aware:test"


def dm(user: str) -> str:
    """The direct chat FakeChat.direct_room would open for user."""
    return f"!dm-{user.strip('@').split(':')[0]}:test"


class SafeChat(FakeChat):
    async def room_info(self, room_id: str) -> RoomInfo | None:
        info = await super().room_info(room_id)
        if info is None:
            return None
        room = self.rooms[room_id]
        pl: dict[str, Any] = dict(room.state.get(("m.room.power_levels", ""), {}))
        pl["users"] = dict(room.power)
        rule = room.state.get(("m.room.join_rules", ""), {}).get("join_rule", room.join_rule)
        return replace(info, power_levels=pl, users_default=int(pl.get("users_default", 0)), join_rule=rule)

    async def put_state(self, room_id: str, type: str, content: dict[str, Any], state_key: str = "") -> None:
        await super().put_state(room_id, type, content, state_key)
        if type == "m.room.power_levels":
            self.rooms[room_id].power = {u: int(v) for u, v in content.get("users", {}).items()}

    def actions_of(self, kind: str) -> list[tuple[str, ...]]:
        return [a for a in self.actions if a[0] == kind]


async def start(tmp_path) -> Conversation:
    chat = SafeChat()
    chat.add_room(ROOM, [ALICE, BOB, CAROL, ORGA, AWA], power={ORGA: 50}, name="Ortsgruppe")
    chat.add_room(SAFE, [ORGA, CAROL], power={BOT: 100, ORGA: 50}, name="FINTA*-Treff", alias="#finta:test")
    chat.add_room(AWARE, [AWA, AWA2], power={BOT: 100, AWA: 50}, name="Awareness")
    for user in (ALICE, BOB, CAROL, ORGA, AWA, EVE):
        chat.add_room(dm(user), [user])
    conv = await start_conversation(tmp_path, chat, rate_limit=1000)
    await conv.reply("@admin:test", "!raum awareness", AWARE)
    return conv


async def member_event(conv: Conversation, user: str, room: str, membership: str) -> list:
    members = conv.chat.rooms[room].members
    if membership == "join" and user not in members:
        members.append(user)
    if membership in ("leave", "ban") and user in members:
        members.remove(user)
    return await conv.deliver(conv.event(user, "", room, type="m.room.member", content={"membership": membership},
                                         state_key=user))


async def all_rows(conv: Conversation) -> str:
    """Every row of every table, as one string: to check what the database keeps."""
    db = conv.app.db
    tables = await db.tables()
    out = []
    for table in tables:
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            out.append(f"{table}: {tuple(row)}")
    return "\n".join(out)
