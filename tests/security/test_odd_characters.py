"""Issue 11, defect 9: characters that Python accepts in one place and refuses in the next
("²" is a digit to str.isdigit() but not to int()) must give a sentence, not an internal error."""
from __future__ import annotations

from tests.conversation.conftest import ORGA, ROOM


async def test_a_superscript_recurrence_is_a_user_error(conv):
    answer = await conv.reply(ORGA, "!dienst anlegen Kasse | ²", ROOM)
    assert "Referenz" not in answer.body and "„²“" in answer.body, answer.body
