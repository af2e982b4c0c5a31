"""Translations: gettext catalogues (.po, one file per feature and language).

Message ids are keys such as "help.usage"; plural entries use msgid_plural "<key>_plural".
The .po files are read at start into plain dicts, so there is no build step to forget. The
reader is our own (`read_po_file`, the subset of the format these files use) rather than
Babel's: Babel's catalogue modules pull in babel.dates and cost 1.3 MB resident at start;
Babel is still what formats dates (bot/timeformat.py) and what the tests check the catalogues
with (`load_catalog`).
"""
from __future__ import annotations

import ast
import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

log = logging.getLogger(__name__)

LANGUAGES = ("de", "en")
# how people name the languages when they type them
LANGUAGE_WORDS = {"de": "de", "deutsch": "de", "german": "de", "en": "en", "englisch": "en", "english": "en"}
LOCALES_DIR = Path(__file__).parent / "locales"


_PLURAL_RULE = re.compile(r"nplurals=2;\s*plural=\(?n\s*!=\s*1\)?;?")


@dataclass
class _Entry:
    msgid: str = ""
    plural: str | None = None
    strs: dict[int, str] = field(default_factory=dict)


def read_po_file(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(singular key -> text, plural key -> (one, other)) of a .po file; an empty text means untranslated
    (the key is shown, as gettext does). Only the plural rule of de and en (n != 1) is known."""
    singles: dict[str, str] = {}
    plurals: dict[str, tuple[str, str]] = {}
    entries: list[_Entry] = []
    current: _Entry | None = None
    target: tuple[str, int] | None = None  # which string continuation lines extend
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        try:
            text = ast.literal_eval(rest.strip()) if rest.strip() else ""
        except (ValueError, SyntaxError):
            raise ValueError(f"{path}:{number}: not a quoted string") from None
        if keyword == "msgid":
            current = _Entry()
            entries.append(current)
            current.msgid, target = text, ("id", 0)
        elif current is None:
            raise ValueError(f"{path}:{number}: {keyword or 'text'} before any msgid")
        elif keyword == "msgid_plural":
            current.plural, target = text, ("plural", 0)
        elif keyword == "msgstr" or keyword.startswith("msgstr["):
            index = int(keyword[7:-1]) if keyword != "msgstr" else 0
            current.strs[index], target = text, ("str", index)
        elif keyword == "" and target is not None:
            kind, index = target
            if kind == "id":
                current.msgid += text
            elif kind == "plural":
                current.plural = (current.plural or "") + text
            else:
                current.strs[index] += text
        else:
            raise ValueError(f"{path}:{number}: unknown line {keyword!r}")
    for entry in entries:
        if not entry.msgid:
            forms = re.search(r"Plural-Forms:\s*([^\n]*)", entry.strs.get(0, ""))
            if forms and not _PLURAL_RULE.fullmatch(forms.group(1).strip()):
                raise ValueError(f"{path}: plural rule {forms.group(1)!r} is not n != 1")
            continue
        if entry.plural is not None:
            plurals[entry.msgid] = (entry.strs.get(0, ""), entry.strs.get(1, ""))
        else:
            singles[entry.msgid] = entry.strs.get(0, "")
    return singles, plurals


def load_catalog(lang: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """All .po files of one language merged into one Babel catalogue (for tests and tools; the bot itself
    reads them with read_po_file)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    merged = Catalog(locale=lang, domain="plenum")
    for po in sorted((locales_dir / lang).glob("*.po")):
        with po.open("rb") as fh:
            part = read_po(fh, locale=lang)
        for message in part:
            if message.id:
                merged[message.id] = message
    return merged


@functools.lru_cache(maxsize=4)
def _read_all(locales_dir: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, tuple[str, str]]]]:
    """Every language's catalogue, read once per process (the files do not change while it runs)."""
    singles_of: dict[str, dict[str, str]] = {}
    plurals_of: dict[str, dict[str, tuple[str, str]]] = {}
    for lang in LANGUAGES:
        singles: dict[str, str] = {}
        plurals: dict[str, tuple[str, str]] = {}
        for po in sorted((locales_dir / lang).glob("*.po")):  # a later file's entry wins, as in load_catalog
            one, many = read_po_file(po)
            for key in one:
                plurals.pop(key, None)
            for key in many:
                singles.pop(key, None)
            singles.update(one)
            plurals.update(many)
        singles_of[lang], plurals_of[lang] = singles, plurals
    return singles_of, plurals_of


class I18n:
    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._singles, self._plurals = _read_all(Path(locales_dir))
        self.keys: dict[str, set[str]] = {lang: set(self._singles[lang]) | set(self._plurals[lang])
                                          for lang in LANGUAGES}
        self.plural_keys: set[str] = set().union(*(self._plurals[lang] for lang in LANGUAGES))

    def template(self, lang: str, key: str, n: int | None = None) -> str:
        """The untranslated-placeholder template for key (and count n for plural forms)."""
        table = lang if lang in self._singles else "en"
        # what gettext / ngettext gave on the compiled catalogue (a plural entry's first form without n)
        one, other = self._plurals[table].get(key, ("", ""))
        if n is None or key not in self.plural_keys:
            text = self._singles[table].get(key) or one or key
        else:
            text = (one or key) if n == 1 else (other or key + "_plural")
        if text in (key, key + "_plural"):
            if lang != "en":
                return self.template("en", key, n)
            log.warning("missing translation key %s", key)
        return text

    def has(self, lang: str, key: str) -> bool:
        return key in self.keys.get(lang, set())

    def t(self, lang: str, key: str, n: int | None = None, **params: object) -> str:
        """Plain-text translation with {placeholders} filled in."""
        text = self.template(lang, key, n)
        if n is not None:
            params.setdefault("n", n)
        try:
            return text.format_map(params)
        except (KeyError, IndexError, ValueError):
            log.warning("translation %s/%s has placeholders that were not given", lang, key)
            return text
