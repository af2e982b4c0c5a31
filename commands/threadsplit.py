"""Split announcement text into a Mastodon thread, counting characters the way Mastodon does.

Mastodon's StatusLengthValidator counts grapheme clusters of the content warning plus the
text, where every http(s) URL counts as 23 (`characters_reserved_per_url`) whatever its
length and a remote mention `@user@domain` counts as `@user`. Where our URL detection can
differ from Mastodon's (twitter-text) we err towards counting more, never less.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Span = tuple[int, int]

# A URL may not start right after a letter, digit, @, $ or # (twitter-text's preceding chars).
_URL = re.compile(r"(?<![A-Za-z0-9@$#＠＃])https?://[^\s<>\"`]+", re.IGNORECASE)
_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[\w-]+)\.?(?::\d+)?", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*»«“”‘’…)]}"
# Mastodon's Account::MENTION_RE: the domain part of a mention is not counted.
_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@\w+(?:[.-]+\w+)*", re.IGNORECASE
)

_PARAGRAPH_GAP = re.compile(r"[ \t]*(?:\r?\n)[ \t\r\f\v]*\r?\n\s*")
_LINE_GAP = re.compile(r"[ \t]*\r?\n\s*")
_WORD_GAP = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»«“”‘’)\]]*$")
# "z.", "B.", "u.a." and German ordinals ("17. Mai") do not end a sentence
_ABBREVIATION = re.compile(r"\(?(?:(?:\w\.)+|\d+\.)")


@lru_cache(maxsize=1)
def _grapheme_pattern():
    """`regex` (a dependency of dateparser) knows extended grapheme clusters (\\X); imported when first
    needed, as it is 1.1 MB resident and only posts are counted with it."""
    try:
        import regex
    except ImportError:  # pragma: no cover - code points are never fewer than graphemes
        return None
    return regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """The user-perceived characters of text (code points if `regex` is missing)."""
    pattern = _grapheme_pattern()
    return pattern.findall(text) if pattern is not None else list(text)


def _url_spans(text: str) -> list[Span]:
    spans = []
    for match in _URL.finditer(text):
        url = match.group()
        while url and url[-1] in _URL_TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # balanced parentheses belong to the URL (Wikipedia links)
            url = url[:-1]
        host = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[0]
        if _HOST.fullmatch(host):
            spans.append((match.start(), match.start() + len(url)))
    return spans


def _plain_length(text: str) -> int:
    return len(graphemes(_MENTION.sub(lambda m: "@" + m.group(1), text)))


def count_chars(text: str, url_length: int = 23) -> int:
    """Length of a status text as Mastodon counts it (without the content warning)."""
    total, pos = 0, 0
    for start, end in _url_spans(text):
        total += _plain_length(text[pos:start]) + url_length
        pos = end
    return total + _plain_length(text[pos:])


# --------------------------------------------------------------------------- cutting
def _between_gaps(text: str, span: Span, gap: re.Pattern[str], accept=None) -> list[Span]:
    """The stretches of text[span] between the gaps that `accept` (default: all) allows."""
    start, end = span
    pieces, pos = [], start
    for match in gap.finditer(text, start, end):
        if accept is not None and not accept(text, match, start):
            continue
        if match.start() > pos:
            pieces.append((pos, match.start()))
        pos = match.end()
    if pos < end:
        pieces.append((pos, end))
    return pieces


def _is_sentence_gap(text: str, gap: re.Match[str], start: int) -> bool:
    before = text[max(start, gap.start() - 40) : gap.start()].split()
    word = before[-1] if before else ""
    if not _SENTENCE_END.search(word) or _ABBREVIATION.fullmatch(word):
        return False
    return gap.end() >= len(text) or not text[gap.end()].islower()


_LEVELS: list[Callable[[str, Span], list[Span]]] = [
    lambda text, span: _between_gaps(text, span, _PARAGRAPH_GAP),
    lambda text, span: _between_gaps(text, span, _LINE_GAP),
    lambda text, span: _between_gaps(text, span, _WORD_GAP, _is_sentence_gap),
    lambda text, span: _between_gaps(text, span, _WORD_GAP),
]


def _hard_cut(text: str, span: Span, fits: Callable[[str], bool]) -> list[Span]:
    """Cut one over-long word between grapheme clusters, as full as each part allows."""
    parts, first, pos = [], span[0], span[0]
    for cluster in graphemes(text[span[0] : span[1]]):
        after = pos + len(cluster)
        if pos > first and not fits(text[first:after]):
            parts.append((first, pos))
            first = pos
        pos = after
    parts.append((first, pos))
    return parts


def _pack(text: str, span: Span, level: int, fits: Callable[[str], bool]) -> list[Span]:
    """Greedily join units of this level into parts; units too big alone go one level down."""
    if level == len(_LEVELS):
        return _hard_cut(text, span, fits)
    parts: list[Span] = []
    current: Span | None = None
    for unit in _LEVELS[level](text, span):
        if current is not None and fits(text[current[0] : unit[1]]):
            current = (current[0], unit[1])
            continue
        if current is not None:
            parts.append(current)
            current = None
        if fits(text[unit[0] : unit[1]]):
            current = unit
        else:
            parts.extend(_pack(text, unit, level + 1, fits))
    if current is not None:
        parts.append(current)
    return parts


def split_thread(
    text: str,
    limit: int,
    *,
    cw: str | None = None,
    url_length: int = 23,
    numbering: bool = True,
) -> list[str]:
    """Split text into statuses that each fit `limit` together with the content warning.

    Text that fits is returned unchanged as the only part. Otherwise parts break at
    paragraphs, else lines, else sentences, else words; only a word longer than a part
    may be cut. With `numbering`, every part ends in " (i/n)", counted in the budget.
    Whitespace at the cut points is dropped. Whitespace-only text that does not fit
    gives no parts.
    """
    cw_cost = len(graphemes(cw)) if cw else 0
    if count_chars(text, url_length) + cw_cost <= limit:
        return [text]
    stripped = text.strip()
    if not stripped:
        return []
    lead = len(text) - len(text.lstrip())
    span = (lead, lead + len(stripped))
    width = 1
    while True:
        counter_cost = len(f" ({'9' * width}/{'9' * width})") if numbering else 0
        budget = limit - cw_cost - counter_cost
        if budget < 1:
            raise ValueError(f"limit {limit} leaves no room for text after content warning and counter")
        spans = _pack(text, span, 0, lambda part: count_chars(part, url_length) <= budget)
        if not numbering:
            return [text[a:b] for a, b in spans]
        if len(str(len(spans))) <= width:
            break
        width = len(str(len(spans)))  # 10+ parts need a wider counter: split again
    total = len(spans)
    return [f"{text[a:b]} ({i}/{total})" for i, (a, b) in enumerate(spans, 1)]
