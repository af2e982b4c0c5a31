"""Duty wording: converters, "what was understood" for every recurrence error, and complete catalogues."""
from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.errors import UserError
from bot.i18n import LANGUAGES, I18n, load_catalog
from commands.duty_text import Duration, DutyName, People, RecurrenceText, Weight, duration_text, understood

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["commands/duties.py", "commands/duty_text.py", "commands/duty_planner.py", "commands/duty_jobs.py",
           "commands/duty_turns.py", "commands/duty_away.py", "commands/duty_stats.py", "commands/welcome.py"]
I18N = I18n()


def ctx(lang: str = "de") -> SimpleNamespace:
    return SimpleNamespace(lang=lang, tz="Europe/Berlin", now=datetime(2026, 11, 21, 10, tzinfo=timezone.utc),
                           i18n=I18N, t=lambda key, **p: I18N.t(lang, key, **p))


@pytest.mark.parametrize("raw, minutes", [("7 Tage", 7 * 1440), ("7 days", 7 * 1440), ("1 Tag", 1440), ("36h", 36 * 60),
                                          ("2 Wochen", 2 * 10080), ("90 min", 90), ("3", 3 * 1440), ("0", 0),
                                          ("12 Stunden", 720), ("1 week", 10080)])
def test_durations(raw, minutes):
    assert Duration.convert(ctx(), raw) == timedelta(minutes=minutes)


@pytest.mark.parametrize("raw, minutes", [("1 Tag 12 Stunden", 2160), ("1,5 Tage", 2160), ("eine Woche", 10080),
                                          ("2 Std.", 120), ("90 Tage", 90 * 1440)])
def test_durations_read_like_meeting_durations(raw, minutes):
    assert Duration.convert(ctx(), raw) == timedelta(minutes=minutes)


@pytest.mark.parametrize("raw", ["bald", "1 Jahr", "-1 Tag", "91 Tage", ""])
def test_bad_durations(raw):
    with pytest.raises(UserError) as err:
        Duration.convert(ctx(), raw)
    assert err.value.key == "duty.bad_duration"


def test_weight_people_and_names():
    assert Weight.convert(ctx(), "1,5") == 1.5 and Weight.convert(ctx(), "2") == 2.0
    for bad in ("0", "11", "viel"):
        with pytest.raises(UserError):
            Weight.convert(ctx(), bad)
    assert People.convert(ctx(), "3") == 3
    for bad in ("0", "-1", "21"):
        with pytest.raises(UserError) as err:
            People.convert(ctx(), bad)
        assert err.value.key == "duty.bad_people"
    assert DutyName.convert(ctx(), "  Social   Media ") == "Social Media"
    with pytest.raises(UserError):
        DutyName.convert(ctx(), "x" * 41)


def test_duration_text():
    assert duration_text(I18N, "de", timedelta(days=1)) == "1 Tag"
    assert duration_text(I18N, "en", timedelta(hours=36)) == "36 hours"
    assert duration_text(I18N, "de", timedelta(minutes=90)) == "90 Minuten"


@pytest.mark.parametrize("text, code", [
    ("jeden blauen Dienstag 18 Uhr", "unknown_words"), ("irgendwann", "unreadable"), ("alle 2 Wochen 18 Uhr", "no_weekday"),
    ("every second Tuesday", "ambiguous"), ("monatlich am Dienstag", "no_position"), ("monatlich 18 Uhr", "no_monthday"),
    ("um 18 Uhr", "no_day"), ("jeden Dienstag 25 Uhr", "bad_time"), ("0 18 * * 9", "bad_cron"),
    ("jeden Dienstag 18 Uhr und 19 Uhr", "ambiguous"), ("alle 400 Tage", "bad_interval"),
])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_recurrence_error_has_a_message_saying_what_was_understood(text, code, lang):
    with pytest.raises(UserError) as err:
        RecurrenceText.convert(ctx(lang), text)
    assert err.value.key == f"duty.recurrence.{code}"
    assert I18N.has(lang, err.value.key)
    message = I18N.t(lang, err.value.key, **err.value.params)
    assert "{" not in message and text in message
    assert any(s in message for s in (("Verstanden habe ich", "nichts verstanden", "Nicht verstanden") if lang == "de"
                                      else ("What I understood", "understood none", "Not understood")))


def test_understood_lists_the_parts_in_the_rooms_language():
    got = {"weekdays": [1, 3], "time": "18:00", "interval": 2, "unit": "week", "unknown": ["blau"]}
    assert understood(I18N, "de", got) == ("Verstanden habe ich: Dienstag, Donnerstag, alle 2 Wochen, 18:00. "
                                           "Nicht verstanden: „blau“.")
    assert understood(I18N, "en", {"positions": [-1], "weekdays": [4]}) == "What I understood: last, Friday."
    assert understood(I18N, "en", {}) == "I understood none of it."


def _used_keys() -> set[str]:
    keys = set()
    for module in MODULES:
        text = (ROOT / module).read_text(encoding="utf-8")
        keys |= set(re.findall(r'"((?:duty|away|welcome)\.[a-z_]+(?:\.[a-z_]+)*)"', text))
    return {k for k in keys if not k.endswith((".", "_")) and not k.startswith("duty.buddy")}


def test_every_used_key_is_in_both_catalogues():
    dynamic = {f"duty.understood.every_{u}" for u in ("day", "week", "month")} | \
        {f"duty.stats.{h}" for h in ("person", "duty", "turns", "done", "handed_back", "taken")} | \
        {f"welcome.mydata_{k}" for k in ("baseline", "buddy", "nobody")}
    wanted = _used_keys() | dynamic
    for lang in LANGUAGES:
        missing = sorted(k for k in wanted if not I18N.has(lang, k))
        assert missing == [], (lang, missing)


def test_catalogues_match_in_keys_placeholders_and_plurals():
    de, en = (load_catalog(lang) for lang in ("de", "en"))
    mine = lambda cat: {(m.id if isinstance(m.id, str) else m.id[0]): m for m in cat if m.id}  # noqa: E731
    de_msgs, en_msgs = mine(de), mine(en)
    path_de = (ROOT / "bot/locales/de/duties.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "([^"]+)"', path_de, re.M)
    assert len(ids) == len(set(ids)) and ids
    for key in ids:
        a, b = de_msgs[key], en_msgs[key]
        assert isinstance(a.id, str) == isinstance(b.id, str), key
        forms_a = [a.string] if isinstance(a.string, str) else list(a.string)
        forms_b = [b.string] if isinstance(b.string, str) else list(b.string)
        fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
        assert {f for s in forms_a for f in fields(s)} == {f for s in forms_b for f in fields(s)}, key
        assert key.startswith(("help.", "arg.")) or key.split(".")[0] in ("duty", "away", "welcome"), key


def test_help_exists_for_every_duty_command():
    from commands.duties import DutyFeature
    from commands.duty_away import AwayFeature
    from commands.duty_stats import StatsFeature
    from commands.duty_turns import TurnsFeature

    for feature in (DutyFeature, TurnsFeature, AwayFeature, StatsFeature):
        for attr in dir(feature):
            cmd = getattr(getattr(feature, attr), "__plenum_command__", None)
            if cmd is not None:
                for lang in LANGUAGES:
                    assert I18N.has(lang, "help." + cmd.key), (lang, cmd.key)
                for p in cmd.params:
                    assert I18N.has("de", "arg." + p.conv.label) and I18N.has("en", "arg." + p.conv.label), p
