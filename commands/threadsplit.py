"""Split announcement text into a Mastodon thread, counting characters the way Mastodon does.

Mastodon's StatusLengthValidator counts grapheme clusters of the content warning plus the
text, where every http(s) URL counts as 23 (`characters_reserved_per_url`) whatever its
length and a remote mention `@user@domain` counts as `@user`. Where our URL detection can
differ from Mastodon's (twitter-text) we err towards counting more, never less.

Splitting takes time linear in the text (prefix sums of the counts, one exact check per
part): a post of any length is split in milliseconds, not re-counted for every character.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate

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
# the only gaps that can end a sentence (checked by _is_sentence_gap): after a stop or a closing mark
_AFTER_PUNCTUATION_GAP = re.compile(r"(?<=[.!?…\"'»«“”‘’)\]])\s+")
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


# --------------------------------------------------------------------------- counting fast
class _Costs:
    """What Mastodon counts, as prefix sums over the whole text, so that a part's cost is one
    subtraction: `estimate(a, b)`. It is exact for a part that starts and ends between words,
    the usual case; inside a word, or where a combining mark follows a space, it can be off by a
    little, so every part is checked with count_chars once before it is used (linear in total).
    """

    def __init__(self, text: str, url_length: int) -> None:
        weight = [0] * (len(text) + 1)
        self.atoms: list[Span] = []  # URLs and mentions: not cut inside unless one alone is too long
        pos = 0
        for start, end in [*_url_spans(text), (len(text), len(text))]:
            self._plain(text, pos, start, weight)
            if end > start:
                weight[start] += url_length
                self.atoms.append((start, end))
            pos = end
        self.atoms.sort()  # disjoint: mentions are looked for only between URLs
        self.atom_starts = [a for a, _ in self.atoms]
        self.prefix = list(accumulate(weight, initial=0))

    def _plain(self, text: str, lo: int, hi: int, weight: list[int]) -> None:
        """Weights of text[lo:hi] (no URLs in it): one per grapheme, a mention's domain free."""
        segment = text[lo:hi]
        mentions = list(_MENTION.finditer(segment))
        if not mentions:
            for start in _cluster_starts(segment):
                weight[lo + start] += 1
            return
        kept, origin, pos = [], [], 0  # the segment without mention domains; where each kept char was
        for m in mentions:
            cut = m.start() + 1 + len(m.group(1))  # "@user" is kept, "@domain" is not counted
            kept.append(segment[pos:cut])
            origin.extend(range(pos, cut))
            self.atoms.append((lo + m.start(), lo + m.end()))
            pos = m.end()
        kept.append(segment[pos:])
        origin.extend(range(pos, len(segment)))
        for start in _cluster_starts("".join(kept)):
            weight[lo + origin[start]] += 1

    def estimate(self, a: int, b: int) -> int:
        return self.prefix[b] - self.prefix[a]


def _cluster_starts(text: str) -> list[int]:
    return list(accumulate(map(len, graphemes(text)), initial=0))[:-1]


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
    lambda text, span: _between_gaps(text, span, _AFTER_PUNCTUATION_GAP, _is_sentence_gap),
    lambda text, span: _between_gaps(text, span, _WORD_GAP),
]


class _Packer:
    """Greedy packing of one text into parts of at most `budget`, in time linear in its length.

    Units of a level (paragraphs, lines, sentences, words) are joined while the estimate
    allows; the part found is checked exactly, and if the estimate was too kind a binary
    search over the same units finds the longest part that really fits (a handful of checks).
    """

    def __init__(self, text: str, costs: _Costs, budget: int, url_length: int) -> None:
        self.text, self.costs, self.budget, self.url_length = text, costs, budget, url_length
        self._fits: dict[Span, bool] = {}  # an over-long word is the same span on every level

    def fits(self, a: int, b: int) -> bool:
        known = self._fits.get((a, b))
        if known is None:
            known = self._fits[(a, b)] = count_chars(self.text[a:b], self.url_length) <= self.budget
        return known

    def alone_fits(self, unit: Span) -> bool:
        """By the estimate (greedy() checks the part exactly); a unit the estimate finds too big is
        checked exactly, so that no word that fits is ever cut."""
        return self.costs.estimate(*unit) <= self.budget or self.fits(*unit)

    def pack(self, span: Span, level: int = 0) -> list[Span]:
        if level == len(_LEVELS):
            return self.greedy(self.cut_points(span), None)
        return self.greedy(_LEVELS[level](self.text, span), level)

    def greedy(self, units: list[Span], level: int | None) -> list[Span]:
        """Consecutive units joined into parts; a unit too big alone goes one level down
        (at the last level, a single grapheme that does not fit is a part of its own)."""
        parts: list[Span] = []
        prefix = self.costs.prefix
        reach = [prefix[b] for _, b in units]  # the estimated cost up to the end of each unit
        i = 0
        while i < len(units):
            a = units[i][0]
            if level is not None and not self.alone_fits(units[i]):
                parts.extend(self.pack(units[i], level + 1))
                i += 1
                continue
            j = max(bisect.bisect_right(reach, prefix[a] + self.budget, i) - 1, i)  # the last unit that fits
            if not self.fits(a, units[j][1]):
                if j > i and self.fits(*units[i]):
                    lo, hi = i, j  # units[i] alone fits, up to units[j] does not
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        lo, hi = (mid, hi) if self.fits(a, units[mid][1]) else (lo, mid)
                    j = lo
                elif level is not None:
                    parts.extend(self.pack(units[i], level + 1))
                    i += 1
                    continue
                else:
                    j = i  # one grapheme that does not fit: it cannot be cut further
            parts.append((a, units[j][1]))
            i = j + 1
        return parts

    def cut_points(self, span: Span) -> list[Span]:
        """An over-long word as pieces between grapheme clusters, keeping a URL or mention
        whole unless it alone is longer than a part."""
        start, end = span
        prefix = self.costs.prefix
        bounds = [start, *(p for p in range(start + 1, end) if prefix[p + 1] > prefix[p])]  # where counted things start
        atoms = self.costs.atoms
        k = max(bisect.bisect_right(self.costs.atom_starts, start) - 1, 0)
        extra: set[int] = set()
        whole: list[Span] = []  # URLs and mentions that fit a part: never cut inside them
        while k < len(atoms) and atoms[k][0] < end:
            a, b = max(atoms[k][0], start), min(atoms[k][1], end)
            if b > a and self.costs.estimate(*atoms[k]) > self.budget:  # too long to keep whole
                extra.update(a + s for s in _cluster_starts(self.text[a:b]) if s)
            elif b > a:
                whole.append((a, b))
            k += 1
        if extra:
            bounds = sorted(extra.union(bounds))
        if whole:
            bounds = [p for p in bounds if not any(a < p < b for a, b in whole)]
        return list(zip(bounds, [*bounds[1:], end]))


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
    costs = _Costs(text, url_length)
    if costs.estimate(0, len(text)) + cw_cost <= limit:  # for the whole text the estimate is count_chars
        return [text]
    stripped = text.strip()
    if not stripped:
        return []
    lead = len(text) - len(text.lstrip())
    span = (lead, lead + len(stripped))

    def budget_for(width: int) -> int:
        return limit - cw_cost - (len(f" ({'9' * width}/{'9' * width})") if numbering else 0)

    width = 1  # no part holds more than the budget: start with the counter that many parts need
    while numbering and budget_for(width) >= 1 and \
            len(str(-(-costs.estimate(*span) // budget_for(width)))) > width:
        width += 1
    while True:
        budget = budget_for(width)
        if budget < 1:
            raise ValueError(f"limit {limit} leaves no room for text after content warning and counter")
        spans = _Packer(text, costs, budget, url_length).pack(span)
        if not numbering:
            return [text[a:b] for a, b in spans]
        if len(str(len(spans))) <= width:
            break
        width = len(str(len(spans)))  # 10+ parts need a wider counter: split again
    total = len(spans)
    return [f"{text[a:b]} ({i}/{total})" for i, (a, b) in enumerate(spans, 1)]
