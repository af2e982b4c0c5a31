"""Issue 11, defect 5: a typed `!abstimmen` was stored with the time the bot handled it, native
responses and reactions with the event's server time. After downtime (or with a skewed bot
clock) an earlier typed vote beat a later click. Every vote now counts at its server timestamp."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.conftest import ALICE, BOB, ROOM
from tests.conversation.test_polls_decision import create, response
from tests.conversation.test_polls_meeting import create as create_meeting
from tests.conversation.test_polls_meeting import react

ONE, TWO = "1\ufe0f\u20e3", "2\ufe0f\u20e3"


async def _result(conv, number: int = 1) -> str:
    return (await conv.reply(ALICE, f"!ergebnis {number}", ROOM)).body


async def _counts(conv) -> dict[str, str]:
    """{option: votes} from the `!ergebnis` table ("1   | Pizza  | 1       | bob")."""
    cells = [[c.strip() for c in line.split("|")] for line in (await _result(conv)).split("\n") if "|" in line]
    return {c[1]: c[2] for c in cells if c[0].isdigit()}


async def test_a_click_after_the_typed_vote_wins_though_the_typed_vote_arrives_later(conv):
    start, _ = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    now = conv.clock.now()
    typed = conv.event(BOB, "!abstimmen 1 1", ROOM, ts=now - timedelta(minutes=5))
    await conv.deliver(response(conv, BOB, start.event_id, "2", ts=now - timedelta(minutes=2)))
    await conv.deliver(typed)  # held up (downtime, a slow sync): handled after the later click
    assert await _counts(conv) == {"Pizza": "0", "Sushi": "1"}


async def test_a_typed_vote_after_a_click_still_wins(conv):
    start, _ = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    now = conv.clock.now()
    typed = conv.event(BOB, "!abstimmen 1 1", ROOM, ts=now - timedelta(minutes=1))
    await conv.deliver(response(conv, BOB, start.event_id, "2", ts=now - timedelta(minutes=3)))
    await conv.deliver(typed)
    assert await _counts(conv) == {"Pizza": "1", "Sushi": "0"}


async def test_equal_times_are_decided_by_arrival(conv):
    start, _ = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    at = conv.clock.now() - timedelta(minutes=1)
    await conv.deliver(response(conv, BOB, start.event_id, "2", ts=at))
    await conv.deliver(conv.event(BOB, "!abstimmen 1 1", ROOM, ts=at))  # arrived last: counts
    assert await _counts(conv) == {"Pizza": "1", "Sushi": "0"}


async def test_a_date_poll_click_after_the_typed_answer_wins(conv):
    table, _ = await create_meeting(conv)
    now = conv.clock.now()
    typed = conv.event(BOB, "!abstimmen 1 2", ROOM, ts=now - timedelta(minutes=5))  # yes to 2 only
    click = react(conv, BOB, table.event_id, ONE)
    click = conv.event(BOB, "", ROOM, type="m.reaction", content=click.content, ts=now - timedelta(minutes=2))
    await conv.deliver(click)
    await conv.deliver(typed)
    stored = await conv.app.db.fetchval("SELECT ts FROM poll_votes WHERE voter = ?", (BOB,))
    assert stored == int(typed.ts.timestamp() * 1000)
    body = await _result(conv)
    first = next(line for line in body.split("\n") if line.lstrip("★ ").startswith("1 "))
    assert "bob" in first  # the later click on option 1 stands beside the earlier typed "2"


async def test_a_typed_vote_sent_after_the_deadline_is_refused(conv):
    await conv.reply(ALICE, "!umfrage Mittagessen? | Pizza | Sushi\nbis: heute 12 Uhr", ROOM)
    late = conv.event(BOB, "!abstimmen 1 1", ROOM, ts=conv.clock.now() + timedelta(hours=3))
    await conv.deliver(late)  # the bot's clock lags: the deadline job has not run yet
    answer = conv.chat.replies_to(late.event_id)[0]
    assert "geschlossen" in answer.body or "beendet" in answer.body, answer.body
