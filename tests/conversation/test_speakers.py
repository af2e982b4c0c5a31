"""Conversation tests for the quota speakers' list: !speak, !next, !speakers, !speakers clear."""
from __future__ import annotations

import pytest

from tests.conversation.safespace_setup import ALICE, AWA, BOB, CAROL, EVE, ORGA, ROOM, SAFE, dm, start

DANA = "@awa:test"  # a second person without organiser rights in ROOM


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    yield c
    await c.app.db.close()


async def next_name(conv, room=ROOM) -> str:
    answer = await conv.reply(ORGA, "!weiter", room)
    return answer.mentions[0]


async def test_quota_order_alternates_finta_first_motions_first(conv):
    assert "Stelle 1" in (await conv.reply(ALICE, "!rede", ROOM)).body
    assert "Stelle 1" in (await conv.reply(BOB, "!rede finta", ROOM)).body  # FINTA* goes first
    assert "Stelle 3" in (await conv.reply(CAROL, "!rede", ROOM)).body
    answer = await conv.reply(DANA, "!rede go", ROOM)
    assert "GO-Antrag" in answer.body and "Stelle 1" in answer.body
    shown = await conv.reply(ALICE, "!redeliste", ROOM)
    assert shown.body.splitlines() == [
        "Redeliste (4 Personen):",
        "1. @awa:test – GO-Antrag",
        "2. @bob:test – FINTA*-Liste",
        "3. @alice:test – offene Liste",
        "4. @carol:test – offene Liste",
    ]
    assert shown.content["m.mentions"] == {}  # showing the list pings nobody
    first = await conv.reply(ORGA, "!weiter", ROOM)
    assert first.mentions == [DANA] and "Du hast das Wort" in first.body
    assert "Danach: @bob:test (FINTA*-Liste)" in first.body
    assert [await next_name(conv) for _ in range(3)] == [BOB, ALICE, CAROL]
    assert "leer" in (await conv.reply(ORGA, "!weiter", ROOM)).body


async def test_first_time_speakers_before_repeat_speakers(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    assert await next_name(conv) == ALICE
    await conv.reply(ALICE, "!rede", ROOM)  # again, but BOB has not spoken yet
    await conv.reply(BOB, "!rede", ROOM)
    assert await next_name(conv) == BOB
    assert await next_name(conv) == ALICE


async def test_after_a_finta_speaker_the_open_list_has_its_turn(conv):
    await conv.reply(ALICE, "!rede finta", ROOM)
    assert await next_name(conv) == ALICE
    await conv.reply(CAROL, "!speak finta", ROOM)
    await conv.reply(BOB, "!speak", ROOM)
    assert await next_name(conv) == BOB
    assert await next_name(conv) == CAROL


async def test_one_speech_entry_and_one_motion_per_person(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    assert "schon auf der Redeliste (offene Liste)" in (await conv.reply(ALICE, "!rede finta", ROOM)).body
    assert "Stelle 1" in (await conv.reply(ALICE, "!rede go", ROOM)).body
    assert "schon" in (await conv.reply(ALICE, "!rede go", ROOM)).body
    assert "nicht mehr" in (await conv.reply(ALICE, "!rede zurück", ROOM)).body
    assert "Niemand" in (await conv.reply(BOB, "!redeliste", ROOM)).body
    assert "nicht auf der Redeliste" in (await conv.reply(ALICE, "!speak withdraw", ROOM)).body


async def test_bad_list_word(conv):
    answer = await conv.reply(ALICE, "!rede männlich", ROOM)
    assert answer.body.startswith("„männlich“ ist keine Liste")
    assert "So geht's: !rede [<finta|go|zurück>]" in answer.body


async def test_lists_are_per_room(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    assert "Niemand" in (await conv.reply(CAROL, "!redeliste", SAFE)).body
    assert "leer" in (await conv.reply(ORGA, "!weiter", SAFE)).body


async def test_only_organisers_call_and_clear(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    await conv.reply(BOB, "!rede", ROOM)
    assert "Organisator*innen" in (await conv.reply(BOB, "!weiter", ROOM)).body  # member
    assert "Organisator*innen" in (await conv.reply(AWA, "!next", ROOM)).body  # awareness member
    assert "Organisator*innen" in (await conv.reply(BOB, "!redeliste leeren", ROOM)).body
    assert (await conv.reply("@admin:test", "!weiter", ROOM)).mentions == [ALICE]  # admins everywhere
    assert "1 Wortmeldung gestrichen" in (await conv.reply(ORGA, "!redeliste leeren", ROOM)).body
    assert "Niemand" in (await conv.reply(BOB, "!speakers", ROOM)).body


async def test_clear_forgets_who_has_spoken(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    await next_name(conv)
    await conv.reply(ORGA, "!speakers clear", ROOM)
    await conv.reply(BOB, "!rede", ROOM)
    await conv.reply(ALICE, "!rede", ROOM)  # counts as first-time again
    assert await next_name(conv) == BOB
    assert "@alice:test" not in str(await conv.app.db.fetchall("SELECT * FROM speakers_spoken"))


async def test_speakers_list_is_for_group_rooms(conv):
    for command in ("rede", "weiter", "redeliste", "redeliste leeren"):
        assert "Gruppenraum" in (await conv.reply(ALICE, command, dm(ALICE))).body, command
        assert "Gruppenraum" in (await conv.reply(EVE, command, dm(EVE))).body, command


async def test_nothing_about_the_list_choice_is_kept_after_calling(conv):
    await conv.reply(ALICE, "!rede finta", ROOM)
    await next_name(conv)
    rows = str(await conv.app.db.fetchall("SELECT * FROM speakers_queue"))
    spoken = [tuple(r) for r in await conv.app.db.fetchall("SELECT * FROM speakers_spoken")]
    assert rows == "[]" and spoken == [(ROOM, ALICE, 1)]  # that she spoke, not on which list


async def test_english(conv):
    await conv.reply(ORGA, "!room language en", ROOM)
    assert "Noted (FINTA* list): you are number 1 now." in (await conv.reply(ALICE, "!speak finta", ROOM)).body
    assert "You have the floor: @alice:test (FINTA* list)." in (await conv.reply(ORGA, "!next", ROOM)).body


async def test_my_data_and_forget(conv):
    await conv.reply(ALICE, "!rede", ROOM)
    await conv.reply(BOB, "!rede", ROOM)
    await next_name(conv)  # ALICE spoke
    await conv.reply(ALICE, "!rede", ROOM)
    feature = conv.app.feature("speakers")
    ctx = await conv.app.dispatcher.context(conv.event(ALICE, "meinedaten", dm(ALICE)), True)
    shown = [r.text for r in await feature.my_data(ALICE, ctx)]
    assert shown == ["Redeliste: Du stehst in Ortsgruppe auf der Liste.",
                     "Redeliste: In Ortsgruppe zählt, dass du in dieser Runde schon geredet hast (nicht auf welcher Liste)."]
    async with conv.app.db.transaction():
        assert [r.text for r in await feature.forget(ALICE, ctx)] == ["Redelisten: 2 Einträge gelöscht."]
    assert await feature.my_data(ALICE, ctx) == []
    assert await next_name(conv) == BOB
