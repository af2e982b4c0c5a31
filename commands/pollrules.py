"""Poll rules as plain functions: reading `!vote` ballots, reactions as answers, merging typed and
clicked answers of date polls, when to nudge, durations for meetings. No I/O here."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Hashable, TypeVar

from bot.errors import UserError
from commands.tally import MAX_RESISTANCE, SIMPLE_MAJORITY, TWO_THIRDS, VoteError, check_consensus_vote

Voter = TypeVar("Voter", bound=Hashable)

MIN_OPTIONS, MAX_OPTIONS = 2, 20
# Reactions: keycaps 1..10 on the table mean "yes", on the maybe message "maybe".
KEYCAPS = tuple(f"{d}\ufe0f\u20e3" for d in range(1, 10)) + ("\U0001f51f",)
_KEYCAP_INDEX = {k.replace("\ufe0f", ""): i for i, k in enumerate(KEYCAPS)}

YES_WORDS = {"yes", "ja", "j", "y", "ok", "+", "✅", "👍"}
MAYBE_WORDS = {"maybe", "vielleicht", "evtl", "eventuell", "vllt", "?", "wenn's sein muss", "notfalls", "🤔"}
NO_WORDS = {"no", "nein", "n", "-", "❌", "👎"}
NONE_WORDS = {"none", "keine", "keiner", "keins", "nichts", "nothing", "-"}
# yes / no / abstain motions: words stand for the options 1, 2, 3
MOTION_WORDS = {"yes": 0, "ja": 0, "dafür": 0, "dafuer": 0, "no": 1, "nein": 1, "dagegen": 1,
                "abstain": 2, "abstention": 2, "enthaltung": 2, "enthalten": 2}

# ASCII digits, at most four: "²" passes str.isdigit() yet int() refuses it, as it refuses 5,000 digits
_NUMBER = re.compile(r"[0-9]{1,4}")
_ITEM = re.compile(r"([0-9]{1,4})\s*[=:]\s*([^\s,;]+)|([^\s,;]+)")


@dataclass(frozen=True)
class VoteItem:
    """One piece of a `!vote` line: `3`, `3=maybe`, `0=7`, or a word like `ja`."""

    number: int | None
    value: str | None
    raw: str


def read_items(raw: str) -> list[VoteItem]:
    items = []
    for m in _ITEM.finditer(raw):
        if m.group(1) is not None:
            items.append(VoteItem(int(m.group(1)), m.group(2).lower(), m.group(0)))
        else:
            word = m.group(3)
            number = word.lstrip("#")
            items.append(VoteItem(int(number), None, word) if _NUMBER.fullmatch(number)
                         else VoteItem(None, word.lower(), word))
    return items


def _option(item: VoteItem, n: int, first: int, poll_id: int) -> int:
    assert item.number is not None
    idx = item.number - first
    if not 0 <= idx < n:
        raise UserError("polls.error.option_out_of_range", poll=poll_id, option=item.number, first=first,
                        last=n - 1 + first, usage=False)
    return idx


def meeting_ballot(items: Sequence[VoteItem], n: int, poll_id: int) -> dict[int, str]:
    """`1 3=maybe` -> {0: "yes", 2: "maybe"}; unlisted options are "no" when counted."""
    if len(items) == 1 and items[0].number is None and items[0].value in NONE_WORDS:
        return {}
    ballot: dict[int, str] = {}
    for item in items:
        if item.number is None:
            raise UserError("polls.error.unreadable_item", value=item.raw)
        idx = _option(item, n, 1, poll_id)
        value = item.value or "yes"
        if value in YES_WORDS:
            ballot[idx] = "yes"
        elif value in MAYBE_WORDS:
            ballot[idx] = "maybe"
        elif value in NO_WORDS:
            ballot.pop(idx, None)
        else:
            raise UserError("polls.error.bad_answer", value=item.raw)
    return ballot


def choice_ballot(items: Sequence[VoteItem], n: int, poll_id: int, max_choices: int, yesno: bool) -> list[int]:
    chosen: list[int] = []
    for item in items:
        if item.number is None and yesno and item.value in MOTION_WORDS:
            idx = MOTION_WORDS[item.value]
        elif item.number is None or item.value is not None:
            raise UserError("polls.error.unreadable_choice", value=item.raw)
        else:
            idx = _option(item, n, 1, poll_id)
        if idx not in chosen:
            chosen.append(idx)
    if len(chosen) > max_choices:
        raise UserError("polls.error.too_many_choices", max=max_choices, poll=poll_id,
                        example=" ".join(str(i) for i in range(1, max_choices + 1)), usage=False)
    return chosen


def consensus_ballot(items: Sequence[VoteItem], n: int, poll_id: int) -> dict[int, int]:
    ratings: dict[int, int] = {}
    for item in items:
        if item.number is None or item.value is None:
            raise UserError("polls.error.rating_needed", value=item.raw)
        idx = _option(item, n, 0, poll_id)
        if not _NUMBER.fullmatch(item.value):
            raise UserError("polls.error.bad_rating", value=item.raw, max=MAX_RESISTANCE)
        ratings[idx] = int(item.value)
    try:
        missing = check_consensus_vote(n, ratings)
    except VoteError as err:
        raise UserError("polls.error.bad_rating", value=f"{err.option}={err.value}", max=MAX_RESISTANCE) from None
    if missing:
        raise UserError("polls.error.missing_ratings", options=", ".join(str(i) for i in missing))
    return ratings


def keycap_index(key: str) -> int | None:
    """0-based option of a keycap reaction (with or without the emoji variation selector)."""
    return _KEYCAP_INDEX.get(key.replace("\ufe0f", "").strip())


def native_ballot(answer_ids: Iterable[Any], n: int, max_choices: int) -> list[int]:
    """Option indices of a native response. MSC3381: only the first max_selections answers count;
    an unknown answer id makes the ballot invalid (kept as -1 so the tally counts it invalid)."""
    chosen: list[int] = []
    for answer in list(answer_ids)[:max_choices]:
        text = str(answer)
        idx = int(text) - 1 if _NUMBER.fullmatch(text) else -1
        chosen.append(idx if 0 <= idx < n else -1)
    return chosen


# --------------------------------------------------------------------------- date polls
def merge_date_answers(votes: Iterable[tuple[Voter, datetime, Mapping[int, str]]],
                       reactions: Iterable[tuple[Voter, datetime, int, str]],
                       until: datetime | None = None) -> dict[Voter, dict[int, str]]:
    """Each member's answers to a date poll from typed votes and reactions, latest first.

    A typed vote answers every option (unlisted = "no") at its time; a reaction answers one
    option at its time; per option the latest answer wins (equal times: the later in the
    input, typed votes before reactions). A removed reaction is simply absent, so the
    option falls back to the member's previous answer. Anything after `until` is ignored.
    Returns only the "yes"/"maybe" answers; everything else counts as "no".
    """
    stamps: dict[Voter, dict[int, tuple[datetime, int, str]]] = {}
    typed: dict[Voter, tuple[datetime, int, Mapping[int, str]]] = {}
    seq = 0
    for voter, ts, ballot in votes:
        seq += 1
        if until is not None and ts > until:
            continue
        if voter not in typed or (ts, seq) >= typed[voter][:2]:
            typed[voter] = (ts, seq, ballot)
    for voter, ts, idx, answer in reactions:
        seq += 1
        if until is not None and ts > until:
            continue
        current = stamps.setdefault(voter, {}).get(idx)
        if current is None or (ts, seq) >= current[:2]:
            stamps[voter][idx] = (ts, seq, answer)
    merged: dict[Voter, dict[int, str]] = {}
    for voter in [*typed, *[v for v in stamps if v not in typed]]:
        answers: dict[int, str] = {}
        base = typed.get(voter)
        clicked = stamps.get(voter, {})
        options = set(clicked) | (set(base[2]) if base else set())
        for idx in sorted(options):
            click = clicked.get(idx)
            if click is not None and (base is None or click[:2] > base[:2]):
                answers[idx] = click[2]
            elif base is not None and idx in base[2]:
                answers[idx] = base[2][idx]
        merged[voter] = {i: a for i, a in answers.items() if a in ("yes", "maybe")}
    return merged


def nudge_at(created: datetime, until: datetime | None) -> datetime | None:
    """When to remind those who have not answered: a day before the deadline, but not in the
    first half of the poll's time (a poll of a few hours is nudged half-way)."""
    if until is None or until <= created:
        return None
    return max(created + (until - created) / 2, until - timedelta(days=1))


MAJORITIES = {"simple": (SIMPLE_MAJORITY, False), "2/3": (TWO_THIRDS, True)}


def majority_rule(name: str) -> tuple[Fraction, bool]:
    """(share, at_least) for tally_choice: simple = more than half, 2/3 = at least two thirds."""
    return MAJORITIES[name]


# --------------------------------------------------------------------------- durations
_UNITS = {
    "min": 1, "mins": 1, "minute": 1, "minuten": 1, "minutes": 1, "m": 1,
    "h": 60, "std": 60, "stunde": 60, "stunden": 60, "hour": 60, "hours": 60,
    "d": 1440, "tag": 1440, "tage": 1440, "tagen": 1440, "day": 1440, "days": 1440,
    "w": 10080, "woche": 10080, "wochen": 10080, "week": 10080, "weeks": 10080,
}
_DURATION = re.compile(r"([0-9]{1,5}(?:[.,][0-9]+)?)\s*([a-zäöü]+)")  # at most 99999 weeks: datetimes stay in range


_JOINER = re.compile(r"\s*(?:,|&|und|and)?\s*")  # what may stand between two parts: "1 Tag und 2 Stunden"


def parse_duration(text: str) -> int | None:
    """Minutes in "90 min", "1,5 Stunden", "2h", "1 Tag 2 Stunden"; None if unreadable or zero."""
    raw = text.strip().lower().replace("eine ", "1 ").replace("einen ", "1 ").replace("ein ", "1 ")
    raw = re.sub(r"\b(an|a|one)\s+(?=[a-z])", "1 ", raw)
    total, end = 0.0, 0
    for m in _DURATION.finditer(raw):
        if not _JOINER.fullmatch(raw[end:m.start()]) or m.group(2) not in _UNITS:
            return None
        total += float(m.group(1).replace(",", ".")) * _UNITS[m.group(2)]
        end = m.end()
    if raw[end:].strip() or total <= 0:
        return None
    return round(total)


def parse_reminders(text: str) -> tuple[int, ...] | None:
    """Minutes before a meeting, largest first: "1 Tag, 1 Stunde", "1d | 2h", "1 day and 1 hour";
    "keine"/"none" means no reminder. None if a part is unreadable."""
    raw = text.strip().lower()
    if raw in NONE_WORDS or raw in ("no", "nein", "aus", "off"):
        return ()
    parts = [p for p in re.split(r"\s*(?:,|;|\||\bund\b|\band\b)\s*", raw) if p]
    minutes = []
    for part in parts:
        value = parse_duration(part)
        if value is None:
            return None
        minutes.append(value)
    return tuple(sorted(set(minutes), reverse=True))
