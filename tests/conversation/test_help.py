"""Issue 16 items 2-3 and issue 15's short !help: an overview by capability, topics, bare group words, typos."""
from __future__ import annotations

import json

from tests.conversation.conftest import ALICE, ORGA, ROOM, ROOM_EN


async def english(conv) -> None:
    await conv.reply(ORGA, "!room language en", ROOM_EN)


def size(sent) -> int:
    return len(json.dumps(sent.content, ensure_ascii=False, separators=(",", ":")).encode())


async def test_the_overview_is_short_and_names_each_capability_once(conv):
    await english(conv)
    de = await conv.reply(ALICE, "!hilfe", ROOM)
    en = await conv.reply(ALICE, "!help", ROOM_EN)
    for answer, titles in ((de, ("Termine & Abstimmungen", "Dienste", "Schutzräume", "Ankündigungen", "Raum",
                                 "Meine Daten")),
                           (en, ("Meetings & polls", "Duties", "Safe spaces", "Announcements", "Room", "My data"))):
        assert size(answer) <= 2048, size(answer)
        for title in titles:
            assert answer.body.count(title) == 1, (title, answer.body)


async def test_what_the_asker_may_use_comes_first(conv):
    member = (await conv.reply(ALICE, "!hilfe", ROOM)).body.splitlines()
    organiser = (await conv.reply(ORGA, "!hilfe", ROOM)).body.splitlines()
    assert member[-2].startswith("Ankündigungen")  # organisers only: after everything a member can use
    assert organiser.index(next(line for line in organiser if line.startswith("Ankündigungen"))) < len(organiser) - 2


async def test_a_topic_lists_its_commands_sorted_in_the_rooms_language(conv):
    await english(conv)
    answer = await conv.reply(ALICE, "!hilfe dienste", ROOM)
    assert answer.body.startswith("Dienste")
    member_lines = [line for line in answer.body.splitlines()[2:] if "(nur Orga)" not in line]
    names = [line.split(" <")[0].split(" [")[0].split(" –")[0] for line in member_lines]
    assert names == sorted(names, key=lambda n: n.casefold().replace("ü", "u").replace("ä", "a"))
    assert "!dienst anlegen" in answer.body and "(nur Orga)" in answer.body
    listing = await conv.reply(ALICE, "!help duties", ROOM_EN)
    assert listing.body.startswith("Duties") and "!duty create" in listing.body


async def test_a_bare_group_word_lists_the_group(conv):
    await english(conv)
    answer = await conv.reply(ALICE, "!dienst", ROOM)
    assert answer.body.startswith("Dienste") and "!dienst plan" in answer.body
    assert (await conv.reply(ALICE, "!duty", ROOM_EN)).body.startswith("Duties")


async def test_help_room_lists_the_roles(conv):
    answer = await conv.reply(ALICE, "!hilfe raum", ROOM)
    for name in ("!raum organisatoren", "!raum awareness-team", "!raum ankündigungen", "!raum willkommen",
                 "!raum schutzraum", "!raum bestätigen"):
        assert name in answer.body, name


async def test_near_misses_get_one_answer_and_other_words_stay_silent(conv):
    await english(conv)
    assert (await conv.reply(ALICE, "!hlife", ROOM)).body == "Meintest du !hilfe?"
    assert "!termin" in (await conv.reply(ALICE, "!termni Plenum | morgen 18 Uhr", ROOM)).body
    assert (await conv.reply(ALICE, "!hepl", ROOM_EN)).body == "Did you mean !help?"
    assert await conv.say(ALICE, "!ping", ROOM) == []  # another bot's command
    for other_bot in ("!roll 2d6", "!note hi", "!pool", "!read"):  # review: these got "did you mean"
        assert await conv.say(ALICE, other_bot, ROOM) == [], other_bot
    assert await conv.say(ALICE, "!ok", ROOM) == []  # too short to guess


async def test_every_command_belongs_to_a_capability(conv):
    help_feature = conv.app.feature("help")
    stray = [c.name for c in conv.app.dispatcher.registry.commands if help_feature.group(c) == "more"]
    assert stray == []
