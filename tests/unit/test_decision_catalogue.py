"""Every message of the record of decisions exists in German and English, with the same placeholders."""
from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import I18n, load_catalog
from commands.decisions import Decisions

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "commands" / "decisions.py", ROOT / "commands" / "decision_text.py"]
KEY = re.compile(r'"(decisions\.[a-z_.]+[a-z_])"')
BUILT = {"decisions.outcome." + k for k in ("carried", "rejected", "tie_motion", "no_majority_motion")} | {
    "decisions.kind." + k for k in ("choice", "secret", "consensus")}


def used_keys() -> set[str]:
    keys = {k for path in SOURCES for k in KEY.findall(path.read_text(encoding="utf-8"))}
    return {k for k in keys if not k.endswith(".") and k != "decisions.backfilled"} | BUILT  # a kv name


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_used_key_is_translated_in_both_languages():
    i18n = I18n()
    for lang in ("de", "en"):
        assert sorted(k for k in used_keys() if not i18n.has(lang, k)) == [], lang


def test_every_decision_command_has_help_and_argument_names():
    i18n = I18n()
    for cmd in Decisions.commands(Decisions.__new__(Decisions)):
        for lang in ("de", "en"):
            assert i18n.has(lang, "help." + cmd.key), (lang, cmd.key)
            for p in cmd.params:
                assert i18n.has(lang, "arg." + p.conv.label), (lang, p.conv.label)


def test_german_and_english_use_the_same_placeholders():
    de, en = load_catalog("de"), load_catalog("en")
    for message in de:
        key = message.id if isinstance(message.id, str) else message.id[0] if message.id else ""
        if not key.startswith(("decisions.", "help.decision")):
            continue
        other = en[message.id]
        assert other is not None, key
        ours = message.string if isinstance(message.string, tuple) else (message.string,)
        theirs = other.string if isinstance(other.string, tuple) else (other.string,)
        assert set().union(*map(placeholders, ours)) - {"n"} == set().union(*map(placeholders, theirs)) - {"n"}, key
