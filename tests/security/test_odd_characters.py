"""Issue 11, defect 9: characters that Python accepts in one place and refuses in the next
("²" is a digit to str.isdigit() but not to int()) must give a sentence, not an internal error."""
from __future__ import annotations

import pytest

from tests.conversation.conftest import ALICE, ORGA, ROOM
from tests.conversation.test_posts_fakes import ANNA, pconv  # noqa: F401
from tests.conversation.test_posts_fakes import ORGA as ORGS

NEWS = "!news:test"


async def test_a_superscript_recurrence_is_a_user_error(conv):
    answer = await conv.reply(ORGA, "!dienst anlegen Kasse | ²", ROOM)
    assert "Referenz" not in answer.body and "„²“" in answer.body, answer.body


BROKEN = "In deiner Nachricht steckt ein kaputtes Zeichen"
BROKEN_SENTENCE = BROKEN + " (etwa ein halbes Emoji), das ich nicht speichern kann. Bitte schick sie noch einmal."


@pytest.mark.parametrize("body", [
    "!umfrage Titel\ud800 | ja | nein",
    "!termin Treffen\udfff | Mo 30.11. 18 Uhr | Di 1.12. 18 Uhr",
    "!konsens Wohin? | Kino | Park\ud83d",
    "!dienst anlegen Kasse\udc00 | jeden Dienstag 18 Uhr",
    "!umfrage Titel\x00 | ja | nein",  # U+0000: PostgreSQL's text has no room for it, so neither backend takes it
])
async def test_a_lone_surrogate_is_refused_before_anything_is_stored(conv, body):
    answer = await conv.reply(ORGA, body, ROOM)
    assert answer.body.startswith(BROKEN), answer.body
    answer.body.encode("utf-8")  # the reply itself carries no broken character
    assert await conv.app.db.fetchval("SELECT count(*) FROM polls") == 0
    assert await conv.app.db.fetchval("SELECT count(*) FROM duties") == 0


async def test_a_lone_surrogate_in_a_direct_chat_is_refused_too(conv):
    conv.chat.add_room("!dm:test", [ALICE])
    answer = await conv.reply(ALICE, "hilfe\ud800", "!dm:test")
    assert answer.body.startswith(BROKEN)


async def test_a_whole_emoji_is_fine(conv):
    answer = await conv.reply(ORGA, "!umfrage Eis 🍦? | ja | nein", ROOM)
    assert "#1" in answer.body


async def test_a_mirrored_announcement_with_a_lone_surrogate_is_refused(pconv):
    pconv.chat.add_room(NEWS, [ANNA, "@ben:test", "@mia:test"], power={ANNA: 50}, name="Neuigkeiten")
    await pconv.reply("@admin:test", "!raum ankündigungen main", NEWS)  # an admin founds the anchor
    sent = await pconv.say(ANNA, "Am Samstag: Stand am Markt \ud83d", NEWS)
    assert [s.body for s in sent if s.room_id == ORGS] == [BROKEN_SENTENCE], [(s.room_id, s.body) for s in sent]
    assert await pconv.app.db.fetchval("SELECT count(*) FROM posts") == 0
