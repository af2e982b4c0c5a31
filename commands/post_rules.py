"""Rules of announcements as plain functions: settings words, idempotency keys, retry timing, list groups."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.errors import UserError
from bot.grammar import Choice, Converter, Line
from bot.i18n import LANGUAGE_WORDS
from bot.ports import AuthError, PermanentError, RetryableError

# Mastodon keeps an Idempotency-Key for one hour; after an error that may have hidden a
# created status we retry with the same key only within this window, never later.
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
INLINE_WAIT_MAX = 30.0  # seconds a rate limit may hold a publication in memory; longer: a job
RETRY_DELAYS = (1, 2, 4, 8, 15)  # minutes between retry rounds after an outage

VISIBILITY_WORDS = {
    "public": "public", "öffentlich": "public", "oeffentlich": "public", "offen": "public",
    "unlisted": "unlisted", "nicht gelistet": "unlisted", "ungelistet": "unlisted", "nicht-gelistet": "unlisted",
    "private": "private", "privat": "private", "followers": "private", "follower": "private",
}
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class Visibility(Choice):
    shape = "rest"
    label = "visibility"
    WORDS = VISIBILITY_WORDS
    error = "post.bad_visibility"


class LanguageCode(Converter):
    """An ISO 639 code as Mastodon takes it ("de", "en", "tr")."""

    label = "language_code"

    @classmethod
    def convert(cls, ctx, raw: str) -> str:
        value = raw.strip().lower()
        value = LANGUAGE_WORDS.get(value, value)
        if not _LANGUAGE.match(value):
            raise UserError("post.bad_language", value=raw)
        return value


class ContentWarning(Line):
    label = "cw"


def idempotency_key(salt: str, post_id: int, revision: int, idx: int) -> str:
    """The same post, revision and part always give the same key; another install never does."""
    return f"plenum-{salt}-p{post_id}-r{revision}-{idx}"


def retry_delay(retry_round: int) -> timedelta:
    """Wait before retry round `retry_round` (1-based) after the in-memory retries gave up."""
    return timedelta(minutes=RETRY_DELAYS[min(retry_round, len(RETRY_DELAYS)) - 1])


def may_retry(ambiguous_since: datetime | None, at: datetime) -> bool:
    """A retry at `at` is safe unless an unseen status could have been created too long ago."""
    return ambiguous_since is None or at - ambiguous_since <= IDEMPOTENCY_WINDOW


def missing_alt(alts: Sequence[str | None]) -> list[int]:
    """1-based numbers of the images without alt text."""
    return [k for k, alt in enumerate(alts, start=1) if not (alt or "").strip()]


def list_group(state: str, due_at: datetime | None, now: datetime, retrying: bool = False) -> str | None:
    """Which heading of `!posts` a post belongs under (None: not listed)."""
    if state == "draft":
        return "draft"
    if state in ("publishing", "deleting") or (state == "scheduled" and (retrying or (due_at or now) <= now)):
        return "waiting"
    if state == "scheduled":
        return "scheduled"
    if state == "published":
        return "published"
    if state in ("failed", "missed"):
        return "failed"
    return None


GROUPS = ("draft", "waiting", "scheduled", "failed", "published")

# Why a post waits or failed, as stored in its note: a code, translated as `post.reason.<code>` when shown,
# or "<code>: <detail>" when Mastodon gave a message of its own (shown as it is). Publisher errors carry
# `code` and `detail` (bot/ports.py PublishError); their English `reason` is for logs only.
REASON_CODES = frozenset({
    "rate_limited", "network", "server_error", "timeout", "unavailable", "not_found", "rejected", "auth", "error",
    "no_account", "account_disabled", "image_gone", "image_download", "uncertain", "internal",
})


def reason_note(exc: BaseException) -> str:
    """The note for a publisher error: its code (and Mastodon's own message, if it gave one)."""
    code = getattr(exc, "code", None)
    if code not in REASON_CODES:
        if isinstance(exc, AuthError):
            code = "auth"
        elif isinstance(exc, PermanentError):
            code = "rejected"
        elif isinstance(exc, RetryableError):
            code = "rate_limited" if exc.retry_after is not None else "unavailable"
        else:
            code = "error"
    detail = getattr(exc, "detail", None)
    return f"{code}: {detail}" if detail else code


def split_note(note: str) -> tuple[str, str | None]:
    """(code, detail) of a stored note; a note from before codes (free text) reads as "error"."""
    code, sep, detail = note.partition(": ")
    if code not in REASON_CODES:
        return "error", None
    return code, (detail or None) if sep else None
