"""Ports: the plain-data types and protocols that features use to talk to the outside.

commands/ and storage/ depend only on these; bot/matrix_adapter.py and
bot/mastodon_adapter.py implement them, tests/ fake them. No nio or Mastodon types here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


# --------------------------------------------------------------------------- Matrix side
@dataclass(frozen=True)
class Incoming:
    """One timeline event the bot may act on, already decrypted."""

    room_id: str
    event_id: str
    sender: str
    ts: datetime  # origin_server_ts, timezone-aware UTC
    type: str  # "m.room.message", "m.reaction", "org.matrix.msc3381.poll.response", ...
    content: dict[str, Any]
    body: str = ""  # text body for m.text messages, "" otherwise
    msgtype: str = ""  # m.text, m.notice, m.image, ...
    reply_to: str | None = None  # event id this message replies to (m.in_reply_to)
    mentions: tuple[str, ...] = ()  # user ids linked in formatted_body or m.mentions
    state_key: str | None = None  # for state events (m.room.member)
    redacts: str | None = None  # for m.room.redaction
    prev_membership: str | None = None  # for m.room.member: the membership before this event


@dataclass(frozen=True)
class RoomInfo:
    room_id: str
    name: str  # display name as a client would show it
    alias: str | None
    members: tuple[str, ...]  # joined user ids
    power: dict[str, int]  # explicit user levels from m.room.power_levels
    users_default: int
    creators: tuple[str, ...]  # m.room.create sender + additional_creators (room v12: unlimited power)
    join_rule: str
    is_direct: bool  # a room with exactly the bot and one other person
    power_levels: dict[str, Any] = field(default_factory=dict)  # raw content of m.room.power_levels
    display_names: dict[str, str] = field(default_factory=dict)  # joined user id -> display name set in this room

    def level(self, user_id: str) -> int:
        """Effective power level; room-v12 creators count as unlimited (we report 10**9)."""
        if user_id in self.creators and self.power_levels.get("users", {}).get(user_id) is None:
            # In room version >= 12 creators are not listed and have infinite power.
            return 10**9
        return self.power.get(user_id, self.users_default)


class SendRefused(Exception):
    """The homeserver refused an event for good (a 4xx such as M_TOO_LARGE / 413, M_FORBIDDEN,
    M_BAD_JSON): sending it again cannot succeed. Rate limits and server errors are not this."""

    def __init__(self, reason: str, *, status: int | None = None, errcode: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.errcode = status, errcode

    @property
    def too_large(self) -> bool:
        return self.errcode == "M_TOO_LARGE" or self.status == 413


class Chat(Protocol):
    """The Matrix transport. Features only read through it (room_info, joined_rooms: the client's
    cached state; get_event, relations, download: outside a transaction); everything that changes
    something is an outbox row (bot/messenger.py) that Delivery performs with the methods below."""

    own_user_id: str

    async def room_info(self, room_id: str) -> RoomInfo | None: ...

    async def is_direct(self, room_id: str) -> bool:
        """room_info(room_id).is_direct without building the RoomInfo: the pipeline asks it for every message."""
        ...

    async def joined_rooms(self) -> list[str]: ...

    async def send(self, room_id: str, type: str, content: dict[str, Any], txn_id: str) -> str:
        """Send one event with a stable transaction id (the homeserver de-duplicates); returns event id.

        Raises SendRefused when the homeserver refuses it for good; anything else may be retried."""
        ...

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None: ...

    async def invite(self, room_id: str, user_id: str) -> None: ...

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None: ...

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None: ...

    async def put_state(self, room_id: str, type: str, content: dict[str, Any], state_key: str = "") -> None: ...

    async def get_state(self, room_id: str, type: str, state_key: str = "") -> dict[str, Any] | None:
        """The content of one state event as the homeserver has it now (None: there is none); what
        Delivery re-reads before an invite, a kick or a power change."""
        ...

    async def direct_room(self, user_id: str, marker: str | None = None) -> str:
        """The direct chat with user_id, created (and remembered by the caller) if needed; marker as
        for create_room."""
        ...

    async def create_room(self, invite: list[str], name: str | None = None, is_direct: bool = False,
                          marker: str | None = None) -> str:
        """A new room; marker (an outbox ref) is kept in its state, so created_room finds it again."""
        ...

    def created_room(self, marker: str) -> str | None:
        """The room created with this marker, if the client has seen it (cached state, no network)."""
        ...

    async def download(self, media: dict[str, Any]) -> tuple[bytes, str]:
        """Bytes and content type of the media in an m.image/m.file event's content.

        Handles both plain ("url") and encrypted ("file") attachments.
        """
        ...

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Upload a file (e.g. an .ics calendar entry) to the media repository; returns its mxc:// URI."""
        ...

    async def get_event(self, room_id: str, event_id: str) -> Incoming | None:
        """One event of a room, decrypted if possible (e.g. the image a `!post` replies to)."""
        ...

    async def relations(self, room_id: str, event_id: str, rel_type: str) -> list[Incoming]:
        """All events that relate to event_id with rel_type (e.g. votes on a poll)."""
        ...


# --------------------------------------------------------------------------- Mastodon side
@dataclass(frozen=True)
class InstanceLimits:
    max_characters: int = 500
    max_media: int = 4
    description_limit: int = 1500
    url_length: int = 23


@dataclass(frozen=True)
class PublishedStatus:
    id: str
    url: str


@dataclass(frozen=True)
class Mention:
    """A notification (mention/reply) the account received."""

    id: str
    account: str  # acct, e.g. "alice@social.example"
    text: str  # plain text of the status
    url: str
    created_at: datetime


class PublishError(Exception):
    """Base for publisher failures.

    `reason` is English for the log (no tokens, no internals); what rooms see is translated from
    `code` (rate_limited, network, server_error, timeout, not_found, rejected, auth, error ...),
    plus `detail`, Mastodon's own message to the user where it gave one.
    """

    def __init__(self, reason: str, *, code: str | None = None, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.code, self.detail = reason, code, detail


class RetryableError(PublishError):
    """Network error, timeout, 5xx or 429: try again with the same idempotency key."""

    def __init__(self, reason: str, retry_after: float | None = None, *, code: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(reason, code=code, detail=detail)
        self.retry_after = retry_after


class PermanentError(PublishError):
    """422 and other client errors: stop and tell the organisers."""


class AuthError(PermanentError):
    """401/403: the token is wrong or revoked; the account is disabled."""


class Publisher(Protocol):
    """One Mastodon account."""

    name: str

    async def limits(self) -> InstanceLimits: ...

    async def upload_media(self, data: bytes, mime: str, description: str) -> str:
        """Upload and wait until processed; returns the media id."""
        ...

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
    ) -> PublishedStatus: ...

    async def delete_status(self, status_id: str) -> bool:
        """True if this call deleted it; False if the status was gone already (404: deleted there)."""
        ...

    async def mentions(self, since_id: str | None) -> list[Mention]: ...


# --------------------------------------------------------------------------- time
class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...
