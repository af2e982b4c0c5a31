"""Structural duties: duties and their pools, planned slots and turns, overrides, absences, welcome buddies.

A slot is one occurrence of a duty that has been planned (it has jobs for announcement,
reminder and escalation). A turn is one person's part in a slot; its status moves forward
(assigned/taken -> done or missed) and future turns can be given up (handed_back, released,
dropped), but no row is ever removed from the past: overrides are appended to duty_overrides.
The only deletions are never-announced plan rows (re-planned when the pool changes) and
what a person asks the bot to forget (their ids become NULL in the history).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from storage.db import Database, from_ms, to_ms
from storage.duty_swaps import SWAP_STEP

MIGRATIONS = [
    (
        "CREATE TABLE duties (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL, number INTEGER NOT NULL,"
        " name TEXT NOT NULL, name_key TEXT NOT NULL, recurrence TEXT, people INTEGER NOT NULL DEFAULT 1,"
        " lead_minutes INTEGER NOT NULL, remind_minutes INTEGER NOT NULL, weight REAL NOT NULL DEFAULT 1,"
        " created_at INTEGER NOT NULL, deleted_at INTEGER, UNIQUE (room_id, number))",
        "CREATE UNIQUE INDEX duties_name ON duties (room_id, name_key) WHERE deleted_at IS NULL",
        "CREATE TABLE duty_pool (duty_id INTEGER NOT NULL REFERENCES duties (id), user_id TEXT NOT NULL,"
        " joined_at INTEGER NOT NULL, PRIMARY KEY (duty_id, user_id))",
        "CREATE INDEX duty_pool_user ON duty_pool (user_id)",
        "CREATE TABLE duty_slots (duty_id INTEGER NOT NULL REFERENCES duties (id), occurrence INTEGER NOT NULL,"
        " planned_at INTEGER NOT NULL, announced_at INTEGER, reminded_at INTEGER, escalated_at INTEGER,"
        " cancelled_at INTEGER, PRIMARY KEY (duty_id, occurrence))",
        # status: assigned | taken | done | missed | handed_back | released | dropped | swapped
        # kind: plan | refill | take | buddy | swap (see storage/duty_swaps.py)
        "CREATE TABLE duty_turns (id INTEGER PRIMARY KEY AUTOINCREMENT, duty_id INTEGER NOT NULL REFERENCES duties (id),"
        " occurrence INTEGER NOT NULL, user_id TEXT, status TEXT NOT NULL, kind TEXT NOT NULL,"
        " weight REAL NOT NULL, created_at INTEGER NOT NULL, done_at INTEGER)",
        "CREATE INDEX duty_turns_slot ON duty_turns (duty_id, occurrence)",
        "CREATE INDEX duty_turns_user ON duty_turns (user_id, occurrence)",
        "CREATE INDEX duty_turns_time ON duty_turns (occurrence)",
        # append-only log of changes to a plan: handback | take | swap | absence | leave | forget | edit | delete
        "CREATE TABLE duty_overrides (id INTEGER PRIMARY KEY AUTOINCREMENT, duty_id INTEGER NOT NULL,"
        " occurrence INTEGER NOT NULL, kind TEXT NOT NULL, from_user TEXT, to_user TEXT, at INTEGER NOT NULL)",
        "CREATE TABLE duty_absences (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
        " first_day TEXT NOT NULL, last_day TEXT NOT NULL, created_at INTEGER NOT NULL)",
        "CREATE INDEX duty_absences_user ON duty_absences (user_id, last_day)",
        # kind: baseline (was there before) | buddy (got one) | nobody (nobody was available)
        "CREATE TABLE welcome_log (room_id TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " buddy TEXT, duty_id INTEGER, chat_room TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (room_id, user_id))",
    ),
    SWAP_STEP,  # step 2: swap offers (storage/duty_swaps.py); append new steps after it
]

HOLDING = ("assigned", "taken", "done", "missed")  # the person has (or had) the turn
OPEN = ("assigned", "taken")  # holding, not confirmed yet


@dataclass(frozen=True)
class Duty:
    id: int
    room_id: str
    number: int
    name: str
    recurrence: str | None  # JSON of commands.recurrence.Recurrence; None = on demand only
    people: int
    lead_minutes: int
    remind_minutes: int
    weight: float
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class PoolMember:
    user_id: str
    joined_at: datetime


@dataclass(frozen=True)
class Slot:
    duty_id: int
    occurrence: datetime
    announced_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None


@dataclass(frozen=True)
class TurnRow:
    id: int
    duty_id: int
    occurrence: datetime
    user_id: str | None
    status: str
    kind: str
    weight: float


@dataclass(frozen=True)
class AbsenceRow:
    id: int
    user_id: str
    first_day: date
    last_day: date


@dataclass(frozen=True)
class WelcomeRow:
    room_id: str
    user_id: str
    kind: str
    buddy: str | None
    duty_id: int | None
    chat_room: str | None


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class Duties:
    """Duties of a room (numbered per room, names unique case-insensitively among active ones) and pools."""

    _COLS = ("id, room_id, number, name, recurrence, people, lead_minutes, remind_minutes, weight, created_at,"
             " deleted_at")
    EDITABLE = frozenset({"name", "recurrence", "people", "lead_minutes", "remind_minutes", "weight"})

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _duty(r) -> Duty:
        return Duty(r["id"], r["room_id"], r["number"], r["name"], r["recurrence"], r["people"], r["lead_minutes"],
                    r["remind_minutes"], r["weight"], from_ms(r["created_at"]), from_ms(r["deleted_at"]))

    async def create(self, room_id: str, name: str, recurrence: str | None, people: int, lead_minutes: int,
                     remind_minutes: int, weight: float, at: datetime) -> Duty:
        number = (await self.db.fetchval("SELECT MAX(number) FROM duties WHERE room_id = ?", (room_id,)) or 0) + 1
        duty_id = await self.db.execute(
            "INSERT INTO duties (room_id, number, name, name_key, recurrence, people, lead_minutes, remind_minutes,"
            " weight, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (room_id, number, name, name.casefold(), recurrence, people, lead_minutes, remind_minutes, weight,
             to_ms(at)))
        duty = await self.get(duty_id)
        assert duty is not None
        return duty

    async def get(self, duty_id: int) -> Duty | None:
        row = await self.db.fetchone(f"SELECT {self._COLS} FROM duties WHERE id = ?", (duty_id,))
        return self._duty(row) if row else None

    async def in_room(self, room_id: str, *, deleted: bool = False) -> list[Duty]:
        cond = "" if deleted else " AND deleted_at IS NULL"
        rows = await self.db.fetchall(f"SELECT {self._COLS} FROM duties WHERE room_id = ?{cond} ORDER BY number",
                                      (room_id,))
        return [self._duty(r) for r in rows]

    async def by_name(self, room_id: str, name: str) -> Duty | None:
        row = await self.db.fetchone(
            f"SELECT {self._COLS} FROM duties WHERE room_id = ? AND name_key = ? AND deleted_at IS NULL",
            (room_id, name.casefold()))
        return self._duty(row) if row else None

    async def named(self, names: Iterable[str]) -> list[Duty]:
        """Active duties in any room whose name is one of names (case-insensitive)."""
        keys = [n.casefold() for n in names]
        rows = await self.db.fetchall(
            f"SELECT {self._COLS} FROM duties WHERE deleted_at IS NULL AND name_key IN ({_marks(len(keys))})"
            " ORDER BY id", keys)
        return [self._duty(r) for r in rows]

    async def update(self, duty_id: int, **fields) -> None:
        if not fields or not set(fields) <= self.EDITABLE:
            raise ValueError(f"cannot update {sorted(fields)}")
        if "name" in fields:
            fields["name_key"] = fields["name"].casefold()
        sets = ", ".join(f"{k} = ?" for k in fields)
        await self.db.execute(f"UPDATE duties SET {sets} WHERE id = ?", (*fields.values(), duty_id))

    async def delete(self, duty_id: int, at: datetime) -> None:
        await self.db.execute("UPDATE duties SET deleted_at = ? WHERE id = ?", (to_ms(at), duty_id))
        await self.db.execute("DELETE FROM duty_pool WHERE duty_id = ?", (duty_id,))

    # ------------------------------------------------------------------ pools
    async def pool(self, duty_id: int) -> list[PoolMember]:
        rows = await self.db.fetchall(
            "SELECT user_id, joined_at FROM duty_pool WHERE duty_id = ? ORDER BY joined_at, user_id", (duty_id,))
        return [PoolMember(r["user_id"], from_ms(r["joined_at"])) for r in rows]  # type: ignore[arg-type]

    async def join(self, duty_id: int, user_id: str, at: datetime) -> bool:
        return await self.db.execute_rowcount(
            "INSERT OR IGNORE INTO duty_pool (duty_id, user_id, joined_at) VALUES (?, ?, ?)",
            (duty_id, user_id, to_ms(at))) == 1

    async def leave(self, duty_id: int, user_id: str) -> bool:
        return await self.db.execute_rowcount(
            "DELETE FROM duty_pool WHERE duty_id = ? AND user_id = ?", (duty_id, user_id)) == 1

    async def pools_of(self, user_id: str) -> list[Duty]:
        rows = await self.db.fetchall(
            f"SELECT {', '.join('d.' + c.strip() for c in self._COLS.split(','))} FROM duties d"
            " JOIN duty_pool p ON p.duty_id = d.id WHERE p.user_id = ? AND d.deleted_at IS NULL ORDER BY d.id",
            (user_id,))
        return [self._duty(r) for r in rows]


class Turns:
    """Planned slots, the turns in them, and the append-only override log."""

    _TURN = "SELECT id, duty_id, occurrence, user_id, status, kind, weight FROM duty_turns"

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _turn(r) -> TurnRow:
        return TurnRow(r["id"], r["duty_id"], from_ms(r["occurrence"]), r["user_id"], r["status"], r["kind"],  # type: ignore[arg-type]
                       r["weight"])

    @staticmethod
    def _slot(r) -> Slot:
        return Slot(r["duty_id"], from_ms(r["occurrence"]), from_ms(r["announced_at"]),  # type: ignore[arg-type]
                    from_ms(r["reminded_at"]), from_ms(r["escalated_at"]))

    # ------------------------------------------------------------------ slots
    async def add_slot(self, duty_id: int, occurrence: datetime, at: datetime) -> bool:
        """Plan an occurrence; one cancelled earlier (the rule changed and back) is planned afresh."""
        return await self.db.execute_rowcount(
            "INSERT INTO duty_slots (duty_id, occurrence, planned_at) VALUES (?, ?, ?)"
            " ON CONFLICT (duty_id, occurrence) DO UPDATE SET planned_at = excluded.planned_at, announced_at = NULL,"
            " reminded_at = NULL, escalated_at = NULL, cancelled_at = NULL WHERE duty_slots.cancelled_at IS NOT NULL",
            (duty_id, to_ms(occurrence), to_ms(at))) == 1

    async def slot(self, duty_id: int, occurrence: datetime) -> Slot | None:
        row = await self.db.fetchone(
            "SELECT * FROM duty_slots WHERE duty_id = ? AND occurrence = ? AND cancelled_at IS NULL",
            (duty_id, to_ms(occurrence)))
        return self._slot(row) if row else None

    async def slots_after(self, duty_id: int, after: datetime, limit: int = 1000) -> list[Slot]:
        rows = await self.db.fetchall(
            "SELECT * FROM duty_slots WHERE duty_id = ? AND occurrence > ? AND cancelled_at IS NULL"
            " ORDER BY occurrence LIMIT ?", (duty_id, to_ms(after), limit))
        return [self._slot(r) for r in rows]

    async def mark_slot(self, duty_id: int, occurrence: datetime, field: str, at: datetime) -> bool:
        """Set announced_at / reminded_at / escalated_at / cancelled_at once; False if it was set already."""
        if field not in ("announced_at", "reminded_at", "escalated_at", "cancelled_at"):
            raise ValueError(field)
        return await self.db.execute_rowcount(
            f"UPDATE duty_slots SET {field} = ? WHERE duty_id = ? AND occurrence = ? AND {field} IS NULL",
            (to_ms(at), duty_id, to_ms(occurrence))) == 1

    # ------------------------------------------------------------------ turns
    async def add(self, duty_id: int, occurrence: datetime, user_id: str, status: str, kind: str, weight: float,
                  at: datetime) -> int:
        return await self.db.execute(
            "INSERT INTO duty_turns (duty_id, occurrence, user_id, status, kind, weight, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (duty_id, to_ms(occurrence), user_id, status, kind, weight, to_ms(at)))

    async def set_status(self, turn_id: int, status: str, at: datetime | None = None) -> None:
        await self.db.execute("UPDATE duty_turns SET status = ?, done_at = ? WHERE id = ?",
                              (status, to_ms(at) if status == "done" else None, turn_id))

    async def holders(self, duty_id: int, occurrence: datetime, statuses: tuple[str, ...] = HOLDING) -> list[TurnRow]:
        rows = await self.db.fetchall(
            f"{self._TURN} WHERE duty_id = ? AND occurrence = ? AND status IN ({_marks(len(statuses))}) ORDER BY id",
            (duty_id, to_ms(occurrence), *statuses))
        return [self._turn(r) for r in rows]

    async def of_duty(self, duty_id: int, after: datetime, until: datetime | None = None) -> list[TurnRow]:
        """All rows of a duty with after < occurrence (<= until), oldest first."""
        rows = await self.db.fetchall(
            f"{self._TURN} WHERE duty_id = ? AND occurrence > ? AND occurrence <= ? ORDER BY occurrence, id",
            (duty_id, to_ms(after), to_ms(until) if until else 2**62))
        return [self._turn(r) for r in rows]

    async def since(self, since: datetime, duty_id: int, users: list[str]) -> list[TurnRow]:
        """From `since` on: the duty's named rows and these people's rows in any duty (what fair assignment uses)."""
        rows = await self.db.fetchall(
            f"{self._TURN} WHERE occurrence >= ? AND user_id IS NOT NULL AND (duty_id = ?"
            f" OR user_id IN ({_marks(len(users))})) ORDER BY occurrence", (to_ms(since), duty_id, *users))
        return [self._turn(r) for r in rows]

    async def of_user(self, user_id: str, statuses: tuple[str, ...], after: datetime | None = None,
                      until: datetime | None = None, duty_id: int | None = None) -> list[TurnRow]:
        sql = f"{self._TURN} WHERE user_id = ? AND status IN ({_marks(len(statuses))}) AND occurrence > ?" \
              " AND occurrence <= ?"
        params: list = [user_id, *statuses, to_ms(after) if after else -1, to_ms(until) if until else 2**62]
        if duty_id is not None:
            sql += " AND duty_id = ?"
            params.append(duty_id)
        rows = await self.db.fetchall(sql + " ORDER BY occurrence, id", params)
        return [self._turn(r) for r in rows]

    async def drop_unannounced_plan(self, duty_id: int, after: datetime) -> int:
        """Forget plan rows of slots nobody was told about yet (they get planned again); take-overs stay."""
        return await self.db.execute_rowcount(
            "DELETE FROM duty_turns WHERE duty_id = ? AND occurrence > ? AND kind IN ('plan', 'refill')"
            " AND status = 'assigned' AND occurrence IN (SELECT occurrence FROM duty_slots WHERE duty_id = ?"
            " AND announced_at IS NULL)", (duty_id, to_ms(after), duty_id))

    async def count_of(self, user_id: str) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM duty_turns WHERE user_id = ?", (user_id,)) or 0

    async def in_rooms_since(self, duty_ids: list[int], since: datetime, until: datetime) -> list[TurnRow]:
        rows = await self.db.fetchall(
            f"{self._TURN} WHERE duty_id IN ({_marks(len(duty_ids))}) AND occurrence >= ? AND occurrence <= ?"
            " ORDER BY occurrence", (*duty_ids, to_ms(since), to_ms(until)))
        return [self._turn(r) for r in rows]

    async def override(self, duty_id: int, occurrence: datetime, kind: str, from_user: str | None,
                       to_user: str | None, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO duty_overrides (duty_id, occurrence, kind, from_user, to_user, at) VALUES (?, ?, ?, ?, ?, ?)",
            (duty_id, to_ms(occurrence), kind, from_user, to_user, to_ms(at)))

    async def overrides_of(self, user_id: str) -> int:
        """Changes to plans that name user_id (handed back, taken over, swapped, absent ...)."""
        return await self.db.fetchval("SELECT COUNT(*) FROM duty_overrides WHERE from_user = ? OR to_user = ?",
                                      (user_id, user_id)) or 0

    async def anonymise(self, user_id: str) -> int:
        n = await self.db.execute_rowcount("UPDATE duty_turns SET user_id = NULL WHERE user_id = ?", (user_id,))
        await self.db.execute("UPDATE duty_overrides SET from_user = NULL WHERE from_user = ?", (user_id,))
        await self.db.execute("UPDATE duty_overrides SET to_user = NULL WHERE to_user = ?", (user_id,))
        return n


class Absences:
    """Days a person is away (both ends included, local calendar dates)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(r) -> AbsenceRow:
        return AbsenceRow(r["id"], r["user_id"], date.fromisoformat(r["first_day"]), date.fromisoformat(r["last_day"]))

    async def add(self, user_id: str, first: date, last: date, at: datetime) -> int:
        return await self.db.execute(
            "INSERT INTO duty_absences (user_id, first_day, last_day, created_at) VALUES (?, ?, ?, ?)",
            (user_id, first.isoformat(), last.isoformat(), to_ms(at)))

    async def current(self, user_ids: Iterable[str], today: date) -> list[AbsenceRow]:
        """Absences of these people that have not ended before today."""
        users = list(user_ids)
        rows = await self.db.fetchall(
            f"SELECT * FROM duty_absences WHERE user_id IN ({_marks(len(users))}) AND last_day >= ?"
            " ORDER BY first_day, id", (*users, today.isoformat()))
        return [self._row(r) for r in rows]

    async def clear(self, user_id: str, today: date) -> int:
        return await self.db.execute_rowcount(
            "DELETE FROM duty_absences WHERE user_id = ? AND last_day >= ?", (user_id, today.isoformat()))

    async def count_of(self, user_id: str) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM duty_absences WHERE user_id = ?", (user_id,)) or 0

    async def forget(self, user_id: str) -> int:
        return await self.db.execute_rowcount("DELETE FROM duty_absences WHERE user_id = ?", (user_id,))


class Welcomes:
    """Who joined a welcome room and which contact person they got (at most once per room and person)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(r) -> WelcomeRow:
        return WelcomeRow(r["room_id"], r["user_id"], r["kind"], r["buddy"], r["duty_id"], r["chat_room"])

    async def get(self, room_id: str, user_id: str) -> WelcomeRow | None:
        row = await self.db.fetchone("SELECT * FROM welcome_log WHERE room_id = ? AND user_id = ?", (room_id, user_id))
        return self._row(row) if row else None

    async def known_room(self, room_id: str) -> bool:
        return await self.db.fetchval("SELECT 1 FROM welcome_log WHERE room_id = ? LIMIT 1", (room_id,)) is not None

    async def add(self, room_id: str, user_id: str, kind: str, at: datetime, buddy: str | None = None,
                  duty_id: int | None = None) -> bool:
        return await self.db.execute_rowcount(
            "INSERT OR IGNORE INTO welcome_log (room_id, user_id, kind, buddy, duty_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (room_id, user_id, kind, buddy, duty_id, to_ms(at))) == 1

    async def set_chat_room(self, room_id: str, user_id: str, chat_room: str) -> None:
        await self.db.execute("UPDATE welcome_log SET chat_room = ? WHERE room_id = ? AND user_id = ?",
                              (chat_room, room_id, user_id))

    async def of_user(self, user_id: str) -> list[WelcomeRow]:
        rows = await self.db.fetchall(
            "SELECT * FROM welcome_log WHERE user_id = ? OR buddy = ? ORDER BY created_at",
            (user_id, user_id))
        return [self._row(r) for r in rows]

    async def forget(self, user_id: str) -> int:
        n = await self.db.execute_rowcount("DELETE FROM welcome_log WHERE user_id = ?", (user_id,))
        n += await self.db.execute_rowcount("UPDATE welcome_log SET buddy = NULL WHERE buddy = ?", (user_id,))
        return n
