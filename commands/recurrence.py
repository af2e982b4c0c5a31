"""Duty recurrences: parse German/English phrases or cron, describe them, list occurrences across DST."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rruleset, weekday

DEFAULT_TIME = time(18, 0)  # evening meetings are the norm; Recurrence.time_assumed marks its use
FREQS = ("daily", "weekly", "monthly", "cron")
WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}


class RecurrenceError(ValueError):
    """The text is not a recurrence we can use. `code` names what is wrong, `understood` holds the
    parts that were recognised, language-neutral (weekdays as 0=Monday…, time as "HH:MM")."""

    def __init__(self, code: str, understood: dict[str, Any] | None = None) -> None:
        self.code, self.understood = code, dict(understood or {})
        super().__init__(f"{code}: {self.understood}")


@dataclass(frozen=True)
class Recurrence:
    """A duty's rule, on local wall-clock time. For freq "cron" only `cron` matters."""

    freq: str  # one of FREQS
    interval: int = 1  # every n days / weeks / months
    weekdays: tuple[int, ...] = ()  # 0=Monday … 6=Sunday
    positions: tuple[int, ...] = ()  # monthly: which of those weekdays (1..5, -1 last, -2 second-to-last)
    monthdays: tuple[int, ...] = ()  # monthly: days of the month (1..31, -1 last day); months without it are skipped
    hour: int = DEFAULT_TIME.hour
    minute: int = DEFAULT_TIME.minute
    time_assumed: bool = False  # no time was given, DEFAULT_TIME was used
    anchor: date | None = None  # local date an interval > 1 counts from (the duty's creation)
    cron: str = ""  # "minute hour day-of-month month day-of-week"

    def __post_init__(self) -> None:
        ok = self.freq in FREQS and 1 <= self.interval <= 366 and 0 <= self.hour <= 23 and 0 <= self.minute <= 59
        ok = ok and set(self.weekdays) <= set(range(7)) and set(self.positions) <= {1, 2, 3, 4, 5, -1, -2}
        ok = ok and set(self.monthdays) <= set(range(1, 32)) | {-1}
        if self.freq == "weekly":
            ok = ok and bool(self.weekdays)
        elif self.freq == "monthly":
            ok = ok and bool(self.monthdays) != bool(self.positions) and bool(self.positions) == bool(self.weekdays)
        elif self.freq == "cron":
            _cron_fields(self.cron)  # raises RecurrenceError("bad_cron")
        if not ok:
            raise ValueError(f"inconsistent recurrence {self!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["anchor"] = self.anchor.isoformat() if self.anchor else None
        return {"v": 1, **{k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recurrence:
        d = {k: v for k, v in d.items() if k != "v"}
        for k in ("weekdays", "positions", "monthdays"):
            d[k] = tuple(d.get(k, ()))
        d["anchor"] = date.fromisoformat(d["anchor"]) if d.get("anchor") else None
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> Recurrence:
        return cls.from_dict(json.loads(s))

    def describe(self, lang: str = "en") -> str:
        """Human description, e.g. "jeden Dienstag um 18:00" / "every Tuesday at 18:00"."""
        de, n, t = lang == "de", self.interval, f"{self.hour}:{self.minute:02d}"
        at = f"um {t}" if de else f"at {t}"
        days = _join([WEEKDAY_NAMES["de" if de else "en"][w] for w in self.weekdays], de)
        if self.freq == "cron":
            return f"nach dem Cron-Ausdruck {self.cron}" if de else f"on the cron schedule {self.cron}"
        if self.freq == "daily":
            if de:
                return f"{'täglich' if n == 1 else f'alle {n} Tage'} {at}"
            return f"{'every day' if n == 1 else f'every {n} days'} {at}"
        if self.weekdays == (0, 1, 2, 3, 4):
            days = "Werktag (Montag bis Freitag)" if de else "weekday (Monday to Friday)"
        if self.freq == "weekly":
            if de:
                return f"jeden {days} {at}" if n == 1 else f"alle {n} Wochen am {days} {at}"
            return f"every {days} {at}" if n == 1 else f"every {n} weeks on {days} {at}"
        if self.positions:
            pos = _join([(_ORD_DE if de else _ORD_EN)[p] for p in self.positions], de)
            if de:
                return f"jeden {pos} {days} im Monat {at}" if n == 1 else f"alle {n} Monate am {pos} {days} {at}"
            return f"every {pos} {days} of the month {at}" if n == 1 else f"every {n} months on the {pos} {days} {at}"
        mdays = _join([_monthday(d, de) for d in self.monthdays], de)
        if de:
            return f"{'monatlich' if n == 1 else f'alle {n} Monate'} am {mdays} {at}"
        return f"{'every month' if n == 1 else f'every {n} months'} on the {mdays} {at}"


_ORD_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second-to-last"}
_ORD_DE = {1: "ersten", 2: "zweiten", 3: "dritten", 4: "vierten", 5: "fünften", -1: "letzten", -2: "vorletzten"}


def _join(items: list[str], de: bool) -> str:
    return ", ".join(items) if len(items) < 2 else f"{', '.join(items[:-1])} {'und' if de else 'and'} {items[-1]}"


def _monthday(d: int, de: bool) -> str:
    if d == -1:
        return "letzten Tag" if de else "last day"
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}." if de else f"{d}{suffix}"


# --------------------------------------------------------------------------- parsing vocabulary
_WEEKDAY_WORDS: dict[str, int] = {}
for _i, (_de, _en) in enumerate(zip(WEEKDAY_NAMES["de"], WEEKDAY_NAMES["en"])):
    for _w in (_de, _de + "s", _de + "e", _de + "en", _en, _en + "s", _de[:2], _en[:3]):
        _WEEKDAY_WORDS[_w.lower()] = _i
_WEEKDAY_WORDS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3, "sonnabend": 5, "sonnabends": 5})
_WD = "|".join(sorted(map(re.escape, _WEEKDAY_WORDS), key=len, reverse=True))
_WD_RANGE = re.compile(rf"\b({_WD})\.?\s*(?:-|–|bis|to|through|thru|till|until)\s*({_WD})\b\.?")
_NUM_WORDS = {"two": 2, "three": 3, "four": 4, "other": 2, "zwei": 2, "drei": 3, "vier": 4}
_ORD_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_ORD_DE_RE = re.compile(r"(erst|zweit|dritt|viert|fünft|fuenft|letzt|vorletzt)(e|er|en|es|em)")
_ORD_DE_VAL = {"erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "fünft": 5, "fuenft": 5, "letzt": -1, "vorletzt": -2}
_UNITS = {"day": "day", "tag": "day", "week": "week", "woch": "week", "month": "month", "monat": "month"}
_INTERVAL = re.compile(
    r"\b(?:every|each|alle|jede[nrs]?)\s+(\d{1,3}|two|three|four|other|zwei|drei|vier|second|third|fourth"
    r"|(?:zweit|dritt|viert)e[nrs]?|\d{1,3}(?:st|nd|rd|th|\.))\s*(days?|weeks?|months?|tage?n?|wochen?|monate?n?)\b")
_FORTNIGHT = re.compile(r"\b(?:fortnightly|biweekly|zweiwöchentlich|zweiwöchig|vierzehntägig|vierzehntäglich)\b"
                        r"|\b14-?tägig\b|\b14-?täglich\b")
_TIME = re.compile(
    r"(?<![\d.:])(?P<pre>(?:\bum|\bat|@)\s*)?(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?(?!\d)\s*"
    r"(?P<suf>uhr\b|h\b|o'?clock\b|[ap]\.?\s?m\b\.?)?"
    r"(?P<tail>\s*(?:-|–|bis|to|till|until)\s*\d{1,2}(?:[:.]\d{2})?\s*(?P<tsuf>uhr\b|h\b|[ap]\.?\s?m\b\.?)?)?")
_KIND = {w: kind for kind, words in {
    "daily": "täglich taeglich daily day days tag tage tages",
    "weekly": "weekly wöchentlich woechentlich week woche",
    "monthly": "monthly monatlich month months monat monats monate",
    "workdays": "weekday weekdays workday workdays werktag werktags werktage wochentags",
    "evening": "abends abend evening evenings nachmittags nachmittag afternoon night nachts",
    "morning": "morgens morning mornings vormittags früh",
    "filler": "every each on at the of in a an um am im jeden jede jedes jeder des der den dem die das immer ab "
              "from starting s and und & sowie or oder",
}.items() for w in words.split()}


def parse_recurrence(text: str, *, default_time: time | None = DEFAULT_TIME, anchor: date | None = None) -> Recurrence:
    """Read "jeden Dienstag 18 Uhr", "first Monday of the month 19:00", "0 18 * * 2" … .

    Without a time, `default_time` is used and `time_assumed` set; pass None to require a time.
    `anchor` (the local creation date) is stored for intervals > 1 so "every 2 weeks" stays stable.
    """
    raw = " ".join(text.split())
    if re.fullmatch(r"[\d*,/-]+ [\d*,/-]+( [\w*,/-]+){3}", raw):  # cron: minute hour day month weekday
        return Recurrence("cron", cron=" ".join(_cron_fields(raw)))
    got: dict[str, Any] = {}
    s, clock = _take_time(raw.lower().replace("’", "'"), got)
    interval, unit = 1, None
    if m := _INTERVAL.search(s):
        num = re.sub(r"(?<=\d)(st|nd|rd|th|\.)$", "", m.group(1))
        interval = int(num) if num.isdigit() else _NUM_WORDS.get(num) or _ordinal(num) or 0
        unit = next(u for p, u in _UNITS.items() if m.group(2).startswith(p))
        s = s[:m.start()] + " " + s[m.end():]
    elif m := _FORTNIGHT.search(s):
        interval, unit, s = 2, "week", s[:m.start()] + " " + s[m.end():]
    s = _WD_RANGE.sub(lambda m: _days_between(_WEEKDAY_WORDS[m.group(1)], _WEEKDAY_WORDS[m.group(2)]), s)
    weekdays, positions, monthdays, numbers, pending, unknown, flags = set(), set(), set(), [], [], [], set()
    for tok in re.findall(r"\d+(?:st|nd|rd|th|\.)?|[^\W\d_]+|&", s):
        kind = _KIND.get(tok)
        if kind == "filler":
            continue
        if (o := _ordinal(tok)) is not None:
            pending.append(o)
        elif tok in _WEEKDAY_WORDS:
            weekdays.add(_WEEKDAY_WORDS[tok])
            positions.update(pending)
            pending = []
        elif kind == "workdays":
            weekdays.update(range(5))
        elif kind == "daily" and pending:  # "last day of the month"
            monthdays.update(pending)
            pending = []
        elif tok.isdecimal() and 1 <= int(tok) <= 31:  # not isdigit(): "²" is a digit int() refuses
            numbers.append(int(tok))
        elif kind:
            flags.add(kind)
        else:
            unknown.append(tok)
    monthdays.update(pending)
    monthly = "monthly" in flags or unit == "month"
    if monthly:
        monthdays.update(numbers)
    else:
        unknown += [str(n) for n in numbers]
    if unit == "day" and weekdays and interval % 7 == 0:  # "alle 14 Tage dienstags"
        unit, interval = "week", interval // 7
    if unit:
        got.update(interval=interval, unit=unit)
    got.update({k: sorted(v) for k, v in (("weekdays", weekdays), ("positions", positions),
                                           ("monthdays", monthdays)) if v})
    if "bad_time" in got:
        raise RecurrenceError("bad_time", got)
    if unknown:
        raise RecurrenceError("unknown_words" if got or flags else "unreadable", {**got, "unknown": unknown})
    if not 1 <= interval <= 366:
        raise RecurrenceError("bad_interval", got)
    freq = _freq(got, weekdays, positions, monthdays, unit, flags, monthly)
    if clock is None:
        if default_time is None:
            raise RecurrenceError("no_time", got)
        hour, minute, assumed = default_time.hour, default_time.minute, True
    else:
        (hour, minute, meridian), assumed = clock, False
        if "evening" in flags and hour < 12 and not meridian:  # "7 Uhr abends"
            hour += 12
    return Recurrence(freq, interval, tuple(sorted(weekdays)), tuple(sorted(positions)), tuple(sorted(monthdays)),
                      hour, minute, assumed, anchor if interval > 1 else None)


def _freq(got, weekdays, positions, monthdays, unit, flags, monthly) -> str:
    """Choose the frequency from what was recognised, or say what is missing."""
    if (positions and monthdays) or (monthdays and weekdays) or (positions and unit in ("day", "week")) \
            or not positions <= {1, 2, 3, 4, 5, -1, -2} or not monthdays <= set(range(1, 32)) | {-1} \
            or (2 in positions and not monthly):  # "every second Tuesday": of the month, or every other week?
        raise RecurrenceError("ambiguous", got)
    if positions or monthdays:
        return "monthly"
    if unit == "day" or ("daily" in flags and not weekdays):
        if weekdays:
            raise RecurrenceError("ambiguous", got)
        return "daily"
    if weekdays:
        if monthly:
            raise RecurrenceError("no_position", got)
        return "weekly"
    if unit == "week" or "weekly" in flags:
        raise RecurrenceError("no_weekday", got)
    if monthly:
        raise RecurrenceError("no_monthday", got)
    raise RecurrenceError("no_day" if "time" in got else "unreadable", got)


def _take_time(s: str, got: dict[str, Any]) -> tuple[str, tuple[int, int, bool] | None]:
    """Find the one time of day in s: (s without it, (hour, minute, had am/pm) or None)."""
    found = [m for m in _TIME.finditer(s) if m.group("pre") or m.group("m") or m.group("suf") or m.group("tail")]
    if len(found) > 1:
        raise RecurrenceError("ambiguous", {"times": [m.group(0).strip() for m in found]})
    if not found:
        return s, None
    m = found[0]
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    suf = (m.group("suf") or m.group("tsuf") or "").replace(".", "").replace(" ", "")
    if suf in ("am", "pm"):
        if not 1 <= hour <= 12:
            got["bad_time"] = m.group(0).strip()  # reported once the rest is read (what else was understood)
            return s[:m.start()] + " " + s[m.end():], None
        hour = hour % 12 + (12 if suf == "pm" else 0)
    if hour > 23 or minute > 59:
        got["bad_time"] = m.group(0).strip()
        return s[:m.start()] + " " + s[m.end():], None
    got["time"] = f"{hour:02d}:{minute:02d}"
    return s[:m.start()] + " " + s[m.end():], (hour, minute, suf in ("am", "pm"))


def _days_between(a: int, b: int) -> str:
    """ "mo-fr" -> "monday tuesday wednesday thursday friday" (wrapping over the weekend if needed)."""
    return " ".join(WEEKDAY_NAMES["en"][(a + i) % 7].lower() for i in range((b - a) % 7 + 1))


def _ordinal(tok: str) -> int | None:
    if m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th|\.)", tok):
        return int(m.group(1)) if 1 <= int(m.group(1)) <= 31 else None
    if m := _ORD_DE_RE.fullmatch(tok):
        return _ORD_DE_VAL[m.group(1)]
    return _ORD_WORDS.get(tok)


# --------------------------------------------------------------------------- cron
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = (None, None, None, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
               ["sun", "mon", "tue", "wed", "thu", "fri", "sat"])


def _cron_fields(expr: str) -> list[str]:
    parts = expr.lower().split()
    if len(parts) != 5:
        raise RecurrenceError("bad_cron", {"cron": expr})
    _, _, dom, mon, _ = (_cron_values(p, i, expr) for i, p in enumerate(parts))
    if dom and "*" in parts[2][0] + parts[4][0] and min(dom) > max(_MONTH_DAYS[m - 1] for m in mon or range(1, 13)):
        raise RecurrenceError("bad_cron", {"cron": expr, "field": parts[2]})  # e.g. 31 February: never
    return parts


def _cron_values(part: str, i: int, expr: str) -> list[int] | None:
    """The values a cron field allows, or None for a plain "*"."""
    lo, hi = _CRON_RANGES[i]
    names = _CRON_NAMES[i] or []
    val = lambda x: names.index(x) + (1 if i == 3 else 0) if x in names else int(x)  # noqa: E731
    out: set[int] = set()
    try:
        for item in part.split(","):
            body, slash, step = item.partition("/")
            a, b = (lo, hi) if body == "*" else map(val, body.split("-", 1)) if "-" in body else (val(body),) * 2
            b = hi if slash and body != "*" and "-" not in body else b
            if not (lo <= a <= b <= hi) or (slash and int(step) < 1):
                raise ValueError
            out.update(range(a, b + 1, int(step) if slash else 1))
    except ValueError:
        raise RecurrenceError("bad_cron", {"cron": expr, "field": part}) from None
    return None if part == "*" else sorted({v % 7 for v in out} if i == 4 else out)


def _cron_rule(expr: str, dtstart: datetime, until: datetime) -> rrule | rruleset:
    expr = expr.lower()
    mi, ho, dom, mon, dow = (_cron_values(p, i, expr) for i, p in enumerate(expr.split()))
    base = dict(dtstart=dtstart, until=until, byminute=mi or list(range(60)), byhour=ho or list(range(24)),
                bysecond=0, bymonth=mon)
    wds = [(d - 1) % 7 for d in dow] if dow else None
    if "*" in expr.split()[2][0] + expr.split()[4][0]:  # as in cron: a day field starting with "*" means AND
        return rrule(DAILY, bymonthday=dom, byweekday=wds, **base)
    rs = rruleset()  # both day fields restricted: either one matching is enough
    rs.rrule(rrule(DAILY, bymonthday=dom, **base))
    rs.rrule(rrule(DAILY, byweekday=wds, **base))
    return rs


# --------------------------------------------------------------------------- occurrences
def occurrences(rec: Recurrence, tz: str, start: datetime, count: int | None = None,
                until: datetime | None = None) -> list[datetime]:
    """Occurrences strictly after `start` (and not after `until`), as aware UTC datetimes.

    The rule runs on local wall-clock time in `tz`, so 18:00 stays 18:00 local across DST.
    A local time that does not exist (spring forward) moves forward by the gap (02:30 -> 03:30);
    an ambiguous one (fall back) takes the first, summer-time instant (fold=0).
    Intervals > 1 count from `rec.anchor` (falling back to start's local date, which is not stable).
    """
    if (count is None and until is None) or start.tzinfo is None:
        raise ValueError("occurrences() needs an aware start and count or until")
    zone = ZoneInfo(tz)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    limit = (until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)) if until else \
        local_start + timedelta(days=366 * 60)
    anchor = rec.anchor or local_start.date()
    first = datetime.combine(anchor, time()) if rec.interval > 1 else \
        datetime.combine(local_start.date() - timedelta(days=1), time())
    if rec.freq == "cron":
        rule = _cron_rule(rec.cron, first, limit)
    else:
        kw: dict[str, Any] = dict(dtstart=first, until=limit, interval=rec.interval, byhour=rec.hour,
                                  byminute=rec.minute, bysecond=0)
        if rec.freq == "weekly":
            rule = rrule(WEEKLY, wkst=anchor.weekday(), byweekday=rec.weekdays, **kw)
        elif rec.freq == "monthly" and rec.positions:
            rule = rrule(MONTHLY, byweekday=[weekday(w, p) for w in rec.weekdays for p in rec.positions], **kw)
        elif rec.freq == "monthly":
            rule = rrule(MONTHLY, bymonthday=rec.monthdays, **kw)
        else:
            rule = rrule(DAILY, **kw)
    out: list[datetime] = []
    for naive in rule:
        utc = naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
        if utc <= start or (out and utc <= out[-1]):
            continue
        if until is not None and utc > until:
            break
        out.append(utc)
        if count is not None and len(out) >= count:
            break
    return out
