"""Who speaks next on a quota speakers' list (quotierte Redeliste): a pure rule over plain data.

1. Procedural motions (GO-Anträge) first, in the order they were asked for.
2. Otherwise the FINTA* and the open list alternate: after a FINTA* speaker the open list,
   after an open speaker (or at the start) the FINTA* list; a list whose turn it is but
   that is empty gives the turn to the other one.
3. Within a list, people who have not spoken yet go before those who have; otherwise
   first come, first served.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

GO, FINTA, OPEN = "go", "finta", "open"


class Entry(Protocol):
    @property
    def id(self) -> int: ...  # request order
    @property
    def user_id(self) -> str: ...
    @property
    def list(self) -> str: ...


E = TypeVar("E", bound=Entry)


def next_speaker(waiting: Sequence[E], spoken: Mapping[str, int], last: str | None) -> E | None:
    """The entry to call now; `spoken` counts speeches so far, `last` is the list called last (not GO)."""
    motions = [e for e in waiting if e.list == GO]
    if motions:
        return min(motions, key=lambda e: e.id)
    finta = [e for e in waiting if e.list == FINTA]
    open_ = [e for e in waiting if e.list == OPEN]
    if finta and open_:
        turn = open_ if last == FINTA else finta
    else:
        turn = finta or open_
    if not turn:
        return None
    return min(turn, key=lambda e: (spoken.get(e.user_id, 0) > 0, e.id))


def speaking_order(waiting: Sequence[E], spoken: Mapping[str, int], last: str | None) -> list[E]:
    """Everyone waiting, in the order `next_speaker` would call them if nobody else asked."""
    remaining = list(waiting)
    counts = dict(spoken)
    order: list[E] = []
    while (entry := next_speaker(remaining, counts, last)) is not None:
        order.append(entry)
        remaining.remove(entry)
        if entry.list != GO:
            counts[entry.user_id] = counts.get(entry.user_id, 0) + 1
            last = entry.list
    return order
