"""Conversation tests for the announcements room (mirroring) and relayed mentions."""
from __future__ import annotations

from datetime import timedelta

from bot.ports import AuthError, RetryableError
from tests.conversation.test_posts_fakes import (ADMIN, ANNA, BEN, MIA, ORGA, PLAIN, image_event,  # noqa: F401
                                                 open_conversation, pconv, settle)

NEWS = "!news:test"


async def news_room(conv, account: str = "main") -> None:
    conv.chat.add_room(NEWS, [ANNA, BEN, MIA, ADMIN], power={ANNA: 50, BEN: 50}, name="Neuigkeiten")
    answer = await conv.reply("@admin:test", f"!raum ankündigungen {account}", NEWS)
    assert "Ankündigungen" in answer.body


async def test_organisers_messages_in_the_announcements_room_become_posts(pconv):
    await news_room(pconv)
    msg = pconv.event(ANNA, "Am Samstag sind wir mit einem Stand auf dem Wochenmarkt!", NEWS)
    sent = await pconv.deliver(msg)
    assert [s.room_id for s in sent] == [ORGA]  # discussed in the organisers room, the news room stays clean
    assert "Neuer Beitrag #1 aus dem Ankündigungsraum „Neuigkeiten“" in sent[0].body
    assert "Vorschau für das Konto main" in sent[0].body and "Wochenmarkt" in sent[0].body
    answer = await pconv.reply(ANNA, "!freigeben 1", ORGA)
    assert "Den eigenen Beitrag" in answer.body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    sent = await settle(pconv)
    [status] = pconv.pub.live()
    assert status["text"] == "Am Samstag sind wir mit einem Stand auf dem Wochenmarkt!"
    assert any(status["url"] in s.body and s.room_id == ORGA for s in sent)


async def test_members_commands_and_notices_are_not_mirrored(pconv):
    await news_room(pconv)
    assert await pconv.say(MIA, "Ich komme auch!", NEWS) == []
    assert await pconv.say(ANNA, "!unbekannt für einen anderen Bot", NEWS) == []
    assert await pconv.say(ANNA, "Nur ein Hinweis", NEWS, msgtype="m.notice") == []
    assert "keine Beiträge" in (await pconv.reply(ANNA, "!beiträge", ORGA)).body


async def test_a_safe_space_is_never_mirrored(pconv):
    await news_room(pconv)
    async with pconv.app.db.transaction():
        await pconv.app.rooms.set_role(NEWS, "safespace")
    assert await pconv.say(ANNA, "Vertraulich", NEWS) == []
    assert "keine Beiträge" in (await pconv.reply(ANNA, "!beiträge", ORGA)).body


async def test_admin_can_waive_approval_for_the_room(pconv):
    await news_room(pconv)
    answer = await pconv.reply(ANNA, "!ankündigungen direkt ja", NEWS)
    assert "dürfen nur die Admins" in answer.body
    answer = await pconv.reply(ADMIN, "!ankündigungen direkt ja", NEWS)
    assert "ohne Freigabe" in answer.body
    await pconv.say(ANNA, "Heute Abend Plenum, 19 Uhr.", NEWS)
    await settle(pconv)
    assert [s["text"] for s in pconv.pub.live()] == ["Heute Abend Plenum, 19 Uhr."]
    answer = await pconv.reply(ADMIN, "!announcements direct no", NEWS)
    assert "wieder eine Freigabe" in answer.body
    await pconv.say(ANNA, "Morgen auch.", NEWS)
    await settle(pconv)
    assert len(pconv.pub.statuses) == 1


async def test_direct_needs_the_announcements_role(pconv):
    answer = await pconv.reply(ADMIN, "!ankündigungen direkt ja", ORGA)
    assert "nur im Ankündigungsraum" in answer.body


async def test_picture_with_caption_from_the_announcements_room_needs_alt_text(pconv):
    await news_room(pconv)
    content = {"msgtype": "m.image", "body": "Unser Stand", "filename": "stand.jpg", "url": "mxc://test/stand",
               "info": {"mimetype": "image/jpeg"}}
    sent = await pconv.say(ANNA, "Unser Stand", NEWS, msgtype="m.image", content=content)
    assert "Bild 1: noch ohne Alternativtext – !alt 1 1" in sent[0].body
    answer = await pconv.reply(BEN, "!alt 1 1 Zwei Menschen an einem Infostand", ORGA)
    assert "Braucht noch 1 Freigabe" in answer.body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    [status] = pconv.pub.live()
    assert status["text"] == "Unser Stand"
    assert status["media"][0]["description"] == "Zwei Menschen an einem Infostand"


async def test_editing_a_mirrored_message_edits_the_post(pconv):
    await news_room(pconv)
    msg = pconv.event(ANNA, "Treffen um 18 Uhr", NEWS)
    await pconv.deliver(msg)
    content = {"msgtype": "m.text", "body": "* Treffen um 19 Uhr", "m.new_content": {"body": "Treffen um 19 Uhr"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": msg.event_id}}
    sent = await pconv.say(ANNA, content["body"], NEWS, content=content)
    assert sent[0].room_id == ORGA and "Beitrag #1 geändert" in sent[0].body and "19 Uhr" in sent[0].body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    assert [s["text"] for s in pconv.pub.live()] == ["Treffen um 19 Uhr"]


async def test_editing_a_published_mirrored_message_names_the_state_in_the_rooms_language(pconv):
    await news_room(pconv)
    msg = pconv.event(ANNA, "Treffen um 18 Uhr", NEWS)
    await pconv.deliver(msg)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    content = {"msgtype": "m.text", "body": "* Treffen um 19 Uhr", "m.new_content": {"body": "Treffen um 19 Uhr"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": msg.event_id}}
    sent = await pconv.say(ANNA, content["body"], NEWS, content=content)
    assert [s.room_id for s in sent] == [ORGA]
    assert "lässt sich nicht mehr ändern (Stand: veröffentlicht)" in sent[0].body


async def test_redacting_a_mirrored_message_cancels_the_post(pconv):
    await news_room(pconv)
    msg = pconv.event(ANNA, "Doch nicht", NEWS)
    await pconv.deliver(msg)
    sent = await pconv.say(ANNA, "", NEWS, type="m.room.redaction", redacts=msg.event_id, content={})
    assert any(s.room_id == ORGA and "abgebrochen" in s.body for s in sent)


async def test_mentions_are_relayed_once_each_with_a_link(pconv):
    await pconv.reply(ANNA, "!beitrag Hallo", ORGA)
    pconv.pub.mention("anna@elsewhere.test", "@main Wann ist das <b>Treffen</b>? @room")
    sent = await settle(pconv, timedelta(minutes=2))
    [relayed] = [s for s in sent if "Nachricht an main" in s.body]
    assert relayed.room_id == ORGA
    assert "von anna@elsewhere.test" in relayed.body and "https://elsewhere.test/@anna@elsewhere.test/1" in relayed.body
    assert "<b>" not in relayed.html and "@room" not in relayed.body  # outside text is escaped, no room ping
    sent = await settle(pconv, timedelta(minutes=10))
    assert not [s for s in sent if "Nachricht an main" in s.body]


async def test_first_poll_does_not_dump_old_mentions(tmp_path):
    conv = await open_conversation(tmp_path)
    conv.pub.mention("old@elsewhere.test", "von vor dem Start")
    await conv.reply("@admin:test", "!raum orga", ORGA)
    sent = await settle(conv, timedelta(minutes=5))
    assert not [s for s in sent if "Nachricht an main" in s.body]
    conv.pub.mention("new@elsewhere.test", "neu")
    sent = await settle(conv, timedelta(minutes=2))
    assert [s.body.split(":")[0] for s in sent if "Nachricht an main" in s.body] == ["Nachricht an main von new@elsewhere.test"]
    await conv.feature.publishing.settle()
    await conv.app.db.close()


async def test_mentions_survive_a_failed_poll(pconv):
    await settle(pconv, timedelta(minutes=3))
    pconv.pub.mention("bob@elsewhere.test", "Hallo?")
    pconv.pub.mention_faults.append(RetryableError("read mentions: server error 503"))
    sent = await settle(pconv, timedelta(minutes=2))
    assert not [s for s in sent if "Nachricht an main" in s.body]
    sent = await settle(pconv, timedelta(minutes=2))
    assert len([s for s in sent if "Nachricht an main" in s.body]) == 1


async def test_rejected_token_while_polling_disables_the_account(pconv):
    pconv.pub.mention_faults.append(AuthError("read mentions: the access token was rejected (401)"))
    sent = await settle(pconv, timedelta(minutes=3))
    assert any(s.room_id.startswith("!dm-admin") and "main" in s.body for s in sent)
    pconv.pub.mention("x@y.test", "hallo")
    sent = await settle(pconv, timedelta(minutes=3))
    assert not [s for s in sent if "Nachricht an main" in s.body]
