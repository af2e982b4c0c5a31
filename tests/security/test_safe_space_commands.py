"""Issue 11, defect 10: `!umfrage`, `!termin`, `!konsens`, `!dienst anlegen` typed in a safe space
stored their text (titles, options, duty names) in the bot's database. What is said in a safe
space stays there: the commands are refused in one sentence, and nothing is stored."""
from __future__ import annotations

import pytest

from tests.conversation.safespace_setup import CAROL, ORGA, ROOM, SAFE, all_rows, start

REFUSED = "Aus einem Schutzraum speichere ich keine Umfragen, Termine oder Dienste"

COMMANDS = [
    "!umfrage Geheimes Thema? | ja | nein",
    "!termin Treffen wegen Vorfall | Mo 30.11. 18 Uhr | Di 1.12. 18 Uhr",
    "!konsens Umgang mit X | Variante A | Variante B",
    "!dienst anlegen Begleitung von X | jeden Dienstag 18 Uhr",
    "!poll Secret topic? | yes | no",
]


@pytest.fixture
async def safe(tmp_path):
    conv = await start(tmp_path)
    answer = await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Schutzraum" in answer.body
    yield conv
    await conv.app.db.close()


@pytest.mark.parametrize("command", COMMANDS)
async def test_text_storing_commands_are_refused_in_a_safe_space(safe, command):
    answer = await safe.reply(ORGA, command, SAFE)
    assert answer.body == REFUSED + " – was hier steht, bleibt hier. Legt sie bitte in einem anderen Raum an."
    rows = await all_rows(safe)
    for word in ("Geheimes", "Vorfall", "Variante", "Begleitung", "Secret"):
        assert word not in rows


async def test_editing_a_duty_from_a_safe_space_is_refused_too(safe):
    answer = await safe.reply(ORGA, "!dienst ändern Kasse\nname: Begleitung von X", SAFE)
    assert answer.body.startswith(REFUSED)


async def test_members_are_refused_as_well_and_told_the_same(safe):
    answer = await safe.reply(CAROL, "!umfrage Geheimes Thema? | ja | nein", SAFE)
    assert answer.body.startswith(REFUSED)


async def test_the_same_commands_work_in_an_ordinary_room(safe):
    answer = await safe.reply(ORGA, "!umfrage Offenes Thema? | ja | nein", ROOM)
    assert "#1" in answer.body
