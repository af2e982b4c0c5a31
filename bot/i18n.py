"""Translations: gettext catalogues (.po, one file per feature and language) read with Babel.

Message ids are keys such as "help.usage"; plural entries use msgid_plural "<key>_plural".
The .po files are compiled in memory at start, so there is no build step to forget.
"""
from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LANGUAGES = ("de", "en")
# how people name the languages when they type them
LANGUAGE_WORDS = {"de": "de", "deutsch": "de", "german": "de", "en": "en", "englisch": "en", "english": "en"}
LOCALES_DIR = Path(__file__).parent / "locales"


def load_catalog(lang: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """All .po files of one language merged into one catalogue."""
    merged = Catalog(locale=lang, domain="plenum")
    for po in sorted((locales_dir / lang).glob("*.po")):
        with po.open("rb") as fh:
            part = read_po(fh, locale=lang)
        for message in part:
            if message.id:
                merged[message.id] = message
    return merged


@functools.lru_cache(maxsize=4)
def _compiled(locales_dir: Path) -> tuple[dict[str, gettext.GNUTranslations], dict[str, set[str]], frozenset[str]]:
    """The catalogues of every language, parsed and compiled once per process (they never change while it runs)."""
    translations: dict[str, gettext.GNUTranslations] = {}
    keys: dict[str, set[str]] = {}
    plural: set[str] = set()
    for lang in LANGUAGES:
        catalog = load_catalog(lang, locales_dir)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        translations[lang] = gettext.GNUTranslations(buf)
        keys[lang] = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        plural |= {m.id[0] for m in catalog if m.pluralizable}
    return translations, keys, frozenset(plural)


class I18n:
    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._tr, self.keys, self.plural_keys = _compiled(Path(locales_dir))

    def template(self, lang: str, key: str, n: int | None = None) -> str:
        """The untranslated-placeholder template for key (and count n for plural forms)."""
        tr = self._tr.get(lang) or self._tr["en"]
        if n is None or key not in self.plural_keys:
            text = tr.gettext(key)
        else:
            text = tr.ngettext(key, key + "_plural", n)
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
