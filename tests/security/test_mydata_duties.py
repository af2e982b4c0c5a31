"""Issue 11, defect 10: !mydata lists the duty plan changes that name the person."""
from __future__ import annotations

from tests.conversation.test_duties_support import ALICE, ORGA, ROOM, duty_conv, minutes_duty, plan_rows  # noqa: F401

DM_ALICE = "!dm-alice:test"


async def test_mydata_counts_override_history_and_forget_anonymises_it(duty_conv):
    duty_conv.chat.add_room(DM_ALICE, [ALICE])
    await minutes_duty(duty_conv)
    rows = plan_rows((await duty_conv.reply(ORGA, "!dienst plan Protokoll 8", ROOM)).body)
    giver = rows[0][1][0]
    await duty_conv.reply(giver, "!dienst abgeben Protokoll", ROOM)
    await duty_conv.reply(ALICE, "!abwesend 1.12. 20.12.", ROOM)
    changes = await duty_conv.app.db.fetchval(
        "SELECT COUNT(*) FROM duty_overrides WHERE from_user = ? OR to_user = ?", (ALICE, ALICE))
    assert changes
    mine = await duty_conv.reply(ALICE, "meinedaten", DM_ALICE)
    wanted = (f"{changes} Änderung an Dienstplänen, in der du genannt bist" if changes == 1
              else f"{changes} Änderungen an Dienstplänen, in denen du genannt bist")
    assert wanted in mine.body, mine.body
    await duty_conv.reply(ALICE, "vergessen", DM_ALICE)
    await duty_conv.reply(ALICE, "vergessen ja", DM_ALICE)
    assert "Änderung" not in (await duty_conv.reply(ALICE, "meinedaten", DM_ALICE)).body
    assert await duty_conv.app.db.fetchval(
        "SELECT COUNT(*) FROM duty_overrides WHERE from_user = ? OR to_user = ?", (ALICE, ALICE)) == 0
