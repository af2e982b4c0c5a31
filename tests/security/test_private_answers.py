"""Issue 11, defect 2: !mydata and !forget typed in a group room are answered in the direct chat."""
from __future__ import annotations

import pytest

from tests.conversation.safespace_setup import ALICE, AWARE, ROOM, dm, start


@pytest.fixture
async def conv(tmp_path):
    c = await start(tmp_path)
    await c.reply(ALICE, "melden Mir geht es nicht gut", dm(ALICE))
    yield c
    await c.app.db.close()


@pytest.mark.parametrize("command", ["!meinedaten", "!mydata"])
async def test_mydata_in_a_group_room_goes_to_the_direct_chat(conv, command):
    before = len(conv.chat.in_room(dm(ALICE)))
    answer = await conv.reply(ALICE, command, ROOM)
    assert answer.room_id == ROOM
    assert "Direktchat geantwortet" in answer.body
    assert "Meldung" not in answer.body and "gespeichert" not in answer.body
    [private] = conv.chat.in_room(dm(ALICE))[before:]
    assert "Das habe ich über dich gespeichert" in private.body and "1 Meldung" in private.body
    assert private.reply_to is None  # a reply would point at an event of another room


async def test_forget_in_a_group_room_asks_and_answers_in_the_direct_chat(conv):
    before = len(conv.chat.in_room(dm(ALICE)))
    asked = await conv.reply(ALICE, "!vergessen", ROOM)
    assert "Direktchat geantwortet" in asked.body and "Sicher?" not in asked.body
    assert "Sicher?" in conv.chat.in_room(dm(ALICE))[-1].body
    done = await conv.reply(ALICE, "!vergessen ja", ROOM)
    assert "Direktchat geantwortet" in done.body and "Meldung" not in done.body
    private = conv.chat.in_room(dm(ALICE))[before:]
    assert len(private) == 2 and "Erledigt" in private[-1].body and "Meldung" in private[-1].body
    # nothing of it in the room beyond the two notes
    assert [s.body for s in conv.chat.in_room(ROOM)][-2:] == [asked.body, done.body]


async def test_confirm_in_the_room_after_asking_in_the_direct_chat(conv):
    await conv.reply(ALICE, "vergessen", dm(ALICE))
    done = await conv.reply(ALICE, "!forget confirm", ROOM)
    assert "Direktchat" in done.body and "Erledigt" in conv.chat.in_room(dm(ALICE))[-1].body


async def test_in_the_direct_chat_the_answer_is_a_reply_there(conv):
    answer = await conv.reply(ALICE, "meinedaten", dm(ALICE))
    assert answer.room_id == dm(ALICE) and "1 Meldung" in answer.body


async def test_without_a_known_direct_chat_one_is_opened(conv):
    async with conv.app.db.transaction():
        await conv.app.dms.forget(ALICE)
    conv.chat.actions.clear()
    answer = await conv.reply(ALICE, "!meinedaten", ROOM)
    assert "Direktchat geantwortet" in answer.body
    assert ("dm", ALICE) in conv.chat.actions
    assert "gespeichert" in conv.chat.in_room(dm(ALICE))[-1].body
    assert not [s for s in conv.chat.in_room(AWARE) if "gespeichert" in s.body]


async def test_english_room_gets_the_english_note(conv):
    await conv.reply("@orga:test", "!raum sprache en", ROOM)
    answer = await conv.reply(ALICE, "!mydata", ROOM)
    assert answer.body == "I've answered you in our direct chat."


async def test_forget_typed_in_a_second_direct_chat_clears_both(conv):
    second = "!dm2-alice:test"
    conv.chat.add_room(second, [ALICE])
    await conv.reply(ALICE, "schutzraum", second)  # an ordinary answer there; dm_rooms keeps the first
    await conv.reply(ALICE, "vergessen", second)
    await conv.reply(ALICE, "vergessen ja", second)
    rows = [tuple(r) for r in await conv.app.db.fetchall("SELECT room_id, to_user FROM outbox")]
    assert not [r for r in rows if dm(ALICE) in r or second in r or ALICE in r], rows


async def test_forget_typed_in_a_room_before_any_direct_chat_does_not_record_one_again(tmp_path):
    """Review finding: !vergessen and the confirmation handled in one batch, before the prompt opened a
    direct chat: the answer opened one and wrote the person back into dm_rooms."""
    from tests.fakes import FakeChat, start_conversation

    chat = FakeChat()
    chat.add_room("!g:test", ["@u:test", "@v:test"], name="Gruppe")
    conv = await start_conversation(tmp_path, chat)
    try:
        first = conv.event("@u:test", "!vergessen", "!g:test")
        second = conv.event("@u:test", "!vergessen bestätigen", "!g:test")
        await conv.app.pipeline.handle(first)
        await conv.app.pipeline.handle(second)  # before delivery ran: no direct chat is known yet
        await conv.app.delivery.flush()
        assert "gelöscht" in conv.chat.replies_to(second.event_id)[0].body
        assert await conv.app.dms.get("@u:test") is None
    finally:
        await conv.app.db.close()
