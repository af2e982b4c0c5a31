"""Counting votes: properties that must hold for any ballots, plus the usual association cases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.tally import (
    TWO_THIRDS,
    VoteError,
    check_consensus_vote,
    latest_per_voter,
    tally_choice,
    tally_consensus,
    tally_meeting,
)

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
VOTERS = st.sampled_from([f"@u{i}:example.org" for i in range(8)])


# --------------------------------------------------------------------------- date polls
@st.composite
def meeting_votes(draw: st.DrawFn) -> tuple[int, dict[str, dict[int, str]]]:
    n = draw(st.integers(1, 6))
    answers = st.dictionaries(st.integers(0, n - 1), st.sampled_from(["yes", "maybe", "no"]))
    return n, draw(st.dictionaries(VOTERS, answers))


@given(meeting_votes())
def test_meeting_best_is_max_yes_then_maybe(case: tuple[int, dict[str, dict[int, str]]]) -> None:
    n, votes = case
    result = tally_meeting(n, votes)
    scores = [(len(o.yes), len(o.maybe)) for o in result.options]
    assert result.voters == len(votes)
    for option in result.options:
        assert sum(option.counts) == len(votes)  # everyone who voted is on every option
    if max(scores) == (0, 0):
        assert result.best == ()
    else:
        assert result.best == tuple(i for i, s in enumerate(scores) if s == max(scores))


def test_meeting_example() -> None:
    votes = {"@a": {0: "yes", 1: "maybe"}, "@b": {0: "maybe", 1: "yes"}, "@c": {1: "yes", 2: "yes"}}
    result = tally_meeting(3, votes)
    assert result.best == (1,)
    assert result.options[1].yes == ("@b", "@c")
    assert result.options[1].maybe == ("@a",)
    assert result.options[0].no == ("@c",)  # unlisted = no
    assert result.options[2].counts == (1, 0, 2)


def test_meeting_ties_and_empty() -> None:
    assert tally_meeting(2, {"@a": {0: "yes", 1: "yes"}}).best == (0, 1)
    assert tally_meeting(2, {}).best == ()
    assert tally_meeting(2, {"@a": {}}).best == ()


def test_meeting_rejects_bad_votes() -> None:
    with pytest.raises(VoteError) as error:
        tally_meeting(2, {"@a": {2: "yes"}})
    assert error.value.code == "option_out_of_range"
    with pytest.raises(VoteError) as error:
        tally_meeting(2, {"@a": {0: "perhaps"}})
    assert error.value.code == "value_out_of_range"


# --------------------------------------------------------------------------- decisions
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.dictionaries(VOTERS, st.lists(st.integers(-1, n), max_size=2)))))
def test_single_choice_counts_sum_to_ballots(case: tuple[int, dict[str, list[int]]]) -> None:
    n, ballots = case
    result = tally_choice(n, ballots, max_choices=1)
    assert sum(result.counts) == result.valid_votes
    assert result.valid_votes + result.invalid + result.abstentions == result.participation == len(ballots)
    if result.winner is not None:
        assert result.counts[result.winner] * 2 > result.valid_votes
        assert result.reason == "ok" and result.valid


@given(st.integers(2, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.dictionaries(VOTERS, st.lists(st.integers(0, n - 1), min_size=1, max_size=1)))))
def test_single_choice_with_abstention_counts_sum_to_ballots(case: tuple[int, dict[str, list[int]]]) -> None:
    n, ballots = case
    result = tally_choice(n, ballots, max_choices=1, abstain_option=n - 1)
    assert sum(result.counts) == len(ballots)
    assert result.abstentions == result.counts[n - 1]
    assert result.winner != n - 1


def count_each_ballot(n: int, ballots: dict[str, list[int]], max_choices: int,
                      abstain: int | None) -> tuple[list[int], int, int]:
    """The rule read ballot by ballot: (counts, abstentions, invalid)."""
    counts, abstentions, invalid = [0] * n, 0, 0
    for ballot in ballots.values():
        chosen = set(ballot)
        if abstain is not None and abstain in chosen:
            abstentions, counts[abstain] = abstentions + 1, counts[abstain] + 1
        elif not chosen or len(chosen) > max_choices or not all(0 <= o < n for o in chosen):
            invalid += 1
        else:
            for option in chosen:
                counts[option] += 1
    return counts, abstentions, invalid


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.just(n), st.dictionaries(VOTERS, st.sampled_from([[], [0], [0, 0], [1, 0], [0, 1], [n], [-1], [n - 1]])),
    st.integers(1, 3), st.none() | st.just(n - 1))))
def test_equal_ballots_count_like_separate_ones(case: tuple[int, dict[str, list[int]], int, int | None]) -> None:
    n, ballots, max_choices, abstain = case  # sampled_from: equal ballots are often one shared list
    result = tally_choice(n, ballots, max_choices=max_choices, abstain_option=abstain)
    counts, abstentions, invalid = count_each_ballot(n, ballots, max_choices, abstain)
    assert (list(result.counts), result.abstentions, result.invalid) == (counts, abstentions, invalid)
    assert result == tally_choice(n, {v: list(b) for v, b in ballots.items()}, max_choices=max_choices,
                                  abstain_option=abstain)


YES, NO, ABSTAIN = 0, 1, 2


def yes_no(yes: int, no: int, abstain: int = 0) -> dict[str, list[int]]:
    ballots: dict[str, list[int]] = {}
    for option, count in ((YES, yes), (NO, no), (ABSTAIN, abstain)):
        for i in range(count):
            ballots[f"@{option}-{i}"] = [option]
    return ballots


def test_abstentions_do_not_count_towards_the_majority() -> None:
    result = tally_choice(3, yes_no(4, 3, 10), max_choices=1, abstain_option=ABSTAIN)
    assert (result.winner, result.reason, result.valid_votes, result.abstentions) == (YES, "ok", 7, 10)


def test_rejected_motion_names_no() -> None:
    result = tally_choice(3, yes_no(2, 5, 1), max_choices=1, abstain_option=ABSTAIN)
    assert result.winner == NO


def test_tie() -> None:
    result = tally_choice(3, yes_no(3, 3, 1), max_choices=1, abstain_option=ABSTAIN)
    assert (result.winner, result.reason, result.valid) == (None, "tie", False)


def test_leaders_are_the_options_with_the_most_votes_never_the_abstention() -> None:
    assert tally_choice(3, yes_no(3, 3, 1), max_choices=1, abstain_option=ABSTAIN).leaders == (YES, NO)
    assert tally_choice(3, yes_no(1, 1, 5), max_choices=1, abstain_option=ABSTAIN).leaders == (YES, NO)
    assert tally_choice(3, yes_no(0, 0, 4), max_choices=1, abstain_option=ABSTAIN).leaders == ()
    assert tally_choice(3, {"a": [2], "b": [0, 2]}, max_choices=2).leaders == (2,)
    assert tally_choice(3, {}, max_choices=1).leaders == ()


def test_quorum_counts_abstentions() -> None:
    assert tally_choice(3, yes_no(2, 1, 2), max_choices=1, quorum=5, abstain_option=ABSTAIN).quorum_met
    result = tally_choice(3, yes_no(2, 1, 1), max_choices=1, quorum=5, abstain_option=ABSTAIN)
    assert (result.quorum_met, result.winner, result.reason) == (False, None, "no_quorum")


def test_relative_majority_is_not_enough() -> None:
    ballots = {"@a": [0], "@b": [0], "@c": [1], "@d": [2]}
    result = tally_choice(3, ballots, max_choices=1)
    assert (result.winner, result.reason) == (None, "no_majority")  # 2 of 4 is not more than half


def test_two_thirds() -> None:
    strict = tally_choice(3, yes_no(6, 3), max_choices=1, majority=TWO_THIRDS, abstain_option=ABSTAIN)
    assert strict.reason == "no_majority"  # exactly 2/3 is not more than 2/3
    at_least = tally_choice(3, yes_no(6, 3), max_choices=1, majority=TWO_THIRDS, at_least=True,
                            abstain_option=ABSTAIN)
    assert at_least.winner == YES
    assert tally_choice(3, yes_no(7, 3), max_choices=1, majority=Fraction(2, 3)).winner == YES


def test_invalid_ballots() -> None:
    ballots = {"@a": [0, 1], "@b": [], "@c": [7], "@d": [0]}
    result = tally_choice(2, ballots, max_choices=1)
    assert (result.invalid, result.valid_votes, result.winner) == (3, 1, 0)


def test_multiple_choice_majority_per_ballot() -> None:
    ballots = {"@a": [0, 1], "@b": [0, 2], "@c": [1], "@d": [0, 0]}  # repeated option counts once
    result = tally_choice(3, ballots, max_choices=2)
    assert result.counts == (3, 2, 1)
    assert (result.winner, result.valid_votes) == (0, 4)


def test_no_votes() -> None:
    result = tally_choice(2, {}, max_choices=1)
    assert (result.winner, result.reason, result.quorum_met) == (None, "no_majority", True)
    everyone_abstains = tally_choice(3, yes_no(0, 0, 3), max_choices=1, abstain_option=ABSTAIN)
    assert everyone_abstains.reason == "no_majority"


# --------------------------------------------------------------------------- consensing
@st.composite
def consensus_votes(draw: st.DrawFn) -> tuple[int, dict[str, dict[int, int]]]:
    n = draw(st.integers(1, 5))
    full = st.fixed_dictionaries({i: st.integers(0, 10) for i in range(n)})
    return n, draw(st.dictionaries(VOTERS, full))


@given(consensus_votes())
def test_consensus_winner_is_argmin_with_stable_ties(case: tuple[int, dict[str, dict[int, int]]]) -> None:
    n, ratings = case
    result = tally_consensus(n, ratings)
    totals = [sum(r[i] for r in ratings.values()) for i in range(n)]
    assert [o.total for o in result.options] == totals
    if ratings:
        assert result.winners == tuple(i for i in range(n) if totals[i] == min(totals))
        for option in result.options:
            assert option.average is not None and option.acceptance is not None
            assert option.acceptance == pytest.approx(100 - 10 * option.average)
    else:
        assert result.winners == ()
    assert [o.not_better_than_passive for o in result.options] == [i > 0 and t >= totals[0]
                                                                    for i, t in enumerate(totals)]


@given(consensus_votes(), st.lists(VOTERS, max_size=8))
def test_consensus_shared_ratings_count_for_each_voter(case: tuple[int, dict[str, dict[int, int]]],
                                                      sharing: list[str]) -> None:
    n, ratings = case
    if ratings:  # some voters hand in the very same ratings object as the first one
        first = next(iter(ratings.values()))
        ratings.update({voter: first for voter in sharing})
    copies = {voter: dict(r) for voter, r in ratings.items()}
    assert tally_consensus(n, ratings) == tally_consensus(n, copies)


def test_consensus_example() -> None:
    ratings = {"@a": {0: 8, 1: 2, 2: 5}, "@b": {0: 6, 1: 4, 2: 5}, "@c": {0: 4, 1: 3, 2: 10}}
    result = tally_consensus(3, ratings)
    assert result.winners == (1,)
    assert [o.total for o in result.options] == [18, 9, 20]
    assert result.options[1].acceptance == pytest.approx(70.0)
    assert result.options[2].not_better_than_passive
    assert not result.options[1].not_better_than_passive


def test_consensus_missing_rating_is_full_resistance() -> None:
    result = tally_consensus(2, {"@a": {0: 3}})
    assert [o.total for o in result.options] == [3, 10]


def test_check_consensus_vote() -> None:
    assert check_consensus_vote(4, {0: 0, 2: 10}) == [1, 3]
    assert check_consensus_vote(2, {0: 5, 1: 5}) == []
    for bad, code in (({0: 11}, "value_out_of_range"), ({0: -1}, "value_out_of_range"),
                      ({5: 1}, "option_out_of_range"), ({0: True}, "value_out_of_range")):
        with pytest.raises(VoteError) as error:
            check_consensus_vote(2, bad)
        assert error.value.code == code


# --------------------------------------------------------------------------- latest vote wins
EVENTS = st.lists(st.tuples(VOTERS, st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)),
                            st.integers()))


@given(EVENTS, st.none() | st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)))
def test_latest_vote_wins(events: list[tuple[str, datetime, int]], until: datetime | None) -> None:
    result = latest_per_voter(events, until)
    expected: dict[str, int] = {}
    counted = [(v, ts, p) for v, ts, p in events if until is None or ts <= until]
    for voter, ts, payload in sorted(counted, key=lambda e: e[1]):  # sorted() is stable
        expected[voter] = payload
    assert result == expected


def test_latest_per_voter_example() -> None:
    events = [("@a", T0, 1), ("@a", T0 + timedelta(minutes=2), 2), ("@a", T0 + timedelta(minutes=1), 3),
              ("@b", T0, 4), ("@b", T0, 5), ("@c", T0 + timedelta(hours=2), 6)]
    assert latest_per_voter(events, until=T0 + timedelta(hours=1)) == {"@a": 2, "@b": 5}
