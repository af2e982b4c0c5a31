"""Names, not ids (issue 16 item 4): lists, plans, statistics and poll tables name people by their display
name in the room, as plain text; a mention is a pill with that name; equal names are told apart by the id."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM, ROOM_EN

BOB_SHOWN = "Bob <b>@\u2060room</b>"  # his name as the body shows it: @room defused


@pytest.fixture
def named(conv):
    for room in (ROOM, ROOM_EN):
        conv.chat.rooms[room].display_names.update({ALICE: "Alex", BOB: "Bob <b>@room</b>", ORGA: "Orga"})
    conv.chat.rooms[ROOM].display_names[CAROL] = "alex"  # two Alexes in ROOM, one in ROOM_EN
    return conv


def assert_harmless(answer) -> None:
    """Bob's name is escaped in HTML and pings nobody, least of all the room."""
    assert "<b>" not in answer.html and "&lt;b&gt;Bob" not in answer.html
    assert "&lt;b&gt;@\u2060room&lt;/b&gt;" in answer.html
    assert "@room" not in answer.body and "@room" not in answer.html


async def test_the_speakers_list_names_people_and_pings_nobody(named):
    for user in (ALICE, BOB, CAROL):
        await named.reply(user, "!rede", ROOM)
    shown = await named.reply(ORGA, "!redeliste", ROOM)
    assert shown.body.splitlines()[1:] == [
        "1. Alex (@alice:test) – offene Liste",
        f"2. {BOB_SHOWN} – offene Liste",
        "3. alex (@carol:test) – offene Liste",
    ]
    assert shown.mentions == [] and "matrix.to" not in shown.html
    assert_harmless(shown)


async def test_calling_the_next_speaker_is_a_pill_with_the_name(named):
    await named.reply(BOB, "!rede", ROOM)
    await named.reply(ALICE, "!rede", ROOM)
    called = await named.reply(ORGA, "!weiter", ROOM)
    assert called.mentions == [BOB]
    assert f'<a href="https://matrix.to/#/{BOB}">Bob &lt;b&gt;@\u2060room&lt;/b&gt;</a>' in called.html
    assert BOB_SHOWN in called.body and BOB not in called.body
    assert "Alex (@alice:test)" in called.body  # who follows: named, not pinged
    assert_harmless(called)


async def test_in_english_only_the_name_that_is_unique_there_drops_the_id(named):
    await named.reply(ORGA, "!room language en", ROOM_EN)
    await named.reply(ALICE, "!speak", ROOM_EN)
    shown = await named.reply(ORGA, "!speakers", ROOM_EN)
    assert "1. Alex – open list" in shown.body and ALICE not in shown.body


async def _duty(conv, room: str, create: str, join: str) -> None:
    await conv.reply(ORGA, create, room)
    for user in (ALICE, BOB):
        await conv.reply(user, join, room)


async def test_a_duty_plan_and_the_statistics_name_people(named):
    await _duty(named, ROOM, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr", "!dienst mitmachen Kasse")
    plan = await named.reply(CAROL, "!dienst plan Kasse 4", ROOM)
    assert "Alex (@alice:test)" in plan.body and BOB_SHOWN in plan.body
    assert ALICE + "," not in plan.body and BOB not in plan.body
    assert plan.mentions == [] and "matrix.to" not in plan.html
    assert_harmless(plan)
    stats = await named.reply(CAROL, "!dienst statistik", ROOM)
    assert "Alex (@alice:test) " in stats.body and BOB_SHOWN in stats.body and BOB not in stats.body
    assert stats.mentions == []
    assert_harmless(stats)


async def test_an_english_plan_names_people_too(named):
    await named.reply(ORGA, "!room language en", ROOM_EN)
    await _duty(named, ROOM_EN, "!duty create Cash | every Tuesday 18:00", "!duty join Cash")
    plan = await named.reply(ORGA, "!duty plan Cash 2", ROOM_EN)
    assert "Alex" in plan.body and "(@alice:test)" not in plan.body and ALICE not in plan.body
    assert plan.mentions == []


async def test_a_poll_table_names_voters_as_text(named):
    await named.reply(ORGA, "!umfrage Essen? | Pizza | Suppe", ROOM)
    await named.reply(ALICE, "!abstimmen 1 1", ROOM)
    await named.reply(BOB, "!abstimmen 1 2", ROOM)
    result = await named.reply(CAROL, "!ergebnis 1", ROOM)
    assert "Alex (@alice:test)" in result.body and BOB_SHOWN in result.body
    assert ALICE + " " not in result.body and BOB not in result.body
    assert result.mentions == [] and "matrix.to" not in result.html
    assert_harmless(result)


async def test_a_person_without_a_display_name_is_shown_by_the_full_id(named):
    named.chat.rooms[ROOM].display_names.pop(CAROL)
    await named.reply(CAROL, "!rede", ROOM)
    shown = await named.reply(ORGA, "!redeliste", ROOM)
    assert "1. @carol:test – offene Liste" in shown.body


async def test_a_refusal_names_the_poll_creator(named):
    await named.reply(ALICE, "!umfrage Essen? | Pizza | Suppe", ROOM)
    refused = await named.reply(BOB, "!schliessen 1", ROOM)
    assert "nur Alex (@alice:test) (hat sie angelegt)" in refused.body and refused.mentions == []


async def test_a_duty_announcement_pings_with_a_pill_named_by_the_display_name(named):
    await named.reply(ORGA, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr", ROOM)
    await named.reply(BOB, "!dienst mitmachen Kasse", ROOM)
    sent = await named.advance(timedelta(minutes=1))
    [announcement] = [s for s in sent if s.body.startswith("📋")]
    assert announcement.mentions == [BOB]
    assert announcement.body.startswith(f"📋 {BOB_SHOWN}: Du bist mit Kasse dran")
    assert f'<a href="https://matrix.to/#/{BOB}">Bob &lt;b&gt;@\u2060room&lt;/b&gt;</a>' in announcement.html
    assert_harmless(announcement)


async def test_results_asked_in_a_direct_chat_name_people_as_in_the_polls_room(named):
    named.chat.add_room("!dm-carol:test", [CAROL])
    await named.reply(ORGA, "!umfrage Essen? | Pizza | Suppe", ROOM)
    await named.reply(ALICE, "!abstimmen 1 1", ROOM)
    result = await named.reply(CAROL, "ergebnis 1", "!dm-carol:test")
    assert "Alex (@alice:test)" in result.body and result.mentions == []
