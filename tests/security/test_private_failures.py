"""Review finding: when a report could not reach the awareness room, the notice to the reporter kept a
dated row naming the reporter's direct chat and the failed report's row."""
from __future__ import annotations

from tests.conversation.safespace_setup import ALICE, AWARE, dm, start


async def test_the_failure_of_a_private_message_leaves_no_row_behind(tmp_path):
    conv = await start(tmp_path)
    try:
        conv.chat.refuse_if = lambda room, type, content: "M_FORBIDDEN" if room == AWARE else None
        sent = await conv.say(ALICE, "melden Jemand hat mich beleidigt", dm(ALICE))
        assert any(s.room_id == dm(ALICE) for s in sent[1:]), [s.body for s in sent]  # she is told it failed
        rows = await conv.app.db.fetchall("SELECT id, room_id, ref FROM outbox")
        assert not [tuple(r) for r in rows if r["room_id"] == dm(ALICE)]
        assert not [tuple(r) for r in rows if (r["ref"] or "").startswith("delivery.failed.")]
    finally:
        await conv.app.db.close()
