"""The record of decisions against a real Synapse: a native poll answered by real clients is closed,
recorded as decision 1 of the room, found by `!beschlüsse`, linked to the poll and exported as a file."""
from __future__ import annotations

from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.test_bot import send
from tests.integration.test_polls import START, content, content_of, event_from, group, respond, text


async def test_native_poll_closed_is_listed_as_a_decision_and_exported(matrix_user, bot_factory):
    bot, room, alice, bob, carol = await group(matrix_user, bot_factory)
    await send(alice, room, "!umfrage Sommerfest 2027: Lastenrad-Verleih? | Dafür | Dagegen")
    start = await event_from(alice, room, bot.user_id, lambda s, t: s["type"] == START)
    await respond(bob, room, start.event_id, "1")
    await respond(carol, room, start.event_id, "1")
    await respond(alice, room, start.event_id, "2")
    await event_from(alice, room, bot.user_id, lambda s, t: "3 Stimmen abgegeben." in t, timeout=30)
    await send(alice, room, "!schliessen 1")
    result = await event_from(alice, room, bot.user_id, lambda s, t: t.startswith("Ergebnis #1"))
    assert text(result).split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."

    asked = await send(bob, room, "!beschlüsse sommerfest")  # a member who never saw the poll asks
    listed = await event_from(bob, room, bot.user_id, lambda s, t: content_of(s).get("m.relates_to", {})
                              .get("m.in_reply_to", {}).get("event_id") == asked)
    head, first = text(listed).split("\n")[:2]
    assert head == "📖 Beschlüsse zu „sommerfest“, die neuesten zuerst:"
    assert first.startswith("• Beschluss 1 (") and first.endswith(
        "): „Sommerfest 2027: Lastenrad-Verleih?“ – gewählt: 1. Dafür mit 2 von 3 gültigen Stimmen")

    await send(carol, room, "!beschluss 1")
    detail = await event_from(carol, room, bot.user_id, lambda s, t: t.startswith("📖 Beschluss 1:"))
    server = bot.user_id.split(":", 1)[1]
    assert f"https://matrix.to/#/{room}/{start.event_id}?via={server}" in text(detail)
    assert "Beteiligung: 3 Stimmen abgegeben." in text(detail)

    await send(alice, room, "!beschlüsse export")
    file = await event_from(alice, room, bot.user_id, lambda s, t: content_of(s).get("msgtype") == "m.file")
    assert content(file)["info"]["mimetype"] == "text/markdown"
    assert content(file)["body"].startswith("beschluesse-ortsgruppe-") and content(file)["body"].endswith(".md")
    download = await alice.download(mxc=content(file)["url"])
    md = download.body.decode()
    assert md.startswith("# Beschlüsse – Ortsgruppe\n")
    assert "## Beschluss 1: Sommerfest 2027: Lastenrad-Verleih?" in md
    assert "    - ★ 1. Dafür – 2 Stimmen" in md
    assert bot.stop() == 0
