"""Showing dates and times to members, in the room's language and the configured timezone.

German uses the 24-hour clock, English the 12-hour clock; patterns are fixed (not Babel's
"medium" styles) so that replies look the same across Babel/CLDR versions.
"""
from __future__ import annotations

from datetime import date, datetime
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime

from bot.timeparse import zone

__all__ = ["format_when", "format_date", "format_weekday_date", "format_time"]

_WHEN = {"de": "EEE, d. MMM y, HH:mm", "en": "EEE, MMM d, y, h:mm a"}  # Mi., 2. Dez. 2026, 18:00
_DATE = {"de": "EEE, d. MMM y", "en": "EEE, MMM d, y"}  # Mi., 2. Dez. 2026 / Wed, Dec 2, 2026
_SHORT = {"de": "ccc d.M. HH:mm", "en": "ccc MMM d, h:mm a"}  # Mi 2.12. 18:00 / Wed Dec 2, 6:00 PM
_SHORT_YEAR = {"de": "ccc d.M.y HH:mm", "en": "ccc MMM d, y, h:mm a"}  # Di 29.2.2028 18:00 / Tue Feb 29, 2028, …
_TIME = {"de": "HH:mm", "en": "h:mm a"}


def _lang(lang: str) -> str:
    return "de" if lang == "de" else "en"


def _local(dt: datetime, tz: str) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return dt.astimezone(zone(tz))


def format_when(dt: datetime, *, lang: str, tz: str) -> str:
    """Full date and time: de "Mi., 2. Dez. 2026, 18:00", en "Wed, Dec 2, 2026, 6:00 PM"."""
    lang = _lang(lang)
    return _babel_datetime(_local(dt, tz), _WHEN[lang], locale=lang)


def format_date(d: date, lang: str) -> str:
    """A calendar day: de "Mi., 2. Dez. 2026", en "Wed, Dec 2, 2026"."""
    lang = _lang(lang)
    return _babel_date(d, _DATE[lang], locale=lang)


def format_weekday_date(dt: datetime, lang: str, tz: str, now: datetime | None = None) -> str:
    """Short form for tables: de "Mi 2.12. 18:00", en "Wed Dec 2, 6:00 PM".

    Given `now`, a day outside the coming twelve months (already past, or a year or more
    ahead) shows its year: de "Di 29.2.2028 18:00", en "Tue Feb 29, 2028, 6:00 PM"; a day
    without a year is read as the next such day, so only these need one."""
    lang = _lang(lang)
    local = _local(dt, tz)
    pattern = _SHORT[lang]
    if now is not None and not _coming_year(local.date(), _local(now, tz).date()):
        pattern = _SHORT_YEAR[lang]
    return _babel_datetime(local, pattern, locale=lang)


def _coming_year(day: date, today: date) -> bool:
    try:
        year_later = today.replace(year=today.year + 1)
    except ValueError:  # today is 29 February
        year_later = date(today.year + 1, 3, 1)
    return today <= day < year_later


def format_time(dt: datetime, lang: str, tz: str) -> str:
    """Time of day only: de "18:00", en "6:00 PM"."""
    lang = _lang(lang)
    return _babel_datetime(_local(dt, tz), _TIME[lang], locale=lang)
