"""Issue 11, defect 10: `!duty plan X 26` named every assignee as a pill and pinged them all.
Plans and lists name people; only reminders (and news of a moved turn) notify."""
from __future__ import annotations

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM


async def _pool(conv) -> None:
    await conv.reply(ORGA, "!dienst anlegen Kasse | jeden Dienstag 18 Uhr", ROOM)
    for user in (ALICE, BOB, CAROL):
        await conv.reply(user, "!dienst mitmachen Kasse", ROOM)


async def test_a_long_plan_names_everyone_and_pings_nobody(conv):
    await _pool(conv)
    answer = await conv.reply(ALICE, "!dienst plan Kasse 26", ROOM)
    assert all(user in answer.body for user in (ALICE, BOB, CAROL))
    assert answer.mentions == []
    assert "matrix.to" not in answer.html and "<a " not in answer.html


async def test_the_duty_list_pings_nobody_either(conv):
    await _pool(conv)
    answer = await conv.reply(BOB, "!dienste", ROOM)
    assert ALICE in answer.body
    assert answer.mentions == [] and "matrix.to" not in answer.html
