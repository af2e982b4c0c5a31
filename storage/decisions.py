"""The record of decisions (Beschlussbuch): one numbered row per closed decision poll or consensing round.

A decision is written in the transaction that closes its poll; `poll_id` is unique, so a
replayed close can never record it twice. Numbers count per room (1, 2, 3 … in each room).
Nothing here names a person: no creator, no voter; secret polls keep no per-option counts.
`search` holds the question and options folded (see `fold`) for case- and umlaut-blind search.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, from_ms, to_ms

MIGRATIONS = [
    (
        "CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL,"
        " number INTEGER NOT NULL, poll_id INTEGER NOT NULL UNIQUE,"
        " kind TEXT NOT NULL CHECK (kind IN ('choice', 'consensus')), question TEXT NOT NULL,"
        " secret INTEGER NOT NULL DEFAULT 0, yesno INTEGER NOT NULL DEFAULT 0, majority TEXT, quorum INTEGER,"
        " options TEXT NOT NULL, outcome TEXT NOT NULL, winners TEXT NOT NULL, participation INTEGER NOT NULL,"
        " valid_votes INTEGER, quorum_met INTEGER, closed_at INTEGER NOT NULL, event_id TEXT,"
        " revoked_by INTEGER, revoked_at INTEGER, search TEXT NOT NULL, UNIQUE (room_id, number))",
    ),
]

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def fold(text: str) -> str:
    """Lower case, ß as ss, umlauts as ae/oe/ue: "Straße" -> "strasse", "Grün" -> "gruen"."""
    return " ".join(text.casefold().translate(_UMLAUTS).split())


def _bare(text: str) -> str:
    """Lower case without any accents: "Grün" -> "grun" (so "grun" finds it, too)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def search_text(question: str, labels: list[str]) -> str:
    words = "\n".join([question, *labels])
    return fold(words) + "\n" + _bare(words)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class RecordedOption:
    number: int  # as shown in the poll (consensing from 0)
    label: str
    votes: int | None = None  # decision polls, not secret
    resistance: int | None = None  # consensing: total resistance
    acceptance: float | None = None  # consensing: percent, None when nobody rated


@dataclass(frozen=True)
class Decision:
    room_id: str
    number: int
    poll_id: int
    kind: str  # choice | consensus
    question: str
    secret: bool
    yesno: bool
    majority: str | None
    quorum: int | None
    options: tuple[RecordedOption, ...]
    outcome: str  # choice: ok | tie | no_majority | no_quorum; consensus: ok | tie | none
    winners: tuple[int, ...]  # option numbers (as shown)
    participation: int
    valid_votes: int | None
    quorum_met: bool | None  # None: no quorum asked for (or consensing)
    closed_at: datetime
    event_id: str | None  # the poll's message, for a matrix.to link
    revoked_by: int | None = None  # number of the later decision that revoked this one
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


_COLUMNS = ("room_id, number, poll_id, kind, question, secret, yesno, majority, quorum, options, outcome, winners,"
            " participation, valid_votes, quorum_met, closed_at, event_id, revoked_by, revoked_at")


def _decision(r: Any) -> Decision:
    options = tuple(RecordedOption(**o) for o in json.loads(r["options"]))
    return Decision(room_id=r["room_id"], number=r["number"], poll_id=r["poll_id"], kind=r["kind"],
                    question=r["question"], secret=bool(r["secret"]), yesno=bool(r["yesno"]), majority=r["majority"],
                    quorum=r["quorum"], options=options, outcome=r["outcome"], winners=tuple(json.loads(r["winners"])),
                    participation=r["participation"], valid_votes=r["valid_votes"],
                    quorum_met=None if r["quorum_met"] is None else bool(r["quorum_met"]),
                    closed_at=from_ms(r["closed_at"]), event_id=r["event_id"],  # type: ignore[arg-type]
                    revoked_by=r["revoked_by"], revoked_at=from_ms(r["revoked_at"]))


class DecisionRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, d: Decision) -> int | None:
        """Store d under the room's next number (d.number is ignored); None if its poll is recorded already."""
        if await self.db.fetchval("SELECT 1 FROM decisions WHERE poll_id = ?", (d.poll_id,)):
            return None
        number = await self.db.fetchval("SELECT COALESCE(MAX(number), 0) + 1 FROM decisions WHERE room_id = ?",
                                        (d.room_id,))
        options = [{k: v for k, v in o.__dict__.items()} for o in d.options]
        await self.db.execute(
            "INSERT INTO decisions (room_id, number, poll_id, kind, question, secret, yesno, majority, quorum, options,"
            " outcome, winners, participation, valid_votes, quorum_met, closed_at, event_id, search)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.room_id, number, d.poll_id, d.kind, d.question, int(d.secret), int(d.yesno), d.majority, d.quorum,
             json.dumps(options, ensure_ascii=False), d.outcome, json.dumps(list(d.winners)), d.participation,
             d.valid_votes, None if d.quorum_met is None else int(d.quorum_met), to_ms(d.closed_at), d.event_id,
             search_text(d.question, [o.label for o in d.options])))
        return number

    async def get(self, room_id: str, number: int) -> Decision | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM decisions WHERE room_id = ? AND number = ?",
                                     (room_id, number))
        return _decision(row) if row else None

    async def search(self, room_id: str, words: list[str], limit: int | None = None,
                     newest_first: bool = True) -> tuple[list[Decision], int]:
        """The room's decisions whose question or options contain every word (folded); and how many match."""
        where = " AND ".join(["room_id = ?"] + ["search LIKE ? ESCAPE '\\'"] * len(words))
        params: list[Any] = [room_id, *(_like(fold(w)) for w in words)]
        total = await self.db.fetchval(f"SELECT COUNT(*) FROM decisions WHERE {where}", params)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_COLUMNS} FROM decisions WHERE {where} ORDER BY number {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_decision(r) for r in await self.db.fetchall(sql, params)], total

    async def revocations(self, room_id: str) -> dict[int, list[int]]:
        """Per revoking decision of the room: the numbers it revoked, in order."""
        rows = await self.db.fetchall("SELECT revoked_by, number FROM decisions WHERE room_id = ?"
                                      " AND revoked_by IS NOT NULL ORDER BY number", (room_id,))
        found: dict[int, list[int]] = {}
        for by, number in rows:
            found.setdefault(by, []).append(number)
        return found

    async def unrecorded_polls(self) -> list[int]:
        """Closed decision polls and consensing rounds without a decision (closed before the record existed)."""
        rows = await self.db.fetchall(
            "SELECT id FROM polls WHERE closed_at IS NOT NULL AND kind IN ('choice', 'consensus')"
            " AND id NOT IN (SELECT poll_id FROM decisions) ORDER BY closed_at, id")
        return [r[0] for r in rows]

    async def revoke(self, room_id: str, number: int, by: int | None, at: datetime) -> bool:
        """Mark decision `number` revoked (by the later decision `by`); False if it already was."""
        return await self.db.execute_rowcount(
            "UPDATE decisions SET revoked_by = ?, revoked_at = ? WHERE room_id = ? AND number = ?"
            " AND revoked_at IS NULL", (by, to_ms(at), room_id, number)) == 1
