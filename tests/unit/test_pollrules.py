"""Poll rules: reading !vote lines, reactions, merging typed and clicked answers, nudge time, durations."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserError
from commands.pollrules import (KEYCAPS, choice_ballot, consensus_ballot, keycap_index, meeting_ballot,
                                merge_date_answers, native_ballot, nudge_at, parse_duration, parse_reminders,
                                read_items)
from commands.tally import latest_per_voter, tally_meeting

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


def test_read_items() -> None:
    items = read_items("1, 3=vielleicht  #4 ja 2 = nein")
    assert [(i.number, i.value) for i in items] == [(1, None), (3, "vielleicht"), (4, None), (None, "ja"),
                                                    (2, "nein")]


def test_meeting_ballot_defaults_to_yes_and_reads_german() -> None:
    assert meeting_ballot(read_items("1 3=vielleicht 2=ja"), 4, 7) == {0: "yes", 2: "maybe", 1: "yes"}
    assert meeting_ballot(read_items("1 1=nein"), 4, 7) == {}
    assert meeting_ballot(read_items("keine"), 4, 7) == {}


@pytest.mark.parametrize("line, key", [("5", "polls.error.option_out_of_range"), ("0", "polls.error.option_out_of_range"),
                                       ("2=naja", "polls.error.bad_answer"), ("x", "polls.error.unreadable_item")])
def test_meeting_ballot_errors(line: str, key: str) -> None:
    with pytest.raises(UserError) as err:
        meeting_ballot(read_items(line), 4, 7)
    assert err.value.key == key


def test_choice_ballot() -> None:
    assert choice_ballot(read_items("2"), 3, 1, 1, False) == [1]
    assert choice_ballot(read_items("1 3 1"), 3, 1, 2, False) == [0, 2]
    assert choice_ballot(read_items("Enthaltung"), 3, 1, 1, True) == [2]
    with pytest.raises(UserError) as err:
        choice_ballot(read_items("1 2"), 3, 1, 1, False)
    assert err.value.key == "polls.error.too_many_choices"
    with pytest.raises(UserError):
        choice_ballot(read_items("ja"), 3, 1, 1, False)  # words only for yes/no motions


def test_consensus_ballot_names_missing_options() -> None:
    assert consensus_ballot(read_items("0=7 1=2 2=10"), 3, 5) == {0: 7, 1: 2, 2: 10}
    with pytest.raises(UserError) as err:
        consensus_ballot(read_items("0=7 2=1"), 3, 5)
    assert err.value.key == "polls.error.missing_ratings" and err.value.params["options"] == "1"
    for line in ("0=11 1=1 2=1", "0=x 1=1 2=1", "0 1=2 2=3"):
        with pytest.raises(UserError):
            consensus_ballot(read_items(line), 3, 5)


def test_keycaps_with_and_without_variation_selector() -> None:
    assert keycap_index("1️⃣") == 0 and keycap_index("1\u20e3") == 0
    assert keycap_index("🔟") == 9 and keycap_index("👍") is None
    assert [keycap_index(k) for k in KEYCAPS] == list(range(10))


def test_native_ballot_truncates_and_marks_unknown() -> None:
    assert native_ballot(["2"], 3, 1) == [1]
    assert native_ballot(["2", "3"], 3, 1) == [1]
    assert native_ballot(["pizza"], 3, 1) == [-1]
    assert native_ballot([], 3, 1) == []


# --------------------------------------------------------------------------- merging typed and clicked answers
def test_typed_vote_replaces_earlier_clicks_and_later_clicks_win() -> None:
    votes = [("a", T0 + timedelta(minutes=1), {1: "yes"})]
    reactions = [("a", T0, 0, "yes"), ("a", T0 + timedelta(minutes=2), 2, "maybe")]
    assert merge_date_answers(votes, reactions) == {"a": {1: "yes", 2: "maybe"}}


def test_removed_reaction_falls_back_to_the_previous_answer() -> None:
    reactions = [("a", T0, 0, "maybe"), ("a", T0 + timedelta(minutes=1), 0, "yes")]
    assert merge_date_answers([], reactions) == {"a": {0: "yes"}}
    assert merge_date_answers([], reactions[:1]) == {"a": {0: "maybe"}}
    assert merge_date_answers([("a", T0 - timedelta(minutes=1), {0: "yes"})], []) == {"a": {0: "yes"}}


def test_answers_after_the_deadline_are_ignored() -> None:
    votes = [("a", T0, {0: "yes"}), ("a", T0 + timedelta(hours=2), {1: "yes"})]
    assert merge_date_answers(votes, [("b", T0 + timedelta(hours=2), 0, "yes")], until=T0 + timedelta(hours=1)) \
        == {"a": {0: "yes"}}


VOTERS = st.sampled_from(["a", "b", "c"])
STAMPS = st.integers(0, 20).map(lambda m: T0 + timedelta(minutes=m))
TYPED = st.lists(st.tuples(VOTERS, STAMPS, st.dictionaries(st.integers(0, 3), st.sampled_from(["yes", "maybe"]))),
                 max_size=6)
CLICKS = st.lists(st.tuples(VOTERS, STAMPS, st.integers(0, 3), st.sampled_from(["yes", "maybe"])), max_size=10)


@given(TYPED)
def test_typed_votes_alone_are_latest_per_voter(votes) -> None:
    assert merge_date_answers(votes, []) == latest_per_voter(votes)


@given(TYPED, CLICKS)
def test_each_option_answer_is_the_latest_source(votes, clicks) -> None:
    merged = merge_date_answers(votes, clicks)
    tally_meeting(4, merged)  # always countable
    for voter, answers in merged.items():
        for option in range(4):
            sources = [(ts, i, b.get(option, "no")) for i, (v, ts, b) in enumerate(votes) if v == voter]
            sources += [(ts, len(votes) + i, a) for i, (v, ts, o, a) in enumerate(clicks) if v == voter and o == option]
            expected = max(sources)[2] if sources else "no"
            assert answers.get(option, "no") == expected
    assert set(merged) == {v for v, *_ in votes} | {v for v, *_ in clicks}


@given(TYPED, CLICKS)
def test_merge_ignores_input_order_of_distinct_times(votes, clicks) -> None:
    distinct = len({ts for _, ts, *_ in [*votes, *clicks]}) == len(votes) + len(clicks)
    if distinct:
        assert merge_date_answers(list(reversed(votes)), list(reversed(clicks))) == merge_date_answers(votes, clicks)


# --------------------------------------------------------------------------- timing and durations
def test_nudge_a_day_before_or_half_way() -> None:
    assert nudge_at(T0, T0 + timedelta(days=7)) == T0 + timedelta(days=6)
    assert nudge_at(T0, T0 + timedelta(hours=30)) == T0 + timedelta(hours=15)
    assert nudge_at(T0, None) is None and nudge_at(T0, T0) is None


@given(st.integers(1, 60 * 24 * 60))
def test_nudge_is_inside_the_poll(minutes: int) -> None:
    until = T0 + timedelta(minutes=minutes)
    at = nudge_at(T0, until)
    assert at is not None and T0 < at < until


@pytest.mark.parametrize("text, minutes", [("90 min", 90), ("1,5 Stunden", 90), ("2h", 120), ("1 Tag", 1440),
                                           ("1 Tag und 2 Stunden", 1560), ("eine Stunde", 60), ("an hour", 60),
                                           ("30 minutes", 30), ("1 week", 10080)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "bald", "0 min", "5", "2 Stunden später"])
def test_unreadable_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_reminders() -> None:
    assert parse_reminders("1 Tag, 1 Stunde") == (1440, 60)
    assert parse_reminders("1h und 1d") == (1440, 60)
    assert parse_reminders("2 days | 30 min") == (2880, 30)
    assert parse_reminders("keine") == () and parse_reminders("none") == ()
    assert parse_reminders("1 Tag, irgendwann") is None


@pytest.mark.parametrize("line", ["²", "#²", "1" * 5000, "12345", "٣"])
def test_numbers_are_few_ascii_digits(line: str) -> None:
    """"²" passes str.isdigit() and int() refuses it, as it refuses 5,000 digits: such an item is a word."""
    assert [(i.number, i.value) for i in read_items(line)] == [(None, line.lower())]
    with pytest.raises(UserError) as err:
        meeting_ballot(read_items(line), 4, 7)
    assert err.value.key == "polls.error.unreadable_item"
    with pytest.raises(UserError) as err:
        choice_ballot(read_items(line), 3, 1, 1, False)
    assert err.value.key == "polls.error.unreadable_choice"


@pytest.mark.parametrize("line", ["1" * 5000 + "=ja", "12345=ja"])
def test_long_option_numbers_are_unreadable(line: str) -> None:
    with pytest.raises(UserError) as err:
        meeting_ballot(read_items(line), 4, 7)
    assert err.value.key == "polls.error.unreadable_item"


@pytest.mark.parametrize("value", ["²", "1" * 5000])
def test_consensus_rating_must_be_a_small_ascii_number(value: str) -> None:
    with pytest.raises(UserError) as err:
        consensus_ballot(read_items(f"0={value} 1=1 2=1"), 3, 5)
    assert err.value.key == "polls.error.bad_rating"


def test_native_answer_ids_that_are_no_small_ascii_number_are_invalid() -> None:
    assert native_ballot(["²"], 3, 1) == [-1]
    assert native_ballot(["1" * 5000], 3, 1) == [-1]
    assert native_ballot(["٢"], 3, 1) == [-1]


@pytest.mark.parametrize("text", ["9" * 400 + " min", "1" * 5000 + " Tage", "999999 weeks"])
def test_huge_durations_are_unreadable(text: str) -> None:
    assert parse_duration(text) is None


def test_duration_parts_are_joined_by_words_not_by_letters():
    from commands.pollrules import parse_duration
    assert parse_duration("1 Tag und 2 Stunden") == 1560
    assert parse_duration("1 Tag, 2 Stunden") == 1560
    assert parse_duration("1 day & 2 h") == 1560
    assert parse_duration("1 day and 2 hours") == 1560
    # .strip(" ,und&and") stripped characters: "nu", "dan", "a" between the parts were taken as "und"
    assert parse_duration("1 Tag nu 2 Stunden") is None
    assert parse_duration("1 Tag dan 2 Stunden") is None
