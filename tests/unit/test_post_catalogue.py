"""Every message the announcements feature can say exists in German and English, with the same placeholders."""
from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import I18n, load_catalog
from commands.post_rules import GROUPS, VISIBILITY_WORDS
from commands.posts import PostsFeature

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*(ROOT / "commands").glob("post*.py")]
KEY = re.compile(r'"(post\.[a-z_.]+[a-z_])"')
STATES = ["draft", "scheduled", "publishing", "published", "failed", "missed", "cancelled", "deleting", "deleted"]


def used_keys() -> set[str]:
    keys = {k for path in SOURCES for k in KEY.findall(path.read_text(encoding="utf-8"))}
    keys = {k for k in keys if not k.endswith(".")}
    keys -= {"post.publish", "post.mentions", "post.idempotency_salt"}  # job kinds and kv names, not messages
    keys |= {f"post.state.{s}" for s in STATES}
    keys |= {f"post.visibility.{v}" for v in set(VISIBILITY_WORDS.values())}
    keys |= {f"post.list.{g}" for g in GROUPS}
    keys |= {"post.detail.deleting", "post.detail.publishing"}
    return keys


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_used_key_is_translated_in_both_languages():
    i18n = I18n()
    for lang in ("de", "en"):
        missing = sorted(k for k in used_keys() if not i18n.has(lang, k))
        assert missing == [], (lang, missing)


def test_every_post_command_has_help():
    i18n = I18n()
    for cmd in PostsFeature.commands(PostsFeature.__new__(PostsFeature)):
        for lang in ("de", "en"):
            assert i18n.has(lang, "help." + cmd.key), (lang, cmd.key)


def test_german_and_english_use_the_same_placeholders():
    de, en = load_catalog("de"), load_catalog("en")
    for message in de:
        if not message.id or not str(message.id if isinstance(message.id, str) else message.id[0]).startswith(
                ("post.", "help.post", "help.alt", "help.attach", "help.approve", "help.cancel", "help.delete")):
            continue
        other = en[message.id]
        assert other is not None, message.id
        ours = message.string if isinstance(message.string, tuple) else (message.string,)
        theirs = other.string if isinstance(other.string, tuple) else (other.string,)
        assert set().union(*map(placeholders, ours)) - {"n"} == set().union(*map(placeholders, theirs)) - {"n"}, \
            message.id
