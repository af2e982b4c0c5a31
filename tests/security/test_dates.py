"""Issue 11, defect 10: dates that do not mean what they seem.

"29.02." in a year without one silently meant a 29 February years ahead; it is refused with a
sentence saying so (written with its year, a leap year's 29 February is fine)."""
from __future__ import annotations

from tests.conversation.conftest import ALICE, ORGA, ROOM, ROOM_EN

NO_LEAP_DAY = ("Den 29. Februar gibt es 2027 nicht, 2027 ist kein Schaltjahr. Meinst du den 28.2. oder den 1.3.? "
               "Den 29. Februar 2028 schreib bitte mit Jahr: 29.2.2028.")


async def test_a_meeting_on_29_february_of_a_common_year_is_refused(conv):
    answer = await conv.reply(ALICE, "!termin Treffen | 29.2. 18 Uhr | 1.3. 18 Uhr", ROOM)
    assert answer.body.startswith(NO_LEAP_DAY), answer.body
    assert await conv.app.db.fetchval("SELECT count(*) FROM polls") == 0


async def test_an_absence_from_29_february_is_refused(conv):
    answer = await conv.reply(ALICE, "!abwesend 29.2. 3.3.", ROOM)
    assert answer.body.startswith(NO_LEAP_DAY), answer.body


async def test_the_english_sentence(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!meeting Meet | 29 February 6pm | 1 March 6pm", ROOM_EN)
    assert answer.body.startswith("There is no 29 February in 2027: it is not a leap year."), answer.body


async def test_a_29_february_with_its_year_is_taken(conv):
    answer = await conv.reply(ALICE, "!termin Treffen | 29.2.2028 18 Uhr | 1.3.2028 18 Uhr", ROOM)
    assert "29.2." in answer.body and "#1" in answer.body


async def test_31_april_is_named(conv):
    answer = await conv.reply(ALICE, "!termin Treffen | 31.4. 18 Uhr | 1.5. 18 Uhr", ROOM)
    assert answer.body.startswith("Den 31.4. gibt es nicht"), answer.body
