"""Fair duty assignment: who is next, computed ahead from load, recency, absences and announced turns."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

# Statuses that mean "this person carries (or carried) the turn"; handed_back, released, dropped, swapped and
# missed do not.
LOAD_STATUSES = frozenset({"assigned", "done", "taken"})


class MemberLike(Protocol):
    """A pool member (Member, or a stored pool row); the pool is ordered by joined_at (then as given)."""

    @property
    def user_id(self) -> str: ...
    @property
    def joined_at(self) -> datetime: ...


class AbsenceLike(Protocol):
    """user_id is away from first_day to last_day, both inclusive, as local calendar dates."""

    @property
    def user_id(self) -> str: ...
    @property
    def first_day(self) -> date: ...
    @property
    def last_day(self) -> date: ...


@dataclass(frozen=True)
class Member:
    """A MemberLike as plain data."""

    user_id: str
    joined_at: datetime


@dataclass(frozen=True)
class Turn:
    """One person's turn at one occurrence, from any duty (load is counted across duties)."""

    occurrence: datetime  # aware
    user_id: str
    weight: float = 1.0  # the duty's weight when the turn was planned
    status: str = "assigned"  # assigned | done | taken | handed_back | released | dropped | missed | swapped
    duty: str = ""  # which duty; recency and "twice in a row" only look at turns of the duty being planned


@dataclass(frozen=True)
class Absence:
    """An AbsenceLike as plain data."""

    user_id: str
    first_day: date
    last_day: date


def covers(absence: AbsenceLike, user_id: str, day: date) -> bool:
    return absence.user_id == user_id and absence.first_day <= day <= absence.last_day


def assign(occurrences: list[datetime], pool: Sequence[MemberLike], history: list[Turn],
           absences: Sequence[AbsenceLike], people: int, weight: float, tz: str, window_start: datetime,
           fixed: dict[datetime, list[str]],
           *, duty: str = "", top_up: bool = False) -> dict[datetime, list[str]]:
    """Plan who does `duty` at each occurrence; returns {occurrence: [user_id, …]} for every occurrence.

    Occurrences in `fixed` (announced or overridden) keep their people exactly (with `top_up`, a fixed
    slot with fewer than `people` is filled up, its people staying). The others are planned in time
    order; each place goes to the eligible member — in the pool, not absent on the occurrence's local
    date, not already in this slot — with the least load, then the longest since their last turn of
    this duty (never = longest), then pool order. Someone who holds the neighbouring occurrence of this
    duty (the one before, or an already fixed one after) is passed over while anyone else is eligible.
    A slot with nobody eligible stays short; the caller reports "nobody available".

    Load = sum of weights of turns with occurrence >= window_start: history turns (LOAD_STATUSES only,
    own weight) plus fixed and planned turns of this duty (`weight`). History turns of this duty at an
    occurrence that is in `occurrences` or `fixed` are ignored, so callers may pass all stored turns.
    """
    zone = ZoneInfo(tz)
    members = [m.user_id for m in sorted(pool, key=lambda m: m.joined_at)]
    rank = {u: i for i, u in enumerate(members)}
    planned_here = set(occurrences) | set(fixed)
    load = dict.fromkeys(members, 0.0)
    held: dict[datetime, list[str]] = {}  # this duty: who holds which occurrence (decided so far)
    known: set[datetime] = set(planned_here)  # this duty: every occurrence we know of

    def carry(occ: datetime, user: str, w: float) -> None:
        if user in load and occ >= window_start:
            load[user] += w

    for t in history:
        mine = t.duty == duty
        if mine and t.occurrence in planned_here:
            continue
        known.update([t.occurrence] if mine else [])
        if t.status in LOAD_STATUSES:
            carry(t.occurrence, t.user_id, t.weight)
            if mine:
                held.setdefault(t.occurrence, []).append(t.user_id)
    for occ, users in fixed.items():
        held[occ] = list(users)
        for u in users:
            carry(occ, u, weight)
    timeline = sorted(known)

    plan: dict[datetime, list[str]] = {}
    for occ in sorted(set(occurrences)):
        chosen = list(fixed.get(occ, []))
        if occ in fixed and not (top_up and len(chosen) < people):
            plan[occ] = chosen
            continue
        day = occ.astimezone(zone).date()
        i = timeline.index(occ)
        neighbours = set(held.get(timeline[i - 1], []) if i > 0 else []) | \
            set(held.get(timeline[i + 1], []) if i + 1 < len(timeline) else [])
        while len(chosen) < people:
            eligible = [u for u in members if u not in chosen and not any(covers(a, u, day) for a in absences)]
            if not eligible:
                break
            fresh = [u for u in eligible if u not in neighbours] or eligible
            pick = min(fresh, key=lambda u: (load[u], _last_turn(held, u, occ), rank[u]))
            chosen.append(pick)
            carry(occ, pick, weight)
        plan[occ] = held[occ] = chosen
    return plan


def _last_turn(held: dict[datetime, list[str]], user: str, before: datetime) -> float:
    """Timestamp of user's latest turn of this duty before `before`; -inf if never."""
    return max((occ.timestamp() for occ, users in held.items() if occ < before and user in users),
               default=float("-inf"))


def turn_counts(plan: dict[datetime, list[str]], pool: Iterable[str] = ()) -> dict[str, int]:
    """How many turns each person has in `plan`; everyone in `pool` appears, with 0 if need be."""
    counts = dict.fromkeys(pool, 0)
    for users in plan.values():
        for u in users:
            counts[u] = counts.get(u, 0) + 1
    return counts


def spread(turn_counts: dict[str, int]) -> int:
    """Difference between the busiest and the least busy person (0 for nobody)."""
    return max(turn_counts.values()) - min(turn_counts.values()) if turn_counts else 0
