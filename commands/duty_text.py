"""Duties in words: argument converters (duty name, recurrence, duration, weight), descriptions, news of moved turns."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.grammar import Converter, Line
from bot.i18n import I18n
from bot.converters import Day
from bot.names import Names
from bot.render import Rich, join, lines, plain
from bot.voice import Short, Voice
from commands.recurrence import WEEKDAY_NAMES, Recurrence, RecurrenceError, parse_recurrence
from commands.duty_planner import Move
from commands.pollrules import parse_duration
from storage.duties import Duties, Duty

MAX_NAME = 40


class DutyName(Converter):
    """A duty's name (case-insensitive, may have spaces) or its number #N."""

    shape = "rest"
    label = "duty"

    @classmethod
    def convert(cls, ctx, raw: str) -> str:
        name = " ".join(raw.split())
        if "\n" in raw.strip() or not name or len(name) > MAX_NAME:
            raise UserError("duty.bad_name", value=raw.strip(), max=MAX_NAME)
        return name


class DutyAndDay(Line):
    """`<duty> <date>`: split by the handler, which knows the duty names."""

    label = "duty_date"


class RecurrenceText(Converter):
    """"every Tuesday 18:00", "jeden ersten Montag im Monat 19 Uhr", cron; errors say what was understood."""

    label = "recurrence"
    one_item = True  # a duty has one recurrence: the usage line shows [| <recurrence>], not a list

    @classmethod
    def convert(cls, ctx, raw: str) -> Recurrence:
        today = ctx.now.astimezone(ZoneInfo(ctx.tz)).date()
        try:
            return parse_recurrence(raw, anchor=today)
        except RecurrenceError as err:
            got = dict(err.understood)
            bad_time = got.pop("bad_time", None)
            raise UserError("duty.recurrence." + err.code, value=raw.strip(),
                            time=as_typed(raw, bad_time) if bad_time else "",
                            understood=understood(ctx.i18n, ctx.lang, got, raw)) from None


MAX_DURATION = timedelta(days=90)


class Duration(Converter):
    """What pollrules.parse_duration reads ("7 Tage", "36h", "1 Tag 12 Stunden"), "0" (none), a bare number: days."""

    label = "duration"

    @classmethod
    def convert(cls, ctx, raw: str) -> timedelta:
        text = raw.strip().rstrip(".")
        minutes = int(text) * 1440 if re.fullmatch(r"[0-9]{1,4}", text) else parse_duration(text)
        if minutes is None or timedelta(minutes=minutes) > MAX_DURATION:
            raise UserError("duty.bad_duration", value=raw.strip())
        return timedelta(minutes=minutes)


class Weight(Converter):
    """How heavy a turn counts in the load: 0.1 to 10, "1,5" or "1.5"."""

    label = "weight"

    @classmethod
    def convert(cls, ctx, raw: str) -> float:
        try:
            value = float(raw.strip().replace(",", "."))
        except ValueError:
            raise UserError("duty.bad_weight", value=raw.strip()) from None
        if not 0.1 <= value <= 10:
            raise UserError("duty.bad_weight", value=raw.strip())
        return value


class People(Converter):
    label = "people"

    @classmethod
    def convert(cls, ctx, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise UserError("error.not_a_number", value=raw.strip()) from None
        if value < 1 or value > 20:
            raise UserError("duty.bad_people", value=raw.strip())
        return value


# --------------------------------------------------------------------------- describing
def as_typed(typed: str, word: str) -> str:
    """word (which the parser saw in lower case) as it stands in what was typed: "Blautag", "25 Uhr"."""
    m = re.search(re.escape(word), typed, re.IGNORECASE)
    return m.group(0) if m else word


def understood(i18n: I18n, lang: str, got: dict[str, Any], typed: str = "") -> str:
    """"Understood: Tuesday, 18:00, every 2 weeks. Not understood: “foo”." from RecurrenceError.understood;
    unknown words are quoted as they were typed."""
    names = WEEKDAY_NAMES["de" if lang == "de" else "en"]
    parts: list[str] = []
    if got.get("positions"):
        parts.append(", ".join(_ordinal(i18n, lang, p) for p in got["positions"]))
    if got.get("weekdays"):
        parts.append(", ".join(names[w] for w in got["weekdays"]))
    if got.get("monthdays"):
        parts.append(i18n.t(lang, "duty.understood.monthdays", days=", ".join(
            _ordinal(i18n, lang, d) for d in got["monthdays"])))
    if got.get("unit"):
        parts.append(i18n.t(lang, f"duty.understood.every_{got['unit']}", got.get("interval", 1)))
    if got.get("time"):
        parts.append(got["time"])
    if got.get("times"):
        parts.append(i18n.t(lang, "duty.understood.times", times=", ".join(got["times"])))
    if got.get("cron"):
        parts.append(i18n.t(lang, "duty.understood.cron_field" if got.get("field") else "duty.understood.cron_fields",
                            cron=got["cron"], field=got.get("field", "")))
    unknown = i18n.t(lang, "duty.understood.unknown", words=", ".join(
        i18n.t(lang, "duty.quoted", word=as_typed(typed, w)) for w in got["unknown"])) if got.get("unknown") else ""
    if not parts:
        return unknown or i18n.t(lang, "duty.understood.none")
    return " ".join(filter(None, [i18n.t(lang, "duty.understood.some", parts=", ".join(parts)), unknown]))


def _ordinal(i18n: I18n, lang: str, n: int) -> str:
    if n < 0:
        return i18n.t(lang, "duty.ordinal.last" if n == -1 else "duty.ordinal.second_last")
    if lang == "de":
        return f"{n}."
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def duration_text(i18n: I18n, lang: str, span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return i18n.t(lang, "duty.days", minutes // 1440)
    if minutes and minutes % 60 == 0:
        return i18n.t(lang, "duty.hours", minutes // 60)
    return i18n.t(lang, "duty.minutes", minutes)


def describe(i18n: I18n, lang: str, rec: Recurrence | None) -> str:
    return rec.describe(lang) if rec is not None else i18n.t(lang, "duty.on_demand")


def who(users: list[str | None], names: Names, *, ping: bool) -> Rich:
    """People by name, as pills (pinged, in m.mentions) or as plain text; forgotten people are a dash."""
    return join([(names.mention(u) if ping else names.plain(u)) if u else plain("–") for u in users])


def typed_day(d: date) -> Callable[[str], str]:
    """A day as members would type it back in a command: 24.11.2026 (de) or 2026-11-24 (en)."""
    return lambda lang: f"{d.day}.{d.month}.{d.year}" if lang == "de" else d.isoformat()


async def organisers_room(voice: Voice, fallback: str) -> str:
    """Where duty news for organisers goes: the first organisers' room (safe spaces included), else fallback."""
    rooms = await voice.organiser_rooms()
    return rooms[0] if rooms else fallback


# --------------------------------------------------------------------------- finding duties by name
class DutyFinder:
    """A duty by name or number among those the sender can mean: the room's, or in a direct chat their pools'."""

    def __init__(self, duties: Duties) -> None:
        self.duties = duties

    async def visible(self, ctx) -> list[Duty]:
        return await self.duties.pools_of(ctx.sender) if ctx.is_dm else await self.duties.in_room(ctx.room_id)

    @staticmethod
    def labels(duty: Duty) -> tuple[str, ...]:
        return duty.name.casefold(), f"#{duty.number}", str(duty.number)

    async def find(self, ctx, name: str) -> Duty:
        candidates = await self.visible(ctx)
        key = " ".join(name.split()).casefold()
        for duty in candidates:
            if key in self.labels(duty):
                return duty
        raise self.unknown(ctx, name, candidates)

    async def find_with_day(self, ctx, spec: str) -> tuple[Duty, date]:
        """`<duty> <date>`: the longest duty name at the start, a date after it."""
        candidates = await self.visible(ctx)
        key = spec.casefold()
        best: tuple[Duty, str] | None = None
        for duty in candidates:
            for label in self.labels(duty):
                if key == label:
                    raise UserError("error.missing_argument", arg=Day.label)
                if key.startswith(label + " ") and (best is None or len(label) > len(best[1])):
                    best = (duty, label)
        if best is None:
            raise self.unknown(ctx, spec, candidates)
        return best[0], Day.convert(ctx, spec[len(best[1]):].strip())

    @staticmethod
    def unknown(ctx, name: str, candidates: list[Duty]) -> UserError:
        if candidates:
            return UserError("duty.unknown", name=name, names=", ".join(d.name for d in candidates), usage=False)
        return UserError("duty.unknown_dm" if ctx.is_dm else "duty.unknown_none", name=name, usage=False)


def move_line(voice: Voice, lang: str, move: Move, ping: bool, names: Names) -> Rich:
    if move.to_users:
        return voice.rich(lang, "duty.moved", duty=move.duty.name, when=Short(move.occurrence),
                          users=who(list(move.to_users), names, ping=ping))
    return voice.rich(lang, "duty.moved_nobody", duty=move.duty.name, when=Short(move.occurrence))


async def tell_moves(voice: Voice, ctx, moves: list[Move], *, reply_here: bool = True) -> list[Rich]:
    """Lines for the reply about changed slots; the new holders are pinged in the duty's room.

    Moves of duties in the room of the reply are only in the reply (if reply_here); the
    others' rooms get a notice of their own, and the reply lists them without pinging.
    """
    here = [m for m in moves if reply_here and m.duty.room_id == ctx.room_id]
    elsewhere: dict[str, list[Move]] = {}
    for m in moves:
        if m not in here:
            elsewhere.setdefault(m.duty.room_id, []).append(m)
    names = {room_id: await voice.names(room_id) for room_id in {m.duty.room_id for m in moves}}
    for room_id, ms in elsewhere.items():
        await voice.send(room_id, lambda lang, ms=ms, room_id=room_id: lines(
            [voice.rich(lang, "duty.moved_header")] + [move_line(voice, lang, m, True, names[room_id]) for m in ms]))
    return [move_line(voice, ctx.lang, m, m in here, names[m.duty.room_id]) for m in moves]
