"""Issue 16 item 1 (and 5): a `key: value` line is never swallowed into a title or a post; keys in German."""
from __future__ import annotations

from tests.conversation.conftest import ALICE, ORGA, ROOM, ROOM_EN


async def test_an_unknown_key_is_refused_with_the_known_ones(conv):
    answer = await conv.reply(ALICE, "!umfrage Sommerfest? | ja | nein\nbiss: morgen 12 Uhr", ROOM)
    assert "meintest du „bis:“" in answer.body and "auswahl:" in answer.body
    assert "\\biss:" in answer.body  # how to keep the line as text
    listing = await conv.reply(ALICE, "!umfragen", ROOM)
    assert "Sommerfest" not in listing.body  # nothing was created


async def test_frist_is_a_deadline_and_a_backslash_keeps_a_line_as_text(conv):
    answer = await conv.reply(ALICE, "!termin Plenum | morgen 18 Uhr | übermorgen 18 Uhr\nfrist: morgen 12 Uhr", ROOM)
    assert "offen bis" in answer.body and "frist" not in answer.body


async def test_english_rooms_get_english_keys(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!poll Summer party? | yes | no\nuntill: tomorrow 12:00", ROOM_EN)
    assert "did you mean “until:”" in answer.body and "choices:" in answer.body


async def test_usage_lines_show_the_keys_of_the_rooms_language(conv):
    german = await conv.reply(ALICE, "!hilfe umfrage", ROOM)
    assert "[bis: <Zeitpunkt>]" in german.body and "[auswahl: <Zahl>]" in german.body and "until:" not in german.body
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    assert "[until: <time>]" in (await conv.reply(ALICE, "!help poll", ROOM_EN)).body


async def test_a_url_line_is_text_not_a_setting(conv):
    answer = await conv.reply(ALICE, "!umfrage Welcher Ort?\n- Park\n- Saal\nhttps://example.org/plan", ROOM)
    assert "kenne ich bei diesem Befehl nicht" not in answer.body


async def test_a_report_keeps_its_own_colon_lines_as_text(conv):
    """Review: someone in distress should not have to rewrite 'Ort: Kneipe' in a report."""
    conv.chat.add_room("!dm-alice:test", [ALICE])
    conv.chat.add_room("!aware:test", [ORGA, "@awa:test"], name="Awareness")
    await conv.reply("@admin:test", "!raum awareness", "!aware:test")
    answer = await conv.reply(ALICE, "melden Es ist etwas passiert.\nOrt: Kneipe am Markt\nZeit: gestern 22 Uhr",
                              "!dm-alice:test")
    assert "Meldung Nr. 1" in answer.body, answer.body
    told = [s.body for s in conv.chat.sent if s.room_id == "!aware:test"]
    assert any("Ort: Kneipe am Markt" in body for body in told)
    near = await conv.reply(ALICE, "melden Noch etwas\nnmae: ja", "!dm-alice:test")
    assert "meintest du „name:“" in near.body
