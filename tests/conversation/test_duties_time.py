"""Duties over time: restarts lose nothing, work due during downtime runs once, 18:00 stays 18:00 across DST."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.conversation.test_duties_support import (ALICE, BERLIN, BOB, ORGA, ROOM, advance_to, duty_conv,  # noqa: F401
                                                    local, make_chat, minutes_duty, plan_rows, restart)
from tests.fakes import start_conversation


async def test_plan_and_jobs_survive_a_restart(duty_conv, tmp_path):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    before = plan_rows((await duty_conv.reply(ORGA, "!dienst plan Protokoll 6", ROOM)).body)
    conv = await restart(duty_conv, tmp_path)
    after = plan_rows((await conv.reply(ORGA, "!dienst plan Protokoll 6", ROOM)).body)
    assert after == before
    sent = await conv.advance(timedelta(minutes=1)) + await advance_to(conv, local(2026, 11, 23, 18, 1))
    assert [s.mentions for s in sent if s.body.startswith(("📋", "⏰"))] == [list(before[0][1])] * 2
    await conv.app.db.close()


async def test_reminder_due_during_downtime_is_sent_once(duty_conv, tmp_path):
    await minutes_duty(duty_conv, members=(ALICE,))
    await duty_conv.advance(timedelta(minutes=1))  # announced
    # down from Sunday until Tuesday 08:00; the reminder (Monday 18:00) fell due meanwhile
    conv = await restart(duty_conv, tmp_path, at=local(2026, 11, 24, 8))
    sent = await conv.advance(timedelta(0))
    assert [s.body for s in sent] == ["⏰ Erinnerung an @alice:test: Protokoll – Di., 24. Nov. 2026, 18:00."]
    assert await conv.advance(timedelta(minutes=5)) == []
    conv = await restart(conv, tmp_path)
    assert await conv.advance(timedelta(0)) == []  # and not again after another restart
    await conv.app.db.close()


async def test_after_long_downtime_a_past_turn_is_not_reminded_but_escalated(duty_conv, tmp_path):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    await duty_conv.advance(timedelta(minutes=1))
    conv = await restart(duty_conv, tmp_path, at=local(2026, 11, 26, 9))  # down over 24.11. and its escalation
    sent = await conv.advance(timedelta(0))
    bodies = [s.body for s in sent]
    assert not [b for b in bodies if b.startswith("⏰") and "24. Nov" in b]
    assert len([b for b in bodies if b.startswith("⚠️") and "24. Nov" in b]) == 1
    assert await conv.advance(timedelta(0)) == []
    await conv.app.db.close()


async def _walk(conv, until: datetime) -> list[tuple[datetime, str]]:
    """Advance hour by hour; (local time sent, body) of every announcement and reminder."""
    seen = []
    while conv.clock.now() < until:
        for s in await conv.advance(timedelta(hours=1)):
            if s.body.startswith(("📋", "⏰")):
                seen.append((conv.clock.now().astimezone(BERLIN), s.body))
    return seen


async def _weekly_across(tmp_path, start: datetime, until: datetime, change: datetime):
    conv = await start_conversation(tmp_path, make_chat(), start=start)
    await conv.reply(ORGA, "!dienst anlegen Plenum | jeden Montag 18 Uhr\nvorlauf: 3 Tage", ROOM)
    await conv.reply(ALICE, "!dienst mitmachen Plenum", ROOM)
    plan = plan_rows((await conv.reply(ORGA, "!dienst plan Plenum 6", ROOM)).body)
    assert [when[-5:] for when, _ in plan] == ["18:00"] * 6
    seen = await _walk(conv, until)
    reminders = [t for t, body in seen if body.startswith("⏰")]
    assert all(t.hour == 18 and t.minute == 0 and t.weekday() == 6 for t in reminders), reminders
    assert any(t < change for t in reminders) and any(t > change for t in reminders)
    assert all(", 18:00" in body for _, body in seen), seen
    announcements = [t for t, body in seen if body.startswith("📋")][1:]  # the first came at once
    assert all(t.hour == 18 and t.weekday() == 4 for t in announcements), announcements
    offsets = {t.utcoffset() for t in reminders}
    assert len(offsets) == 2  # both sides of the change were really crossed
    await conv.app.db.close()


async def test_weekly_duty_stays_at_18_local_across_spring_change(tmp_path):
    await _weekly_across(tmp_path, datetime(2027, 3, 10, 10, tzinfo=timezone.utc), local(2027, 4, 13, 0),
                         local(2027, 3, 28, 3))


async def test_weekly_duty_stays_at_18_local_across_autumn_change(tmp_path):
    await _weekly_across(tmp_path, datetime(2027, 10, 13, 10, tzinfo=timezone.utc), local(2027, 11, 16, 0),
                         local(2027, 10, 31, 3))
