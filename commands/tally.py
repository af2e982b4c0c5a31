"""Counting votes: date polls, decision polls and systemic consensing, as plain functions.

Inputs are the latest vote of each voter (see `latest_per_voter`); outputs are frozen
dataclasses that the poll feature renders. Option indices are 0-based here.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Generic, Literal, TypeVar

__all__ = [
    "ANSWERS", "MeetingOption", "MeetingResult", "tally_meeting",
    "SIMPLE_MAJORITY", "TWO_THIRDS", "ChoiceResult", "tally_choice",
    "MAX_RESISTANCE", "ConsensusOption", "ConsensusResult", "VoteError",
    "check_consensus_vote", "tally_consensus", "latest_per_voter",
]

Voter = TypeVar("Voter", bound=Hashable)
Payload = TypeVar("Payload")
Answer = Literal["yes", "maybe", "no"]
ANSWERS: tuple[Answer, ...] = ("yes", "maybe", "no")


class VoteError(ValueError):
    """A vote that cannot be counted. code: "option_out_of_range" | "value_out_of_range"."""

    def __init__(self, code: str, option: int, value: object = None) -> None:
        super().__init__(f"{code}: option {option}, value {value!r}")
        self.code, self.option, self.value = code, option, value


def _check_option(option: int, n_options: int) -> None:
    if not 0 <= option < n_options:
        raise VoteError("option_out_of_range", option)


# --------------------------------------------------------------------------- date polls
@dataclass(frozen=True)
class MeetingOption(Generic[Voter]):
    """Who answered what for one date option, voters in the order of `votes`."""

    yes: tuple[Voter, ...]
    maybe: tuple[Voter, ...]
    no: tuple[Voter, ...]

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.yes), len(self.maybe), len(self.no)


@dataclass(frozen=True)
class MeetingResult(Generic[Voter]):
    options: tuple[MeetingOption[Voter], ...]
    best: tuple[int, ...]  # most yes, then most maybe; all tied options; () if nobody can come
    voters: int


def tally_meeting(n_options: int, votes: Mapping[Voter, Mapping[int, str]]) -> MeetingResult[Voter]:
    """Count a date poll. An option a voter did not list counts as "no" for them.

    `best` holds the options with the most "yes", ties broken by the most "maybe"; if no
    option has a single yes or maybe (or nobody voted), `best` is empty.
    Raises VoteError for an option index out of range or an answer other than yes/maybe/no.
    """
    lists: list[dict[str, list[Voter]]] = [{a: [] for a in ANSWERS} for _ in range(n_options)]
    for voter, answers in votes.items():
        for option, answer in answers.items():
            _check_option(option, n_options)
            if answer not in ANSWERS:
                raise VoteError("value_out_of_range", option, answer)
        for option in range(n_options):
            lists[option][answers.get(option, "no")].append(voter)
    options = tuple(MeetingOption(tuple(o["yes"]), tuple(o["maybe"]), tuple(o["no"])) for o in lists)
    scores = [(len(o.yes), len(o.maybe)) for o in options]
    top = max(scores, default=(0, 0))
    best = () if top == (0, 0) else tuple(i for i, score in enumerate(scores) if score == top)
    return MeetingResult(options, best, len(votes))


# --------------------------------------------------------------------------- decisions
SIMPLE_MAJORITY = Fraction(1, 2)
TWO_THIRDS = Fraction(2, 3)


@dataclass(frozen=True)
class ChoiceResult:
    counts: tuple[int, ...]  # ballots naming each option (abstain option included)
    participation: int  # ballots cast, including abstentions and invalid ones
    abstentions: int
    invalid: int  # empty, too many choices, unknown options
    valid_votes: int  # the base for the majority: participation - abstentions - invalid
    quorum_met: bool
    winner: int | None
    reason: str  # "ok" | "no_quorum" | "no_majority" | "tie"
    leaders: tuple[int, ...] = ()  # the options sharing the most votes (not the abstention); () if none has any

    @property
    def valid(self) -> bool:
        """The poll decided something (quorum met and a winner with the required majority)."""
        return self.reason == "ok"


def tally_choice(n_options: int, ballots: Mapping[Voter, Sequence[int]], *, max_choices: int = 1,
                 quorum: int | None = None, majority: Fraction = SIMPLE_MAJORITY,
                 at_least: bool = False, abstain_option: int | None = None) -> ChoiceResult:
    """Count a decision poll the way German associations usually do.

    * Quorum: at least `quorum` ballots cast; abstentions and invalid ballots count
      towards it (those present and voting), else reason "no_quorum".
    * Base: the valid votes only ("abgegebene gültige Stimmen"); abstentions and invalid
      ballots do not count. A ballot naming `abstain_option` is an abstention (other
      options on it are ignored). A ballot that is empty, names more than `max_choices`
      options, or an unknown option is invalid. Repeated options on a ballot count once.
    * Winner: the option with the most votes wins if it is named on strictly more than
      `majority` of the valid ballots (simple majority: more than half, i.e. more yes than
      no in a yes/no poll). With `at_least=True` the share may also equal `majority`, as
      in "mindestens zwei Drittel" (majority=TWO_THIRDS, at_least=True).
      For multiple choice, "of the valid ballots" means per ballot, not per cross.
    * Several options sharing the most votes: reason "tie", no winner (in a yes/no poll a
      tie means the motion is not carried). Otherwise too few votes: "no_majority"
      (also when there are no valid votes at all).
    In a yes/no/abstain poll a winning "no" option means the motion was rejected.
    """
    if abstain_option is not None:
        _check_option(abstain_option, n_options)
    counts = [0] * n_options
    abstentions = invalid = 0
    for ballot, alike in Counter(map(tuple, ballots.values())).items():  # equal ballots are judged once
        chosen = set(ballot)
        if abstain_option is not None and abstain_option in chosen:
            abstentions += alike
            counts[abstain_option] += alike
        elif not chosen or len(chosen) > max_choices or not all(0 <= o < n_options for o in chosen):
            invalid += alike
        else:
            for option in chosen:
                counts[option] += alike
    participation = len(ballots)
    valid_votes = participation - abstentions - invalid
    quorum_met = quorum is None or participation >= quorum
    ranked = [(c, i) for i, c in enumerate(counts) if i != abstain_option]
    top = max((c for c, _ in ranked), default=0)
    leaders = [i for c, i in ranked if c == top]
    winner, reason = None, "ok"
    share_needed = majority * valid_votes
    if not quorum_met:
        reason = "no_quorum"
    elif valid_votes and top and len(leaders) > 1:
        reason = "tie"
    elif not valid_votes or not (top >= share_needed if at_least else top > share_needed):
        reason = "no_majority"
    else:
        winner = leaders[0]
    return ChoiceResult(tuple(counts), participation, abstentions, invalid, valid_votes,
                        quorum_met, winner, reason, tuple(leaders) if top else ())


# --------------------------------------------------------------------------- consensing
MAX_RESISTANCE = 10


@dataclass(frozen=True)
class ConsensusOption:
    total: int  # summed resistance
    average: float | None  # None when nobody rated
    acceptance: float | None  # percent: 100 * (1 - average / 10)
    not_better_than_passive: bool  # total not lower than option 0 ("keep as it is"); False for 0


@dataclass(frozen=True)
class ConsensusResult:
    options: tuple[ConsensusOption, ...]
    winners: tuple[int, ...]  # lowest total resistance, ties all listed in option order
    voters: int


def check_consensus_vote(n_options: int, ratings: Mapping[int, int]) -> list[int]:
    """The options a consensus vote leaves out (sorted); VoteError for a bad option or value."""
    for option, value in ratings.items():
        _check_option(option, n_options)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RESISTANCE:
            raise VoteError("value_out_of_range", option, value)
    return [option for option in range(n_options) if option not in ratings]


def tally_consensus(n_options: int, ratings: Mapping[Voter, Mapping[int, int]]) -> ConsensusResult:
    """Systemic consensing: option 0 is the passive solution ("keep things as they are").

    Each voter gives every option a resistance 0..10; an option a voter left out counts
    as 10 (full resistance), as is usual in consensing. The winners are the options with
    the lowest total resistance. Nobody voted: no winners, averages None.
    """
    totals = [0] * n_options
    alike = Counter(map(id, ratings.values()))  # one mapping shared by several voters is checked once
    for votes in {id(v): v for v in ratings.values()}.values():
        check_consensus_vote(n_options, votes)
        for option in range(n_options):
            totals[option] += votes.get(option, MAX_RESISTANCE) * alike[id(votes)]
    voters = len(ratings)
    options = []
    for option, total in enumerate(totals):
        average = total / voters if voters else None
        acceptance = 100 * (1 - average / MAX_RESISTANCE) if average is not None else None
        flagged = option != 0 and total >= totals[0]
        options.append(ConsensusOption(total, average, acceptance, flagged))
    lowest = min(totals, default=0)
    winners = tuple(i for i, t in enumerate(totals) if t == lowest) if voters else ()
    return ConsensusResult(tuple(options), winners, voters)


# --------------------------------------------------------------------------- latest vote wins
def latest_per_voter(events: Iterable[tuple[Voter, datetime, Payload]],
                     until: datetime | None = None) -> dict[Voter, Payload]:
    """Each voter's latest payload; with equal timestamps the later event in `events` wins.

    Events after `until` (a poll's end) are ignored; one exactly at `until` counts.
    """
    latest: dict[Voter, tuple[datetime, Payload]] = {}
    for voter, ts, payload in events:
        if until is not None and ts > until:
            continue
        if voter not in latest or ts >= latest[voter][0]:
            latest[voter] = (ts, payload)
    return {voter: payload for voter, (_, payload) in latest.items()}
