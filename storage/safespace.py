"""Safe spaces, admissions, awareness requests, anonymous report routes and quota speakers' lists.

Kept as small as the features allow: no message text from a safe space, no gender, no
timestamps. A report keeps no reporter id, only a keyed reference (HMAC with a key file
outside the database) that can be matched against a candidate user, never reversed.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database

MIGRATIONS = [
    (
        "CREATE TABLE safespace_rooms (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL UNIQUE,"
        " rules TEXT NOT NULL DEFAULT '', approval INTEGER NOT NULL DEFAULT 0)",
        # state: asked (rules shown, not confirmed) | admitted (invited) | joined (in the room,
        # rules not accepted yet); the row goes once the rules are accepted (the power level is the record)
        "CREATE TABLE safespace_admissions (room_id TEXT NOT NULL, user_id TEXT NOT NULL, state TEXT NOT NULL,"
        " PRIMARY KEY (room_id, user_id))",
        "CREATE TABLE safespace_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, UNIQUE (room_id, user_id))",
        "CREATE TABLE safespace_removals (room_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " PRIMARY KEY (room_id, user_id))",
        "CREATE TABLE safespace_reports (id INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT)",
        "CREATE TABLE speakers_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, list TEXT NOT NULL CHECK (list IN ('go', 'finta', 'open')))",
        "CREATE INDEX speakers_queue_room ON speakers_queue (room_id, id)",
        "CREATE TABLE speakers_spoken (room_id TEXT NOT NULL, user_id TEXT NOT NULL, times INTEGER NOT NULL,"
        " PRIMARY KEY (room_id, user_id))",
        "CREATE TABLE speakers_rounds (room_id TEXT PRIMARY KEY, last_list TEXT)",
    ),
    (
        # a report's latest answer: the day (never finer) and its place in the order of answers, so a
        # reporter's plain message in the direct chat soon after goes to that report. Nothing here
        # names the reporter or their direct chat; the keyed route still decides whose report it is.
        "ALTER TABLE safespace_reports ADD COLUMN answered_day INTEGER",
        "ALTER TABLE safespace_reports ADD COLUMN answered_seq INTEGER",
    ),
]



@dataclass(frozen=True)
class SafeSpace:
    id: int
    room_id: str
    rules: str
    approval: bool


@dataclass(frozen=True)
class Admission:
    room_id: str
    user_id: str
    state: str


@dataclass(frozen=True)
class Request:
    id: int
    room_id: str
    user_id: str


class SafeSpaces:
    """Rooms marked as safe space (role 'safespace' in room_roles) with their rules and approval flag."""

    def __init__(self, db: Database) -> None:
        self.db = db

    _ACTIVE = (
        "SELECT s.id, s.room_id, s.rules, s.approval FROM safespace_rooms s"
        " JOIN room_roles r ON r.room_id = s.room_id AND r.role = 'safespace'"
    )

    async def mark(self, room_id: str, approval: bool) -> SafeSpace:
        await self.db.execute(
            "INSERT INTO safespace_rooms (room_id, approval) VALUES (?, ?) ON CONFLICT (room_id)"
            " DO UPDATE SET approval = excluded.approval",
            (room_id, int(approval)),
        )
        row = await self.db.fetchone(
            "SELECT id, room_id, rules, approval FROM safespace_rooms WHERE room_id = ?", (room_id,)
        )
        return _space(row)

    async def set_rules(self, room_id: str, rules: str) -> None:
        await self.db.execute("UPDATE safespace_rooms SET rules = ? WHERE room_id = ?", (rules, room_id))

    async def get(self, room_id: str) -> SafeSpace | None:
        row = await self.db.fetchone(self._ACTIVE + " WHERE s.room_id = ?", (room_id,))
        return _space(row) if row else None

    async def all(self) -> list[SafeSpace]:
        return [_space(r) for r in await self.db.fetchall(self._ACTIVE + " ORDER BY s.id")]


def _space(row) -> SafeSpace:
    return SafeSpace(row["id"], row["room_id"], row["rules"], bool(row["approval"]))


class Admissions:
    """Where each person stands with each safe space, and who was removed by the awareness team."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, room_id: str, user_id: str) -> Admission | None:
        row = await self.db.fetchone(
            "SELECT room_id, user_id, state FROM safespace_admissions WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )
        return Admission(row["room_id"], row["user_id"], row["state"]) if row else None

    async def set(self, room_id: str, user_id: str, state: str) -> None:
        await self.db.execute(
            "INSERT INTO safespace_admissions (room_id, user_id, state) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id, user_id) DO UPDATE SET state = excluded.state",
            (room_id, user_id, state),
        )

    async def drop(self, room_id: str, user_id: str) -> bool:
        return await self.db.execute_rowcount(
            "DELETE FROM safespace_admissions WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        ) > 0

    async def of_user(self, user_id: str, states: Iterable[str] | None = None) -> list[Admission]:
        rows = await self.db.fetchall(
            "SELECT room_id, user_id, state FROM safespace_admissions WHERE user_id = ? ORDER BY room_id",
            (user_id,),
        )
        wanted = set(states) if states is not None else None
        return [Admission(r["room_id"], r["user_id"], r["state"]) for r in rows
                if wanted is None or r["state"] in wanted]

    async def forget_user(self, user_id: str) -> int:
        return await self.db.execute_rowcount("DELETE FROM safespace_admissions WHERE user_id = ?", (user_id,))

    # -------------------------------------------------------------- removals
    async def remove(self, room_id: str, user_id: str) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO safespace_removals (room_id, user_id) VALUES (?, ?)", (room_id, user_id)
        )

    async def was_removed(self, room_id: str, user_id: str) -> bool:
        return await self.db.fetchval(
            "SELECT 1 FROM safespace_removals WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        ) is not None

    async def lift_removal(self, room_id: str, user_id: str) -> None:
        await self.db.execute("DELETE FROM safespace_removals WHERE room_id = ? AND user_id = ?", (room_id, user_id))

    async def removals_of(self, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT room_id FROM safespace_removals WHERE user_id = ? ORDER BY room_id", (user_id,)
        )
        return [r["room_id"] for r in rows]


class Requests:
    """Confirmed admission requests waiting for the awareness team (#N, never reused)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, room_id: str, user_id: str) -> int:
        return await self.db.execute(
            "INSERT INTO safespace_requests (room_id, user_id) VALUES (?, ?)", (room_id, user_id)
        )

    async def get(self, number: int) -> Request | None:
        row = await self.db.fetchone("SELECT id, room_id, user_id FROM safespace_requests WHERE id = ?", (number,))
        return Request(row["id"], row["room_id"], row["user_id"]) if row else None

    async def find(self, room_id: str, user_id: str) -> Request | None:
        row = await self.db.fetchone(
            "SELECT id, room_id, user_id FROM safespace_requests WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )
        return Request(row["id"], row["room_id"], row["user_id"]) if row else None

    async def close(self, number: int) -> None:
        await self.db.execute("DELETE FROM safespace_requests WHERE id = ?", (number,))

    async def of_user(self, user_id: str) -> list[Request]:
        rows = await self.db.fetchall(
            "SELECT id, room_id, user_id FROM safespace_requests WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [Request(r["id"], r["room_id"], r["user_id"]) for r in rows]

    async def forget_user(self, user_id: str) -> int:
        return await self.db.execute_rowcount("DELETE FROM safespace_requests WHERE user_id = ?", (user_id,))


class Reports:
    """Anonymous reports: a number and a keyed reference to the reporter, nothing else.

    route = HMAC-SHA256(key, "<id>:<user id>"), the key in a file next to the database
    (created 0600 on first use). The database alone cannot tell who reported, nor whether
    two reports came from the same person; with the key, a given candidate can be tested.
    """

    def __init__(self, db: Database, key_path: Path) -> None:
        self.db = db
        self.key_path = Path(key_path)
        self._key: bytes | None = None

    def _load_key(self) -> bytes:
        if self._key is None:
            try:
                self._key = self.key_path.read_bytes()
            except FileNotFoundError:
                self.key_path.parent.mkdir(parents=True, exist_ok=True)
                key = secrets.token_bytes(32)
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key)
                self._key = key
        return self._key

    def _route(self, report_id: int, user_id: str) -> str:
        return hmac.new(self._load_key(), f"{report_id}:{user_id}".encode(), hashlib.sha256).hexdigest()

    async def create(self, reporter: str) -> int:
        report_id = await self.db.execute("INSERT INTO safespace_reports (route) VALUES (NULL)")
        await self.db.execute("UPDATE safespace_reports SET route = ? WHERE id = ?",
                              (self._route(report_id, reporter), report_id))
        return report_id

    async def exists(self, report_id: int) -> bool:
        return await self.db.fetchval("SELECT 1 FROM safespace_reports WHERE id = ?", (report_id,)) is not None

    async def reporter(self, report_id: int, candidates: Iterable[str]) -> str | None:
        """The candidate whose keyed reference matches report #id, or None (unknown or erased)."""
        route = await self.db.fetchval("SELECT route FROM safespace_reports WHERE id = ?", (report_id,))
        if route is None:
            return None
        for user_id in candidates:
            if hmac.compare_digest(route, self._route(report_id, user_id)):
                return user_id
        return None

    async def mark_answered(self, report_id: int, day: int) -> None:
        """The team answered report #id on `day` (epoch ms of a UTC midnight, storage.core.day_of)."""
        await self.db.execute(
            "UPDATE safespace_reports SET answered_day = ?,"
            " answered_seq = (SELECT COALESCE(MAX(answered_seq), 0) + 1 FROM safespace_reports) WHERE id = ?",
            (day, report_id))

    async def latest_answered(self, user_id: str, since_day: int) -> int | None:
        """user_id's report whose answer came last, if that was on since_day or later."""
        rows = await self.db.fetchall(
            "SELECT id, route FROM safespace_reports WHERE route IS NOT NULL AND answered_day >= ?"
            " ORDER BY answered_seq DESC", (since_day,))
        for r in rows:
            if hmac.compare_digest(r["route"], self._route(r["id"], user_id)):
                return r["id"]
        return None

    async def is_theirs(self, report_id: int, user_id: str) -> bool:
        return await self.reporter(report_id, [user_id]) == user_id

    async def of_user(self, user_id: str) -> list[int]:
        rows = await self.db.fetchall("SELECT id, route FROM safespace_reports WHERE route IS NOT NULL ORDER BY id")
        return [r["id"] for r in rows if hmac.compare_digest(r["route"], self._route(r["id"], user_id))]

    async def erase_routes(self, user_id: str) -> list[int]:
        ids = await self.of_user(user_id)
        for report_id in ids:
            await self.db.execute("UPDATE safespace_reports SET route = NULL, answered_day = NULL, answered_seq = NULL"
                                  " WHERE id = ?", (report_id,))
        return ids


async def reports_with_route(db: Database) -> int:
    """How many reports can still be answered (a machine without safespace.key cannot answer them)."""
    return await db.fetchval("SELECT COUNT(*) FROM safespace_reports WHERE route IS NOT NULL")


@dataclass(frozen=True)
class SpeakerEntry:
    id: int
    user_id: str
    list: str  # 'go' | 'finta' | 'open'


class SpeakersLists:
    """One quota speakers' list per room: the queue, who has spoken (not on which list), the last list called."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, room_id: str, user_id: str, list_: str) -> int:
        return await self.db.execute(
            "INSERT INTO speakers_queue (room_id, user_id, list) VALUES (?, ?, ?)", (room_id, user_id, list_)
        )

    async def waiting(self, room_id: str) -> list[SpeakerEntry]:
        rows = await self.db.fetchall(
            "SELECT id, user_id, list FROM speakers_queue WHERE room_id = ? ORDER BY id", (room_id,)
        )
        return [SpeakerEntry(r["id"], r["user_id"], r["list"]) for r in rows]

    async def withdraw(self, room_id: str, user_id: str) -> int:
        return await self.db.execute_rowcount(
            "DELETE FROM speakers_queue WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )

    async def spoken(self, room_id: str) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT user_id, times FROM speakers_spoken WHERE room_id = ?", (room_id,))
        return {r["user_id"]: r["times"] for r in rows}

    async def last_list(self, room_id: str) -> str | None:
        return await self.db.fetchval("SELECT last_list FROM speakers_rounds WHERE room_id = ?", (room_id,))

    async def call(self, room_id: str, entry: SpeakerEntry) -> None:
        """The entry's speaker has the floor: the entry goes; a speech (not a motion) is counted."""
        await self.db.execute("DELETE FROM speakers_queue WHERE id = ?", (entry.id,))
        if entry.list == "go":
            return
        await self.db.execute(
            "INSERT INTO speakers_spoken (room_id, user_id, times) VALUES (?, ?, 1) ON CONFLICT (room_id, user_id)"
            " DO UPDATE SET times = speakers_spoken.times + 1",  # qualified: PostgreSQL finds a bare name ambiguous
            (room_id, entry.user_id),
        )
        await self.db.execute(
            "INSERT INTO speakers_rounds (room_id, last_list) VALUES (?, ?) ON CONFLICT (room_id)"
            " DO UPDATE SET last_list = excluded.last_list",
            (room_id, entry.list),
        )

    async def clear(self, room_id: str) -> int:
        n = await self.db.execute_rowcount("DELETE FROM speakers_queue WHERE room_id = ?", (room_id,))
        await self.db.execute("DELETE FROM speakers_spoken WHERE room_id = ?", (room_id,))
        await self.db.execute("DELETE FROM speakers_rounds WHERE room_id = ?", (room_id,))
        return n

    async def of_user(self, user_id: str) -> tuple[list[str], list[str]]:
        """(rooms where user_id waits, rooms where user_id is counted as having spoken)."""
        waiting = await self.db.fetchall(
            "SELECT DISTINCT room_id FROM speakers_queue WHERE user_id = ? ORDER BY room_id", (user_id,)
        )
        spoken = await self.db.fetchall(
            "SELECT room_id FROM speakers_spoken WHERE user_id = ? ORDER BY room_id", (user_id,)
        )
        return [r["room_id"] for r in waiting], [r["room_id"] for r in spoken]

    async def forget_user(self, user_id: str) -> int:
        n = await self.db.execute_rowcount("DELETE FROM speakers_queue WHERE user_id = ?", (user_id,))
        return n + await self.db.execute_rowcount("DELETE FROM speakers_spoken WHERE user_id = ?", (user_id,))
