"""Property (issue 11): over every registered command and alias spelling, any text either succeeds or gets a
user error; no internal error; every event the bot sends fits into 65,536 bytes, and none is refused.

Beside tests/conversation/test_robustness.py, with huge inputs: tens of thousands of emoji, long lines,
thousands of items; senders member and organiser; a group room and direct chats.
"""
from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bot.eventsize import CONTENT_BUDGET, MAX_EVENT_BYTES, wire_size
from tests.conversation.conftest import ALICE, ORGA, ROOM
from tests.conversation.safespace_setup import dm
from tests.conversation.test_robustness import ARGS, LINES

EMOJI = "\U0001f600"
HUGE = st.sampled_from([
    EMOJI * 10_000, EMOJI * 15_000, "x" * 60_000, "ä" * 25_000, "Wort " * 11_000, "@room @ROOM " * 4_000,
    " | ".join(["Option"] * 3_000), " | ".join(f"{i} " + EMOJI * 200 for i in range(60)),
    "<b>" * 15_000, "1=5 " * 12_000, "morgen 18 Uhr | " * 3_000,
])
HUGE_LINES = st.sampled_from([
    "\n".join(f"- Punkt {i}" for i in range(3_000)),
    "\n".join("- " + EMOJI * 300 for _ in range(40)),
    "\n".join(f"- {i}" + "ü" * 2_000 for i in range(20)),
    "until: " + "x" * 30_000,
    "cw: " + EMOJI * 12_000,
])
INTERNAL_ERROR = ("Da ist bei mir etwas schiefgegangen", "Something went wrong on my side")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
async def test_any_input_to_any_command_fits_and_never_crashes(conv, data):
    chat = conv.chat
    for user in (ALICE, ORGA):
        if dm(user) not in chat.rooms:
            chat.add_room(dm(user), [user])
    conv.app.dispatcher.limiter.check = lambda user: "ok"
    cmd = data.draw(st.sampled_from(conv.app.dispatcher.registry.commands))
    spelling = " ".join(data.draw(st.sampled_from(cmd.names)))
    sender = data.draw(st.sampled_from([ALICE, ORGA]))
    room = data.draw(st.sampled_from([ROOM, dm(sender)]))
    body = "!" + spelling + " " + data.draw(st.one_of(HUGE, ARGS, st.tuples(ARGS, HUGE).map(" ".join)))
    more = data.draw(st.one_of(LINES.map("\n".join), HUGE_LINES))
    if more:
        body += "\n" + more
    assume(len(body.encode()) < MAX_EVENT_BYTES - 2_000)  # what a member can send at all
    before_sent, before_sizes = len(chat.sent), len(chat.sizes)
    await conv.say(sender, body, room)
    for message in chat.sent[before_sent:]:
        assert not message.body.startswith(INTERNAL_ERROR), (body[:200], message.body)
        assert wire_size(message.content) <= CONTENT_BUDGET, (body[:200], message.type)
    assert all(size <= MAX_EVENT_BYTES for size in chat.sizes[before_sizes:]), (body[:200], chat.sizes)
    refused = await conv.app.db.fetchall("SELECT id, type, failed FROM outbox WHERE failed IS NOT NULL")
    assert not refused, (body[:200], [tuple(r) for r in refused])
    pending = await conv.app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed IS NULL")
    assert pending == 0, body[:200]
