"""German all the way (issue 16 item 5): every reply in the room's language, counts with their plural,
numbers as the language writes them, no jargon in errors members see."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conversation import safespace_setup as ss
from tests.conversation.conftest import ALICE, BOB, ORGA, ROOM, ROOM_EN


@pytest.fixture
async def space(tmp_path):
    c = await ss.start(tmp_path)
    assert "Schutzraum Nr. 1" in (await c.reply(ss.ORGA, "!raum schutzraum", ss.SAFE)).body
    yield c
    await c.app.db.close()


async def test_the_safe_space_welcome_speaks_the_language_of_the_direct_chat(space):
    await space.reply(ORGA, "!regeln Respekt.", ss.SAFE)
    assert "English" in (await space.reply(ss.ALICE, "room language en", ss.dm(ss.ALICE))).body
    asked = await space.reply(ss.ALICE, "safespace join 1", ss.dm(ss.ALICE))
    assert "!confirm" in asked.body
    assert "invited" in (await space.reply(ss.ALICE, "confirm", ss.dm(ss.ALICE))).body
    before = len(space.chat.in_room(ss.dm(ss.ALICE)))
    await ss.member_event(space, ss.ALICE, ss.SAFE, "join")
    [welcome] = space.chat.in_room(ss.dm(ss.ALICE))[before:]
    assert welcome.body.startswith("Welcome to “FINTA*-Treff”!") and "Respekt." in welcome.body
    assert "!accept" in welcome.body and "akzeptieren" not in welcome.body
    assert "You can now write" in (await space.reply(ss.ALICE, "accept", ss.dm(ss.ALICE))).body


async def test_a_german_direct_chat_gets_the_german_welcome(space):
    await space.reply(ss.ALICE, "schutzraum beitreten 1", ss.dm(ss.ALICE))
    await space.reply(ss.ALICE, "bestätigen", ss.dm(ss.ALICE))
    before = len(space.chat.in_room(ss.dm(ss.ALICE)))
    await ss.member_event(space, ss.ALICE, ss.SAFE, "join")
    [welcome] = space.chat.in_room(ss.dm(ss.ALICE))[before:]
    assert welcome.body.startswith("Willkommen in „FINTA*-Treff“!") and "!akzeptieren" in welcome.body


def cells(body: str, row: int) -> list[str]:
    """The cells of table row `row` (0 = first row under the rule line)."""
    rows = body.split("\n")
    start = next(i for i, line in enumerate(rows) if set(line) <= set("-+")) + 1
    return [c.strip() for c in rows[start + row].split("|")]


@pytest.mark.parametrize("room, command, vote, close, average", [
    (ROOM, "!konsens Wohin? | Park", "!abstimmen 1 0=7 1=2", "!schliessen 1", "7,5"),
    (ROOM_EN, "!consensus Where? | Park", "!vote 1 0=7 1=2", "!close 1", "7.5"),
])
async def test_averages_are_written_as_the_room_language_writes_numbers(conv, room, command, vote, close, average):
    if room == ROOM_EN:
        await conv.reply(ORGA, "!room language en", ROOM_EN)
    await conv.reply(ORGA, command, room)
    await conv.reply(ALICE, vote, room)
    await conv.reply(BOB, vote.replace("0=7", "0=8"), room)
    result = await conv.reply(ORGA, close, room)
    assert cells(result.body, 0)[3] == average


async def test_a_duty_weight_is_written_with_a_decimal_comma_in_german(conv):
    created = await conv.reply(ORGA, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr\ngewicht: 1,5", ROOM)
    assert "Gewicht 1,5" in created.body
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    created = await conv.reply(ORGA, "!duty create Cash | every Tuesday 18:00\nweight: 1,5", ROOM_EN)
    assert "weight 1.5" in created.body


async def english(conv) -> None:
    await conv.reply(ORGA, "!room language en", ROOM_EN)


async def test_one_abstention_is_singular_in_both_languages(conv):
    await english(conv)
    await conv.reply(ORGA, "!poll Motion?", ROOM_EN)
    await conv.reply(ALICE, "!vote 1 yes", ROOM_EN)
    await conv.reply(BOB, "!vote 1 abstain", ROOM_EN)
    result = await conv.reply(ORGA, "!close 1", ROOM_EN)
    assert result.body.startswith("Result #1: “Motion?” is carried (1 yes, 0 no, 1 abstention).")
    assert "of which 1 abstention and 0 invalid; 1 valid vote." in result.body
    await conv.reply(ORGA, "!umfrage Antrag?", ROOM)
    await conv.reply(ALICE, "!abstimmen 2 nein", ROOM)
    await conv.reply(BOB, "!abstimmen 2 enthaltung", ROOM)
    result = await conv.reply(ORGA, "!schliessen 2", ROOM)
    assert result.body.startswith("Ergebnis #2: „Antrag?“ ist abgelehnt (0 ja, 1 nein, 1 Enthaltung).")
    assert "davon 1 Enthaltung und 0 ungültig; 1 gültige Stimme." in result.body


async def test_one_point_of_resistance_is_singular(conv):
    await english(conv)
    await conv.reply(ORGA, "!consensus Where? | Park", ROOM_EN)
    await conv.reply(ALICE, "!vote 1 0=5 1=1", ROOM_EN)
    result = await conv.reply(ORGA, "!close 1", ROOM_EN)
    assert result.body.startswith("Result #1 “Where?”: 1. Park has the least resistance (1 point, acceptance 90 %).")
    await conv.reply(ORGA, "!konsens Wohin? | Park", ROOM)
    await conv.reply(ALICE, "!abstimmen 2 0=5 1=1", ROOM)
    result = await conv.reply(ORGA, "!schliessen 2", ROOM)
    assert "den geringsten Widerstand hat 1. Park (1 Punkt, Akzeptanz 90 %)." in result.body


async def test_the_rules_line_says_no_quorum_and_how_many_options(conv):
    await english(conv)
    table = await conv.reply(ORGA, "!poll Lunch? | Pizza | Soup | Salad\nchoices: 2", ROOM_EN)
    assert "Rules: simple majority of the valid votes, no quorum, up to 2 options per vote." in table.body
    table = await conv.reply(ORGA, "!umfrage Antrag?\nquorum: 1", ROOM)
    assert "Regeln: einfache Mehrheit der gültigen Stimmen, Quorum: 1 Stimme, eine Option wählbar." in table.body
    assert "keins" not in table.body
    table = await conv.reply(ORGA, "!umfrage Antrag B?", ROOM)
    assert "kein Quorum" in table.body


async def test_a_number_below_one_is_refused_in_a_whole_sentence(conv):
    await english(conv)
    answer = await conv.reply(ORGA, "!poll Lunch? | Pizza | Soup\nquorum: 0", ROOM_EN)
    assert answer.body.startswith("“0” does not work here: please give a whole number of 1 or more.")
    answer = await conv.reply(ORGA, "!umfrage Essen? | Pizza | Suppe\nauswahl: 0", ROOM)
    assert answer.body.startswith("„0“ geht hier nicht: Bitte gib eine ganze Zahl ab 1 an.")


async def test_an_impossible_time_is_named_as_typed_and_not_claimed_as_understood(conv):
    answer = await conv.reply(ORGA, "!dienst anlegen Putzen | jeden Dienstag 25 Uhr", ROOM)
    assert answer.body.startswith("„25 Uhr“ in „jeden Dienstag 25 Uhr“ ist keine Uhrzeit (möglich sind 0:00 bis 23:59)."
                                  " Verstanden habe ich: Dienstag.")
    assert "25 uhr" not in answer.body
    await english(conv)
    answer = await conv.reply(ORGA, "!duty create Cleaning | every Tuesday 13pm", ROOM_EN)
    assert answer.body.startswith("“13pm” in “every Tuesday 13pm” is not a time of day (possible: 0:00 to 23:59)."
                                  " What I understood: Tuesday.")


@pytest.mark.parametrize("room, command", [(ROOM, "!dienst anlegen Putzen | jeden Blautag"),
                                           (ROOM_EN, "!duty create Cleaning | every Bluesday")])
async def test_an_unreadable_recurrence_does_not_talk_cron_and_quotes_words_as_typed(conv, room, command):
    if room == ROOM_EN:
        await english(conv)
    answer = await conv.reply(ORGA, command, room)
    assert "cron" not in answer.body.lower()
    assert ("Nicht verstanden: „Blautag“." if room == ROOM else "Not understood: “Bluesday”.") in answer.body
    assert "nichts verstanden" not in answer.body and "none of it" not in answer.body


async def test_a_polls_usage_line_names_options_not_text(conv):
    answer = await conv.reply(ORGA, "!umfrage", ROOM)
    assert "!umfrage <Titel> | <Option> | <Option> …" in answer.body and "<Text>" not in answer.body
    await english(conv)
    answer = await conv.reply(ORGA, "!consensus", ROOM_EN)
    assert "!consensus <title> | <option> | <option> …" in answer.body


async def test_a_duty_usage_line_offers_one_recurrence_not_a_list(conv):
    answer = await conv.reply(ORGA, "!dienst anlegen", ROOM)
    assert "So geht's: !dienst anlegen <Dienst> [| <Wiederholung>] [personen: <Anzahl>]" in answer.body
    await english(conv)
    answer = await conv.reply(ORGA, "!duty create", ROOM_EN)
    assert "Usage: !duty create <duty> [| <recurrence>] [people: <number>]" in answer.body


async def test_duty_statistics_write_loads_with_the_rooms_decimal_mark(conv):
    await english(conv)
    for room, create, join, stats in ((ROOM, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr\ngewicht: 1,5",
                                       "!dienst mitmachen Kasse", "!dienst statistik"),
                                      (ROOM_EN, "!duty create Cash | every Tuesday 18:00\nweight: 1.5",
                                       "!duty join Cash", "!duty stats")):
        await conv.reply(ORGA, create, room)
        await conv.reply(ALICE, join, room)
    await conv.advance(timedelta(days=4))  # past the first Tuesday, 24.11. 18:00
    german = await conv.reply(ALICE, "!dienst statistik", ROOM)
    assert "Spanne der Last (höchste − niedrigste): 0 – höchste 1,5 (@alice:test), niedrigste 1,5" in german.body
    english_ = await conv.reply(ALICE, "!duty stats", ROOM_EN)
    assert "highest 1.5 (@alice:test), lowest 1.5" in english_.body
