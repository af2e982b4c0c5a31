"""Messages the bot says on its own (no command, so no Ctx): in the language of the room they go to.

`compose` is how every catalogue message becomes Rich text (Ctx.rich uses it too); `Voice`
adds the room's language (else the configured default), dates and times in the configured
zone, and sending.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any

from bot.i18n import I18n
from bot.messenger import Messenger
from bot.names import Names
from bot.ports import Chat
from bot.render import Rich, fmt
from bot.timeformat import format_date, format_weekday_date, format_when
from storage.core import DirectRooms, Rooms

Say = Callable[..., Rich]  # (key, n=None, **params) -> Rich in one language


def compose(i18n: I18n, lang: str, key: str, n: int | None = None, **params: Any) -> Rich:
    """The catalogue message key in lang (plural form for n, which is also {n}) filled with params."""
    if n is not None:
        params.setdefault("n", n)
    return fmt(i18n.template(lang, key, n), **params)


class Short:
    """A datetime to be shown in the short table form ("Di 2.12. 18:00"); given `now`, with
    its year when it is not in the coming twelve months ("Di 29.2.2028 18:00")."""

    def __init__(self, dt: datetime, now: datetime | None = None) -> None:
        self.dt, self.now = dt, now


class Voice:
    """Messages outside a command's reply, in the language of the room they go to.

    Parameters may be datetimes (full form), Short (table form), dates, or callables
    taking the language, so a message is composed once and worded for each room.
    """

    def __init__(self, i18n: I18n, rooms: Rooms, messenger: Messenger, chat: Chat, default_language: str,
                 tz: str, dms: DirectRooms | None = None) -> None:
        self.i18n, self.rooms, self.messenger, self.chat = i18n, rooms, messenger, chat
        self.default_language, self.tz, self.dms = default_language, tz, dms

    async def lang(self, room_id: str) -> str:
        """The room's language, else the configured default."""
        return await self.rooms.language(room_id) or self.default_language

    async def dm_lang(self, user_id: str, fallback: str | None = None) -> str:
        """The language of the direct chat with user_id (where a message to them is read), else fallback
        (e.g. the language of the room the message is about), else the default."""
        room_id = await self.dms.get(user_id) if self.dms is not None else None
        lang = await self.rooms.language(room_id) if room_id else None
        return lang or fallback or self.default_language

    async def names(self, room_id: str) -> Names:
        """How people are named in room_id (display names; ids only to tell equal names apart)."""
        return Names.of(await self.chat.room_info(room_id))

    def t(self, lang: str, key: str, n: int | None = None, **params: Any) -> str:
        return self.i18n.t(lang, key, n, **params)

    def rich(self, lang: str, key: str, n: int | None = None, **params: Any) -> Rich:
        return compose(self.i18n, lang, key, n, **{k: self.value(lang, v) for k, v in params.items()})

    def speaker(self, lang: str) -> Say:
        """rich() with the language fixed: say(key, n=None, **params)."""
        return partial(self.rich, lang)

    def value(self, lang: str, v: Any) -> Any:
        """A parameter as shown in lang: dates and times worded, callables asked for their text."""
        if isinstance(v, Short):
            return format_weekday_date(v.dt, lang, self.tz, v.now)
        if isinstance(v, datetime):
            return format_when(v, lang=lang, tz=self.tz)
        if isinstance(v, date):
            return format_date(v, lang)
        if callable(v):
            return v(lang)
        return v

    async def say(self, room_id: str, key: str, n: int | None = None, *, lang: str | None = None,
                  reply_to: str | None = None, **params: Any) -> None:
        rich = self.rich(lang or await self.lang(room_id), key, n, **params)
        await self.messenger.send(room_id, rich, reply_to=reply_to)

    async def send(self, room_id: str, compose: Callable[[str], Rich], *, reply_to: str | None = None) -> None:
        """compose(lang) -> Rich, called with the room's language."""
        await self.messenger.send(room_id, compose(await self.lang(room_id)), reply_to=reply_to)

    async def delivery_failed(self, room_id: str, reason: str, *, what: str, reply_to: str | None,
                              ref: str) -> None:
        """Tell the room of the command (or, without one, the room itself) that a message of the bot was
        given up. what: here (the answer), elsewhere (a message the command caused in another room, so
        not passed on), unprompted (no command); reason: too_large, refused (by the homeserver) or
        gave_up (after every retry)."""
        lang = await self.lang(room_id)
        rich = fmt("{what} {why}", what=self.rich(lang, "delivery.failed." + what),
                   why=self.rich(lang, "delivery.reason." + reason))
        await self.messenger.send(room_id, rich, reply_to=reply_to, ref=ref)

    async def dm(self, user_id: str, lang: str, key: str, **params: Any) -> None:
        await self.messenger.dm(user_id, self.rich(lang, key, **params))

    async def organiser_rooms(self, *, safe_spaces: bool = True) -> list[str]:
        """Rooms with the role organisers, by room id (so the first is stable); safe_spaces=False leaves out
        any that is also a safe space."""
        rooms = [r for r, _ in await self.rooms.with_role("organisers")]
        if not safe_spaces:
            hidden = {r for r, _ in await self.rooms.with_role("safespace")}
            rooms = [r for r in rooms if r not in hidden]
        return rooms

    async def room_name(self, room_id: str) -> str:
        """The room's name, or its id once the bot is no longer in it."""
        info = await self.chat.room_info(room_id)
        return info.name if info is not None else room_id
