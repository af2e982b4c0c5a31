"""Showing dates and times to members, in the room's language and the configured timezone.

German uses the 24-hour clock, English the 12-hour clock; patterns are fixed (not Babel's
"medium" styles) so that replies look the same across Babel/CLDR versions. They are written
out here with CLDR's de/en day and month abbreviations instead of asking Babel: formatting the
first date loaded 5.7 MB of locale data that stayed for the life of the process (issue 15).
tests/unit/test_timeparse.py checks every pattern against Babel's output.
"""
from __future__ import annotations

from datetime import date, datetime

from bot.timeparse import zone

__all__ = ["format_when", "format_date", "format_weekday_date", "format_time"]

# The Babel/CLDR patterns these functions write out (the test formats each with Babel too):
_WHEN = {"de": "EEE, d. MMM y, HH:mm", "en": "EEE, MMM d, y, h:mm a"}  # Mi., 2. Dez. 2026, 18:00
_DATE = {"de": "EEE, d. MMM y", "en": "EEE, MMM d, y"}  # Mi., 2. Dez. 2026 / Wed, Dec 2, 2026
_SHORT = {"de": "ccc d.M. HH:mm", "en": "ccc MMM d, h:mm a"}  # Mi 2.12. 18:00 / Wed Dec 2, 6:00 PM
_SHORT_YEAR = {"de": "ccc d.M.y HH:mm", "en": "ccc MMM d, y, h:mm a"}  # Di 29.2.2028 18:00 / Tue Feb 29, 2028, …
_TIME = {"de": "HH:mm", "en": "h:mm a"}

# CLDR abbreviations, Monday first: EEE (format), ccc (stand-alone), MMM (format)
_EEE = {"de": ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
        "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_CCC = {"de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), "en": _EEE["en"]}
_MMM = {"de": ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."),
        "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")}


def _clock(t: datetime, lang: str) -> str:
    """HH:mm (de) or h:mm a (en)."""
    if lang == "de":
        return f"{t.hour:02d}:{t.minute:02d}"
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def _day(d: date, lang: str) -> str:
    """EEE, d. MMM y (de) or EEE, MMM d, y (en)."""
    day, month = _EEE[lang][d.weekday()], _MMM[lang][d.month - 1]
    return f"{day}, {d.day}. {month} {d.year}" if lang == "de" else f"{day}, {month} {d.day}, {d.year}"


def _lang(lang: str) -> str:
    return "de" if lang == "de" else "en"


def _local(dt: datetime, tz: str) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return dt.astimezone(zone(tz))


def format_when(dt: datetime, *, lang: str, tz: str) -> str:
    """Full date and time: de "Mi., 2. Dez. 2026, 18:00", en "Wed, Dec 2, 2026, 6:00 PM"."""
    lang, local = _lang(lang), _local(dt, tz)
    return f"{_day(local, lang)}, {_clock(local, lang)}"


def format_date(d: date, lang: str) -> str:
    """A calendar day: de "Mi., 2. Dez. 2026", en "Wed, Dec 2, 2026"."""
    return _day(d, _lang(lang))


def format_weekday_date(dt: datetime, lang: str, tz: str, now: datetime | None = None) -> str:
    """Short form for tables: de "Mi 2.12. 18:00", en "Wed Dec 2, 6:00 PM".

    Given `now`, a day outside the coming twelve months (already past, or a year or more
    ahead) shows its year: de "Di 29.2.2028 18:00", en "Tue Feb 29, 2028, 6:00 PM"; a day
    without a year is read as the next such day, so only these need one."""
    lang, t = _lang(lang), _local(dt, tz)
    year = now is not None and not _coming_year(t.date(), _local(now, tz).date())
    if lang == "de":
        return f"{_CCC[lang][t.weekday()]} {t.day}.{t.month}.{t.year if year else ''} {_clock(t, lang)}"
    return (f"{_CCC[lang][t.weekday()]} {_MMM[lang][t.month - 1]} {t.day}, "
            f"{f'{t.year}, ' if year else ''}{_clock(t, lang)}")


def _coming_year(day: date, today: date) -> bool:
    try:
        year_later = today.replace(year=today.year + 1)
    except ValueError:  # today is 29 February
        year_later = date(today.year + 1, 3, 1)
    return today <= day < year_later


def format_time(dt: datetime, lang: str, tz: str) -> str:
    """Time of day only: de "18:00", en "6:00 PM"."""
    lang = _lang(lang)
    return _clock(_local(dt, tz), lang)
