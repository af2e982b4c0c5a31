"""How the bot names a person in a room: the display name, told apart from equal names by the id.

Follows the Matrix spec's rule for a member's display name (client-server API, "Calculating
the display name for a user"): the name the member set in this room; the user id when they set
none; "Name (@id)" when another member of the room has the same name, or when the name looks
like (or contains) a user id that is not theirs. Display names are user text: `mention` and `plain` build
them with bot.render, which escapes them and defuses @room.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from bot.ports import RoomInfo
from bot.render import Rich, mention, plain

_USER_ID = re.compile(r"@[^\s:()]+:[^\s()]+")
MAX_NAME = 64  # characters of a display name shown (Synapse allows 256)


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _clean(name: str | None) -> str:
    """A display name on one line, without control characters or bidi overrides (which could turn the
    text after it around); joiners stay, so emoji sequences such as 👩‍💻 survive."""
    text = " ".join("".join(ch for ch in (name or "")
                            if ch not in _BIDI and (ch.isspace() or unicodedata.category(ch) != "Cc")).split())
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + "…"


def _looks(name: str) -> str:
    """What a name looks like: case and invisible characters (zero-width space, joiners) do not count,
    so "Anna" and "anna\u200b" are the same name to tell apart."""
    return "".join(ch for ch in name if unicodedata.category(ch) != "Cf").casefold()


class Names:
    """Names of the members of one room (display_names: user id -> display name as set there)."""

    def __init__(self, display_names: Mapping[str, str | None] | None = None) -> None:
        self._set = {uid: cleaned for uid, name in (display_names or {}).items() if (cleaned := _clean(name))}
        taken: dict[str, int] = {}
        for name in self._set.values():
            taken[_looks(name)] = taken.get(_looks(name), 0) + 1
        self._taken = taken

    @classmethod
    def of(cls, info: RoomInfo | None) -> "Names":
        return cls(info.display_names) if info is not None else cls()

    def name(self, user_id: str) -> str:
        """How user_id is called in this room."""
        own = self._set.get(user_id)
        if own is None:
            return user_id
        disguised = any(found != user_id for found in _USER_ID.findall(own))  # "@ben:test", "x (@ben:test)"
        clash = self._taken.get(_looks(own), 0) > 1 or disguised
        return f"{own} ({user_id})" if clash else own

    def mention(self, user_id: str) -> Rich:
        """A pill that pings user_id (in m.mentions), labelled with their name."""
        return mention(user_id, self.name(user_id))

    def plain(self, user_id: str) -> Rich:
        """The name as text: no link, no ping."""
        return plain(self.name(user_id))


NO_NAMES = Names()
