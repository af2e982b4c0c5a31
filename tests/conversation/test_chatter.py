"""Issue 15, item 1: people talking in a room cost no database write; commands stay exactly-once."""
from __future__ import annotations

from storage.core import event_key
from tests import backend

from tests.conversation.conftest import ALICE, BOB, ROOM
from tests.conversation.test_posts_fakes import ANNA, pconv  # noqa: F401
from tests.conversation.test_posts_mirror import NEWS, news_room


def writes(conv) -> int | None:
    """Rows SQLite changed so far (PostgreSQL has no such counter: there the row counts must do)."""
    return None if backend.postgres() else conv.app.db.writer.total_changes


async def rows(conv) -> int:
    return await conv.app.db.fetchval("SELECT COUNT(*) FROM handled_events")


async def test_chat_that_is_no_command_writes_nothing(conv):
    await conv.app.delivery.flush()  # its first run stores the install's transaction-id salt
    before, changes = await rows(conv), writes(conv)
    talk = [conv.event(ALICE, "Hallo zusammen, wer bringt Kuchen mit?", ROOM),
            conv.event(BOB, "!weather Berlin", ROOM),  # another bot's command
            conv.event(BOB, "ein Bild", ROOM, msgtype="m.image"),
            conv.event(BOB, "* Kuchen", ROOM, content={"msgtype": "m.text", "body": "* Kuchen", "m.new_content": {
                "msgtype": "m.text", "body": "Kuchen"}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}})]
    assert await conv.app.pipeline.handle_batch({ROOM: talk}) == 0  # so the runner need not store the position
    await conv.app.delivery.flush()
    assert conv.chat.sent == []
    assert await rows(conv) == before
    assert writes(conv) == changes


async def test_a_command_is_still_marked_and_answered_once_after_a_replay(conv):
    ev = conv.event(ALICE, "!umfragen", ROOM)
    assert await conv.app.pipeline.handle_batch({ROOM: [ev]}) == 1
    await conv.app.delivery.flush()
    assert await conv.app.pipeline.handled.seen(ev.event_id)
    await conv.deliver(ev)  # the same event again, as after a crash before the sync position was stored
    assert len(conv.chat.replies_to(ev.event_id)) == 1
    assert await conv.app.db.fetchval("SELECT COUNT(*) FROM handled_events WHERE event_id = ?",
                                      (event_key(ev.event_id),)) == 1  # recorded as a digest (issue 11)


async def test_in_a_direct_chat_plain_text_is_still_a_command(conv):
    dm = "!dm-alice:test"
    conv.chat.add_room(dm, [ALICE])
    ev = conv.event(ALICE, "hilfe", dm)
    await conv.deliver(ev)
    assert len(conv.chat.replies_to(ev.event_id)) == 1
    assert await conv.app.pipeline.handled.seen(ev.event_id)


async def test_the_announcements_room_is_still_read(pconv):  # noqa: F811
    await news_room(pconv)
    ev = pconv.event(ANNA, "Samstag Infostand am Markt", NEWS)
    sent = await pconv.deliver(ev)
    assert sent and "#1" in sent[0].body
    assert await pconv.app.pipeline.handled.seen(ev.event_id)


async def test_a_reaction_to_chat_writes_nothing(conv):
    await conv.app.delivery.flush()
    before, changes = await rows(conv), writes(conv)
    talk = conv.event(ALICE, "Wer kommt mit?", ROOM)
    like = conv.event(BOB, "", ROOM, type="m.reaction", content={
        "m.relates_to": {"rel_type": "m.annotation", "event_id": talk.event_id, "key": "👍"}})
    assert await conv.app.pipeline.handle_batch({ROOM: [talk, like]}) == 0
    assert await rows(conv) == before and writes(conv) == changes
