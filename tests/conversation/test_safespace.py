"""Conversation tests for safe spaces: marking a room, rules, admission, the rules gate, knocking."""
from __future__ import annotations

import pytest

from tests.conversation.safespace_setup import (
    ALICE, AWA, AWARE, BOB, CAROL, EVE, ORGA, ROOM, SAFE, dm, member_event, start,
)
from tests.fakes import BOT


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    yield c
    await c.app.db.close()


@pytest.fixture
async def space(conv):
    answer = await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Schutzraum Nr. 1" in answer.body
    conv.chat.actions.clear()
    return conv


def power_content(conv, room=SAFE):
    return conv.chat.rooms[room].state[("m.room.power_levels", "")]


# ---------------------------------------------------------------- !room safespace
async def test_marking_makes_room_invite_only_and_mutes_newcomers(conv):
    answer = await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Schutzraum Nr. 1" in answer.body and "nur auf Einladung" in answer.body
    assert "!regeln <Text>" in answer.body
    assert conv.chat.rooms[SAFE].state[("m.room.join_rules", "")] == {"join_rule": "invite"}
    pl = power_content(conv)
    assert pl["events_default"] == 1 and pl["users_default"] == 0
    assert pl["users"] == {BOT: 100, ORGA: 50, CAROL: 1}  # current members keep writing
    assert (await conv.app.rooms.get(SAFE)).roles == {"safespace": None}
    assert [a for a in conv.chat.actions if a[0] in ("invite", "kick")] == []


async def test_marking_with_knock_and_approval(conv):
    answer = await conv.reply(ORGA, "!raum schutzraum anklopfen genehmigung", SAFE)
    assert "Anklopfen" in answer.body and "Awareness-Team" in answer.body
    assert conv.chat.rooms[SAFE].state[("m.room.join_rules", "")] == {"join_rule": "knock"}
    answer = await conv.reply(ORGA, "!room safespace", SAFE)  # again: back to invite, no approval
    assert conv.chat.rooms[SAFE].state[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert "Selbstauskunft" in answer.body


async def test_marking_keeps_state_levels_and_raises_level_zero_events(conv):
    conv.chat.rooms[SAFE].state[("m.room.power_levels", "")] = {
        "events": {"m.room.name": 50, "m.reaction": 0}, "state_default": 50, "users_default": 0}
    await conv.reply(ORGA, "!raum schutzraum", SAFE)
    pl = power_content(conv)
    assert pl["events"] == {"m.room.name": 50, "m.reaction": 1}
    assert pl["state_default"] == 50


async def test_bad_option_is_one_sentence(conv):
    answer = await conv.reply(ORGA, "!raum schutzraum sofort", SAFE)
    assert answer.body.startswith("„sofort“ kenne ich hier nicht")
    assert "So geht's: !raum schutzraum" in answer.body


async def test_bot_without_power_says_exactly_what_it_lacks(conv):
    conv.chat.rooms[SAFE].power[BOT] = 0
    answer = await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Leute entfernen" in answer.body and "Power-Level ändern" in answer.body
    assert "Beitrittsregeln ändern" in answer.body and "einladen" not in answer.body
    assert conv.chat.actions_of("state") == []
    assert "safespace" not in (await conv.app.rooms.get(SAFE)).roles


async def test_bot_lacking_only_invite(conv):
    conv.chat.rooms[SAFE].state[("m.room.power_levels", "")] = {"invite": 100}
    conv.chat.rooms[SAFE].power[BOT] = 60
    answer = await conv.reply(ORGA, "!room safespace", SAFE)
    assert "Leute einladen" in answer.body
    assert "entfernen" not in answer.body and "Power-Level ändern" not in answer.body


async def test_only_organisers_and_the_awareness_team_mark_a_safe_space(conv):
    assert "Organisator*innen" in (await conv.reply(CAROL, "!raum schutzraum", SAFE)).body
    # the awareness team may (PRODUCT.md), where the bot has the power to mute and invite
    assert "fehlen mir" in (await conv.reply(AWA, "!raum schutzraum", ROOM)).body
    assert "Gruppenraum" in (await conv.reply(EVE, "raum schutzraum", dm(EVE))).body  # stranger, direct chat
    assert conv.chat.actions_of("state") == []
    answer = await conv.reply("@admin:test", "!raum schutzraum", SAFE)  # admins are organisers everywhere
    assert "Schutzraum Nr. 1" in answer.body


async def test_an_awareness_member_marks_a_safe_space_where_the_bot_has_the_power(conv):
    conv.chat.rooms[SAFE].members.append(AWA)  # a member of the awareness room, power 0 here
    answer = await conv.reply(AWA, "!raum schutzraum", SAFE)
    assert "Schutzraum Nr. 1" in answer.body


async def test_room_v12_creator_marks_and_is_not_written_into_users(conv):
    creator = "@founder:test"
    conv.chat.rooms[SAFE].members.append(creator)
    conv.chat.rooms[SAFE].creators.append(creator)
    del conv.chat.rooms[SAFE].power[BOT]
    conv.chat.rooms[SAFE].creators.append(BOT)  # the bot created the room: unlimited power, unlisted
    answer = await conv.reply(creator, "!raum schutzraum", SAFE)
    assert "Schutzraum Nr. 1" in answer.body
    users = power_content(conv)["users"]
    assert creator not in users and BOT not in users
    assert users[CAROL] == 1


async def test_announcements_room_cannot_become_a_safe_space(conv):
    await conv.reply("@admin:test", "!raum ankündigungen", SAFE)
    answer = await conv.reply(ORGA, "!raum schutzraum", SAFE)
    assert "Ankündigungsraum" in answer.body
    assert conv.chat.actions_of("state") == []


async def test_room_overview_shows_safe_space_role(space):
    assert "Schutzraum" in (await space.reply(CAROL, "!raum", SAFE)).body


# ---------------------------------------------------------------- !rules
async def test_rules_default_then_set_by_organiser_and_shown_to_members(space):
    shown = await space.reply(CAROL, "!regeln", SAFE)
    assert "Die Regeln dieses Schutzraums" in shown.body and "FINTA*" in shown.body
    answer = await space.reply(ORGA, "!regeln Wir hören einander zu.\nKein Weitererzählen.", SAFE)
    assert "gespeichert" in answer.body
    shown = await space.reply(CAROL, "!rules", SAFE)
    assert "Wir hören einander zu.\nKein Weitererzählen." in shown.body


async def test_rules_set_by_awareness_member_but_not_by_member(space):
    space.chat.rooms[SAFE].members.append(AWA)
    assert "Organisator*innen" in (await space.reply(CAROL, "!regeln Alles erlaubt", SAFE)).body
    assert "gespeichert" in (await space.reply(AWA, "!regeln Achtsam sein", SAFE)).body
    assert "Achtsam sein" in (await space.reply(CAROL, "!regeln", SAFE)).body


async def test_rules_for_strangers_and_newcomers(space):
    assert "Gruppenraum" in (await space.reply(EVE, "regeln", dm(EVE))).body  # stranger, direct chat
    await member_event(space, ALICE, SAFE, "join")  # a muted newcomer who somehow got a command through
    assert "Organisator*innen" in (await space.reply(ALICE, "!regeln Neue Regeln", SAFE)).body
    assert "Die Regeln dieses Schutzraums" in (await space.reply(ALICE, "!regeln", SAFE)).body


async def test_rules_outside_a_safe_space_and_too_long(space):
    assert "kein Schutzraum" in (await space.reply(ORGA, "!regeln", ROOM)).body
    assert "Direktchat" in (await space.reply(ALICE, "regeln", dm(ALICE))).body
    answer = await space.reply(ORGA, "!regeln " + "x" * 4001, SAFE)
    assert "zu lang" in answer.body


async def test_rules_text_is_escaped(space):
    await space.reply(ORGA, "!regeln <b>fett</b> @room", SAFE)
    shown = await space.reply(CAROL, "!regeln", SAFE)
    assert "<b>" not in shown.html and "@room" not in shown.body
    assert shown.content["m.mentions"] == {}


# ---------------------------------------------------------------- admission by self-declaration
async def test_full_admission_invite_then_rules_gate(space):
    await space.reply(ORGA, "!regeln Respekt.", SAFE)
    listing = await space.reply(ALICE, "schutzraum", dm(ALICE))
    assert "1. FINTA*-Treff (#finta:test)" in listing.body
    asked = await space.reply(ALICE, "schutzraum beitreten FINTA*-Treff", dm(ALICE))
    assert "Respekt." in asked.body and "!bestätigen" in asked.body and "FINTA*" in asked.body
    assert space.chat.actions_of("invite") == []  # nobody is invited before confirming
    confirmed = await space.reply(ALICE, "bestätigen", dm(ALICE))
    assert "eingeladen" in confirmed.body
    assert space.chat.actions_of("invite") == [("invite", SAFE, ALICE)]
    log = space.chat.in_room(AWARE)[-1]
    assert "Eingeladen: @alice:test" in log.body and "FINTA*-Treff" in log.body

    before = len(space.chat.in_room(dm(ALICE)))
    await member_event(space, ALICE, SAFE, "join")
    welcome = space.chat.in_room(dm(ALICE))[before:]
    assert len(welcome) == 1
    assert "Willkommen" in welcome[0].body and "Respekt." in welcome[0].body and "!akzeptieren" in welcome[0].body
    assert space.chat.actions_of("power") == []  # muted until accepting
    accepted = await space.reply(ALICE, "akzeptieren", dm(ALICE))
    assert "kannst jetzt" in accepted.body
    assert space.chat.actions_of("power") == [("power", SAFE, ALICE, "1")]
    again = await space.reply(ALICE, "akzeptieren", dm(ALICE))
    assert "keine Regeln" in again.body


async def test_space_named_by_number_alias_or_room_id(space):
    for name in ("1", "#1", "#finta:test", "finta*-treff", SAFE):
        answer = await space.reply(ALICE, f"schutzraum beitreten {name}", dm(ALICE))
        assert "!bestätigen" in answer.body, name


async def test_unknown_and_ambiguous_space(space):
    answer = await space.reply(ALICE, "schutzraum beitreten Lesekreis", dm(ALICE))
    assert answer.body.startswith("Einen Schutzraum „Lesekreis“ finde ich nicht")
    space.chat.add_room("!safe2:test", [ORGA, BOB], power={BOT: 100, ORGA: 50}, name="FINTA*-Treff")
    await space.reply(ORGA, "!raum schutzraum", "!safe2:test")
    answer = await space.reply(ALICE, "schutzraum beitreten FINTA*-Treff", dm(ALICE))
    assert "mehrere" in answer.body
    assert "!bestätigen" in (await space.reply(ALICE, "schutzraum beitreten 2", dm(ALICE))).body


async def test_no_safe_spaces_yet(conv):
    assert "keine Schutzräume" in (await conv.reply(ALICE, "schutzraum", dm(ALICE))).body


async def test_admission_commands_only_in_direct_chat(space):
    for command in ("!schutzraum", "!schutzraum beitreten 1", "!bestätigen", "!akzeptieren"):
        assert "Direktchat" in (await space.reply(ALICE, command, ROOM)).body, command
    assert space.chat.actions_of("invite") == []


async def test_stranger_cannot_list_or_join(space):
    for command in ("schutzraum", "schutzraum beitreten 1", "bestätigen"):
        answer = await space.reply(EVE, command, dm(EVE))
        assert "kenne dich aus keinem Gruppenraum" in answer.body, command
    assert space.chat.actions_of("invite") == []


async def test_nothing_to_confirm_or_accept(space):
    assert "nichts zu bestätigen" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body
    assert "keine Regeln" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body
    assert space.chat.actions_of("invite") == [] and space.chat.actions_of("power") == []


async def test_member_cannot_join_again(space):
    answer = await space.reply(CAROL, "schutzraum beitreten 1", dm(CAROL))
    assert "schon in „FINTA*-Treff“" in answer.body
    assert "du bist drin" in (await space.reply(CAROL, "schutzraum", dm(CAROL))).body


async def test_confirm_after_joining_without_event_forgets_the_question(space):
    await space.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    space.chat.rooms[SAFE].members.append(ALICE)  # invited by someone else, the join event not seen yet
    assert "schon in „FINTA*-Treff“" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body
    assert "nichts zu bestätigen" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body
    assert "FINTA*-Treff" not in (await space.reply(ALICE, "meinedaten", dm(ALICE))).body


async def test_confirm_which_when_several_asked(space):
    space.chat.add_room("!safe2:test", [ORGA, BOB], power={BOT: 100, ORGA: 50}, name="Lesbencafé")
    await space.reply(ORGA, "!raum schutzraum", "!safe2:test")
    await space.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    await space.reply(ALICE, "schutzraum beitreten 2", dm(ALICE))
    answer = await space.reply(ALICE, "bestätigen", dm(ALICE))
    assert "mehreren" in answer.body and "Lesbencafé" in answer.body
    assert "eingeladen" in (await space.reply(ALICE, "bestätigen Lesbencafé", dm(ALICE))).body
    assert space.chat.actions_of("invite") == [("invite", "!safe2:test", ALICE)]
    assert "eingeladen" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body


async def test_english_direct_chat(space):
    async with space.app.db.transaction():
        await space.app.rooms.set_language(dm(ALICE), "en")
    answer = await space.reply(ALICE, "safespace join 1", dm(ALICE))
    assert "Please confirm that you are FINTA*" in answer.body and "!confirm" in answer.body
    assert "invited you" in (await space.reply(ALICE, "confirm", dm(ALICE))).body


# ---------------------------------------------------------------- the rules gate
async def test_manually_invited_newcomer_gets_rules_and_accepts_by_name(space):
    space.chat.add_room("!safe2:test", [ORGA, BOB], power={BOT: 100, ORGA: 50}, name="Lesbencafé")
    await space.reply(ORGA, "!raum schutzraum", "!safe2:test")
    space.chat.actions.clear()  # marking gave bob, a member already, level 1
    await member_event(space, ALICE, SAFE, "join")
    await member_event(space, ALICE, "!safe2:test", "join")
    assert len([s for s in space.chat.in_room(dm(ALICE)) if "Willkommen" in s.body]) == 2
    answer = await space.reply(ALICE, "akzeptieren", dm(ALICE))
    assert "mehreren" in answer.body
    assert "kannst jetzt" in (await space.reply(ALICE, "akzeptieren Lesbencafé", dm(ALICE))).body
    assert space.chat.actions_of("power") == [("power", "!safe2:test", ALICE, "1")]
    assert "FINTA*-Treff" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body


async def test_profile_change_does_not_resend_rules(space):
    await member_event(space, ALICE, SAFE, "join")
    await member_event(space, ALICE, SAFE, "join")
    assert len([s for s in space.chat.in_room(dm(ALICE)) if "Willkommen" in s.body]) == 1


async def test_writer_joining_again_is_not_gated(space):
    await member_event(space, CAROL, SAFE, "leave")
    await member_event(space, CAROL, SAFE, "join")  # CAROL kept level 1
    assert [s for s in space.chat.in_room(dm(CAROL)) if "Willkommen" in s.body] == []


async def test_leaving_before_accepting_forgets_and_accept_refuses(space):
    await member_event(space, ALICE, SAFE, "join")
    await member_event(space, ALICE, SAFE, "leave")
    assert "keine Regeln" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body
    assert "@alice:test" not in str(await space.app.db.fetchall("SELECT * FROM safespace_admissions"))


async def test_accept_after_leaving_without_event(space):
    await member_event(space, ALICE, SAFE, "join")
    space.chat.rooms[SAFE].members.remove(ALICE)  # the leave event was not seen yet
    assert "nicht mehr in" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body
    assert space.chat.actions_of("power") == []


async def test_accept_after_leaving_without_event_forgets_the_admission(space):
    await member_event(space, ALICE, SAFE, "join")
    space.chat.rooms[SAFE].members.remove(ALICE)  # the leave event was not seen yet
    assert "nicht mehr in" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body
    assert "keine Regeln" in (await space.reply(ALICE, "akzeptieren", dm(ALICE))).body
    assert "FINTA*-Treff" not in (await space.reply(ALICE, "meinedaten", dm(ALICE))).body


async def test_events_in_other_rooms_are_ignored(space):
    await member_event(space, ALICE, ROOM, "join")
    assert [s for s in space.chat.in_room(dm(ALICE)) if "Willkommen" in s.body] == []


async def test_nothing_said_in_a_safe_space_is_stored(space, caplog):
    caplog.set_level("DEBUG")
    secret = "Mir geht es gerade nicht gut"
    await space.say(CAROL, secret, SAFE)
    await space.say(CAROL, "!nonsense " + secret, SAFE)
    await space.reply(CAROL, "!regeln", SAFE)
    from tests.conversation.safespace_setup import all_rows
    rows = await all_rows(space)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in rows and secret not in logged


# ---------------------------------------------------------------- knocking
async def test_knock_starts_the_conversation_in_a_direct_chat(space):
    await space.reply(ORGA, "!raum schutzraum anklopfen", SAFE)
    await member_event(space, ALICE, SAFE, "knock")
    asked = space.chat.in_room(dm(ALICE))[-1]
    assert "angeklopft" in asked.body and "!bestätigen" in asked.body
    assert space.chat.actions_of("invite") == []
    await member_event(space, ALICE, SAFE, "knock")  # knocking again: no second message
    assert len([s for s in space.chat.in_room(dm(ALICE)) if "angeklopft" in s.body]) == 1
    assert "eingeladen" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body
    assert space.chat.actions_of("invite") == [("invite", SAFE, ALICE)]


async def test_knock_with_approval_goes_to_awareness_after_confirm(space):
    await space.reply(ORGA, "!raum schutzraum anklopfen genehmigung", SAFE)
    await member_event(space, ALICE, SAFE, "knock")
    assert "Awareness-Team" in space.chat.in_room(dm(ALICE))[-1].body
    await space.reply(ALICE, "bestätigen", dm(ALICE))
    assert "Anfrage Nr. 1: @alice:test" in space.chat.in_room(AWARE)[-1].body
    await member_event(space, ALICE, SAFE, "knock")  # request waiting: no new conversation
    assert len([s for s in space.chat.in_room(dm(ALICE)) if "angeklopft" in s.body]) == 1
    assert space.chat.actions_of("invite") == []


async def test_knock_from_a_stranger_goes_to_the_awareness_team(space):
    await space.reply(ORGA, "!raum schutzraum anklopfen", SAFE)
    await member_event(space, EVE, SAFE, "knock")
    assert "Awareness-Team" in space.chat.in_room(dm(EVE))[-1].body
    assert "beim Awareness-Team" in (await space.reply(EVE, "bestätigen", dm(EVE))).body
    assert "Anfrage Nr. 1: @eve:test" in space.chat.in_room(AWARE)[-1].body
    assert space.chat.actions_of("invite") == []
    assert "kenne dich aus keinem Gruppenraum" in (await space.reply(EVE, "schutzraum", dm(EVE))).body


async def test_knock_on_an_ordinary_room_is_ignored(space):
    await member_event(space, ALICE, ROOM, "knock")
    assert space.chat.in_room(dm(ALICE)) == []


# ---------------------------------------------------------------- privacy hooks
async def test_my_data_and_forget(space):
    await space.reply(ALICE, "schutzraum beitreten 1", dm(ALICE))
    feature = space.app.feature("safespace")
    ctx = await space.app.dispatcher.context(space.event(ALICE, "meinedaten", dm(ALICE)), True)
    shown = [r.text for r in await feature.my_data(ALICE, ctx)]
    assert shown == ["Schutzraum „FINTA*-Treff“: du hast gefragt, aber noch nicht bestätigt."]
    async with space.app.db.transaction():
        done = [r.text for r in await feature.forget(ALICE, ctx)]
    assert done == ["Schutzräume: 1 Aufnahme oder Anfrage gelöscht."]
    assert await feature.my_data(ALICE, ctx) == []
    assert "nichts zu bestätigen" in (await space.reply(ALICE, "bestätigen", dm(ALICE))).body


async def test_help_lists_the_safe_space_commands(space):
    answer = await space.reply(ALICE, "hilfe schutzraum", dm(ALICE))
    for name in ("!schutzraum", "!bestätigen", "!akzeptieren", "!melden", "!rede", "!redeliste", "!regeln"):
        assert name in answer.body
    detail = await space.reply(ALICE, "hilfe schutzraum beitreten", dm(ALICE))
    assert "!schutzraum beitreten <Schutzraum>" in detail.body and "Auch als !safespace join" in detail.body
