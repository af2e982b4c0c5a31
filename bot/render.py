"""Rich text for replies: plain body and HTML built from escaped parts, with explicit mentions.

User text is always escaped and can neither become markup nor ping a whole room: an
`@room` inside it is defused in the plain body too, and `m.mentions` lists only the
users the bot means to mention.
"""
from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.eventsize import CONTENT_BUDGET, fits

# Push rules match "@room" case-insensitively, so "@ROOM" and "@Room" ping the room as well.
_ROOM_PING = re.compile(r"@(room)", re.IGNORECASE)
_DEFUSED = "@\u2060\\1"  # a word joiner keeps it readable (and its case) but not a room mention


def defuse(text: str) -> str:
    """text with every spelling of @room made harmless."""
    return _ROOM_PING.sub(_DEFUSED, text)


@dataclass(frozen=True)
class Rich:
    text: str
    html: str
    mentions: frozenset[str] = field(default_factory=frozenset)

    def __add__(self, other: "Rich | str") -> "Rich":
        o = as_rich(other)
        return Rich(self.text + o.text, self.html + o.html, self.mentions | o.mentions)


def plain(text: str) -> Rich:
    """Untrusted text (user input or anything else): escaped, @room defused."""
    safe = defuse(str(text))
    return Rich(safe, html.escape(safe).replace("\n", "<br>"))


def as_rich(value: Any) -> Rich:
    return value if isinstance(value, Rich) else plain(str(value))


def bold(value: Any) -> Rich:
    r = as_rich(value)
    return Rich(r.text, f"<strong>{r.html}</strong>", r.mentions)


def code(value: Any) -> Rich:
    r = as_rich(value)
    return Rich(r.text, f"<code>{r.html}</code>", r.mentions)


def link(url: str, label: Any | None = None) -> Rich:
    r = as_rich(label if label is not None else url)
    return Rich(r.text if label is None else f"{r.text} ({url})",
                f'<a href="{html.escape(url, quote=True)}">{r.html}</a>', r.mentions)


def mention(user_id: str, display: str | None = None) -> Rich:
    """A pill for user_id; the user is added to m.mentions."""
    label = display or user_id
    url = "https://matrix.to/#/" + html.escape(user_id, quote=True)
    shown = plain(label)  # a display name may say @room too
    return Rich(shown.text, f'<a href="{url}">{shown.html}</a>', frozenset({user_id}))


def fmt(template: str, **values: Any) -> Rich:
    """Fill a catalogue template; every value is escaped unless it already is Rich."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    mentions: set[str] = set()
    for literal, name, spec, _conv in string.Formatter().parse(template):
        if literal:
            text_parts.append(literal)
            html_parts.append(html.escape(literal).replace("\n", "<br>"))
        if name is None:
            continue
        value = values.get(name, "{" + name + "}")
        if not isinstance(value, Rich) and spec:
            value = format(value, spec)
        r = as_rich(value)
        text_parts.append(r.text)
        html_parts.append(r.html)
        mentions |= r.mentions
    return Rich("".join(text_parts), "".join(html_parts), frozenset(mentions))


def join(parts: Iterable[Any], sep: str = ", ") -> Rich:
    items = [as_rich(p) for p in parts]
    glue = plain(sep)
    return Rich(glue.text.join(i.text for i in items), glue.html.join(i.html for i in items),
                frozenset().union(*[i.mentions for i in items]) if items else frozenset())


def lines(parts: Iterable[Any]) -> Rich:
    items = [as_rich(p) for p in parts]
    return Rich("\n".join(i.text for i in items), "<br>".join(i.html for i in items),
                frozenset().union(*[i.mentions for i in items]) if items else frozenset())


def bullets(parts: Iterable[Any]) -> Rich:
    items = [as_rich(p) for p in parts]
    return Rich("\n".join("• " + i.text for i in items),
                "<ul>" + "".join(f"<li>{i.html}</li>" for i in items) + "</ul>",
                frozenset().union(*[i.mentions for i in items]) if items else frozenset())


def table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> Rich:
    """A table: aligned monospace-friendly text in the body, <table> in HTML."""
    hs = [as_rich(h) for h in headers]
    rs = [[as_rich(c) for c in row] for row in rows]
    widths = [max([len(h.text)] + [len(r[i].text) for r in rs if i < len(r)]) for i, h in enumerate(hs)]
    def line(cells: Sequence[Rich]) -> str:
        return " | ".join(c.text.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()
    text = "\n".join([line(hs), "-+-".join("-" * w for w in widths)] + [line(r) for r in rs])
    head = "".join(f"<th>{h.html}</th>" for h in hs)
    body = "".join("<tr>" + "".join(f"<td>{c.html}</td>" for c in r) + "</tr>" for r in rs)
    mentions = frozenset().union(*[c.mentions for r in rs for c in r]) if rs else frozenset()
    return Rich(text, f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", mentions)


CUT_MARK = "\n…"
EDIT_FALLBACK_CHARS = 80  # an edit too big to repeat its text in the fallback shows only its start there
# what an edit adds to the new content when its fallback is short: "* " + up to 80 characters
# (16 bytes each at worst, encrypted), m.relates_to with an event id, empty m.mentions, keys
EDIT_RESERVE = 2_500


def message_content(rich: Rich, *, reply_to: str | None = None, msgtype: str = "m.notice",
                    budget: int | None = CONTENT_BUDGET) -> dict[str, Any]:
    """The event content of a bot message: notice, HTML, explicit m.mentions, optional reply.

    A message too big for `budget` (bytes, bot.eventsize.wire_size) loses its HTML and is cut
    at a line end, so it is still delivered; budget=None leaves it whole (the caller refuses it).
    """
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": rich.text,
        "format": "org.matrix.custom.html",
        "formatted_body": rich.html,
        "m.mentions": {"user_ids": sorted(rich.mentions)} if rich.mentions else {},
    }
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content if budget is None else shorten(content, budget)


def shorten(content: dict[str, Any], budget: int = CONTENT_BUDGET) -> dict[str, Any]:
    """content as it fits into budget: whole, else without HTML, else its body cut (marked with …);
    mentions too many to fit even so are dropped."""
    if fits(content, budget):
        return content
    cut = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
    if fits(cut, budget):
        return cut
    if not fits({**cut, "body": CUT_MARK}, budget):  # the mentions alone are too many: ping nobody
        cut["m.mentions"] = {}
    body = cut["body"]
    lo, hi = 0, len(body)  # the longest prefix that fits, by bisection (sizes grow with the prefix)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits({**cut, "body": body[:mid] + CUT_MARK}, budget):
            lo = mid
        else:
            hi = mid - 1
    keep = body[:lo]
    line_end = keep.rfind("\n")
    if line_end >= lo // 2:  # end at a whole line (a table row) unless that throws away too much
        keep = keep[:line_end]
    return {**cut, "body": keep + CUT_MARK}


def edit_content(new: dict[str, Any], original_event_id: str, budget: int = CONTENT_BUDGET) -> dict[str, Any]:
    """An m.replace edit of one of the bot's own messages, from the new message content.

    The fallback for clients without edits repeats the text; where that would not fit into
    budget it shows only the text's beginning (m.new_content always carries all of it)."""
    content = dict(new)
    content["m.mentions"] = {}  # an edit must not ping anyone again
    content["body"] = "* " + new["body"]
    if "formatted_body" in new:
        content["formatted_body"] = "* " + new["formatted_body"]
    content["m.new_content"] = new
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original_event_id}
    if not fits(content, budget):
        content.pop("format", None)
        content.pop("formatted_body", None)
        first = new["body"].split("\n", 1)[0]
        content["body"] = "* " + (first if len(first) <= EDIT_FALLBACK_CHARS else first[:EDIT_FALLBACK_CHARS] + "…")
    return content
