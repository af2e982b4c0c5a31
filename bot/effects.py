"""Side effects other than messages, as Delivery performs them after commit: one function per outbox kind.

Features queue them through the Messenger (invite, kick, power, state, upload, create_room), so they
happen exactly when the command that caused them was committed and never inside a transaction.
Each is made safe to repeat, because a crash between the call and the row's mark repeats it:
- invite and kick re-read the membership first (invite only who is neither invited nor joined,
  kick only who is still joined or invited);
- a power change carries the intended change, applied to the power levels read at delivery time,
  so it never writes back a stale copy over someone else's change;
- state (join rules) is a whole content that the homeserver keeps once, however often it is set;
- an upload repeated leaves an unused copy in the media repository, nothing more;
- a room creation has no transaction id: Delivery notes on the row that it is creating (STARTED),
  creates the room with the row's ref in a state event, and marks the row with the room id in the
  first write after the call. A row found STARTED (a crash in between) first looks for a room with
  its ref among those the syncs showed (after a restart the first sync has the full state, and
  Delivery starts after it); only if the homeserver created the room but the bot has not seen it
  yet is a second one created.
"""
from __future__ import annotations

import base64
from typing import Any

from bot.ports import Chat

RESULT = "plenum.result"  # a string in a row's content that Delivery replaces with the needed row's result
FALLBACK = "plenum.fallback"  # content sent instead when the needed row was given up (a file as text)
STARTED = "plenum.started"  # a creation row's result while the call may have happened (see above)
EFFECT_KINDS = frozenset({"invite", "kick", "power", "state", "upload", "create_room"})


def fill(value: Any, result: str) -> Any:
    """value with every RESULT string replaced by result (an mxc URI, an event id, a room id)."""
    if value == RESULT:
        return result
    if isinstance(value, dict):
        return {k: fill(v, result) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, result) for v in value]
    return value


def power_change(*, users: dict[str, int] | None = None, users_at_least: dict[str, int] | None = None,
                 set_levels: dict[str, int] | None = None, events_at_least: int | None = None) -> dict[str, Any]:
    """The content of a power row: what to change, not the whole state (see apply_power_change)."""
    change: dict[str, Any] = {}
    if users:
        change["users"] = users
    if users_at_least:
        change["users_at_least"] = users_at_least
    if set_levels:
        change["set"] = set_levels
    if events_at_least is not None:
        change["events_at_least"] = events_at_least
    return change


def apply_power_change(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """New m.room.power_levels content: current with the change applied.

    users: exact levels; users_at_least: raised to at least this (from the level they have now, the old
    users_default if unlisted); set: top-level levels (users_default, events_default, ...);
    events_at_least: every explicit event level raised to at least this."""
    new = dict(current)
    old_default = int(current.get("users_default", 0))
    users = {u: int(v) for u, v in (current.get("users") or {}).items()}
    for user, level in (change.get("users_at_least") or {}).items():
        users[user] = max(int(level), users.get(user, old_default))
    users.update({u: int(v) for u, v in (change.get("users") or {}).items()})
    new["users"] = users
    new.update(change.get("set") or {})
    if "events_at_least" in change:
        floor = int(change["events_at_least"])
        new["events"] = {t: max(floor, int(v)) for t, v in (current.get("events") or {}).items()}
    return new


def upload_content(data: bytes, mime: str, filename: str) -> dict[str, Any]:
    """An upload row's content: the bytes themselves (base64). Fine for what the bot uploads, .ics
    entries and Markdown exports of a few kilobytes; large media would want a file beside the database."""
    return {"data": base64.b64encode(data).decode("ascii"), "mime": mime, "filename": filename}


async def membership(chat: Chat, room_id: str, user_id: str) -> str | None:
    state = await chat.get_state(room_id, "m.room.member", user_id)
    return (state or {}).get("membership")


async def perform(chat: Chat, kind: str, room_id: str | None, content: dict[str, Any]) -> str | None:
    """Do one side effect; returns what later rows may need (an mxc URI, a room id), else None.

    Raises SendRefused when the homeserver refuses it for good; anything else may be retried."""
    if kind == "invite":
        assert room_id is not None
        if await membership(chat, room_id, content["user"]) not in ("invite", "join"):
            await chat.invite(room_id, content["user"])
        return None
    if kind == "kick":
        assert room_id is not None
        if await membership(chat, room_id, content["user"]) in ("invite", "join"):
            await chat.kick(room_id, content["user"], content.get("reason"))
        return None
    if kind == "power":
        assert room_id is not None
        current = await chat.get_state(room_id, "m.room.power_levels") or {}
        new = apply_power_change(current, content)
        if new != current:
            await chat.put_state(room_id, "m.room.power_levels", new)
        return None
    if kind == "state":
        assert room_id is not None
        await chat.put_state(room_id, content["type"], content["content"], content.get("state_key", ""))
        return None
    if kind == "upload":
        return await chat.upload(base64.b64decode(content["data"]), content["mime"], content["filename"])
    if kind == "create_room":
        return await chat.create_room(list(content["invite"]), name=content.get("name"),
                                      is_direct=bool(content.get("is_direct")), marker=content.get("marker"))
    raise ValueError(f"unknown outbox kind {kind!r}")
