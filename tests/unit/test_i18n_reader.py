"""bot/i18n.py reads the .po files itself (issue 15: Babel's catalogue modules cost 1.3 MB at start);
every key, language and count must give what Babel + gettext gave from the same files."""
from __future__ import annotations

import gettext
import io

import pytest
from babel.messages.mofile import write_mo

from bot.i18n import LANGUAGES, I18n, load_catalog, read_po_file


def test_every_text_is_what_babel_and_gettext_give():
    ours = I18n()
    compiled, keys, plural_keys = {}, {}, set()
    for lang in LANGUAGES:
        catalog = load_catalog(lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        compiled[lang] = gettext.GNUTranslations(buf)
        keys[lang] = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        plural_keys |= {m.id[0] for m in catalog if m.pluralizable}
    assert ours.keys == keys and ours.plural_keys == plural_keys
    for lang in LANGUAGES:
        tr = compiled[lang]
        for key in sorted(keys["de"] | keys["en"]):
            for n in (None, 0, 1, 2, 7):
                if n is None or key not in plural_keys:
                    want = tr.gettext(key)
                else:
                    want = tr.ngettext(key, key + "_plural", n)
                if want in (key, key + "_plural") and lang != "en":
                    continue  # falls back to English, compared there
                assert ours.template(lang, key, n) == want, (lang, key, n)


def test_continuation_lines_escapes_and_a_foreign_plural_rule(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
                  '# a comment\nmsgid "a.b"\nmsgstr ""\n"first \\"line\\"\\n"\n"second"\n\n'
                  'msgid "c"\nmsgid_plural "c_plural"\nmsgstr[0] "{n} Ding"\nmsgstr[1] "{n} Dinge"\n', encoding="utf-8")
    assert read_po_file(po) == ({"a.b": 'first "line"\nsecond'}, {"c": ("{n} Ding", "{n} Dinge")})
    po.write_text('msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n==2 ? 1 : 2);\\n"\n')
    with pytest.raises(ValueError):
        read_po_file(po)
