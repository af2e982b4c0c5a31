"""Rules of announcements as plain functions, with properties: keys, retry timing, list groups, settings words."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserError
from commands.post_rules import (GROUPS, IDEMPOTENCY_WINDOW, LanguageCode, Visibility, idempotency_key, list_group,
                                 may_retry, missing_alt, retry_delay)
from tests import backend
from storage.db import Database
from storage.posts import MIGRATIONS, Posts
from storage.schema import REGISTRY

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
ids = st.integers(min_value=0, max_value=10**9)


@given(st.text(alphabet="0123456789abcdef", min_size=12, max_size=12), ids, ids, ids)
def test_key_is_stable_for_the_same_part(salt, post, revision, idx):
    assert idempotency_key(salt, post, revision, idx) == idempotency_key(salt, post, revision, idx)


@given(st.tuples(ids, ids, ids), st.tuples(ids, ids, ids))
def test_different_parts_or_revisions_never_share_a_key(a, b):
    if a != b:
        assert idempotency_key("abc123", *a) != idempotency_key("abc123", *b)


def test_another_install_gets_other_keys():
    assert idempotency_key("aaaaaa", 1, 0, 0) != idempotency_key("bbbbbb", 1, 0, 0)


@given(st.integers(min_value=1, max_value=100))
def test_retry_delays_grow_and_stay_bounded(n):
    assert timedelta(minutes=1) <= retry_delay(n) <= timedelta(minutes=15)
    assert retry_delay(n) <= retry_delay(n + 1)


@given(st.integers(min_value=0, max_value=10 * 24 * 3600))
def test_retry_only_within_the_key_window(seconds):
    at = T0 + timedelta(seconds=seconds)
    assert may_retry(None, at)
    assert may_retry(T0, at) == (at - T0 <= IDEMPOTENCY_WINDOW)
    assert IDEMPOTENCY_WINDOW < timedelta(hours=1)  # Mastodon keeps keys for one hour


@given(st.lists(st.one_of(st.none(), st.text(max_size=5))))
def test_missing_alt_names_exactly_the_empty_ones(alts):
    missing = missing_alt(alts)
    assert missing == [k for k, a in enumerate(alts, 1) if a is None or not a.strip()]


STATES = ["draft", "scheduled", "publishing", "published", "failed", "missed", "cancelled", "deleting", "deleted"]


@given(st.sampled_from(STATES), st.one_of(st.none(), st.integers(-1000, 1000)), st.booleans())
def test_every_listed_state_has_one_group(state, offset, retrying):
    due = None if offset is None else T0 + timedelta(minutes=offset)
    group = list_group(state, due, T0, retrying)
    assert group is None or group in GROUPS
    assert (group is None) == (state in ("cancelled", "deleted"))


def test_scheduled_in_future_is_scheduled_and_due_or_retrying_is_waiting():
    assert list_group("scheduled", T0 + timedelta(minutes=5), T0) == "scheduled"
    assert list_group("scheduled", T0 - timedelta(minutes=5), T0) == "waiting"
    assert list_group("scheduled", T0 + timedelta(minutes=5), T0, retrying=True) == "waiting"


@pytest.mark.parametrize("raw,value", [("öffentlich", "public"), ("nicht  gelistet", "unlisted"),
                                       ("Privat", "private"), ("unlisted", "unlisted"), ("public", "public")])
def test_visibility_words(raw, value):
    assert Visibility.convert(None, raw) == value


def test_unknown_visibility_and_language_are_user_errors():
    with pytest.raises(UserError):
        Visibility.convert(None, "direct")
    with pytest.raises(UserError):
        LanguageCode.convert(None, "Deutsch!")
    assert LanguageCode.convert(None, "Deutsch") == "de"


async def test_parts_record_once_and_ambiguity_keeps_its_first_time(tmp_path):
    db = backend.database(tmp_path / "p.db")
    await db.open()
    await db.migrate(REGISTRY)
    posts = Posts(db)
    async with db.transaction():
        pid = await posts.create(room_id="!r", source_room="!r", source_event="$e", author="@a:t", account="main",
                                 text="x", cw=None, visibility="public", language="de", at=None, origin="command",
                                 now=T0)
        await posts.set_parts(pid, ["a", "b"])
        await posts.attempt_part(pid, 0, T0)
        await posts.attempt_part(pid, 0, T0 + timedelta(minutes=5))
        await posts.mark_ambiguous(pid, 0, T0 + timedelta(minutes=1))
        await posts.mark_ambiguous(pid, 0, T0 + timedelta(minutes=9))
        await posts.record_part(pid, 0, "101", "https://x/101")
    first, second = await posts.parts(pid)
    assert (first.first_attempt_at, first.ambiguous_since, first.status_id) == (T0, T0 + timedelta(minutes=1), "101")
    assert second.status_id is None and second.first_attempt_at is None
    assert "posts" in REGISTRY and REGISTRY["posts"] is MIGRATIONS
    await db.close()
