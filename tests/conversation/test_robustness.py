"""Property: whatever members type after any command name, the bot answers without an internal error."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conversation.conftest import ALICE, ORGA, ROOM

WORDS = st.sampled_from(["1", "2", "0", "#1", "-3", "99999999999", "ja", "nein", "yes", "maybe", "morgen 18 Uhr",
                         "2.12.", "31.2.", "tomorrow", "@alice:test", "1=5", "2=maybe", "|", "<b>", "@room", "x" * 300,
                         "Protokoll", "jeden Dienstag 18 Uhr", "finta", "go", "clear", "de", "en", "öäü€", "\u202e"])
ARGS = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6).map(" ".join)
LINES = st.lists(st.sampled_from(["- a", "- b", "until: morgen", "bis: gestern", "choices: 2", "secret: ja",
                                  "quorum: x", "people: 0", "at: jetzt", "cw: Test", "name: yes", "foo: bar"]),
                 max_size=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_no_input_causes_an_internal_error(conv, data):
    commands = conv.app.dispatcher.registry.commands
    cmd = data.draw(st.sampled_from(commands))
    spelling = " ".join(data.draw(st.sampled_from(cmd.names)))
    sender = data.draw(st.sampled_from([ALICE, ORGA]))
    body = "!" + spelling + " " + data.draw(ARGS)
    more = data.draw(LINES)
    if more:
        body += "\n" + "\n".join(more)
    conv.app.dispatcher.limiter.check = lambda user: "ok"
    sent = await conv.say(sender, body, ROOM)
    for message in sent:
        assert "Referenz" not in message.body and "reference" not in message.body, (body, message.body)
