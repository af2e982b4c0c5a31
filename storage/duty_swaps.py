"""Swap offers between two people on a duty: who offers which turn to whom, and what became of it.

An offer is numbered by its id (`Tausch #N`). It names the offerer's turn (duty, occurrence) and
either one of the other person's turns (a true swap) or none (a hand-over). Its state moves once
from `open` to accepted | declined | withdrawn | lapsed | void (the plan changed under it); `decide`
is that move, so a replayed or doubled acceptance finds the offer decided and moves nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_ms, to_ms

# duties' step 2 (storage/duties.py lists it in place, so a step appended there cannot renumber it)
SWAP_STEP = (
        "CREATE TABLE duty_swaps (id INTEGER PRIMARY KEY AUTOINCREMENT, duty_id INTEGER NOT NULL REFERENCES duties (id),"
        " offerer TEXT, offerer_occ INTEGER NOT NULL, target TEXT, target_occ INTEGER, state TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, decided_at INTEGER)",
        "CREATE INDEX duty_swaps_open ON duty_swaps (state, target)",
)

OPEN_STATE = "open"
STATES = ("open", "accepted", "declined", "withdrawn", "lapsed", "void")


@dataclass(frozen=True)
class SwapOffer:
    id: int
    duty_id: int
    offerer: str | None  # None once forgotten
    offerer_occ: datetime
    target: str | None
    target_occ: datetime | None  # None: a hand-over (the target had no turn to give back)
    state: str
    created_at: datetime
    expires_at: datetime

    @property
    def is_handover(self) -> bool:
        return self.target_occ is None


class Swaps:
    _COLS = "id, duty_id, offerer, offerer_occ, target, target_occ, state, created_at, expires_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(r) -> SwapOffer:
        return SwapOffer(r["id"], r["duty_id"], r["offerer"], from_ms(r["offerer_occ"]),  # type: ignore[arg-type]
                         r["target"], from_ms(r["target_occ"]), r["state"], from_ms(r["created_at"]),  # type: ignore[arg-type]
                         from_ms(r["expires_at"]))  # type: ignore[arg-type]

    async def add(self, duty_id: int, offerer: str, offerer_occ: datetime, target: str,
                  target_occ: datetime | None, at: datetime, expires_at: datetime) -> SwapOffer:
        swap_id = await self.db.execute(
            "INSERT INTO duty_swaps (duty_id, offerer, offerer_occ, target, target_occ, state, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            (duty_id, offerer, to_ms(offerer_occ), target, to_ms(target_occ), to_ms(at), to_ms(expires_at)))
        found = await self.get(swap_id)
        assert found is not None
        return found

    async def get(self, swap_id: int) -> SwapOffer | None:
        row = await self.db.fetchone(f"SELECT {self._COLS} FROM duty_swaps WHERE id = ?", (swap_id,))
        return self._row(row) if row else None

    async def open_for(self, target: str) -> list[SwapOffer]:
        """Open offers addressed to target, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT {self._COLS} FROM duty_swaps WHERE state = 'open' AND target = ? ORDER BY id", (target,))
        return [self._row(r) for r in rows]

    async def open_by(self, offerer: str) -> list[SwapOffer]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLS} FROM duty_swaps WHERE state = 'open' AND offerer = ? ORDER BY id", (offerer,))
        return [self._row(r) for r in rows]

    async def open_on(self, duty_id: int, occurrences: list[datetime]) -> list[SwapOffer]:
        """Open offers of a duty that involve any of these occurrences (on either side)."""
        marks = ", ".join("?" * len(occurrences))
        ms = [to_ms(o) for o in occurrences]
        rows = await self.db.fetchall(
            f"SELECT {self._COLS} FROM duty_swaps WHERE state = 'open' AND duty_id = ?"
            f" AND (offerer_occ IN ({marks}) OR target_occ IN ({marks})) ORDER BY id", (duty_id, *ms, *ms))
        return [self._row(r) for r in rows]

    async def decide(self, swap_id: int, state: str, at: datetime) -> bool:
        """Move an open offer to state; False if it was decided already (so nothing happens twice)."""
        if state not in STATES or state == OPEN_STATE:
            raise ValueError(state)
        return await self.db.execute_rowcount(
            "UPDATE duty_swaps SET state = ?, decided_at = ? WHERE id = ? AND state = 'open'",
            (state, to_ms(at), swap_id)) == 1

    async def of_user(self, user_id: str) -> list[SwapOffer]:
        rows = await self.db.fetchall(
            f"SELECT {self._COLS} FROM duty_swaps WHERE offerer = ? OR target = ? ORDER BY id", (user_id, user_id))
        return [self._row(r) for r in rows]

    async def forget(self, user_id: str, at: datetime) -> tuple[int, int]:
        """Void the person's open offers and take their id off every offer: (voided, anonymised)."""
        voided = await self.db.execute_rowcount(
            "UPDATE duty_swaps SET state = 'void', decided_at = ? WHERE state = 'open' AND (offerer = ? OR target = ?)",
            (to_ms(at), user_id, user_id))
        n = await self.db.execute_rowcount("UPDATE duty_swaps SET offerer = NULL WHERE offerer = ?", (user_id,))
        n += await self.db.execute_rowcount("UPDATE duty_swaps SET target = NULL WHERE target = ?", (user_id,))
        return voided, n
