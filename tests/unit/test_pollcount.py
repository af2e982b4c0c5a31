"""Who chose what in a decision poll: the first names per option and how many there are."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commands.pollcount import choosers

BALLOTS = st.sampled_from([[0], [1], [2], [0, 1], [1, 1], [], [5], [-1], [2, 0]])


@given(st.integers(1, 4), st.lists(BALLOTS, max_size=120), st.integers(1, 40))
def test_choosers_are_each_options_voters_in_order(n: int, ballots: list[list[int]], limit: int) -> None:
    chosen = {f"@u{i}:test": ballot for i, ballot in enumerate(ballots)}
    for idx, (names, total) in enumerate(choosers(n, chosen, limit)):
        everyone = [voter for voter, ballot in chosen.items() if idx in ballot]
        assert names == everyone[:limit] and total == len(everyone)


def test_choosers_read_only_as_far_as_needed() -> None:
    class Seen(dict):
        read = 0

        def items(self):
            for item in super().items():
                Seen.read += 1
                yield item

    chosen = Seen({f"@u{i}:test": [i % 2] for i in range(10_000)})
    [(evens, ones), (odds, twos)] = choosers(2, chosen, 30)
    assert (ones, twos) == (5000, 5000)
    assert evens == [f"@u{i}:test" for i in range(0, 60, 2)]
    assert odds == [f"@u{i}:test" for i in range(1, 60, 2)]
    assert Seen.read == 60
