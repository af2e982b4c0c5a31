"""Reading `!duty swap <duty> <date> [with] @person [for <date>]`: which duty, whose turn, with whom.

The person is a Matrix id typed out, or a pill: then the body shows a display name (maybe several
words) and the id comes from the message's mentions. Duty names may have spaces (the longest
name at the start wins, as for `!duty take`); a for-clause counts only if a date follows it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.converters import Day
from bot.errors import UserError
from bot.grammar import Line
from commands.duty_text import DutyFinder
from storage.duties import Duty

_MXID = re.compile(r"^@[^:\s]+:\S+$")
_FOR = re.compile(r"^(.*\S)\s+(?:für|fuer|for)\s+(\S.*)$", re.IGNORECASE)
_WITH = frozenset({"mit", "with"})


class SwapSpec(Line):
    """`<duty> <date> @person [für <date>]`: read by `read_swap`, which knows the duty names."""

    label = "swap"


@dataclass(frozen=True)
class SwapRequest:
    duty: Duty
    day: date  # the offerer's turn
    person: str  # whom it is offered to
    for_day: date | None  # the other's turn, if named


async def read_swap(ctx, finder: DutyFinder, spec: str) -> SwapRequest:
    head, for_day = spec, None
    m = _FOR.match(spec)
    if m:  # "für" inside a duty's name is no for-clause: only a date after it makes one
        try:
            head, for_day = m.group(1), Day.convert(ctx, m.group(2))
        except UserError:
            pass
    words = head.split()
    ids = [w for w in words if _MXID.match(w)]
    pill = not ids
    if ids:
        person = ids[-1]
        del words[len(words) - 1 - words[::-1].index(person)]
    else:
        others = [u for u in ctx.mentions if u != ctx.chat.own_user_id]
        if len(others) != 1:
            raise UserError("duty.swap.no_person")
        person = others[0]
    candidates = await finder.visible(ctx)
    best: tuple[Duty, int] | None = None
    lowered = [w.casefold() for w in words]
    for duty in candidates:
        for label in finder.labels(duty):
            n = len(label.split())
            if lowered[:n] == label.split() and (best is None or n > best[1]):
                best = (duty, n)
    if best is None:
        raise finder.unknown(ctx, " ".join(words), candidates)
    duty, rest = best[0], words[best[1]:]
    if not pill and rest and rest[-1].casefold() in _WITH:
        rest = rest[:-1]
    if not rest:
        raise UserError("error.missing_argument", arg=Day.label)
    if not pill:
        return SwapRequest(duty, Day.convert(ctx, " ".join(rest)), person, for_day)
    for k in range(len(rest), 1, -1):  # the longest start that reads as a date; "with" and the name follow
        try:
            return SwapRequest(duty, Day.convert(ctx, " ".join(rest[:k])), person, for_day)
        except UserError:
            pass
    return SwapRequest(duty, Day.convert(ctx, rest[0]), person, for_day)
