"""Core aggregates every feature stands on: sync position, handled events, rooms, outbox, jobs."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, from_ms, to_ms
from storage.roles import ANCHOR_STEP, mark_direct

MIGRATIONS = [
    (
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE handled_events (event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, handled_at INTEGER NOT NULL)",
        "CREATE INDEX handled_events_at ON handled_events (handled_at)",
        "CREATE TABLE rooms (room_id TEXT PRIMARY KEY, language TEXT, joined_at INTEGER)",
        "CREATE TABLE room_roles (room_id TEXT NOT NULL, role TEXT NOT NULL, arg TEXT,"
        " PRIMARY KEY (room_id, role))",
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, room_id TEXT, to_user TEXT, type TEXT NOT NULL,"
        " content TEXT NOT NULL, ref TEXT, edits_ref TEXT, created_at INTEGER NOT NULL,"
        " sent_at INTEGER, event_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, failed TEXT)",
        "CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed IS NULL",
        "CREATE UNIQUE INDEX outbox_ref ON outbox (ref) WHERE ref IS NOT NULL",
        "CREATE INDEX outbox_event ON outbox (event_id)",
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL UNIQUE,"
        " due_at INTEGER NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
        " done_at INTEGER, note TEXT)",
        "CREATE INDEX jobs_pending ON jobs (due_at) WHERE state = 'pending'",
        "CREATE TABLE dm_rooms (user_id TEXT PRIMARY KEY, room_id TEXT NOT NULL)",
    ),
    (
        # an edit merged into a row that is being sent bumps the version; the send then
        # does not mark it sent, and the next attempt uses a new transaction id
        "ALTER TABLE outbox ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # The safe spaces' scrub job was re-armed one minute after every report or answer: its due
        # and done times dated the latest report in someone's direct chat. Private outbox rows now
        # go at delivery (Outbox.mark_sent); the job and its times go with them. Handled marks of
        # direct chats written before this step hold the room, the exact time and the plain event
        # id: they go (the catch-up window keeps old commands from being answered again); those
        # of group rooms expire after 30 days as before.
        "DELETE FROM outbox WHERE ref LIKE 'safespace.private.%' AND (sent_at IS NOT NULL OR failed IS NOT NULL)",
        "DELETE FROM jobs WHERE key = 'safespace.scrub'",
        "DELETE FROM handled_events WHERE room_id IN (SELECT room_id FROM dm_rooms)",
    ),
    (
        # the command (room, event) a row answers, so a homeserver's refusal is reported there;
        # cleared once the row is sent or failed
        "ALTER TABLE outbox ADD COLUMN cause_room TEXT",
        "ALTER TABLE outbox ADD COLUMN cause_event TEXT",
    ),
    ANCHOR_STEP,  # step 5: trust-anchor roles (storage/roles.py); append new steps after it
    (  # step 6
        # every side effect is a row (issue 13): kind says what delivery does (event: send it; invite,
        # kick, power, state, upload, create_room); needs_ref names a row whose result this one uses
        # (an upload's mxc URI, a created room, a sent event's id), result is what a done row produced
        "ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event'",
        "ALTER TABLE outbox ADD COLUMN needs_ref TEXT",
        "ALTER TABLE outbox ADD COLUMN result TEXT",
    ),
    (  # step 7
        # whether a command event was answered without an error: an edit of one that was not (a typo,
        # an error) is handled as the command; one flag per handled mark, pruned with it
        "ALTER TABLE handled_events ADD COLUMN outcome INTEGER NOT NULL DEFAULT 0",
    ),
    (  # step 8
        # with PostgreSQL the bot's encryption state (nio's store, device.json, the cross-signing
        # keys) lives here too, so a standby on another machine starts as the same device
        # (bot/crypto_state.py); unused with SQLite, where data_dir holds the files
        "CREATE TABLE crypto_files (name TEXT PRIMARY KEY, content BLOB NOT NULL, updated_at INTEGER NOT NULL)",
    ),
]


PRIVATE_REF = "private."  # outbox refs of messages the database must not keep once delivered


def private_ref() -> str:
    """A ref for a message that could tie a person to what they did (their data, a report): its
    outbox row is deleted as soon as it is delivered or given up."""
    return PRIVATE_REF + secrets.token_hex(8)


PRIVATE_FAILURE_REF = PRIVATE_REF + "failed."  # the notice that a private message failed: private, names no row


def private_failure_ref() -> str:
    return PRIVATE_FAILURE_REF + secrets.token_hex(8)


class KeyValue:
    """Small settings that have one value per bot: the sync position above all."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        return await self.db.fetchval("SELECT value FROM kv WHERE key = ?", (key,))

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def event_key(event_id: str) -> str:
    """How a handled event is recorded: a digest, so the table lists no event ids a person could be found by."""
    return "h:" + hashlib.sha256(event_id.encode()).hexdigest()[:32]


def day_of(at: datetime) -> int:
    """Epoch ms of the UTC midnight before `at`: all a handled mark needs for pruning."""
    return to_ms(at) // DAY_MS * DAY_MS  # type: ignore[operator]


DAY_MS = 86_400_000


# handled_events.outcome (core's steps after the roles' ones, storage/schema.py)
OUTCOME_NONE, OUTCOME_DONE, OUTCOME_TOLD = 0, 1, 2


class HandledEvents:
    """Events already acted on; written in the same transaction as the effects.

    A mark holds only a digest of the event id, the day, and the room unless it is a direct
    chat: with dm_rooms, a room and an exact time would tell a database reader who wrote to
    the bot when (a report, say, against the awareness room's timeline). Rows written by
    earlier versions hold the plain id; they are still recognised until pruned.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def seen(self, event_id: str) -> bool:
        return await self.db.fetchval("SELECT 1 FROM handled_events WHERE event_id IN (?, ?)",
                                      (event_key(event_id), event_id)) is not None

    async def mark(self, event_id: str, room_id: str, at: datetime, *, direct: bool = False) -> bool:
        """Record the event; False if it was already recorded."""
        if await self.db.fetchval("SELECT 1 FROM handled_events WHERE event_id = ?", (event_id,)) is not None:
            return False  # marked by an earlier version
        n = await self.db.execute_rowcount(
            "INSERT OR IGNORE INTO handled_events (event_id, room_id, handled_at) VALUES (?, ?, ?)",
            (event_key(event_id), "" if direct else room_id, day_of(at)),
        )
        return n == 1

    async def set_outcome(self, event_id: str, outcome: int) -> None:
        """Note what became of a command event: DONE (answered without an error) or TOLD (done, and the
        author was told once that an edit of it is not applied). Nothing else is kept about it."""
        await self.db.execute("UPDATE handled_events SET outcome = ? WHERE event_id = ?", (outcome, event_key(event_id)))

    async def outcome(self, event_id: str) -> int | None:
        """None: never marked; NONE: marked but no command that went through (plain text, an error)."""
        return await self.db.fetchval("SELECT outcome FROM handled_events WHERE event_id = ?", (event_key(event_id),))

    async def prune(self, before: datetime) -> int:
        return await self.db.execute_rowcount("DELETE FROM handled_events WHERE handled_at < ?", (to_ms(before),))


@dataclass(frozen=True)
class RoomSettings:
    room_id: str
    language: str | None
    joined_at: datetime | None
    roles: dict[str, str | None]


class Rooms:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, room_id: str) -> RoomSettings:
        row = await self.db.fetchone("SELECT language, joined_at FROM rooms WHERE room_id = ?", (room_id,))
        roles = await self.db.fetchall("SELECT role, arg FROM room_roles WHERE room_id = ?", (room_id,))
        return RoomSettings(
            room_id=room_id,
            language=row["language"] if row else None,
            joined_at=from_ms(row["joined_at"]) if row else None,
            roles={r["role"]: r["arg"] for r in roles},
        )

    async def language(self, room_id: str) -> str | None:
        return await self.db.fetchval("SELECT language FROM rooms WHERE room_id = ?", (room_id,))

    async def joined_at(self, room_id: str) -> datetime | None:
        return from_ms(await self.db.fetchval("SELECT joined_at FROM rooms WHERE room_id = ?", (room_id,)))

    async def set_joined(self, room_id: str, at: datetime) -> None:
        """Remember when the bot joined; events before that are never commands to us."""
        await self.db.execute(
            "INSERT INTO rooms (room_id, joined_at) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " joined_at = COALESCE(rooms.joined_at, excluded.joined_at)",
            (room_id, to_ms(at)),
        )

    async def set_language(self, room_id: str, language: str) -> None:
        await self.db.execute(
            "INSERT INTO rooms (room_id, language) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " language = excluded.language",
            (room_id, language),
        )

    async def set_role(self, room_id: str, role: str, arg: str | None = None) -> None:
        await self.db.execute(
            "INSERT INTO room_roles (room_id, role, arg) VALUES (?, ?, ?) ON CONFLICT (room_id, role)"
            " DO UPDATE SET arg = excluded.arg",
            (room_id, role, arg),
        )

    async def clear_role(self, room_id: str, role: str) -> bool:
        return (
            await self.db.execute_rowcount("DELETE FROM room_roles WHERE room_id = ? AND role = ?", (room_id, role))
            > 0
        )

    async def with_role(self, role: str) -> list[tuple[str, str | None]]:
        rows = await self.db.fetchall("SELECT room_id, arg FROM room_roles WHERE role = ? ORDER BY room_id", (role,))
        return [(r["room_id"], r["arg"]) for r in rows]


FAILURE_REF = "delivery.failed."  # ref of the notice that reports outbox row N: FAILURE_REF + N
EFFECT_REF = "effect."  # refs the messenger gives rows that later rows need (uploads, created rooms)


def effect_ref() -> str:
    return EFFECT_REF + secrets.token_hex(8)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    room_id: str | None
    to_user: str | None
    type: str
    content: dict[str, Any]
    ref: str | None
    edits_ref: str | None
    attempts: int
    version: int = 0
    cause_room: str | None = None  # where the command that caused it was typed (failures are reported there)
    cause_event: str | None = None
    kind: str = "event"  # what delivery does with it (bot/effects.py)
    needs_ref: str | None = None  # the row whose result this one uses
    result: str | None = None  # set before it is done only by a creation in progress (bot/effects.py)


@dataclass(frozen=True)
class Needed:
    """Where the row a later row needs stands: pending, failed, missing (pruned or never queued) or done,
    with the room it went to and what it produced (event id, mxc URI, created room id)."""

    state: str
    room_id: str | None = None
    value: str | None = None


class Outbox:
    """Messages recorded with the effects that caused them, sent after commit.

    The row id becomes the Matrix transaction id, so a resend after a crash is
    de-duplicated by the homeserver. `ref` names a message so later edits or lookups
    (a poll's table, a native poll's event id) can find it; an unsent edit of the same
    target is replaced, which coalesces bursts of table updates into one edit.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        room_id: str | None,
        type: str,
        content: dict[str, Any],
        at: datetime,
        to_user: str | None = None,
        ref: str | None = None,
        edits_ref: str | None = None,
        cause_room: str | None = None,
        cause_event: str | None = None,
        kind: str = "event",
        needs_ref: str | None = None,
    ) -> int:
        if edits_ref is not None:
            pending = await self.db.fetchval(
                "SELECT id FROM outbox WHERE edits_ref = ? AND sent_at IS NULL AND failed IS NULL", (edits_ref,)
            )
            if pending is not None:
                await self.db.execute("UPDATE outbox SET content = ?, version = version + 1, cause_room = ?,"
                                      " cause_event = ? WHERE id = ?",
                                      (json.dumps(content), cause_room, cause_event, pending))
                return int(pending)
        created = day_of(at) if ref and ref.startswith(PRIVATE_REF) else to_ms(at)  # a private row is not dated
        return await self.db.execute(
            "INSERT INTO outbox (room_id, to_user, type, content, ref, edits_ref, created_at, cause_room, cause_event,"
            " kind, needs_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (room_id, to_user, type, json.dumps(content), ref, edits_ref, created, cause_room, cause_event, kind,
             needs_ref),
        )

    async def pending(self, limit: int = 100) -> list[OutboxItem]:
        rows = await self.db.fetchall(
            "SELECT id, room_id, to_user, type, content, ref, edits_ref, attempts, version, cause_room, cause_event,"
            " kind, needs_ref, result FROM outbox"
            " WHERE sent_at IS NULL AND failed IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            OutboxItem(r["id"], r["room_id"], r["to_user"], r["type"], json.loads(r["content"]), r["ref"],
                       r["edits_ref"], r["attempts"], r["version"], r["cause_room"], r["cause_event"], r["kind"],
                       r["needs_ref"], r["result"])
            for r in rows
        ]

    _PRIVATE = f"(ref LIKE '{PRIVATE_REF}%' OR ref LIKE 'safespace.private.%')"  # and the older prefix

    async def _drop_private(self, item_id: int, version: int | None = None) -> bool:
        """Delete a private row (see private_ref); its old page images leave the WAL after commit."""
        if await self.db.execute_rowcount(
                f"DELETE FROM outbox WHERE id = ? AND {self._PRIVATE}"
                + ("" if version is None else " AND version = ?"),
                (item_id,) if version is None else (item_id, version)) != 1:
            return False
        self.db.erase_traces()
        return True

    async def mark_sent(self, item_id: int, event_id: str | None, room_id: str | None, at: datetime,
                        version: int = 0, result: str | None = None) -> bool:
        """Record the send (or the side effect done, with what it produced); False if the row changed
        meanwhile (a merged edit), so it goes out again.

        A private row is deleted instead: nothing keeps its room, time or event."""
        if await self._drop_private(item_id, version):
            return True
        # the content is not needed once sent: keeping it would keep what people said
        if await self.db.execute_rowcount(
                "UPDATE outbox SET sent_at = ?, event_id = ?, room_id = ?, result = ?, content = '{}', to_user = NULL,"
                " cause_room = NULL, cause_event = NULL WHERE id = ? AND version = ?",
                (to_ms(at), event_id, room_id, result, item_id, version)) == 1:
            return True
        # changed meanwhile; a new message keeps its event id, so later edits can target it
        await self.db.execute("UPDATE outbox SET event_id = ?, room_id = ? WHERE id = ? AND edits_ref IS NULL",
                              (event_id, room_id, item_id))
        return False

    async def set_result(self, item_id: int, result: str) -> None:
        """Note a pending row's progress (a room creation under way) before its call."""
        await self.db.execute("UPDATE outbox SET result = ? WHERE id = ? AND sent_at IS NULL", (result, item_id))

    async def mark_attempt(self, item_id: int, failed: str | None = None) -> None:
        """Count a failed attempt; failed (a short reason) gives the row up, dropping what it said."""
        if failed is None:
            await self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,))
            return
        if await self._drop_private(item_id):
            return  # given up: a private message is not kept to explain why
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, failed = ?, content = '{}', cause_room = NULL,"
            " cause_event = NULL WHERE id = ?", (failed, item_id))

    async def ref_exists(self, ref: str) -> bool:
        return await self.db.fetchval("SELECT 1 FROM outbox WHERE ref = ?", (ref,)) is not None

    async def ref_failed(self, ref: str) -> bool:
        """Whether the message named ref was given up (so edits of it can never be sent)."""
        return await self.db.fetchval("SELECT 1 FROM outbox WHERE ref = ? AND failed IS NOT NULL", (ref,)) is not None

    async def needed(self, ref: str) -> Needed:
        """How the row named ref stands, for a row that needs its result."""
        row = await self.db.fetchone("SELECT room_id, event_id, result, sent_at, failed FROM outbox WHERE ref = ?",
                                     (ref,))
        if row is None:
            return Needed("missing")
        if row["failed"] is not None:
            return Needed("failed")
        if row["sent_at"] is None:
            return Needed("pending")
        return Needed("done", row["room_id"], row["result"] or row["event_id"])

    async def event_for_ref(self, ref: str) -> tuple[str, str] | None:
        """(room_id, event_id) of a sent message by its ref."""
        row = await self.db.fetchone(
            "SELECT room_id, event_id FROM outbox WHERE ref = ? AND event_id IS NOT NULL", (ref,)
        )
        return (row["room_id"], row["event_id"]) if row else None

    async def ref_for_event(self, event_id: str) -> str | None:
        return await self.db.fetchval("SELECT ref FROM outbox WHERE event_id = ? AND ref IS NOT NULL", (event_id,))

    async def drop_private_done(self) -> int:
        """Private rows left delivered or given up (by an older version); returns how many are still pending."""
        if await self.db.execute_rowcount(
                f"DELETE FROM outbox WHERE {self._PRIVATE} AND (sent_at IS NOT NULL OR failed IS NOT NULL)"):
            self.db.erase_traces()
        return int(await self.db.fetchval(
            f"SELECT COUNT(*) FROM outbox WHERE {self._PRIVATE} AND sent_at IS NULL AND failed IS NULL"))

    async def forget_room(self, room_id: str | None, user_id: str, at: datetime) -> int:
        """Erase every row to a forgotten person's direct chat (sent or not), and old handled marks there.

        The rows are blanked, not deleted: SQLite gives the highest deleted id to the next row, and a
        reused id is a reused Matrix transaction id, which the homeserver answers with the old event
        (the next reply would never be sent). Blanked rows keep no room, person, text, event or time
        finer than the day, and go with the other sent rows after 30 days."""
        day = day_of(at)
        # edits of those rows (room and user empty: they name their original by ref) would wait for ever
        await self.db.execute(
            "DELETE FROM outbox WHERE edits_ref IN (SELECT ref FROM outbox WHERE ref IS NOT NULL AND"
            " (to_user = ? OR room_id = ?))", (user_id, room_id))
        n = await self.db.execute_rowcount(
            "UPDATE outbox SET room_id = NULL, to_user = NULL, content = '{}', ref = NULL, edits_ref = NULL,"
            " event_id = NULL, cause_room = NULL, cause_event = NULL, needs_ref = NULL, result = NULL, created_at = ?,"
            " sent_at = ?,"
            " failed = CASE WHEN sent_at IS NULL THEN 'forgotten' ELSE failed END"
            " WHERE to_user = ? OR room_id = ?", (day, day, user_id, room_id))
        if room_id is not None:  # marks of earlier versions kept the room; current ones never do
            await self.db.execute("DELETE FROM handled_events WHERE room_id = ?", (room_id,))
        return n

    async def prune_sent(self, before: datetime) -> int:
        """Drop sent rows nobody looks up again: without a ref, notices of a failed delivery (their ref
        only names the row that failed) and done side effects (a row needing one is queued with it)."""
        return await self.db.execute_rowcount(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND (ref IS NULL OR ref LIKE ? OR ref LIKE ?) AND sent_at < ?",
            (FAILURE_REF + "%", EFFECT_REF + "%", to_ms(before)))


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]


class Jobs:
    """Scheduled work as rows: the scheduler only wakes up to run what is due here."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any]) -> None:
        """Create or re-time a pending job (key is unique; a done job is re-armed)."""
        await self.db.execute(
            "INSERT INTO jobs (kind, key, due_at, payload) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
            " kind = excluded.kind, due_at = excluded.due_at, payload = excluded.payload, state = 'pending',"
            " done_at = NULL, note = NULL",
            (kind, key, to_ms(due_at), json.dumps(payload)),
        )

    async def cancel(self, key: str) -> bool:
        return await self.db.execute_rowcount(
            "UPDATE jobs SET state = 'cancelled' WHERE key = ? AND state = 'pending'", (key,)
        ) > 0

    async def cancel_prefix(self, prefix: str) -> int:
        return await self.db.execute_rowcount(
            "UPDATE jobs SET state = 'cancelled' WHERE key LIKE ? AND state = 'pending'", (prefix + "%",)
        )

    async def due(self, now: datetime, limit: int = 200) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT id, kind, key, due_at, payload FROM jobs WHERE state = 'pending' AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?",
            (to_ms(now), limit),
        )
        return [self._job(r) for r in rows]

    async def next_due(self) -> datetime | None:
        return from_ms(await self.db.fetchval("SELECT MIN(due_at) FROM jobs WHERE state = 'pending'"))

    async def get(self, key: str) -> Job | None:
        row = await self.db.fetchone(
            "SELECT id, kind, key, due_at, payload FROM jobs WHERE key = ? AND state = 'pending'", (key,)
        )
        return self._job(row) if row else None

    async def finish(self, job_id: int, at: datetime, state: str = "done", note: str | None = None) -> bool:
        """Mark a pending job finished; False if someone else finished it first."""
        return await self.db.execute_rowcount(
            "UPDATE jobs SET state = ?, done_at = ?, note = ? WHERE id = ? AND state = 'pending'",
            (state, to_ms(at), note, job_id),
        ) == 1

    @staticmethod
    def _job(r: Any) -> Job:
        return Job(r["id"], r["kind"], r["key"], from_ms(r["due_at"]), json.loads(r["payload"]))  # type: ignore[arg-type]


class DirectRooms:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> str | None:
        return await self.db.fetchval("SELECT room_id FROM dm_rooms WHERE user_id = ?", (user_id,))

    async def set(self, user_id: str, room_id: str) -> None:
        await self.db.execute(
            "INSERT INTO dm_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " room_id = excluded.room_id",
            (user_id, room_id),
        )
        await mark_direct(self.db, room_id)  # its power never vouches, also after !forget (Permissions.vouched)

    async def remember(self, user_id: str, room_id: str) -> None:
        """Record a direct chat unless one is known for this user already."""
        await self.db.execute("INSERT OR IGNORE INTO dm_rooms (user_id, room_id) VALUES (?, ?)", (user_id, room_id))
        await mark_direct(self.db, room_id)

    async def forget(self, user_id: str) -> bool:
        """Forget the direct chat with user_id, and the room's settings row (its id and when the bot joined)."""
        room_id = await self.get(user_id)
        if room_id is None:
            return False
        await self.db.execute("DELETE FROM dm_rooms WHERE user_id = ?", (user_id,))
        if await self.db.fetchval("SELECT 1 FROM room_roles WHERE room_id = ?", (room_id,)) is None:
            await self.db.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))
        return True


class CryptoFiles:
    """The files of the bot's encryption state, by name relative to data_dir (see bot/crypto_state.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> dict[str, bytes]:
        return {r["name"]: bytes(r["content"]) for r in await self.db.fetchall("SELECT name, content FROM crypto_files")}

    async def put(self, name: str, content: bytes, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO crypto_files (name, content, updated_at) VALUES (?, ?, ?) ON CONFLICT (name)"
            " DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at", (name, content, to_ms(at)))

    async def drop(self, name: str) -> None:
        await self.db.execute("DELETE FROM crypto_files WHERE name = ?", (name,))
