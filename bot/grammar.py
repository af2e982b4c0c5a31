"""Command grammar: a command is a typed coroutine; its signature is its parser and its usage line.

    @command("meeting", aliases=["termin"])
    async def meeting(self, ctx: Ctx, title: Text, options: Items[When], until: Setting[When] = None): ...

Shapes (CONTRACT.md "Chat conventions"): single-token arguments (Word, Int, User) and at
most one rest-of-line argument (Text, When, ...) on the first line; Items from `|` on the
first line or `- ` lines; Settings from `key: value` lines. Lines that are none of these
continue the Text argument, so a post can have paragraphs.
"""
from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.errors import UserError


# Half of a UTF-16 pair on its own (JSON allows "\ud800"; a whole pair is one code point in
# Python): UTF-8 cannot encode it, so SQLite and the homeserver would fail on it later.
# a lone UTF-16 surrogate (no UTF-8 for it) or U+0000 (PostgreSQL text cannot hold it): refused on both backends
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff\x00]")


def check_characters(text: str) -> None:
    """Refuse text with a broken character before anything stores or sends it."""
    if _LONE_SURROGATE.search(text):
        raise UserError("error.broken_character", usage=False)


class Converter:
    """Turns one raw string into a value; raises UserError with a translation key."""

    shape: ClassVar[str] = "word"  # "word" = one token, "rest" = the rest of the line
    label: ClassVar[str] = "text"  # usage placeholder, translated as "arg.<label>"

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> Any | Awaitable[Any]:
        return raw


class Word(Converter):
    label = "word"


class Text(Converter):
    shape = "rest"
    label = "text"

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> str:
        return raw.strip()


class Line(Text):
    """Rest-of-line text as one line: runs of spaces and line breaks become one space."""

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> str:
        return " ".join(raw.split())


class Int(Converter):
    """A whole number, at most MAX either way: SQLite stores 64 bits, and no count, #N or option
    number of a chat group comes near a billion, so anything larger is a typo, not an overflow."""

    label = "number"
    MAX: ClassVar[int] = 999_999_999

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> int:
        try:
            value = int(raw.lstrip("#"))
        except ValueError:
            raise UserError("error.not_a_number", value=raw) from None
        if abs(value) > cls.MAX:
            raise UserError("error.number_too_large", value=raw, max=_grouped(cls.MAX, getattr(ctx, "lang", "en")))
        return value


def _grouped(n: int, lang: str) -> str:
    """999.999.999 (de) or 999,999,999 (en)."""
    return f"{n:,}".replace(",", ".") if lang == "de" else f"{n:,}"


class Number(Int):
    """A #N reference to a created thing."""

    label = "N"


_MXID = re.compile(r"^@[^:\s]+:\S+$")


class User(Converter):
    """A user id, or a pill in the message (the formatted body carries the id)."""

    label = "user"

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> str:
        raw = raw.strip()
        if _MXID.match(raw):
            return raw
        for uid in getattr(ctx, "mentions", ()):  # a pill shows a display name in the body
            if raw.lstrip("@").lower() in uid.lower():
                return uid
        raise UserError("error.not_a_user", value=raw)


class YesNo(Converter):
    label = "yesno"
    TRUE = {"yes", "ja", "true", "1", "on", "an", "y", "j"}
    FALSE = {"no", "nein", "false", "0", "off", "aus", "n"}

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> bool:
        v = raw.strip().lower()
        if v in cls.TRUE:
            return True
        if v in cls.FALSE:
            return False
        raise UserError("error.not_yes_no", value=raw)


class Choice(Converter):
    """One of a fixed set of words (English and German); subclasses give WORDS and the error key."""

    WORDS: ClassVar[dict[str, Any]] = {}
    error: ClassVar[str] = "error.bad_choice"

    @classmethod
    def convert(cls, ctx: Any, raw: str) -> Any:
        value = cls.WORDS.get(" ".join(raw.strip().lower().split()))
        if value is None:
            raise UserError(cls.error, value=raw, choices=", ".join(sorted(cls.WORDS)))
        return value


class _Generic:
    def __init__(self, conv: type[Converter]) -> None:
        self.conv = conv


class Items(_Generic):
    """A list of items: `a | b | c` on the first line, or `- a` lines."""

    def __class_getitem__(cls, conv: type[Converter]) -> "Items":
        return cls(conv)


class Setting(_Generic):
    """An optional `key: value` line; the parameter name is the key."""

    def __class_getitem__(cls, conv: type[Converter]) -> "Setting":
        return cls(conv)


# German spellings of setting keys (CONTRACT.md: German names are aliases of English ones).
SETTING_ALIASES = {
    "bis": "until", "ende": "until", "frist": "until", "deadline": "until", "zeit": "at", "auswahl": "choices", "geheim": "secret", "mehrheit": "majority",
    "um": "at", "zeitpunkt": "at", "inhaltswarnung": "cw", "sichtbarkeit": "visibility",
    "sprache": "language", "konto": "account", "personen": "people", "leute": "people",
    "name": "name", "vorlauf": "lead", "erinnerung": "remind", "gewicht": "weight",
    "erinnerungen": "remind", "festlegen": "fix", "dauer": "duration", "ort": "location",
}


@dataclass
class Param:
    name: str
    kind: str  # "word" | "rest" | "items" | "setting"
    conv: type[Converter]
    required: bool
    default: Any = None


@dataclass
class Command:
    name: str  # English, maybe two words: "duty create"
    aliases: list[str]
    func: Callable[..., Awaitable[Any]]
    params: list[Param]
    who: str = "all"  # "all" | "organiser"
    where: str = "any"  # "any" | "dm" | "room"
    stores_text: bool = False  # keeps what members typed (titles, options, names): refused in safe spaces
    prose: bool = False  # free text in someone's own words (a report): "Ort: Kneipe" is text, only "nmae:" asks
    reads_reply: bool = False  # needs the event it replies to (ctx.replied, fetched before the transaction)
    applies_edits: bool = False  # reads edits of its own message once it went through (!post drafts)
    owner: Any = None  # the feature instance, bound at registration
    names: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.name.replace(" ", ".")

    def shown_name(self, lang: str) -> str:
        """The name shown in that language: English, elsewhere the first (German) alias."""
        return self.name if lang == "en" or not self.aliases else self.aliases[0]

    def settings(self) -> dict[str, Param]:
        return {p.name: p for p in self.params if p.kind == "setting"}


def command(name: str, aliases: list[str] | None = None, *, who: str = "all", where: str = "any",
            stores_text: bool = False, prose: bool = False, reads_reply: bool = False,
            applies_edits: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a feature method as a chat command; the signature is parsed once, here.

    `stores_text`: the command keeps text members typed (a poll's title and options, a duty's
    name); what is said in a safe space stays there, so the dispatcher refuses it in one.
    `prose`: its text is someone's own account (a report); a `Word: …` line in it is text unless the
    word is a near-miss of one of the command's settings.
    `reads_reply`: the command looks at the event it replies to (a picture for `!post`); the pipeline
    fetches it before the transaction opens (no network call inside one) and hands it over as ctx.replied."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__plenum_command__ = Command(  # type: ignore[attr-defined]
            name=name, aliases=aliases or [], func=func, params=_params(func), who=who, where=where,
            stores_text=stores_text, prose=prose, reads_reply=reads_reply, applies_edits=applies_edits,
        )
        return func

    return decorate


def _params(func: Callable[..., Any]) -> list[Param]:
    hints = typing.get_type_hints(func)
    out: list[Param] = []
    for p in list(inspect.signature(func).parameters.values())[2:]:  # skip self, ctx
        ann = hints.get(p.name, Text)
        required = p.default is inspect.Parameter.empty
        default = None if required else p.default
        if isinstance(ann, Items):
            out.append(Param(p.name, "items", ann.conv, required, default))
        elif isinstance(ann, Setting):
            out.append(Param(p.name, "setting", ann.conv, False, default))
        elif isinstance(ann, type) and issubclass(ann, Converter):
            out.append(Param(p.name, ann.shape, ann, required, default))
        elif ann is int:
            out.append(Param(p.name, "word", Int, required, default))
        else:
            out.append(Param(p.name, "rest", Text, required, default))
    if sum(1 for p in out if p.kind == "rest") > 1:
        raise TypeError(f"{func.__name__}: at most one rest-of-line argument")
    return out


@dataclass
class Parsed:
    """The raw pieces of a message body after the command words."""

    head: str
    items: list[str]
    settings: dict[str, str]
    extra_lines: list[str]


_SETTING_LINE = re.compile(r"^\s*([A-Za-zÄÖÜäöüß_]+)\s*:(?!//)\s?(.*)$")  # not "https://…"
SHOWN_KEYS = {en: de for de, en in reversed(list(SETTING_ALIASES.items())) if de != en}  # "until" -> "bis"


def setting_word(key: str, lang: str) -> str:
    """A setting's key as written in that language (German keys are aliases, English always works)."""
    return SHOWN_KEYS.get(key, key) if lang == "de" else key


def distance(a: str, b: str) -> int:
    """Edit distance with transpositions (optimal string alignment): 'hlife' -> 'hilfe' is 1."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def within(a: str, b: str, k: int) -> bool:
    """distance(a, b) <= k, cheaply: lengths and letters rule most pairs out before the table is filled
    (a member's `!word` is compared with every command name, in every shared room: issue 15)."""
    if abs(len(a) - len(b)) > k or len(set(a) ^ set(b)) > 2 * k:
        return False
    return distance(a, b) <= k


def close_enough(typed: str, name: str, shared_room: bool = True) -> bool:
    """A near-miss worth a 'did you mean'. For a command word in a room other bots share: in a word of four
    letters only two swapped letters ('hepl'; 'roll' and 'pool' are other bots' words), one slip up to
    six, two beyond. Inside one of our commands (a setting key such as 'biss:'): one slip, two beyond five."""
    if not shared_room:
        return typed != name and within(typed, name, 1 if len(name) <= 5 else 2)
    if typed == name or len(typed) < 3 or abs(len(typed) - len(name)) > 2:
        return False
    if len(name) <= 4:
        return sorted(typed) == sorted(name) and distance(typed, name) == 1
    return within(typed, name, 1 if len(name) <= 6 else 2)


def _unknown_setting(key: str, known: dict[str, Param], lang: str, prose: bool = False) -> UserError | None:
    """A `key: value` line the command has no setting for: never swallowed into a title or a post."""
    shown = [setting_word(k, lang) for k in known]
    spellings = {**{k: k for k in known}, **{de: en for de, en in SETTING_ALIASES.items() if en in known}}
    meant = next((spellings[w] for w in sorted(spellings) if close_enough(key.lower(), w, shared_room=False)), None)
    if prose and meant is None:
        return None  # "Ort: Kneipe" in a report is part of what happened
    return UserError("error.unknown_setting_meant" if meant else "error.unknown_setting", word=key,
                     meant=(setting_word(meant, lang) + ":") if meant else "", known=", ".join(k + ":" for k in shown),
                     usage=False)


def split_body(rest_of_first_line: str, more_lines: list[str], cmd: Command, lang: str = "en") -> Parsed:
    wants_items = any(p.kind == "items" for p in cmd.params)
    settings_known = cmd.settings()
    head, items = rest_of_first_line, []
    if wants_items and "|" in head:
        head, *items = head.split("|")
    settings: dict[str, str] = {}
    extra: list[str] = []
    for line in more_lines:
        stripped = line.strip()
        if stripped.startswith("\\"):  # "\wann: Samstag" is text, not a setting
            extra.append(line.replace("\\", "", 1))
            continue
        m = _SETTING_LINE.match(line)
        if m:
            key = SETTING_ALIASES.get(m.group(1).lower(), m.group(1).lower())
            if key in settings_known:
                settings[key] = m.group(2).strip()
                continue
            if settings_known and (error := _unknown_setting(m.group(1), settings_known, lang, cmd.prose)):
                raise error
        if wants_items and (stripped.startswith("- ") or stripped == "-"):
            items.append(stripped[1:])
            continue
        if wants_items and stripped.startswith("* "):  # Element turns "- " into a list
            items.append(stripped[1:])
            continue
        extra.append(line)
    items = [i.strip() for i in items if i.strip()]
    return Parsed(head.strip(), items, settings, extra)


_TOKEN = re.compile(r"\S+")
# errors saying the token was meant as this argument (a number, just too large): an optional
# trailing argument does not then fall back to its default and hand the token to the text
_MEANT_AS_THIS = {"error.number_too_large"}


async def bind(cmd: Command, ctx: Any, parsed: Parsed) -> dict[str, Any]:
    """Convert the raw pieces into the handler's keyword arguments, or raise UserError."""
    kwargs: dict[str, Any] = {}
    positional = [p for p in cmd.params if p.kind in ("word", "rest")]
    rest_idx = next((i for i, p in enumerate(positional) if p.kind == "rest"), None)
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(parsed.head)]
    lead = positional if rest_idx is None else positional[:rest_idx]
    trail = [] if rest_idx is None else positional[rest_idx + 1:]
    lo, hi = 0, len(tokens)
    for p in lead:
        if lo < hi:
            kwargs[p.name] = await _convert(p, ctx, parsed.head[tokens[lo][0]:tokens[lo][1]])
            lo += 1
        elif p.required:
            raise UserError("error.missing_argument", arg=p.conv.label)
        else:
            kwargs[p.name] = p.default
    for p in reversed(trail):
        if hi > lo + (1 if rest_idx is not None and positional[rest_idx].required else 0):
            raw = parsed.head[tokens[hi - 1][0]:tokens[hi - 1][1]]
            try:
                kwargs[p.name] = await _convert(p, ctx, raw)
                hi -= 1
                continue
            except UserError as err:
                if p.required or err.key in _MEANT_AS_THIS:
                    raise
        if p.required:
            raise UserError("error.missing_argument", arg=p.conv.label)
        kwargs[p.name] = p.default
    if rest_idx is not None:
        p = positional[rest_idx]
        raw = parsed.head[tokens[lo][0]:tokens[hi - 1][1]] if lo < hi else ""
        if parsed.extra_lines:
            raw = "\n".join([raw, *parsed.extra_lines]).strip("\n")
        if raw.strip():
            kwargs[p.name] = await _convert(p, ctx, raw)
        elif p.required:
            raise UserError("error.missing_argument", arg=p.conv.label)
        else:
            kwargs[p.name] = p.default
    elif lo < hi:
        raise UserError("error.too_many_arguments", extra=parsed.head[tokens[lo][0]:])
    for p in cmd.params:
        if p.kind == "items":
            if not parsed.items and p.required:
                raise UserError("error.missing_items", arg=p.conv.label)
            kwargs[p.name] = [await _convert(p, ctx, raw) for raw in parsed.items]
        elif p.kind == "setting":
            raw = parsed.settings.get(p.name)
            kwargs[p.name] = p.default if raw is None else await _convert(p, ctx, raw)
    if parsed.items and not any(p.kind == "items" for p in cmd.params):
        raise UserError("error.too_many_arguments", extra=" | ".join(parsed.items))
    return kwargs


async def _convert(p: Param, ctx: Any, raw: str) -> Any:
    value = p.conv.convert(ctx, raw)
    if inspect.isawaitable(value):
        value = await value
    return value


def usage(cmd: Command, name: str, label: Callable[[str], str], lang: str = "en") -> str:
    """`!meeting <title> | <date> … [until: <time>]` in the room's language (`[bis: <Zeitpunkt>]`)."""
    parts = ["!" + name]
    for p in cmd.params:
        ph = "<" + label(p.conv.label) + ">"
        if p.kind == "items" and getattr(p.conv, "one_item", False):  # one item after "|", e.g. a recurrence
            parts.append(f"| {ph}" if p.required else f"[| {ph}]")
        elif p.kind == "items":
            parts.append(f"| {ph} | {ph} …")
        elif p.kind == "setting":
            parts.append(f"[{setting_word(p.name, lang)}: {ph}]")
        else:
            parts.append(ph if p.required else f"[{ph}]")
    return " ".join(parts)
