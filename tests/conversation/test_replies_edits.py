"""Commands sent as Matrix replies (with the classic quote fallback) and commands fixed by editing them.

Events are built as a client sends them and read by the adapter's parser (bot/incoming.py), so the
fallback in `body` and the `<mx-reply>` block in `formatted_body` arrive as from a homeserver.
"""
from __future__ import annotations

from bot.incoming import incoming_from_source
from tests.conversation.conftest import ALICE, BOB, ORGA, ROOM, ROOM_EN
from tests.fakes import BOT


def reply_content(target: str, quoted_sender: str, quoted: str, text: str) -> dict:
    """What Element (before MSC2781) sends for a reply: fallback quote in body and formatted_body."""
    quote = "\n".join(f"> {'<' + quoted_sender + '> ' if i == 0 else ''}{line}"
                      for i, line in enumerate(quoted.split("\n")))
    html = (f'<mx-reply><blockquote><a href="https://matrix.to/#/{ROOM}/{target}">In reply to</a> '
            f'<a href="https://matrix.to/#/{quoted_sender}">{quoted_sender}</a><br>{quoted}</blockquote>'
            f'</mx-reply>{text}')
    return {"msgtype": "m.text", "body": f"{quote}\n\n{text}", "format": "org.matrix.custom.html",
            "formatted_body": html, "m.relates_to": {"m.in_reply_to": {"event_id": target}}}


def edit_content(target: str, text: str) -> dict:
    return {"msgtype": "m.text", "body": f"* {text}", "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


async def poll(conv, room: str = ROOM, body: str = "!umfrage Mittagessen? | Pizza | Sushi"):
    ev = conv.event(ALICE, body, room)
    sent = await conv.deliver(ev)
    return next(s for s in sent if s.reply_to == ev.event_id)


# ---------------------------------------------------------------- replies
async def test_vote_sent_as_reply_to_the_table_with_fallback_counts(conv):
    table = await poll(conv)
    ev, sent = await conv.send_content(BOB, ROOM, reply_content(table.event_id, BOT, table.body, "!abstimmen 1 2"))
    [answer] = [s for s in sent if s.reply_to == ev.event_id]
    assert answer.body == "Deine Stimme für #1: 2. Sushi."


async def test_vote_as_reply_in_english(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    table = await poll(conv, ROOM_EN, "!poll Lunch? | Pizza | Sushi")
    ev, sent = await conv.send_content(BOB, ROOM_EN, reply_content(table.event_id, BOT, table.body, "!vote 1 1"))
    [answer] = [s for s in sent if s.reply_to == ev.event_id]
    assert answer.body == "Your vote in #1: 1. Pizza."


async def test_quoted_sender_of_a_reply_is_no_mention():
    content = reply_content("$t", "@carol:test", "Hallo", "!dienst tauschen Küche 3.12. @bob:test")
    ev = incoming_from_source(ROOM, {"type": "m.room.message", "event_id": "$e", "sender": ALICE,
                                     "origin_server_ts": 0, "content": content})
    assert ev.body == "!dienst tauschen Küche 3.12. @bob:test"
    assert ev.mentions == ()  # carol is only quoted; the fallback's link to her names nobody


async def test_fallback_without_a_relation_is_stripped_but_a_plain_quote_is_kept():
    def body_of(body: str) -> str:
        return incoming_from_source(ROOM, {"type": "m.room.message", "event_id": "$e", "sender": ALICE,
                                           "origin_server_ts": 0, "content": {"msgtype": "m.text", "body": body}}).body
    assert body_of("> <@plenum:test> 🗳 #1 Mittagessen?\n> 1 | Pizza\n\n!abstimmen 1 1") == "!abstimmen 1 1"
    assert body_of("> ein Zitat\nmeine Antwort") == "> ein Zitat\nmeine Antwort"


# ---------------------------------------------------------------- edits
async def test_typo_fixed_by_editing_is_handled_as_the_command(conv):
    await poll(conv)
    typo = conv.event(BOB, "!abstimen 1 2", ROOM)
    first = await conv.deliver(typo)
    assert first and first[0].reply_to == typo.event_id  # the near-miss hint
    _, sent = await conv.send_content(BOB, ROOM, edit_content(typo.event_id, "!abstimmen 1 2"))
    [answer] = [s for s in sent if s.reply_to]
    assert answer.body == "Deine Stimme für #1: 2. Sushi."
    assert answer.reply_to == typo.event_id  # answered where the command stands
    assert any("1 Stimme abgegeben." in s.content.get("m.new_content", {}).get("body", "") for s in sent)


async def test_command_that_failed_is_retried_by_its_edit_and_later_edits_are_not_applied(conv):
    await poll(conv)
    wrong = conv.event(BOB, "!abstimmen 1 7", ROOM)
    [error] = await conv.deliver(wrong)
    assert "7" in error.body and "Sushi" not in error.body
    _, fixed = await conv.send_content(BOB, ROOM, edit_content(wrong.event_id, "!abstimmen 1 1"))
    assert [s.body for s in fixed if s.type == "m.room.message" and s.reply_to] == ["Deine Stimme für #1: 1. Pizza."]
    _, again = await conv.send_content(BOB, ROOM, edit_content(wrong.event_id, "!abstimmen 1 2"))
    assert len(again) == 1 and again[0].reply_to == wrong.event_id
    assert again[0].body.startswith("Diesen Befehl hatte ich schon ausgeführt")
    _, third = await conv.send_content(BOB, ROOM, edit_content(wrong.event_id, "!abstimmen 1 2"))
    assert third == []  # said once
    standing = await conv.reply(ALICE, "!ergebnis 1", ROOM)
    assert "bob" in next(line for line in standing.body.split("\n") if line.startswith("1 "))


async def test_edit_of_a_done_command_in_english_says_so_once(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await poll(conv, ROOM_EN, "!poll Lunch? | Pizza | Sushi")
    vote = conv.event(BOB, "!vote 1 1", ROOM_EN)
    await conv.deliver(vote)
    _, foreign = await conv.send_content(ALICE, ROOM_EN, edit_content(vote.event_id, "!vote 1 2"))
    assert foreign == []  # not alice's command: nothing to tell her
    _, sent = await conv.send_content(BOB, ROOM_EN, edit_content(vote.event_id, "!vote 1 2"))
    assert [s.body for s in sent] == ["I had already carried out this command; editing it changes nothing. "
                                      "Please send the changed command as a new message."]
    wrong = conv.event(BOB, "!vote 1 9", ROOM_EN)
    await conv.deliver(wrong)
    _, fixed = await conv.send_content(BOB, ROOM_EN, edit_content(wrong.event_id, "!vote 1 2"))
    assert [s.body for s in fixed if s.reply_to] == ["Your vote in #1: 2. Sushi."]


async def test_plain_message_edited_into_a_command_runs_it_and_an_edit_by_someone_else_does_not(conv):
    await poll(conv)
    chat = conv.event(BOB, "ich bin für Pizza", ROOM)
    assert await conv.deliver(chat) == []
    _, foreign = await conv.send_content(ALICE, ROOM, edit_content(chat.event_id, "!abstimmen 1 2"))
    assert foreign == []  # only the author's own edit counts
    _, sent = await conv.send_content(BOB, ROOM, edit_content(chat.event_id, "!abstimmen 1 1"))
    assert [s.body for s in sent if s.reply_to] == ["Deine Stimme für #1: 1. Pizza."]


async def test_edit_that_is_no_command_stays_silent(conv):
    typo = conv.event(BOB, "!abstimen 1 2", ROOM)
    await conv.deliver(typo)
    _, sent = await conv.send_content(BOB, ROOM, edit_content(typo.event_id, "ach, egal"))
    assert sent == []


async def test_edit_is_handled_once_even_if_delivered_twice(conv):
    await poll(conv)
    typo = conv.event(BOB, "!abstimen 1 2", ROOM)
    await conv.deliver(typo)
    edit = conv.matrix_event(BOB, ROOM, edit_content(typo.event_id, "!abstimmen 1 2"))
    assert len(await conv.deliver(edit)) >= 1
    assert await conv.deliver(edit) == []
