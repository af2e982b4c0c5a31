"""Property tests for the quota speakers' list order (commands/speakerorder.py)."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from commands.speakerorder import FINTA, GO, OPEN, next_speaker, speaking_order


@dataclass(frozen=True)
class E:
    id: int
    user_id: str
    list: str


PEOPLE = [f"@p{i}:test" for i in range(6)]


@st.composite
def situations(draw):
    """A queue (one speech entry and at most one motion per person), who has spoken, the last list."""
    entries, next_id = [], 1
    for user in draw(st.lists(st.sampled_from(PEOPLE), unique=True, max_size=6)):
        for list_ in draw(st.lists(st.sampled_from([GO, FINTA, OPEN]), min_size=1, max_size=2, unique_by=lambda x: x == GO)):
            entries.append((draw(st.integers(0, 10_000)), user, list_))
    entries.sort()
    queue = [E(next_id + i, user, list_) for i, (_, user, list_) in enumerate(entries)]
    spoken = draw(st.dictionaries(st.sampled_from(PEOPLE), st.integers(1, 3)))
    last = draw(st.sampled_from([None, FINTA, OPEN]))
    return queue, spoken, last


@given(situations())
def test_order_is_a_permutation_with_motions_first(s):
    queue, spoken, last = s
    order = speaking_order(queue, spoken, last)
    assert sorted(e.id for e in order) == sorted(e.id for e in queue)
    kinds = [e.list == GO for e in order]
    assert kinds == sorted(kinds, reverse=True)  # all motions before any speech
    motions = [e.id for e in order if e.list == GO]
    assert motions == sorted(motions)


@given(situations())
def test_lists_alternate_unless_one_runs_dry(s):
    queue, spoken, last = s
    speeches = [e for e in speaking_order(queue, spoken, last) if e.list != GO]
    for i, e in enumerate(speeches):
        previous = speeches[i - 1].list if i else last
        other = OPEN if e.list == FINTA else FINTA
        if previous == e.list:
            # the same list twice in a row only when nobody waits on the other one
            assert not any(x.list == other for x in speeches[i:])


@given(situations())
def test_finta_first_when_both_wait_at_the_start(s):
    queue, spoken, _ = s
    speeches = [e for e in speaking_order(queue, spoken, None) if e.list != GO]
    if any(e.list == FINTA for e in speeches):
        assert speeches[0].list == FINTA


@given(situations())
def test_first_time_speakers_before_repeat_speakers_within_a_list(s):
    queue, spoken, last = s
    order = speaking_order(queue, spoken, last)
    for list_ in (FINTA, OPEN):
        within = [e for e in order if e.list == list_]
        repeat = [spoken.get(e.user_id, 0) > 0 for e in within]
        assert repeat == sorted(repeat)
        for flag in (False, True):
            ids = [e.id for e, r in zip(within, repeat) if r == flag]
            assert ids == sorted(ids)  # otherwise first come, first served


@given(situations())
def test_next_speaker_is_the_head_of_the_order(s):
    queue, spoken, last = s
    order = speaking_order(queue, spoken, last)
    assert next_speaker(queue, spoken, last) == (order[0] if order else None)


def test_examples():
    a, b, c, d = (E(1, "@a", OPEN), E(2, "@b", FINTA), E(3, "@c", OPEN), E(4, "@d", GO))
    assert [e.user_id for e in speaking_order([a, b, c, d], {}, None)] == ["@d", "@b", "@a", "@c"]
    assert [e.user_id for e in speaking_order([a, b, c], {}, FINTA)] == ["@a", "@b", "@c"]
    assert [e.user_id for e in speaking_order([a, c], {"@a": 1}, None)] == ["@c", "@a"]
    assert next_speaker([], {}, None) is None
