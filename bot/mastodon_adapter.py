"""Mastodon adapter: bot.ports.Publisher for one account, the only module importing mastodon.

Mastodon.py is synchronous, so every call runs in a worker thread (asyncio.to_thread) and
its exceptions are translated there into RetryableError / PermanentError / AuthError.
Each carries `reason` (English, for logs and the host; never the access token), `code` (a
short machine word the features translate: rate_limited, network, server_error, timeout,
not_found, rejected, auth, error) and `detail` (Mastodon's own message to the user, cleaned,
where there is one, else None).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, TypeVar

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.ports import (
    AuthError,
    InstanceLimits,
    Mention,
    PermanentError,
    PublishedStatus,
    RetryableError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Mastodon.py only uses the version for endpoint selection (v2 media upload) and checks;
# 4.0 is the first version with /api/v2/instance, which we need anyway.
_ASSUMED_VERSION = "4.0.0"
_MENTIONS_PAGE = 40
_MENTIONS_MAX_PAGES = 10


class _Gone(Exception):
    """404 on an operation where that means "already done" (delete)."""


class MastodonPublisher:
    """Publishes to one Mastodon account through Mastodon.py."""

    def __init__(
        self,
        name: str,
        api_base_url: str,
        access_token: str,
        *,
        request_timeout: float = 30.0,
        media_timeout: float = 60.0,
        limits_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.api_base_url = api_base_url
        self._token = access_token
        self._media_timeout = media_timeout
        self._limits_ttl = limits_ttl
        self._clock = clock
        self._limits: tuple[float, InstanceLimits] | None = None
        self._client = Mastodon(
            api_base_url=api_base_url,
            access_token=access_token,
            ratelimit_method="throw",
            request_timeout=request_timeout,
            mastodon_version=_ASSUMED_VERSION,
            version_check_mode="created",
            user_agent="Plenum",
        )

    def __repr__(self) -> str:
        return f"MastodonPublisher(name={self.name!r}, api_base_url={self.api_base_url!r})"

    # ------------------------------------------------------------------ Publisher
    async def limits(self) -> InstanceLimits:
        now = self._clock()
        if self._limits is not None and now - self._limits[0] < self._limits_ttl:
            return self._limits[1]
        instance = await self._call("read instance limits", lambda c: c.instance_v2())
        config = instance.get("configuration") or {}
        statuses = config.get("statuses") or {}
        media = config.get("media_attachments") or {}
        defaults = InstanceLimits()
        limits = InstanceLimits(
            max_characters=_int(statuses.get("max_characters"), defaults.max_characters),
            max_media=_int(
                statuses.get("max_media_attachments", media.get("max_media_attachments")),
                defaults.max_media,
            ),
            description_limit=_int(media.get("description_limit"), defaults.description_limit),
            url_length=_int(statuses.get("characters_reserved_per_url"), defaults.url_length),
        )
        self._limits = (now, limits)
        return limits

    async def upload_media(self, data: bytes, mime: str, description: str) -> str:
        media = await self._call(
            "upload media",
            lambda c: c.media_post(data, mime_type=mime, description=description),
        )
        media_id = str(media["id"])
        deadline = self._clock() + self._media_timeout
        delay = 0.5
        while media.get("url") is None:  # 202: the server is still processing it
            if self._clock() >= deadline:
                raise RetryableError(f"media still processing after {self._media_timeout:.0f} s", code="timeout")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            media = await self._call("check media", lambda c: c.media(media_id))
        return media_id

    async def post_status(
        self,
        text: str,
        *,
        idempotency_key: str,
        in_reply_to_id: str | None = None,
        spoiler_text: str | None = None,
        visibility: str = "public",
        language: str | None = None,
        media_ids: list[str] | None = None,
    ) -> PublishedStatus:
        status = await self._call(
            "post status",
            lambda c: c.status_post(
                text,
                in_reply_to_id=in_reply_to_id,
                media_ids=media_ids or None,
                spoiler_text=spoiler_text or None,
                visibility=visibility,
                language=language,
                idempotency_key=idempotency_key,
            ),
        )
        return PublishedStatus(id=str(status["id"]), url=status.get("url") or status.get("uri") or "")

    async def delete_status(self, status_id: str) -> bool:
        try:
            await self._call("delete status", lambda c: c.status_delete(status_id), gone_ok=True)
        except _Gone:
            log.info("%s: status %s was already deleted", self.name, status_id)
            return False
        return True

    async def mentions(self, since_id: str | None) -> list[Mention]:
        """Mentions (replies included) newer than since_id, oldest first.

        Without since_id only the newest page is returned, not the whole history.
        """
        found: dict[str, Any] = {}
        cursor = since_id
        for _ in range(_MENTIONS_MAX_PAGES):
            page = await self._call(
                "read mentions",
                lambda c: c.notifications(types=["mention"], min_id=cursor, limit=_MENTIONS_PAGE),
            )
            for notification in page:
                found[str(notification["id"])] = notification
            if cursor is None or len(page) < _MENTIONS_PAGE:
                break
            cursor = max((str(n["id"]) for n in page), key=_id_order)
        result = []
        for note_id in sorted(found, key=_id_order):
            status = found[note_id].get("status")
            if status is None:  # deleted in the meantime
                continue
            account = status.get("account") or found[note_id].get("account") or {}
            result.append(
                Mention(
                    id=note_id,
                    account=str(account.get("acct", "")),
                    text=html_to_text(status.get("content") or ""),
                    url=status.get("url") or status.get("uri") or "",
                    created_at=_utc(status.get("created_at") or found[note_id].get("created_at")),
                )
            )
        return result

    # ------------------------------------------------------------------ plumbing
    async def _call(self, what: str, fn: Callable[[Mastodon], T], *, gone_ok: bool = False) -> T:
        return await asyncio.to_thread(self._call_sync, what, fn, gone_ok)

    def _call_sync(self, what: str, fn: Callable[[Mastodon], T], gone_ok: bool) -> T:
        """Run fn in this worker thread and translate Mastodon.py's exceptions."""
        client = self._client
        try:
            return fn(client)
        except MastodonRatelimitError:
            # Read the reset time here, in the thread that just saw the 429.
            reset = client.ratelimit_reset
            retry_after = max(0.0, reset - time.time()) if reset else None
            raise RetryableError(f"{what}: rate limited by the server", retry_after, code="rate_limited") from None
        except MastodonNetworkError:
            raise RetryableError(f"{what}: network error or timeout", code="network") from None
        except MastodonServerError as exc:
            raise RetryableError(f"{what}: server error {_status(exc)}", code="server_error") from None
        except MastodonUnauthorizedError:
            raise AuthError(f"{what}: the access token was rejected (401)", code="auth") from None
        except MastodonNotFoundError as exc:
            if gone_ok:
                raise _Gone() from None
            text = self._server_text(exc)
            raise PermanentError(f"{what}: not found: {text or 'no details'}", code="not_found",
                                 detail=text or None) from None
        except MastodonAPIError as exc:
            code = _status(exc)
            if code is None:  # Mastodon.py could not parse the answer (truncated, not JSON)
                raise RetryableError(f"{what}: malformed answer from the server", code="server_error") from None
            if code in (401, 403):
                raise AuthError(f"{what}: access denied ({code}): {self._server_text(exc) or 'no details'}",
                                code="auth") from None
            if code == 429:  # only when the client did not classify it (defensive)
                raise RetryableError(f"{what}: rate limited by the server", code="rate_limited") from None
            text = self._server_text(exc)
            raise PermanentError(f"{what}: rejected ({code}): {text or 'no details'}", code="rejected",
                                 detail=text or None) from None
        except MastodonError as exc:
            raise PermanentError(f"{what}: {type(exc).__name__}", code="error") from None

    def _server_text(self, exc: MastodonAPIError) -> str:
        """The server's error message, shortened and with the token removed ("" if it gave none)."""
        args = exc.args
        text = str(args[3]) if len(args) > 3 and args[3] else ""
        if self._token:
            text = text.replace(self._token, "***")
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        return text[:300]


def _status(exc: MastodonAPIError) -> int | None:
    """HTTP status of an API error raised for a response code, None for parse failures."""
    args = exc.args
    if len(args) >= 2 and isinstance(args[1], int):
        return args[1]
    return None


def _int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _id_order(value: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings; compare by length first so "10" > "9"."""
    return (len(value), value)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


class _TextExtractor(HTMLParser):
    _BLOCK_END = {"p": "\n\n", "li": "\n", "blockquote": "\n\n"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Mastodon hides parts of long URLs in <span class="invisible">; keep them, so
        # the plain text carries the full URL.
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCK_END:
            self.parts.append(self._BLOCK_END[tag])

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a status' HTML content (markup dropped, entities decoded)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    text = "\n".join(line.rstrip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
