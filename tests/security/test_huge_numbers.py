"""Issue 11, defect 9: a number of 2**63 or more reached SQLite, which cannot bind it, and the
member saw "internal error". Every integer argument is bounded and refused in one sentence."""
from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.grammar import Int
from tests.conversation.conftest import ALICE, ORGA, ROOM, ROOM_EN

HUGE = str(2**63)  # 9223372036854775808

COMMANDS = [
    f"!abstimmen {HUGE} 1",
    f"!abstimmen 1 {HUGE}",
    f"!ergebnis {HUGE}",
    f"!schliessen {HUGE}",
    f"!termin festlegen {HUGE}",
    f"!termin festlegen 1 {HUGE}",
    f"!umfrage Frage? | ja | nein\nquorum: {HUGE}",
    f"!umfrage Frage? | ja | nein\nauswahl: {HUGE}",
    f"!dienst plan Kasse {HUGE}",
    f"!dienst statistik {HUGE}",
    f"!freigeben {HUGE}",
    f"!abbrechen {HUGE}",
    f"!alt {HUGE} 1 Ein Bild",
    f"!alt 1 {HUGE} Ein Bild",
    f"!zulassen {HUGE}",
    f"!antworten {HUGE} Danke",
]


@pytest.mark.parametrize("command", COMMANDS)
async def test_a_huge_number_is_a_user_error(conv, command):
    await conv.reply(ORGA, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr", ROOM)
    await conv.reply(ALICE, "!termin Treffen | Mo 30.11. 18 Uhr | Di 1.12. 18 Uhr", ROOM)
    answer = await conv.reply(ORGA, command, ROOM)
    assert "Referenz" not in answer.body, answer.body
    assert "schiefgegangen" not in answer.body


async def test_the_sentence_names_the_number_and_the_limit(conv):
    answer = await conv.reply(ALICE, f"!abstimmen {HUGE} 1", ROOM)
    assert answer.body.startswith(f"„{HUGE}“ ist als Zahl zu groß – hier geht es höchstens bis 999.999.999.")
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    english = await conv.reply(ALICE, f"!results {HUGE}", ROOM_EN)
    assert english.body.startswith(f"“{HUGE}” is too large a number – the most I accept here is 999,999,999.")


async def test_a_huge_trailing_count_is_not_read_as_part_of_the_name(conv):
    await conv.reply(ORGA, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr", ROOM)
    answer = await conv.reply(ALICE, f"!dienst plan Kasse {HUGE}", ROOM)
    assert "zu groß" in answer.body


@pytest.mark.parametrize("raw", [HUGE, "-" + HUGE, "1000000000", "#" + HUGE])
def test_int_refuses_numbers_beyond_its_range(raw):
    with pytest.raises(UserError) as err:
        Int.convert(None, raw)
    assert err.value.key == "error.number_too_large"


@pytest.mark.parametrize("raw,value", [("999999999", 999_999_999), ("-999999999", -999_999_999), ("#42", 42)])
def test_int_keeps_sane_numbers(raw, value):
    assert Int.convert(None, raw) == value

