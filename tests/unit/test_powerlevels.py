"""Unit tests for the safe-space power-level rules (commands/powerlevels.py)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commands.powerlevels import missing_powers, muted_power_levels

BOT = "@bot:test"


def test_defaults_of_the_spec_apply_when_keys_are_missing():
    assert missing_powers({}, 0) == ["kick", "power_levels", "join_rules"]
    assert missing_powers({}, 50) == []
    assert missing_powers({"invite": 50, "kick": 0, "state_default": 0}, 10) == ["invite"]
    assert missing_powers({"events": {"m.room.power_levels": 100}}, 50) == ["power_levels"]


def test_members_keep_writing_newcomers_read_only():
    pl = {"users": {BOT: 100, "@mod:test": 50}, "users_default": 0, "events_default": 0,
          "events": {"m.room.name": 50, "m.reaction": 0}, "state_default": 50, "kick": 50}
    new = muted_power_levels(pl, [BOT, "@mod:test", "@a:test"], [], BOT)
    assert new["users"] == {BOT: 100, "@mod:test": 50, "@a:test": 1}
    assert new["events_default"] == 1 and new["users_default"] == 0
    assert new["events"] == {"m.room.name": 50, "m.reaction": 1}
    assert new["kick"] == 50 and new["state_default"] == 50
    assert pl["users"] == {BOT: 100, "@mod:test": 50}  # the input is not changed


def test_unlisted_room_v12_creators_stay_unlisted():
    new = muted_power_levels({"users": {}}, ["@creator:test", "@a:test"], ["@creator:test"], BOT)
    assert new["users"] == {"@a:test": 1}


def test_a_high_users_default_becomes_explicit_levels():
    new = muted_power_levels({"users_default": 20}, ["@a:test"], [], BOT)
    assert new["users"] == {"@a:test": 20} and new["users_default"] == 0


@given(st.dictionaries(st.sampled_from(["@a:t", "@b:t", "@c:t", BOT]), st.integers(-5, 100)),
       st.lists(st.sampled_from(["@a:t", "@b:t", "@c:t", "@d:t"]), unique=True),
       st.integers(-5, 100))
def test_nobody_in_the_room_loses_power_and_every_member_can_write(users, members, default):
    pl = {"users": users, "users_default": default}
    new = muted_power_levels(pl, members, [], BOT)
    for user in members:
        assert new["users"][user] >= max(1, users.get(user, default))
    for user, level in users.items():
        assert new["users"][user] >= level
    assert new["users_default"] == 0 and new["events_default"] == 1
