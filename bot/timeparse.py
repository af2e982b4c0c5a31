"""Reading dates and times the way German and English speakers write them in chat.

Pure functions: the current time and the timezone are passed in. Common forms
("Mo 2.12. 18 Uhr", "3.12.2024 19:00", "morgen 18 Uhr", "Friday 6pm", ISO 8601) are read
by a small token pre-pass; everything else ("in 2 Stunden", "2. Dezember 18 Uhr",
"next week") goes to dateparser after a thin normalisation ("18 Uhr" -> "18:00").
Both languages are always accepted; `lang` only decides which one dateparser tries first.

Rules: day first (3.12. = 3 December); a date without a year is the next such date on or
after today, in the coming twelve months: "29.2." in a year without one is refused, not read
as a 29 February years ahead (write the year for that); a weekday alone is the next such day after today; wall-clock times are local
in `tz` and converted to UTC with zoneinfo (a time in the spring-forward gap is read with
the offset before the change, an ambiguous autumn time as its first occurrence).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["TimeParseError", "parse_when", "parse_date", "parse_date_range", "zone"]

UTC = timezone.utc
_MAX_LEN = 100  # longer text is not a date; also keeps dateparser fast
_YEARS = (1900, 2200)  # anything outside is a misreading, not a meeting


class TimeParseError(ValueError):
    """The text is not a date/time we can read.

    reason: "unreadable" | "no_time" (a date without time where one is required) |
    "weekday_mismatch" (weekday and date disagree) | "end_before_start" (ranges) |
    "no_leap_day" (29 February of a year that has none; params year, leap) |
    "no_such_day" (31.4.; params day, month). `params` fill in the message.
    """

    def __init__(self, text: str, reason: str = "unreadable", **params: Any) -> None:
        super().__init__(f"{reason}: {text!r}")
        self.text = text
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class _Reading:
    day: date | None = None  # local calendar day
    clock: time | None = None  # local wall-clock time, None if the text named none
    instant: datetime | None = None  # exact UTC instant ("now", "in 2 hours", ISO with offset)
    year_given: bool = True  # False for "5.1." (lets ranges move the start back a year)


# --------------------------------------------------------------------------- vocabulary
# CLDR's wide and abbreviated day names of de and en (Babel's Locale(...).days, both contexts),
# spelled out: reading them from Babel at import cost 5.3 MB of locale data in every process,
# also in one that never parses a date (tests/unit/test_timeparse.py checks them against Babel).
_CLDR_DAYS = {
    "de": (("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"),
           ("mo", "di", "mi", "do", "fr", "sa", "so")),
    "en": (("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
}


def _weekday_names() -> dict[str, int]:
    names: dict[str, int] = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
    for widths in _CLDR_DAYS.values():
        for days in widths:
            names.update({name: number for number, name in enumerate(days)})
    return names


_WEEKDAYS = _weekday_names()
_DAYWORDS = {"heute": 0, "today": 0, "morgen": 1, "tomorrow": 1, "übermorgen": 2,
             "gestern": -1, "yesterday": -1, "vorgestern": -2}
_FILLER = {"am", "um", "at", "on", "den", "the", "der", "von", "vom", "ab", "from", "zum",
           "next", "this", "nächsten", "nächster", "nächste", "kommenden", "kommender", "diesen"}
_PHRASES = [(re.compile(r"\b(?:the )?day after tomorrow\b"), "übermorgen"),
            (re.compile(r"\buebermorgen\b"), "übermorgen"),
            (re.compile(r"\b(?:naechste[nr]?)\b"), "nächsten")]
_AMPM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\.?(?=\s|$)")
_UHR = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(?:uhr|h)\b")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?"
                  r"(?:z|[+-]\d{2}(?::?\d{2})?)?", re.I)
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})(\.(\d{4}|\d{2})?)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_HOUR = re.compile(r"\d{1,2}")
_HAS_TIME = re.compile(r"\d:\d\d|\b(?:noon|midnight|mittags?|mitternacht)\b")
_SUB_DAY = re.compile(r"\b(?:sec|secs|seconds?|sekunden?|min|mins|minutes?|minuten|"
                      r"hrs?|hours?|std|stunden?)\b")


def _normalise(text: str) -> str:
    """Lower case, commas to spaces, "6pm"/"18 Uhr"/"18.30 Uhr" to "18:00"/"18:30"."""
    s = " ".join(text.lower().replace(",", " ").split())
    for pattern, repl in _PHRASES:
        s = pattern.sub(repl, s)

    def ampm(m: re.Match[str]) -> str:
        hour, minute = int(m[1]), m[2] or "00"
        if not 1 <= hour <= 12:
            return m[0]
        return f"{hour % 12 + (12 if m[3] == 'p' else 0)}:{minute}"

    s = _AMPM.sub(ampm, s)
    return _UHR.sub(lambda m: f"{m[1]}:{m[2] or '00'}", s)


# --------------------------------------------------------------------------- resolution
def _year_of(today: date, day: int, month: int, future: bool) -> int:
    """The year a date without one falls in: this year, or next year once it has passed."""
    return today.year if not future or (month, day) >= (today.month, today.day) else today.year + 1


def _calendar_date(year: int, month: int, day: int, text: str) -> date:
    """date(year, month, day), or the TimeParseError saying why that day does not exist."""
    try:
        return date(year, month, day)
    except ValueError:
        if not (1 <= year <= 9999 and 1 <= month <= 12 and calendar.monthrange(year, month)[1] < day <= 31):
            raise  # not a day past the month's end: unreadable
        if (month, day) == (2, 29):
            leap = next((y for y in range(year + 1, year + 9) if calendar.isleap(y)), year + 4)
            raise TimeParseError(text, "no_leap_day", year=year, leap=leap) from None
        raise TimeParseError(text, "no_such_day", day=day, month=month) from None


def _yearless(today: date, day: int, month: int, future: bool, text: str) -> date:
    return _calendar_date(_year_of(today, day, month, future), month, day, text)


def _weekday_day(today: date, weekday: int, future: bool) -> date:
    if future:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return today + timedelta(days=weekday - today.weekday())


def _fast(words: list[str], text: str, today: date, future: bool) -> _Reading | None:
    """The common forms: [weekday] [date | dayword] [time], in any order, with fillers."""
    day: date | None = None
    clock: time | None = None
    weekday: int | None = None
    year_given = True
    bare_hour: str | None = None
    for word in words:
        if word in _FILLER:
            continue
        if word.rstrip(".") in _WEEKDAYS and weekday is None:
            weekday = _WEEKDAYS[word.rstrip(".")]
        elif word in _DAYWORDS and day is None:
            day = today + timedelta(days=_DAYWORDS[word])
        elif (m := _TIME.fullmatch(word)) and clock is None:
            clock = time(int(m[1]), int(m[2]))
        elif (m := _ISO_DATE.fullmatch(word)) and day is None:
            day = _calendar_date(int(m[1]), int(m[2]), int(m[3]), text)
        elif m := _DATE.fullmatch(word):
            d, mo, dot, yr = int(m[1]), int(m[2]), m[3], m[4]
            if day is None and yr:
                day = _calendar_date(int(yr) + (2000 if len(yr) == 2 else 0), mo, d, text)
            elif day is None:
                day, year_given = _yearless(today, d, mo, future, text), False
            elif clock is None and not dot and len(m[2]) == 2:  # "2.12. 18.30"
                clock = time(d, mo)
            else:
                return None
        elif _HOUR.fullmatch(word) and bare_hour is None:  # "2.12. 18"
            bare_hour = word
        else:
            return None
    if bare_hour is not None:
        if clock is not None or (day is None and weekday is None):
            return None
        clock = time(int(bare_hour))
    if day is None and weekday is not None:
        day = _weekday_day(today, weekday, future)
    elif weekday is not None and day is not None and day.weekday() != weekday:
        raise TimeParseError(text, "weekday_mismatch")
    if day is None:
        if clock is None:
            return None
        day = today  # a time alone: today (the caller refuses it if it has passed)
    return _Reading(day=day, clock=clock, year_given=year_given)


@lru_cache(maxsize=16)  # hits within one command: all its dates share the same `now`
def _parser(lang: str, future: bool, base: datetime) -> Any:
    from dateparser.date import DateDataParser  # slow import; the fast path never needs it

    languages = ["de", "en"] if lang == "de" else ["en", "de"]
    settings = {"PREFER_DATES_FROM": "future" if future else "current_period",
                "DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first", "RELATIVE_BASE": base}
    return DateDataParser(languages=languages, settings=settings)


def _dateparser(s: str, lang: str, zone: ZoneInfo, now: datetime, future: bool) -> _Reading | None:
    sub_day = _SUB_DAY.search(s) is not None  # "in 2 hours": count from the UTC instant
    base = now.astimezone(UTC if sub_day else zone).replace(tzinfo=None, microsecond=0)
    try:
        found = _parser(lang, future, base).get_date_data(s).date_obj
        if found is not None and found.tzinfo is not None:
            return _Reading(instant=found.astimezone(UTC))
    except Exception:  # dateparser raises assorted errors on odd input; all mean "unreadable"
        return None
    if found is None:
        return None
    if sub_day:
        return _Reading(instant=found.replace(tzinfo=UTC))
    clock = found.time().replace(microsecond=0) if _HAS_TIME.search(s) else None
    return _Reading(day=found.date(), clock=clock)


@lru_cache(maxsize=32)
def zone(tz: str) -> ZoneInfo:
    """The zone of that name, cached (also used by bot.timeformat)."""
    return ZoneInfo(tz)


def _read(text: str, lang: str, tz: str, now: datetime, future: bool) -> _Reading:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        reading = _read_unchecked(text, lang, zone(tz), now, future)
        day = reading.day or reading.instant.astimezone(zone(tz)).date()  # type: ignore[union-attr]
    except TimeParseError:
        raise
    except (ValueError, OverflowError):  # impossible dates (31.2., 25:00) or years out of range
        raise TimeParseError(text) from None
    if not _YEARS[0] <= day.year <= _YEARS[1]:
        raise TimeParseError(text)
    return reading


def _read_unchecked(text: str, lang: str, zone: ZoneInfo, now: datetime, future: bool) -> _Reading:
    raw = text.strip()
    if not raw or len(raw) > _MAX_LEN:
        raise TimeParseError(text)
    if _ISO.fullmatch(raw):
        m = _ISO_DATE.match(raw)
        _calendar_date(int(m[1]), int(m[2]), int(m[3]), text)  # type: ignore[index]  # 2027-02-29: say why
        parsed = datetime.fromisoformat(raw.upper())
        if parsed.tzinfo is not None:
            return _Reading(instant=parsed.astimezone(UTC))
        return _Reading(day=parsed.date(), clock=parsed.time() if len(raw) > 10 else None)
    s = _normalise(raw)
    if s in ("now", "jetzt", "sofort", "right now"):
        return _Reading(instant=now.astimezone(UTC))
    today = now.astimezone(zone).date()
    words = s.split()
    reading = _fast(words, text, today, future)
    if reading is None:
        s = " ".join(w for w in words if w not in ("nächsten", "nächster", "kommenden"))
        reading = _dateparser(s, lang, zone, now, future)
        if reading is None:
            raise TimeParseError(text)
        named = {_WEEKDAYS[w.rstrip(".")] for w in words if w.rstrip(".") in _WEEKDAYS}
        got = reading.day or reading.instant.astimezone(zone).date()  # type: ignore[union-attr]
        if (got.month, got.day) == (2, 29) and str(got.year) not in raw:  # "29. Februar": dateparser skips years
            year = _year_of(today, 29, 2, future)
            if got.year != year:
                _calendar_date(year, 2, 29, text)
        if named and named != {got.weekday()}:
            raise TimeParseError(text, "weekday_mismatch")
    return reading


# --------------------------------------------------------------------------- public API
def parse_when(text: str, *, lang: str, tz: str, now: datetime, default_time: time | None = None,
               prefer_future: bool = True, require_time: bool = True) -> datetime:
    """The instant `text` names, as an aware UTC datetime.

    Text without a time of day gets `default_time` (local); without that it is refused
    with reason "no_time" if `require_time`, else read as 00:00. prefer_future=False reads
    a yearless date in the current year and a weekday in the current week.
    """
    reading = _read(text, lang, tz, now, prefer_future)
    if reading.instant is not None:
        return reading.instant
    clock = reading.clock or default_time
    if clock is None:
        if require_time:
            raise TimeParseError(text, "no_time")
        clock = time(0)
    try:
        return datetime.combine(reading.day, clock, tzinfo=zone(tz)).astimezone(UTC)  # type: ignore[arg-type]
    except (ValueError, OverflowError):
        raise TimeParseError(text) from None


def parse_date(text: str, *, lang: str, tz: str, now: datetime, prefer_future: bool = True) -> date:
    """The local calendar day `text` names ("1.12.", "1.12.2026", "morgen", ISO); a time is ignored."""
    return _day(_read(text, lang, tz, now, prefer_future), tz)


def _day(reading: _Reading, tz: str) -> date:
    if reading.instant is not None:
        return reading.instant.astimezone(zone(tz)).date()
    return reading.day  # type: ignore[return-value]


_SEPARATORS = re.compile(r"\s*(?:\||–|—|\.\.|\b(?:bis|to|until|till)\b)\s*", re.I)
_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"\s*-\s*")


def parse_date_range(text: str, *, lang: str, tz: str, now: datetime) -> tuple[date, date]:
    """First and last day (both included) of "1.12. 5.12.", "1.12.-5.12.", "1.12. bis 5.12.",
    "1.12. to 5.12.", "1.12. | 5.12.", "tomorrow 5.12.", ISO pairs; a single date is one day.

    Yearless dates are the next such date on or after today, except that a yearless start
    after the end moves back a year if it then lies at most 31 days in the past
    ("20.11.-5.12." on 21.11. is the absence that began yesterday), and a yearless end
    before an explicit start moves forward ("1.12.2027 - 5.12.").
    """
    raw = text.strip()
    if not raw or len(raw) > _MAX_LEN:
        raise TimeParseError(text)
    problem: TimeParseError | None = None
    recent = now.astimezone(zone(tz)).date() - timedelta(days=31)
    for pattern in (_SEPARATORS, _SPACES, _HYPHENS):
        for m in pattern.finditer(raw):
            left, right = raw[: m.start()].strip(" -|"), raw[m.end():].strip(" -|")
            if not left or not right:
                continue
            try:
                first, last = (_read(part, lang, tz, now, True) for part in (left, right))
            except TimeParseError as error:
                if problem is None and error.reason in ("weekday_mismatch", "no_leap_day", "no_such_day"):
                    problem = error
                continue
            start, end = _day(first, tz), _day(last, tz)
            earlier = _shift_year(start, -1)
            if start > end and not first.year_given and earlier and earlier >= recent:
                start = earlier  # "20.11.-5.12." on 21.11.: the absence began yesterday
            if start > end and not last.year_given and first.year_given:
                while end < start and (later := _shift_year(end, 1)):
                    end = later  # "1.12.2027 - 5.12."
            if start <= end:
                return start, end
            problem = TimeParseError(text, "end_before_start")
    if problem is not None:
        raise TimeParseError(text, problem.reason, **problem.params)
    single = parse_date(raw, lang=lang, tz=tz, now=now)
    return single, single


def _shift_year(day: date, years: int) -> date | None:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return None

