"""Trust-anchor roles: the one room holding organisers, awareness or announcements <account>,
moves that wait for the holder's confirmation, and the rooms the bot joined as a direct chat."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_ms, to_ms

ANCHORS = ("organisers", "awareness", "announcements")
_IN_ANCHORS = "role IN ('organisers', 'awareness', 'announcements')"

# core's step 5 (storage/core.py lists it in place, so a step appended there cannot renumber it)
ANCHOR_STEP = (
        # Before anchors were unique a member could give a room of their own a second awareness or
        # organisers role; the room that got the role first keeps it.
        f"DELETE FROM room_roles WHERE {_IN_ANCHORS} AND rowid NOT IN"
        f" (SELECT MIN(rowid) FROM room_roles WHERE {_IN_ANCHORS} GROUP BY role, COALESCE(arg, ''))",
        f"CREATE UNIQUE INDEX room_roles_anchor ON room_roles (role, COALESCE(arg, '')) WHERE {_IN_ANCHORS}",
        "CREATE TABLE role_moves (id INTEGER PRIMARY KEY, role TEXT NOT NULL, arg TEXT, from_room TEXT NOT NULL,"
        " to_room TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL)",
        # a room the bot entered on an invitation marked as a direct chat never vouches for anyone,
        # even after more people joined it
        "CREATE TABLE direct_joins (room_id TEXT PRIMARY KEY)",
)


def room_key(room_id: str) -> str:
    """How a room that never vouches is recorded: a digest, so the table names no direct chat."""
    return "h:" + hashlib.sha256(room_id.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RoleMove:
    id: int
    role: str
    arg: str | None
    from_room: str
    to_room: str
    requested_by: str
    requested_at: datetime


class Anchors:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def holder(self, role: str, arg: str | None = None) -> str | None:
        return await self.db.fetchval(
            "SELECT room_id FROM room_roles WHERE role = ? AND COALESCE(arg, '') = ?", (role, arg or ""))

    async def holders(self) -> list[tuple[str, str | None, str]]:
        """(role, arg, room_id) of every anchor that is set."""
        rows = await self.db.fetchall(
            f"SELECT role, arg, room_id FROM room_roles WHERE {_IN_ANCHORS} ORDER BY role, arg")
        return [(r["role"], r["arg"], r["room_id"]) for r in rows]

    async def move(self, role: str, arg: str | None, to_room: str) -> None:
        """Give the anchor to to_room, taking it from whoever holds it (one room per role and account)."""
        await self.db.execute("DELETE FROM room_roles WHERE role = ? AND COALESCE(arg, '') = ?", (role, arg or ""))
        if role == "announcements":  # a room announces for one account at a time
            await self.db.execute("DELETE FROM room_roles WHERE room_id = ? AND role = ?", (to_room, role))
        await self.db.execute("INSERT INTO room_roles (room_id, role, arg) VALUES (?, ?, ?)", (to_room, role, arg))
        await self.db.execute("DELETE FROM role_moves WHERE role = ? AND COALESCE(arg, '') = ?", (role, arg or ""))

    async def request(self, role: str, arg: str | None, from_room: str, to_room: str, by: str,
                      at: datetime) -> RoleMove:
        """A move waiting for the holder room's confirmation; a repeated request replaces the earlier one."""
        await self.db.execute(
            "DELETE FROM role_moves WHERE role = ? AND COALESCE(arg, '') = ? AND to_room = ?", (role, arg or "", to_room))
        move_id = await self.db.execute(
            "INSERT INTO role_moves (role, arg, from_room, to_room, requested_by, requested_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (role, arg, from_room, to_room, by, to_ms(at)))
        return RoleMove(move_id, role, arg, from_room, to_room, by, at)

    async def pending(self, move_id: int) -> RoleMove | None:
        row = await self.db.fetchone("SELECT * FROM role_moves WHERE id = ?", (move_id,))
        if row is None:
            return None
        return RoleMove(row["id"], row["role"], row["arg"], row["from_room"], row["to_room"], row["requested_by"],
                        from_ms(row["requested_at"]))  # type: ignore[arg-type]

    async def drop(self, move_id: int) -> None:
        await self.db.execute("DELETE FROM role_moves WHERE id = ?", (move_id,))

    async def requested_by(self, user_id: str) -> list[RoleMove]:
        ids = await self.db.fetchall("SELECT id FROM role_moves WHERE requested_by = ? ORDER BY id", (user_id,))
        return [m for r in ids if (m := await self.pending(r["id"])) is not None]

    async def forget_requester(self, user_id: str) -> int:
        return await self.db.execute_rowcount("DELETE FROM role_moves WHERE requested_by = ?", (user_id,))

    async def mark_direct(self, room_id: str) -> None:
        await mark_direct(self.db, room_id)

    async def never_vouch(self, room_ids: list[str]) -> set[str]:
        """Those of room_ids that were ever a direct chat (entered as one, opened by the bot, or used as one):
        power there never vouches, even after more people joined."""
        marked = {r["room_id"] for r in await self.db.fetchall("SELECT room_id FROM direct_joins")}
        known = {r["room_id"] for r in await self.db.fetchall("SELECT room_id FROM dm_rooms")}
        return {r for r in room_ids if r in known or room_key(r) in marked or r in marked}


async def mark_direct(db: Database, room_id: str) -> None:
    await db.execute("INSERT OR IGNORE INTO direct_joins (room_id) VALUES (?)", (room_key(room_id),))
