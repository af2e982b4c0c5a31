"""Matrix event JSON -> Incoming: the reading of replies and edits, without nio (tests use it as is).

A reply sent by an older client carries the quoted message in front of its text: in `body` as
`> <@sender> …` lines and a blank line, in `formatted_body` as an `<mx-reply>` block. Both are
removed before anything reads the text or its mentions (a link to the quoted sender is no mention).
An edit (`m.replace`) is read from `m.new_content`; its outer body is a "* …" fallback.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from bot.ports import Incoming

_PILL = re.compile(r'href="https://matrix\.to/#/(@[^"?/]+)')
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
# the first line of a reply fallback: "> <@user:server> text" (or "> * <@user:server> " for an emote)
_FALLBACK_HEAD = re.compile(r"^> (\* )?<[@!#$][^>\s]*> ?")


def _ts(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000, tz=timezone.utc)


def strip_reply_fallback(body: str) -> str:
    """Remove the '> quoted' lines older clients put in front of a reply's body."""
    if not body.startswith(">"):
        return body
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    return "\n".join(lines[i:]).lstrip("\n")


def is_reply_fallback(body: str) -> bool:
    return bool(_FALLBACK_HEAD.match(body))


def strip_mx_reply(html: str) -> str:
    return _MX_REPLY.sub("", html)


def edit_target(content: dict[str, Any]) -> str | None:
    """The event an m.replace edit replaces, or None."""
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
        return relates["event_id"]
    return None


def text_of(content: dict[str, Any], replying: bool) -> str:
    """The text a person wrote: the body without a reply's quote. Without a reply relation only a
    fallback's own first line (`> <@user:server> …`) counts, so a message that merely starts with a
    quote keeps it; with one, any leading quote goes."""
    body = content.get("body") if isinstance(content.get("body"), str) else ""
    if replying or is_reply_fallback(body):
        body = strip_reply_fallback(body)
    return body


def mentions_of(content: dict[str, Any]) -> set[str]:
    mentions = content.get("m.mentions")
    found = set(mentions.get("user_ids") or []) if isinstance(mentions, dict) else set()
    if isinstance(content.get("formatted_body"), str):
        found |= set(_PILL.findall(strip_mx_reply(content["formatted_body"])))
    return {m for m in found if isinstance(m, str)}


def incoming_from_source(room_id: str, source: dict[str, Any]) -> Incoming | None:
    """A (decrypted) event as the homeserver sent it -> Incoming; None if it lacks what every event has."""
    event_type = source.get("type")
    event_id = source.get("event_id")
    sender = source.get("sender")
    if not event_type or not event_id or not sender:
        return None
    content = source.get("content") or {}
    if not isinstance(content, dict):
        return None
    relates = content.get("m.relates_to") or {}
    in_reply = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
    reply_to = in_reply.get("event_id") if isinstance(in_reply, dict) else None
    reply_to = reply_to if isinstance(reply_to, str) else None
    body = text_of(content, bool(reply_to))
    mentions = mentions_of(content)
    unsigned = source.get("unsigned") if isinstance(source.get("unsigned"), dict) else {}
    prev = unsigned.get("prev_content") if isinstance(unsigned.get("prev_content"), dict) else {}
    msgtype = content.get("msgtype", "")
    return Incoming(room_id=room_id, event_id=event_id, sender=sender, ts=_ts(source.get("origin_server_ts")),
                    type=event_type, content=content, body=body, msgtype=msgtype if isinstance(msgtype, str) else "",
                    reply_to=reply_to, mentions=tuple(sorted(mentions)),
                    state_key=source.get("state_key"), redacts=source.get("redacts"),
                    prev_membership=prev.get("membership") if event_type == "m.room.member" else None)
