"""Argument converters for dates and times, shared by all features (read in the room's language and zone)."""
from __future__ import annotations

from datetime import date, datetime

from bot.errors import UserError
from bot.grammar import Converter
from bot.timeparse import TimeParseError, parse_date, parse_date_range, parse_when


def _error(exc: TimeParseError, raw: str, lang: str) -> UserError:
    params = dict(exc.params)
    if "month" in params:  # "31. April" / "31 April"
        from babel import Locale  # only for this refusal: Babel's locale data stays out of memory (issue 15)

        params["month"] = Locale.parse("de" if lang == "de" else "en").months["format"]["wide"][params["month"]]
    return UserError("time." + exc.reason, value=raw.strip(), **params)


class When(Converter):
    """A future date and time ("Mo 2.12. 18 Uhr", "tomorrow 6pm", ISO 8601); the past is refused."""

    shape = "rest"
    label = "time"

    @classmethod
    def convert(cls, ctx, raw: str) -> datetime:
        try:  # "now"/"jetzt"/"sofort" read as exactly ctx.now, which is not in the past
            when = parse_when(raw.strip(), lang=ctx.lang, tz=ctx.tz, now=ctx.now)
        except TimeParseError as exc:
            raise _error(exc, raw, ctx.lang) from None
        if when < ctx.now:
            raise UserError("time.past", value=raw)
        return when


class Day(Converter):
    """A calendar day in the configured zone ("1.12.", "morgen", "2026-12-01")."""

    shape = "rest"
    label = "date"

    @classmethod
    def convert(cls, ctx, raw: str) -> date:
        try:
            return parse_date(raw.strip(), lang=ctx.lang, tz=ctx.tz, now=ctx.now)
        except TimeParseError as exc:
            raise _error(exc, raw, ctx.lang) from None


class DayRange(Converter):
    """Two days, both included ("1.12. 5.12.", "1.12.-5.12.", "1.12. bis 5.12.")."""

    shape = "rest"
    label = "range"

    @classmethod
    def convert(cls, ctx, raw: str) -> tuple[date, date]:
        try:
            return parse_date_range(raw.strip(), lang=ctx.lang, tz=ctx.tz, now=ctx.now)
        except TimeParseError as exc:
            raise _error(exc, raw, ctx.lang) from None
