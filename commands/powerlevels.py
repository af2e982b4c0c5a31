"""Power-level rules for safe spaces: what the bot needs, and the content that mutes newcomers.

Works on the raw `m.room.power_levels` content with the spec's defaults, so it is right
whatever a client or the adapter left out. Room-v12 creators are never written into
`users` (the homeserver rejects that; they have unlimited power anyway).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.effects import apply_power_change, power_change

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


def mute_change(pl: Mapping[str, Any], members: Iterable[str], creators: Iterable[str],
                own_user_id: str) -> dict[str, Any]:
    """The change that mutes newcomers (level 0 reads only) while every current member keeps writing;
    an outbox power row, applied at delivery to the levels the room has then (bot.effects).

    events_default becomes 1 and so does any explicit event level below 1 (a level-0
    m.reaction or topic would let newcomers write after all); everything above stays.
    Current members below 1 get at least 1, users_default becomes 0.
    """
    listed = set((pl.get("users") or {}))
    creators = set(creators)
    keep = {m: WRITE_LEVEL for m in members if m != own_user_id and not (m in creators and m not in listed)}
    return power_change(users_at_least=keep, set_levels={"users_default": 0, "events_default": WRITE_LEVEL},
                        events_at_least=WRITE_LEVEL)


def muted_power_levels(pl: Mapping[str, Any], members: Iterable[str], creators: Iterable[str],
                       own_user_id: str) -> dict[str, Any]:
    """New power-levels content: mute_change applied to pl."""
    return apply_power_change(dict(pl), mute_change(pl, members, creators, own_user_id))
