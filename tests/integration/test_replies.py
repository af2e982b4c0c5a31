"""Commands sent as Matrix replies and fixed by edits, against a real Synapse with real nio clients.

The reply is what Element sent before MSC2781: the quoted message in `body` (`> <@bot> …` lines,
a blank line, then the command) and an `<mx-reply>` block in `formatted_body`, plus the relation.
"""
from __future__ import annotations

from nio import AsyncClient, RoomMessageNotice, RoomSendResponse

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import wait_for
from tests.integration.test_bot import FILTER, make_room, reply_target, send


def fallback_reply(room: str, target, text: str) -> dict:
    quoted = target.body.split("\n")
    body = "\n".join([f"> <{target.sender}> {quoted[0]}", *[f"> {line}" for line in quoted[1:]], "", text])
    html = (f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{target.event_id}">In reply to</a> '
            f'<a href="https://matrix.to/#/{target.sender}">{target.sender}</a><br>'
            f'{"<br>".join(quoted)}</blockquote></mx-reply>{text}')
    return {"msgtype": "m.text", "body": body, "format": "org.matrix.custom.html", "formatted_body": html,
            "m.relates_to": {"m.in_reply_to": {"event_id": target.event_id}}}


async def answer_to(client: AsyncClient, room: str, bot_id: str, event_id: str, timeout: float = 30):
    return await wait_for(client, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                          and e.sender == bot_id and reply_target(e) == event_id, timeout=timeout)


async def vote_by_reply(alice: AsyncClient, bob: AsyncClient, bot, room: str, **send_kw) -> None:
    cmd = await send(alice, room, "!umfrage Mittagessen? | Pizza | Sushi", **send_kw)
    table = await answer_to(alice, room, bot.user_id, cmd)
    await bob.sync(timeout=0, sync_filter=FILTER)
    resp = await bob.room_send(room, "m.room.message", fallback_reply(room, table, "!abstimmen 1 2"), **send_kw)
    assert isinstance(resp, RoomSendResponse), resp
    answer = await answer_to(alice, room, bot.user_id, resp.event_id)
    assert answer.body == "Deine Stimme für #1: 2. Sushi."


async def test_vote_sent_as_a_reply_with_the_quote_fallback_is_counted(bot_factory, matrix_user):
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id])
    await bob.join(room)
    await vote_by_reply(alice, bob, bot, room)
    assert bot.stop() == 0


async def test_vote_by_reply_in_an_encrypted_room(bot_factory, matrix_user):
    alice, bob = await matrix_user("alice", e2e=True), await matrix_user("bob", e2e=True)
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, encrypted=True, invite=[bob.user_id])
    await bob.join(room)
    for client in (alice, bob):
        await client.sync(timeout=0, sync_filter=FILTER)
        await client.keys_query()
    await vote_by_reply(alice, bob, bot, room, ignore_unverified_devices=True)
    assert bot.stop() == 0


async def test_typo_fixed_by_an_edit_is_answered_on_the_original(bot_factory, matrix_user):
    alice = await matrix_user("alice")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id)
    typo = await send(alice, room, "!hlife")
    hint = await answer_to(alice, room, bot.user_id, typo)
    assert "!hilfe" in hint.body
    resp = await alice.room_send(room, "m.room.message", {
        "msgtype": "m.text", "body": "* !hilfe", "m.new_content": {"msgtype": "m.text", "body": "!hilfe"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": typo}})
    assert isinstance(resp, RoomSendResponse), resp
    answer = await wait_for(alice, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                            and e.sender == bot.user_id and "Das kann ich" in e.body, timeout=30)
    assert reply_target(answer) == typo
    assert bot.stop() == 0


async def test_reply_vote_with_a_typo_fixed_by_editing_the_reply(bot_factory, matrix_user):
    """Element's edit of a reply: the new content without the quote, the outer body "* …"."""
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    bot = bot_factory(admins=[alice.user_id])
    room = await make_room(alice, bot.user_id, invite=[bob.user_id])
    await bob.join(room)
    cmd = await send(alice, room, "!umfrage Mittagessen? | Pizza | Sushi")
    table = await answer_to(alice, room, bot.user_id, cmd)
    resp = await bob.room_send(room, "m.room.message", fallback_reply(room, table, "!abstimmen 1 7"))
    assert isinstance(resp, RoomSendResponse), resp
    error = await answer_to(alice, room, bot.user_id, resp.event_id)
    assert "Sushi" not in error.body
    edit = await bob.room_send(room, "m.room.message", {
        "msgtype": "m.text", "body": "* !abstimmen 1 2", "m.new_content": {"msgtype": "m.text", "body": "!abstimmen 1 2"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": resp.event_id}})
    assert isinstance(edit, RoomSendResponse), edit
    answer = await wait_for(alice, lambda r, e: r == room and isinstance(e, RoomMessageNotice)
                            and e.sender == bot.user_id and e.body.startswith("Deine Stimme"), timeout=30)
    assert answer.body == "Deine Stimme für #1: 2. Sushi." and reply_target(answer) == resp.event_id
    assert bot.stop() == 0
