"""Finding safe spaces and the awareness room, and the argument types naming spaces
(shared by commands/safespace.py, commands/awareness.py and commands/speakers.py)."""
from __future__ import annotations

import re

from bot.errors import UserError
from bot.feature import Ctx
from bot.grammar import Choice, Text
from bot.ports import Chat, RoomInfo
from storage.core import Rooms
from storage.safespace import SafeSpace, SafeSpaces

_NUMBER = re.compile(r"^#?(\d+)$")


class SpaceBook:
    """Finding safe spaces by name, alias or number; the awareness room; who belongs to the group."""

    def __init__(self, spaces: SafeSpaces, rooms: Rooms) -> None:
        self.spaces, self.rooms = spaces, rooms

    async def listing(self, chat: Chat) -> list[tuple[SafeSpace, RoomInfo]]:
        out = []
        for space in await self.spaces.all():
            info = await chat.room_info(space.room_id)
            if info is not None:  # the bot is still in the room
                out.append((space, info))
        return out

    async def resolve(self, chat: Chat, raw: str) -> tuple[SafeSpace, RoomInfo]:
        wanted = raw.strip()
        listing = await self.listing(chat)
        number = _NUMBER.match(wanted)
        if number:
            found = [(s, i) for s, i in listing if s.id == int(number.group(1))]
        else:
            low = wanted.casefold()
            found = [(s, i) for s, i in listing if low in (s.room_id.casefold(), (i.alias or "").casefold())]
            if not found:
                found = [(s, i) for s, i in listing if i.name.casefold() == low]
        if not found:
            raise UserError("safespace.unknown", name=wanted, usage=False)
        if len(found) > 1:
            raise UserError("safespace.ambiguous", name=wanted, usage=False)
        return found[0]

    async def awareness_room(self) -> str | None:
        rooms = await self.rooms.with_role("awareness")
        return rooms[0][0] if rooms else None

    async def is_awareness_member(self, chat: Chat, user_id: str) -> bool:
        for room_id, _ in await self.rooms.with_role("awareness"):
            info = await chat.room_info(room_id)
            if info is not None and user_id in info.members:
                return True
        return False

    async def is_group_member(self, chat: Chat, user_id: str) -> bool:
        """Shares a group room (not just a direct chat) with the bot: strangers cannot ask or report."""
        for room_id in await chat.joined_rooms():
            info = await chat.room_info(room_id)
            if info is not None and not info.is_direct and user_id in info.members:
                return True
        return False

    async def require_member(self, ctx: Ctx) -> None:
        if not await self.is_group_member(ctx.chat, ctx.sender):
            raise UserError("safespace.members_only", usage=False)


class SpaceName(Text):
    """A safe space as members name it: room name, alias, room id or its number in !safespace."""

    label = "space"


class SpaceOption(Choice):
    label = "safespace_option"
    WORDS = {"approval": "approval", "genehmigung": "approval", "freigabe": "approval", "knock": "knock",
             "anklopfen": "knock", "klopfen": "knock"}
    error = "safespace.bad_option"
