"""Power-level rules for safe spaces: what the bot needs, and the content that mutes newcomers.

Works on the raw `m.room.power_levels` content with the spec's defaults, so it is right
whatever a client or the adapter left out. Room-v12 creators are never written into
`users` (the homeserver rejects that; they have unlimited power anyway).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Defaults from the Matrix spec when a key is missing from m.room.power_levels.
DEFAULTS = {"invite": 0, "kick": 50, "ban": 50, "redact": 50, "events_default": 0, "state_default": 50,
            "users_default": 0}
WRITE_LEVEL = 1  # members below this can read but not write


def _level(pl: Mapping[str, Any], key: str) -> int:
    return int(pl.get(key, DEFAULTS[key]))


def event_level(pl: Mapping[str, Any], event_type: str, state: bool = True) -> int:
    events = pl.get("events") or {}
    if event_type in events:
        return int(events[event_type])
    return _level(pl, "state_default" if state else "events_default")


def missing_powers(pl: Mapping[str, Any], bot_level: int) -> list[str]:
    """Which of invite, kick, power levels, join rules the bot may not do (empty = all fine)."""
    needs = {
        "invite": _level(pl, "invite"),
        "kick": _level(pl, "kick"),
        "power_levels": event_level(pl, "m.room.power_levels"),
        "join_rules": event_level(pl, "m.room.join_rules"),
    }
    return [what for what, level in needs.items() if bot_level < level]


def muted_power_levels(pl: Mapping[str, Any], members: Iterable[str], creators: Iterable[str],
                       own_user_id: str) -> dict[str, Any]:
    """New power-levels content: newcomers (level 0) read only, every current member keeps writing.

    events_default becomes 1 and so does any explicit event level below 1 (a level-0
    m.reaction or topic would let newcomers write after all); everything above stays.
    Current members below 1 get an explicit 1, users_default becomes 0.
    """
    content: dict[str, Any] = {k: v for k, v in pl.items()}
    old_default = _level(pl, "users_default")
    users = {u: int(v) for u, v in (pl.get("users") or {}).items()}
    creators = set(creators)
    for member in members:
        if member == own_user_id or (member in creators and member not in users):
            continue
        users[member] = max(WRITE_LEVEL, users.get(member, old_default))
    content["users"] = users
    content["users_default"] = 0
    content["events_default"] = WRITE_LEVEL
    content["events"] = {t: max(WRITE_LEVEL, int(v)) for t, v in (pl.get("events") or {}).items()}
    return content
