"""Showing dates and times to members, in the room's language and the configured timezone.

German uses the 24-hour clock, English the 12-hour clock; patterns are fixed (not Babel's
"medium" styles) so that replies look the same across Babel/CLDR versions.
"""
from __future__ import annotations

from datetime import date, datetime

from bot.timeparse import zone

__all__ = ["format_when", "format_date", "format_weekday_date", "format_time"]

_WHEN = {"de": "EEE, d. MMM y, HH:mm", "en": "EEE, MMM d, y, h:mm a"}  # Mi., 2. Dez. 2026, 18:00
_DATE = {"de": "EEE, d. MMM y", "en": "EEE, MMM d, y"}  # Mi., 2. Dez. 2026 / Wed, Dec 2, 2026
_SHORT = {"de": "ccc d.M. HH:mm", "en": "ccc MMM d, h:mm a"}  # Mi 2.12. 18:00 / Wed Dec 2, 6:00 PM
_TIME = {"de": "HH:mm", "en": "h:mm a"}


def _babel_datetime(dt: datetime, pattern: str, locale: str) -> str:
    # Babel (and the CLDR data it then loads, ~6 MB) comes in with the first date shown, not at start
    from babel.dates import format_datetime

    return format_datetime(dt, pattern, locale=locale)


def _babel_date(d: date, pattern: str, locale: str) -> str:
    from babel.dates import format_date

    return format_date(d, pattern, locale=locale)


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


def format_weekday_date(dt: datetime, lang: str, tz: str) -> str:
    """Short form for tables: de "Mi 2.12. 18:00", en "Wed Dec 2, 6:00 PM"."""
    lang = _lang(lang)
    return _babel_datetime(_local(dt, tz), _SHORT[lang], locale=lang)


def format_time(dt: datetime, lang: str, tz: str) -> str:
    """Time of day only: de "18:00", en "6:00 PM"."""
    lang = _lang(lang)
    return _babel_datetime(_local(dt, tz), _TIME[lang], locale=lang)
