"""Conversation tests for the foundation: parsing, dispatch, help, permissions, languages, rate limits."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.conftest import ALICE, BOB, ORGA, ROOM, ROOM_EN


async def test_hilfe_is_a_german_notice_reply(conv):
    ev = conv.event(ALICE, "!hilfe", ROOM)
    sent = await conv.deliver(ev)
    assert len(sent) == 1
    answer = sent[0]
    assert answer.content["msgtype"] == "m.notice"
    assert answer.reply_to == ev.event_id
    assert "Das kann ich" in answer.body
    assert "!hilfe" in answer.body and "!raum" in answer.body
    assert answer.content["m.mentions"] == {}


async def test_help_in_english_room(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!help", ROOM_EN)
    assert "Here is what I can do" in answer.body
    assert "!room" in answer.body


async def test_help_for_one_command_shows_usage(conv):
    answer = await conv.reply(ALICE, "!hilfe raum sprache", ROOM)
    assert "!raum sprache <de|en>" in answer.body
    assert "Auch als !room language" in answer.body


async def test_unknown_command_in_room_is_ignored_but_answered_in_dm(conv):
    assert await conv.say(ALICE, "!remindme in 5 minutes", ROOM) == []
    conv.chat.add_room("!dm:test", [ALICE])
    answer = await conv.reply(ALICE, "blah", "!dm:test")
    assert "kenne ich nicht" in answer.body


async def test_no_prefix_needed_in_direct_chat(conv):
    conv.chat.add_room("!dm:test", [ALICE])
    answer = await conv.reply(ALICE, "hilfe", "!dm:test")
    assert "Das kann ich" in answer.body


async def test_plain_text_in_group_room_is_not_a_command(conv):
    assert await conv.say(ALICE, "hilfe", ROOM) == []


async def test_organiser_only_refusal_names_who_may(conv):
    answer = await conv.reply(ALICE, "!raum orga", ROOM)
    assert "Organisator*innen" in answer.body
    answer = await conv.reply(ORGA, "!raum orga", ROOM)  # an organiser, but the role is founded by an admin
    assert "Admin-Person" in answer.body
    answer = await conv.reply("@admin:test", "!raum orga", ROOM)
    assert "Orga-Raum" in answer.body
    shown = await conv.reply(ALICE, "!raum", ROOM)
    assert "Orga-Raum" in shown.body


async def test_admin_from_config_is_organiser_everywhere(conv):
    answer = await conv.reply("@admin:test", "!raum awareness", ROOM)
    assert "Awareness-Team" in answer.body


async def test_room_creator_v12_counts_as_organiser(conv):
    conv.chat.rooms[ROOM].creators.append(BOB)  # level 0 in power_levels, as nio reports
    answer = await conv.reply(BOB, "!raum willkommen", ROOM)
    assert "Willkommensraum" in answer.body


async def test_bad_argument_gets_one_sentence_and_usage(conv):
    answer = await conv.reply(ORGA, "!raum sprache klingonisch", ROOM)
    assert answer.body.startswith("„klingonisch“ ist keine Sprache")
    assert "So geht's: !raum sprache <de|en>" in answer.body


async def test_user_text_is_escaped_and_cannot_ping_room(conv):
    answer = await conv.reply(ORGA, "!raum sprache <b>@room</b>", ROOM)
    assert "<b>" not in answer.html
    assert "&lt;b&gt;" in answer.html
    assert "@room" not in answer.body
    assert answer.content["m.mentions"] == {}


async def test_rate_limit_one_notice_then_silence(conv):
    answers = []
    for _ in range(13):
        answers.append(await conv.say(BOB, "!raum", ROOM))
    assert all(len(a) == 1 for a in answers[:10])
    assert "Langsam" in answers[10][0].body
    assert answers[11] == [] and answers[12] == []


async def test_same_event_twice_is_answered_once(conv):
    ev = conv.event(ALICE, "!hilfe", ROOM)
    await conv.deliver(ev)
    assert await conv.deliver(ev) == []


async def test_old_command_after_downtime_is_not_answered(conv):
    ev = conv.event(ALICE, "!hilfe", ROOM, ts=conv.clock.now() - timedelta(minutes=16))
    assert await conv.deliver(ev) == []
    ev = conv.event(ALICE, "!hilfe", ROOM, ts=conv.clock.now() - timedelta(minutes=14))
    assert len(await conv.deliver(ev)) == 1


async def test_events_from_before_join_are_ignored(conv):
    await conv.app.pipeline.room_joined(ROOM, conv.clock.now())
    ev = conv.event(ALICE, "!hilfe", ROOM, ts=conv.clock.now() - timedelta(minutes=1))
    assert await conv.deliver(ev) == []


async def test_notices_and_own_messages_are_ignored(conv):
    assert await conv.say(ALICE, "!hilfe", ROOM, msgtype="m.notice") == []
    assert await conv.say(conv.chat.own_user_id, "!hilfe", ROOM) == []


async def test_reply_survives_failed_send_without_duplicate(conv):
    conv.chat.fail_sends = 1
    conv.app.delivery.RETRY_BASE = 3600
    ev = conv.event(ALICE, "!hilfe", ROOM)
    other = conv.event(BOB, "!hilfe", ROOM_EN)
    await conv.app.pipeline.handle(ev)
    await conv.app.pipeline.handle(other)
    await conv.app.delivery.flush()  # the first fails; the other room is not held up
    assert len(conv.chat.replies_to(other.event_id)) == 1
    assert conv.chat.replies_to(ev.event_id) == []
    conv.app.delivery._not_before.clear()  # as if the backoff had passed
    await conv.app.delivery.flush()
    await conv.app.delivery.flush()
    assert len(conv.chat.replies_to(ev.event_id)) == 1


async def test_mydata_and_forget_with_confirmation(conv):
    conv.chat.add_room("!dm:test", [ALICE])
    await conv.reply(ALICE, "hilfe", "!dm:test")  # the bot now remembers the direct chat
    shown = await conv.reply(ALICE, "meinedaten", "!dm:test")
    assert "Direktchat" in shown.body
    refused = await conv.reply(ALICE, "vergessen bestätigen", "!dm:test")
    assert "nichts zu bestätigen" in refused.body
    asked = await conv.reply(ALICE, "vergessen", "!dm:test")
    assert "bestätigen" in asked.body
    done = await conv.reply(ALICE, "vergessen bestätigen", "!dm:test")
    assert "Direktchat" in done.body
    assert await conv.app.dms.get(ALICE) is None


async def test_every_message_key_exists_in_both_languages(conv):
    i18n = conv.app.i18n
    assert i18n.keys["de"] == i18n.keys["en"], (i18n.keys["de"] ^ i18n.keys["en"])
    for cmd in conv.app.dispatcher.registry.commands:
        assert i18n.has("de", "help." + cmd.key) and i18n.has("en", "help." + cmd.key), cmd.key


async def test_an_edited_command_is_not_run_again(conv):
    conv.chat.add_room("!dm:test", [ALICE])
    edit = {"msgtype": "m.text", "body": "* hilfe", "m.new_content": {"msgtype": "m.text", "body": "hilfe"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}
    assert await conv.say(ALICE, "* hilfe", "!dm:test", content=edit) == []


def test_an_oversized_message_still_fits_into_one_event():
    import json

    from bot.render import message_content, plain

    content = message_content(plain("<b>x</b> " * 50_000))
    assert len(json.dumps(content).encode()) < 64 * 1024
    assert content["body"].endswith("…") and "formatted_body" not in content


async def test_one_flush_sends_more_than_a_page_of_replies(conv):
    """A backlog bigger than one outbox page (e.g. many reminders due at once) goes out at once."""
    conv.app.delivery.PAGE = 3
    events = [conv.event(ALICE, "!hilfe", ROOM) for _ in range(7)]
    for ev in events:
        await conv.app.pipeline.handle(ev)
    assert await conv.app.delivery.flush() == 7
    assert all(len(conv.chat.replies_to(ev.event_id)) == 1 for ev in events)


async def test_old_chat_in_a_direct_chat_gets_no_unknown_command_answer(conv):
    """After downtime, plain messages in a direct chat are old news, not commands to refuse."""
    conv.chat.add_room("!dm:test", [ALICE])
    ev = conv.event(ALICE, "danke dir!", "!dm:test", ts=conv.clock.now() - timedelta(minutes=16))
    assert await conv.deliver(ev) == []


async def test_a_given_up_message_does_not_keep_delivery_polling(conv):
    conv.chat.fail_sends = conv.app.delivery.MAX_ATTEMPTS
    conv.app.delivery.RETRY_BASE = 0
    await conv.app.pipeline.handle(conv.event(ALICE, "!hilfe", ROOM))
    for _ in range(conv.app.delivery.MAX_ATTEMPTS):
        await conv.app.delivery.flush()
    assert await conv.app.delivery.outbox.pending() == []  # given up after the last attempt
    assert conv.app.delivery._not_before == {}  # so the loop goes back to its long wait


async def test_help_for_a_command_with_one_name_does_not_offer_itself(conv):
    answer = await conv.reply(ALICE, "!help alt", ROOM)
    assert "Auch als" not in answer.body
