"""What a feature sees: the command context (Ctx), the Feature base class, organiser checks."""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from bot.grammar import Command
from bot.i18n import I18n
from bot.messenger import Messenger
from bot.names import NO_NAMES, Names
from bot.ports import Chat, Incoming, RoomInfo
from bot.render import Rich
from bot.voice import compose

ORGANISER_LEVEL = 50


class Permissions:
    """Organiser = admin from the config, or power level >= 50 in the room (v12 creators count).

    Trust beyond one room (accepting an invitation, founding a trust-anchor role when no admin is
    configured) needs more: see `vouched`.
    """

    def __init__(self, chat: Chat, admins: list[str],
                 never_vouch: Callable[[list[str]], Awaitable[set[str]]]) -> None:
        self.chat = chat
        self.admins = frozenset(admins)
        self.never_vouch = never_vouch  # of these rooms, those that were ever a direct chat (storage/roles.py)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    async def is_organiser(self, room_id: str, user_id: str) -> bool:
        if user_id in self.admins:
            return True
        info = await self.chat.room_info(room_id)
        return info is not None and info.level(user_id) >= ORGANISER_LEVEL

    async def group_rooms(self) -> list[RoomInfo]:
        """Rooms the bot is in that are no direct chat and never were one."""
        joined = await self.chat.joined_rooms()
        direct = await self.never_vouch(joined)
        found = []
        for room_id in joined:
            info = await self.chat.room_info(room_id)
            if info is not None and not info.is_direct and room_id not in direct:
                found.append(info)
        return found

    async def vouched(self, user_id: str, room_id: str | None = None) -> bool:
        """An admin, or an organiser of a group room (room_id, else any the bot is in) where another
        organiser is an admin or an organiser of another group room too. Power in a direct chat, or in a
        room whose only organisers are the user and people without standing elsewhere, vouches for nothing."""
        if self.is_admin(user_id):
            return True
        groups = await self.group_rooms()
        for info in groups:
            if (room_id is not None and info.room_id != room_id) or info.level(user_id) < ORGANISER_LEVEL:
                continue
            for other in info.members:
                if other in (user_id, self.chat.own_user_id) or info.level(other) < ORGANISER_LEVEL:
                    continue
                if self.is_admin(other) or any(g.level(other) >= ORGANISER_LEVEL and other in g.members
                                               for g in groups if g.room_id != info.room_id):
                    return True
        return False


@dataclass
class Ctx:
    """One command (or event) being handled: who, where, in which language, at what time."""

    room_id: str
    sender: str
    event_id: str
    lang: str
    tz: str
    now: datetime
    is_dm: bool
    i18n: I18n
    messenger: Messenger
    perms: Permissions
    chat: Chat
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None  # the event this command itself replies to (e.g. an image)
    replied: Incoming | None = None  # that event, for a command that reads_reply (fetched before the transaction)
    event: Incoming | None = None
    command: Command | None = None
    names: Names = NO_NAMES  # how people are named in this room (bot/names.py)

    def t(self, key: str, n: int | None = None, **params: Any) -> str:
        return self.i18n.t(self.lang, key, n, **params)

    def rich(self, key: str, n: int | None = None, **params: Any) -> Rich:
        return compose(self.i18n, self.lang, key, n, **params)

    async def reply(self, key: str, n: int | None = None, *, ref: str | None = None, **params: Any) -> int:
        return await self.reply_rich(self.rich(key, n, **params), ref=ref)

    async def reply_rich(self, rich: Rich, *, ref: str | None = None, whole: bool = False) -> int:
        """whole=True: refuse (TooLarge) rather than shorten a reply that must show all of the input."""
        return await self.messenger.send(self.room_id, rich, reply_to=self.event_id or None, ref=ref, whole=whole)

    async def room(self) -> RoomInfo | None:
        return await self.chat.room_info(self.room_id)

    async def is_organiser(self, user_id: str | None = None, room_id: str | None = None) -> bool:
        return await self.perms.is_organiser(room_id or self.room_id, user_id or self.sender)


class Feature:
    """A capability: declares commands with @command, may react to events and run jobs."""

    name: ClassVar[str] = ""
    event_types: ClassVar[frozenset[str]] = frozenset()

    def commands(self) -> list[Command]:
        found = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr)
            cmd = getattr(func, "__plenum_command__", None)
            if isinstance(cmd, Command):  # the decorator's object is shared by every instance: copy it
                found.append(dataclasses.replace(cmd, owner=self, names=[]))
        return found

    async def before_command(self, cmd: Command, ev: Incoming) -> None:
        """Called before one of this feature's commands, outside the transaction: fetch what the command
        will read from the network (no network call belongs inside the unit of work)."""

    async def on_event(self, ev: Incoming, ctx: Ctx) -> None:
        """Called for timeline events whose type is in event_types (inside the unit of work)."""

    async def wants(self, ev: Incoming) -> bool:
        """Before any transaction: could on_event act on this event? False lets the pipeline drop it without
        recording it (most chat is no business of the bot's). Reads only; True is always safe."""
        return True

    def jobs(self) -> dict[str, Any]:
        """kind -> JobHandler for scheduled work this feature owns."""
        return {}

    async def on_start(self) -> None:
        """Called once after the first sync has been handled (e.g. to re-read relations)."""

    async def on_stop(self) -> None:
        """Called at shutdown before the database closes: finish or park background work."""

    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        """Lines describing everything this feature stores about user_id (for !mydata)."""
        return []

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        """Erase or anonymise what this feature stores about user_id; lines saying what was done."""
        return []
