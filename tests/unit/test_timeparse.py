"""Reading and showing dates: every form members write, in both room languages."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timeformat import format_date, format_time, format_weekday_date, format_when
from bot.timeparse import TimeParseError, parse_date, parse_date_range, parse_when

TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)  # Saturday, 11:00 in Berlin
NOW_2024 = datetime(2024, 11, 21, 10, 0, tzinfo=timezone.utc)  # Thursday
LANGS = ["de", "en"]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(timezone.utc)


WHEN = [
    ("Mi 2.12. 18 Uhr", NOW, local(2026, 12, 2, 18)),
    ("Do, 3.12., 19:00", NOW, local(2026, 12, 3, 19)),
    ("Mo 2.12. 18 Uhr", NOW_2024, local(2024, 12, 2, 18)),
    ("Di, 3.12., 19:00", NOW_2024, local(2024, 12, 3, 19)),
    ("3.12.2024 19:00", NOW, local(2024, 12, 3, 19)),
    ("2.12.2024 18 Uhr", NOW, local(2024, 12, 2, 18)),
    ("2.12. 18:00", NOW, local(2026, 12, 2, 18)),
    ("2.12 18:00", NOW, local(2026, 12, 2, 18)),
    ("2.12. 18.30 Uhr", NOW, local(2026, 12, 2, 18, 30)),
    ("2.12. 18.30", NOW, local(2026, 12, 2, 18, 30)),
    ("2.12.26 18", NOW, local(2026, 12, 2, 18)),
    ("Montag, den 7.12. um 18 Uhr", NOW, local(2026, 12, 7, 18)),
    ("Fr., 4.12. 17 h", NOW, local(2026, 12, 4, 17)),
    ("tomorrow 6pm", NOW, local(2026, 11, 22, 18)),
    ("tomorrow at 6:30 p.m.", NOW, local(2026, 11, 22, 18, 30)),
    ("tomorrow 18:00", NOW, local(2026, 11, 22, 18)),
    ("morgen 18 Uhr", NOW, local(2026, 11, 22, 18)),
    ("Morgen um 18 Uhr", NOW, local(2026, 11, 22, 18)),
    ("übermorgen 10:00", NOW, local(2026, 11, 23, 10)),
    ("day after tomorrow 10am", NOW, local(2026, 11, 23, 10)),
    ("Freitag 18 Uhr", NOW, local(2026, 11, 27, 18)),
    ("Friday 6pm", NOW, local(2026, 11, 27, 18)),
    ("nächsten Freitag 18 Uhr", NOW, local(2026, 11, 27, 18)),
    ("Samstag 10 Uhr", NOW, local(2026, 11, 28, 10)),  # today is Saturday: the next one
    ("in 2 Stunden", NOW, datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)),
    ("in 30 minutes", NOW, datetime(2026, 11, 21, 10, 30, tzinfo=timezone.utc)),
    ("in 2 Tagen 18 Uhr", NOW, local(2026, 11, 23, 18)),
    ("2. Dezember 18 Uhr", NOW, local(2026, 12, 2, 18)),
    ("Dec 2 6pm", NOW, local(2026, 12, 2, 18)),
    ("2026-12-02T18:00", NOW, local(2026, 12, 2, 18)),
    ("2026-12-02 18:00", NOW, local(2026, 12, 2, 18)),
    ("2026-12-02T18:00+01:00", NOW, datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)),
    ("2026-12-02 18:00Z", NOW, datetime(2026, 12, 2, 18, 0, tzinfo=timezone.utc)),
    ("now", NOW, NOW),
    ("jetzt", NOW, NOW),
    ("heute 20 Uhr", NOW, local(2026, 11, 21, 20)),
    ("today 8pm", NOW, local(2026, 11, 21, 20)),
    ("20 Uhr", NOW, local(2026, 11, 21, 20)),
    ("5.1. 10:00", NOW, local(2027, 1, 5, 10)),  # past this year: next year
    ("21.11. 18:00", NOW, local(2026, 11, 21, 18)),  # today counts
    ("29.2.2028 12:00", NOW, local(2028, 2, 29, 12)),  # a 29 February with its year
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("text", "now", "expected"), WHEN)
def test_parse_when(text: str, now: datetime, expected: datetime, lang: str) -> None:
    got = parse_when(text, lang=lang, tz=TZ, now=now)
    assert got == expected
    assert got.tzinfo is timezone.utc


@pytest.mark.parametrize(("text", "utc_hour"), [
    ("29.3.2027 18 Uhr", 16),  # summer time (CEST, +2) began on 28.3.2027
    ("27.3.2027 18 Uhr", 17),
    ("26.10.2026 18:00", 17),  # winter time (CET, +1) began on 25.10.2026
    ("24.10.2026 18:00", 16),
])
def test_daylight_saving_time(text: str, utc_hour: int) -> None:
    assert parse_when(text, lang="de", tz=TZ, now=NOW).hour == utc_hour


def test_other_timezone() -> None:
    got = parse_when("2.12. 18:00", lang="en", tz="America/New_York", now=NOW)
    assert got == datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("text", ["Mo 3.12.2026 18:00", "Mi 3.12. 18 Uhr", "Monday 2.12. 6pm",
                                  "Dienstag 2. Dezember 18 Uhr", "Fr morgen 18 Uhr"])
def test_weekday_mismatch(text: str, lang: str) -> None:
    with pytest.raises(TimeParseError) as error:
        parse_when(text, lang=lang, tz=TZ, now=NOW)
    assert error.value.reason == "weekday_mismatch"
    assert error.value.text == text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("text", ["", "   ", "asdf", "bald", "2.13. 18:00", "32.1. 18:00",
                                  "25:00", "Mo Di", "x" * 500, "18 Uhr 19 Uhr 20 Uhr"])
def test_unreadable(text: str, lang: str) -> None:
    with pytest.raises(TimeParseError) as error:
        parse_when(text, lang=lang, tz=TZ, now=NOW)
    assert error.value.reason == "unreadable"


@pytest.mark.parametrize("text", ["2.12.", "morgen", "tomorrow", "Freitag", "2026-12-02", "2. Dezember"])
def test_date_without_time(text: str) -> None:
    with pytest.raises(TimeParseError) as error:
        parse_when(text, lang="de", tz=TZ, now=NOW)
    assert error.value.reason == "no_time"
    with_default = parse_when(text, lang="de", tz=TZ, now=NOW, default_time=time(19))
    assert with_default.astimezone(BERLIN).time() == time(19)
    midnight = parse_when(text, lang="de", tz=TZ, now=NOW, require_time=False)
    assert midnight.astimezone(BERLIN).time() == time(0)


def test_default_time_does_not_override_a_given_time() -> None:
    got = parse_when("2.12. 18 Uhr", lang="de", tz=TZ, now=NOW, default_time=time(9))
    assert got == local(2026, 12, 2, 18)


def test_prefer_past() -> None:
    got = parse_when("5.1. 10:00", lang="de", tz=TZ, now=NOW, prefer_future=False)
    assert got == local(2026, 1, 5, 10)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("text", "expected"), [
    ("1.12.", date(2026, 12, 1)), ("1.12.2026", date(2026, 12, 1)), ("5.1.", date(2027, 1, 5)),
    ("tomorrow", date(2026, 11, 22)), ("morgen", date(2026, 11, 22)),
    ("2026-12-01", date(2026, 12, 1)), ("Mo 23.11.", date(2026, 11, 23)),
])
def test_parse_date(text: str, expected: date, lang: str) -> None:
    assert parse_date(text, lang=lang, tz=TZ, now=NOW) == expected


def test_parse_date_uses_local_day() -> None:
    late = datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc)  # already 22.11. in Berlin
    assert parse_date("heute", lang="de", tz=TZ, now=late) == date(2026, 11, 22)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("text", "expected"), [
    ("1.12. 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("1.12.-5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("1.12. - 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("1.12. bis 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("vom 1.12. bis zum 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("1.12. to 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("1.12. | 5.12.", (date(2026, 12, 1), date(2026, 12, 5))),
    ("2026-12-01 2026-12-05", (date(2026, 12, 1), date(2026, 12, 5))),
    ("tomorrow 5.12.", (date(2026, 11, 22), date(2026, 12, 5))),
    ("morgen bis übermorgen", (date(2026, 11, 22), date(2026, 11, 23))),
    ("Mo 30.11. - Fr 4.12.", (date(2026, 11, 30), date(2026, 12, 4))),
    ("28.12.-3.1.", (date(2026, 12, 28), date(2027, 1, 3))),
    ("20.11.-5.12.", (date(2026, 11, 20), date(2026, 12, 5))),  # began yesterday
    ("1.12.2027 - 5.12.", (date(2027, 12, 1), date(2027, 12, 5))),
    ("1.12.", (date(2026, 12, 1), date(2026, 12, 1))),
])
def test_parse_date_range(text: str, expected: tuple[date, date], lang: str) -> None:
    assert parse_date_range(text, lang=lang, tz=TZ, now=NOW) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("5.12. 1.12.", "end_before_start"), ("5.12.2026 1.12.2026", "end_before_start"),
    ("Mo 1.12. - Fr 5.12.", "weekday_mismatch"), ("irgendwann", "unreadable"), ("", "unreadable"),
])
def test_parse_date_range_errors(text: str, reason: str) -> None:
    with pytest.raises(TimeParseError) as error:
        parse_date_range(text, lang="de", tz=TZ, now=NOW)
    assert error.value.reason == reason


_PIECES = st.sampled_from(["Mo", "Freitag", "2.12.", "31.2.", "18", "18:00", "18 Uhr", "6pm",
                           "morgen", "tomorrow", "in", "2", "Stunden", "bis", "-", "|", "2026-12-02",
                           "T18:00", "+01:00", "am", "um", ".", ",", "99", "0", "jetzt", "week"])
_TEXT = st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=6).map(" ".join),
                  st.lists(_PIECES, max_size=6).map("".join))


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, lang=st.sampled_from(LANGS))
def test_any_text_parses_or_raises_time_parse_error(text: str, lang: str) -> None:
    for call in (parse_when, parse_date, parse_date_range):
        try:
            result = call(text, lang=lang, tz=TZ, now=NOW)  # type: ignore[operator]
        except TimeParseError as error:
            assert error.reason in {"unreadable", "no_time", "weekday_mismatch", "end_before_start", "no_leap_day",
                                    "no_such_day"}
            continue
        if isinstance(result, datetime):
            assert result.tzinfo is timezone.utc
        elif isinstance(result, tuple):
            assert result[0] <= result[1]


@settings(max_examples=200, deadline=None)
@given(when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       lang=st.sampled_from(LANGS))
def test_formatted_day_and_time_read_back(when: datetime, lang: str) -> None:
    start = when.replace(second=0, microsecond=0, tzinfo=BERLIN).astimezone(timezone.utc)
    text = start.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    assert parse_when(text, lang=lang, tz=TZ, now=NOW) == start


def test_format_when() -> None:
    dt = local(2026, 12, 2, 18)
    assert format_when(dt, lang="de", tz=TZ) == "Mi., 2. Dez. 2026, 18:00"
    assert format_when(dt, lang="en", tz=TZ) == "Wed, Dec 2, 2026, 6:00 PM"


def test_format_short_forms() -> None:
    dt = local(2026, 12, 2, 18)
    assert format_weekday_date(dt, "de", TZ) == "Mi 2.12. 18:00"
    assert format_weekday_date(dt, "en", TZ) == "Wed Dec 2, 6:00 PM"
    assert format_date(date(2026, 12, 2), "de") == "Mi., 2. Dez. 2026"
    assert format_date(date(2026, 12, 2), "en") == "Wed, Dec 2, 2026"
    assert format_time(dt, "de", TZ) == "18:00"
    assert format_time(dt, "en", TZ) == "6:00 PM"


def test_formatted_short_form_reads_back() -> None:
    dt = local(2026, 12, 2, 18)
    assert parse_when(format_weekday_date(dt, "de", TZ), lang="de", tz=TZ, now=NOW) == dt


# Issue 11, defect 10: "29.02." in a year without a 29 February silently meant one years ahead.
@pytest.mark.parametrize("text", ["29.2. 18 Uhr", "29.02.", "29. Februar 18 Uhr", "29 February 6pm", "Mo 29.2. 18 Uhr",
                                  "29.2.2027 18:00", "29.02.27 18 Uhr", "2027-02-29", "2027-02-29T18:00"])
def test_29_february_of_a_common_year_is_refused_saying_so(text):
    with pytest.raises(TimeParseError) as error:
        parse_when(text, lang="de", tz=TZ, now=NOW, require_time=False)
    assert error.value.reason == "no_leap_day"
    assert error.value.params == {"year": 2027, "leap": 2028}


def test_29_february_is_read_when_the_coming_february_has_one():
    in_2027 = datetime(2027, 3, 5, 10, tzinfo=timezone.utc)  # the coming February is 2028's
    assert parse_when("29.2. 12:00", lang="de", tz=TZ, now=in_2027) == local(2028, 2, 29, 12)
    assert parse_when("29. Februar 12 Uhr", lang="de", tz=TZ, now=in_2027) == local(2028, 2, 29, 12)
    assert parse_date("2028-02-29", lang="de", tz=TZ, now=NOW) == date(2028, 2, 29)


def test_29_february_in_a_range_is_refused_too():
    with pytest.raises(TimeParseError) as error:
        parse_date_range("29.2.-3.3.", lang="de", tz=TZ, now=NOW)
    assert (error.value.reason, error.value.params) == ("no_leap_day", {"year": 2027, "leap": 2028})


@pytest.mark.parametrize("text", ["31.4. 18 Uhr", "31.2.", "30.2.2028 18:00", "2026-11-31"])
def test_a_day_past_the_end_of_its_month_is_named(text):
    with pytest.raises(TimeParseError) as error:
        parse_when(text, lang="de", tz=TZ, now=NOW, require_time=False)
    assert error.value.reason == "no_such_day"


# Issue 11, defect 10: a table showed "Di 29.2. 18:00" for a date more than a year ahead.
@pytest.mark.parametrize(("when", "de", "en"), [
    (local(2026, 12, 2, 18), "Mi 2.12. 18:00", "Wed Dec 2, 6:00 PM"),
    (local(2027, 11, 20, 18), "Sa 20.11. 18:00", "Sat Nov 20, 6:00 PM"),  # the last day of the coming year
    (local(2027, 11, 21, 18), "So 21.11.2027 18:00", "Sun Nov 21, 2027, 6:00 PM"),
    (local(2028, 2, 29, 18), "Di 29.2.2028 18:00", "Tue Feb 29, 2028, 6:00 PM"),
    (local(2026, 11, 20, 18), "Fr 20.11.2026 18:00", "Fri Nov 20, 2026, 6:00 PM"),  # yesterday: past
])
def test_table_dates_outside_the_coming_year_show_the_year(when, de, en):
    assert format_weekday_date(when, "de", TZ, NOW) == de
    assert format_weekday_date(when, "en", TZ, NOW) == en
    assert "2028" not in format_weekday_date(local(2028, 2, 29, 18), "de", TZ)  # without now: as before


def test_spelled_out_day_names_are_babels():
    """bot/timeparse.py keeps Babel's locale data out of memory by spelling CLDR's day names out."""
    from babel import Locale

    from bot.timeparse import _WEEKDAYS

    for lang in ("de", "en"):
        days = Locale.parse(lang).days
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in days[context][width].items():
                    assert _WEEKDAYS[name.lower().rstrip(".")] == number


def test_spelled_out_date_formats_are_babels():
    """bot/timeformat.py writes the fixed patterns out (no Babel locale data in memory); same text as Babel."""
    from datetime import timedelta

    from babel.dates import format_date as babel_date
    from babel.dates import format_datetime as babel_datetime

    from bot import timeformat as tf

    t = datetime(2026, 1, 1, 0, 7, tzinfo=timezone.utc)
    for _ in range(800):  # every day of the week and month, every hour, across a DST change, two years
        t += timedelta(hours=22, minutes=53)
        for tz in ("Europe/Berlin", "America/New_York"):
            local = t.astimezone(ZoneInfo(tz))
            for lang in ("de", "en"):
                assert format_when(t, lang=lang, tz=tz) == babel_datetime(local, tf._WHEN[lang], locale=lang)
                assert format_weekday_date(t, lang, tz) == babel_datetime(local, tf._SHORT[lang], locale=lang)
                assert format_time(t, lang, tz) == babel_datetime(local, tf._TIME[lang], locale=lang)
                assert format_date(local.date(), lang) == babel_date(local.date(), tf._DATE[lang], locale=lang)
