"""bot/effects.py: power changes applied to the levels found at delivery, results filled into content."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.effects import RESULT, apply_power_change, fill, power_change

LEVELS = st.dictionaries(st.sampled_from(["@a:x", "@b:x", "@c:x"]), st.integers(-10, 100), max_size=3)


def test_a_change_keeps_what_it_does_not_name():
    current = {"users": {"@a:x": 100, "@b:x": 50}, "state_default": 50, "events": {"m.room.name": 50}}
    new = apply_power_change(current, power_change(users={"@c:x": 1}))
    assert new == {"users": {"@a:x": 100, "@b:x": 50, "@c:x": 1}, "state_default": 50,
                   "events": {"m.room.name": 50}}
    assert current["users"] == {"@a:x": 100, "@b:x": 50}  # not modified in place


def test_at_least_raises_from_the_old_default_and_never_lowers():
    current = {"users": {"@a:x": 50}, "users_default": 5, "events": {"m.reaction": 0, "m.room.name": 50}}
    change = power_change(users_at_least={"@a:x": 1, "@b:x": 1}, set_levels={"users_default": 0},
                          events_at_least=1)
    new = apply_power_change(current, change)
    assert new["users"] == {"@a:x": 50, "@b:x": 5} and new["users_default"] == 0
    assert new["events"] == {"m.reaction": 1, "m.room.name": 50}


@given(LEVELS, LEVELS)
def test_applying_a_change_twice_is_applying_it_once(users, at_least):
    change = power_change(users_at_least=at_least, users={"@c:x": 7})
    once = apply_power_change({"users": users}, change)
    assert apply_power_change(once, change) == once


def test_fill_replaces_the_placeholder_everywhere_and_nothing_else():
    content = {"url": RESULT, "m.relates_to": {"event_id": RESULT, "key": "1"}, "list": [RESULT, "x"], "n": 3}
    assert fill(content, "$e") == {"url": "$e", "m.relates_to": {"event_id": "$e", "key": "1"}, "list": ["$e", "x"],
                                   "n": 3}
