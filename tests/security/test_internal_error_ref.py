"""Issue 11, defect 4: the internal-error reply carries the same reference as the log line."""
from __future__ import annotations

import logging
import re

from tests.conversation.conftest import ALICE, ROOM


async def test_internal_error_reply_names_the_logged_reference(conv, caplog, monkeypatch):
    cmd = conv.app.dispatcher.registry.find("polls")

    async def boom(self, ctx, **kwargs):
        raise RuntimeError("token=supersecret")

    monkeypatch.setattr(cmd, "func", boom)
    with caplog.at_level(logging.ERROR):
        answer = await conv.reply(ALICE, "!umfragen", ROOM)
    assert "{ref}" not in answer.body
    shown = re.search(r"Referenz ([0-9a-f]{8})", answer.body)
    assert shown, answer.body
    logged = [r.getMessage() for r in caplog.records if "internal error ref=" in r.getMessage()]
    assert logged and f"ref={shown.group(1)}" in logged[0]
    assert "supersecret" not in answer.body
