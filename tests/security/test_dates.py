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
    assert answer.body.startswith("Den 31. April gibt es nicht, so viele Tage hat der Monat nicht."), answer.body


# Tables showed no year for an option more than a year ahead: "Di 29.2. 18:00" looked like next February.
async def test_a_meeting_table_shows_the_year_of_a_far_option(conv):
    answer = await conv.reply(ALICE, "!termin Treffen | 2.12. 18 Uhr | 29.2.2028 18 Uhr", ROOM)
    assert "Mi 2.12. 18:00" in answer.body
    assert "Di 29.2.2028 18:00" in answer.body


async def test_a_long_duty_plan_shows_the_year_where_it_is_needed(conv):
    await conv.reply(ORGA, "!dienst anlegen Kassenprüfung | jeden ersten Montag im Monat 19 Uhr", ROOM)
    await conv.reply(ALICE, "!dienst mitmachen Kassenprüfung", ROOM)
    plan = (await conv.reply(ALICE, "!dienst plan Kassenprüfung 26", ROOM)).body
    assert "Mo 7.12. 19:00" in plan  # within the coming twelve months: no year
    assert "Mo 1.11. 19:00" in plan  # 1 November 2027 is still in the coming twelve months
    assert "Mo 6.12.2027 19:00" in plan and "Mo 1.1.2029 19:00" in plan


async def test_31_april_in_english(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!meeting Meet | 31.4. 6pm | 1.5. 6pm", ROOM_EN)
    assert answer.body.startswith("There is no 31 April: the month is shorter."), answer.body
