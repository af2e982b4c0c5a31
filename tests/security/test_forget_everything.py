"""Issue 11: after !forget, nothing in the database files names or links the person.

A member who used every feature (open, secret, meeting and consensing polls, a poll of their
own, a duty with a turn, a handback and an absence, a safe-space request, a report with an
answer, the speakers' list, a drafted post, !mydata) asks to be forgotten from a group room.
Then every table (from sqlite_master) and the raw bytes of plenum.db, -wal and -shm are read:
the user id, the localpart, the direct chat's room id and every event id they sent appear nowhere.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conversation.safespace_setup import AWA, AWARE, BOB, ORGA, SAFE, SafeChat, dm
from tests.conversation.test_posts_fakes import FakePublisher, no_sleep
from tests.fakes import BOT, start_conversation

MIRA = "@mira:test"
START, RESPONSE = "org.matrix.msc3381.poll.start", "org.matrix.msc3381.poll.response"
ROOM, ORG = "!room:test", "!orgs:test"


@pytest.fixture
async def conv(tmp_path):
    chat = SafeChat()
    chat.add_room(ROOM, [MIRA, BOB, ORGA, AWA], power={ORGA: 50, MIRA: 50}, name="Ortsgruppe")
    chat.add_room(ORG, [MIRA, ORGA], power={ORGA: 50, MIRA: 50}, name="Orga")
    chat.add_room(SAFE, [ORGA, BOB], power={BOT: 100, ORGA: 50}, name="FINTA*-Treff")
    chat.add_room(AWARE, [AWA, "@awa2:test"], power={BOT: 100, AWA: 50}, name="Awareness")
    for user in (MIRA, BOB, ORGA, AWA):
        chat.add_room(dm(user), [user])
    c = await start_conversation(tmp_path, chat, publishers={"main": FakePublisher("main")}, rate_limit=1000,
                                 admins=[ORGA])
    c.app.feature("posts").publishing.sleep = no_sleep
    for room_id in chat.rooms:  # as the Matrix adapter records each room the bot joins
        await c.app.pipeline.room_joined(room_id, c.clock.now() - timedelta(days=1))
    await c.reply(ORGA, "!raum awareness", AWARE)  # the admin founds the anchor roles
    await c.reply(ORGA, "!raum orga", ORG)
    marked = await c.reply(ORGA, "!raum schutzraum genehmigung", SAFE)
    assert "Nr. 1" in marked.body, marked.body
    yield c
    await c.app.db.close()


class Member:
    """Mira's side of the conversation: every event id she sends is remembered."""

    def __init__(self, conv) -> None:
        self.conv, self.events = conv, []

    async def event(self, body: str, room: str, **kw):
        ev = self.conv.event(MIRA, body, room, **kw)
        self.events.append(ev.event_id)
        return await self.conv.deliver(ev)

    async def reply(self, body: str, room: str):
        ev = self.conv.event(MIRA, body, room)
        self.events.append(ev.event_id)
        await self.conv.deliver(ev)
        [answer] = self.conv.chat.replies_to(ev.event_id)
        return answer


async def use_everything(conv, mira: Member) -> None:
    await conv.reply(ORGA, "!umfrage Offen | A | B", ROOM)  # 1 stays open
    await conv.reply(ORGA, "!umfrage Beendet | A | B", ROOM)  # 2 is closed
    await conv.reply(ORGA, "!umfrage Wahl | Anna | Ben\ngeheim: ja", ROOM)  # 3 secret
    await conv.reply(ORGA, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)  # 4
    await conv.reply(ORGA, "!konsens Wohin? | Park | Markt", ROOM)  # 5
    assert "#6" in (await mira.reply("!umfrage Eigene Frage | X | Y", ROOM)).body
    for vote, room in (("1 1", ROOM), ("2 2", ROOM), ("3 1", dm(MIRA)), ("3 2", dm(MIRA)),
                       ("4 1=ja 2=vielleicht", ROOM), ("5 0=5 1=8 2=3", ROOM), ("6 1", ROOM)):
        answer = await mira.reply(f"!abstimmen {vote}", room)
        assert "#" + vote[0] in answer.body and "gibt es" not in answer.body, answer.body
    starts = [s.event_id for s in conv.chat.in_room(ROOM) if s.type == START]
    for start in starts[:2]:  # a click in the native polls #1 (stays open) and #2 (is closed)
        await mira.event("", ROOM, type=RESPONSE, content={
            "m.relates_to": {"rel_type": "m.reference", "event_id": start}, RESPONSE: {"answers": ["1"]}})
    await conv.reply(BOB, "abstimmen 3 1", dm(BOB))
    await conv.reply(BOB, "!abstimmen 2 1", ROOM)
    votes = await conv.app.db.fetchval("SELECT COUNT(*) FROM poll_votes WHERE voter = ?", (MIRA,))
    assert votes == 7  # five typed, two clicked
    await conv.reply(ORGA, "!schliessen 2", ROOM)
    await conv.reply(ORGA, "!schliessen 3", ROOM)  # the secret poll is sealed before she is forgotten

    await conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    await mira.reply("!dienst mitmachen Protokoll", ROOM)
    await conv.reply(BOB, "!dienst mitmachen Protokoll", ROOM)
    plan = (await mira.reply("!dienst plan Protokoll 4", ROOM)).body
    assert MIRA in plan
    await mira.reply("!dienst abgeben Protokoll", ROOM)
    await mira.reply("!abwesend 14.12. 18.12.", ROOM)
    await conv.advance(timedelta(minutes=1))  # the first turn is announced

    asked = await mira.reply("schutzraum beitreten 1", dm(MIRA))
    assert "Regeln" in asked.body, asked.body
    assert "Awareness-Team" in (await mira.reply("bestätigen", dm(MIRA))).body
    assert "Meldung Nr. 1" in (await mira.reply("melden Im Plenum wurde ich übergangen", dm(MIRA))).body
    await conv.reply(AWA, "!antworten 1 Danke, wir sprechen das an.", AWARE)
    assert "wir sprechen das an" in conv.chat.in_room(dm(MIRA))[-1].body

    await mira.reply("!rede", ROOM)
    assert "#1" in (await mira.reply("!beitrag Demo am Samstag", ORG)).body


async def test_forget_leaves_no_trace_in_any_table_or_file(conv):
    mira = Member(conv)
    await use_everything(conv, mira)
    before = len(conv.chat.in_room(dm(MIRA)))
    assert "Direktchat" in (await mira.reply("!meinedaten", ROOM)).body
    shown = conv.chat.in_room(dm(MIRA))[before].body
    for expected in ("Protokoll", "an Dienstplänen, in denen du genannt bist", "Anfrage Nr. 1", "1 Meldung",
                     "#1", "#2", "#6", "Redeliste", "Abwesenheit", "Beitrag"):
        assert expected in shown, (expected, shown)
    assert "Direktchat" in (await mira.reply("!vergessen", ROOM)).body
    assert "Direktchat" in (await mira.reply("!vergessen ja", ROOM)).body
    assert "Erledigt" in conv.chat.in_room(dm(MIRA))[-1].body
    await conv.advance(timedelta(minutes=5))
    db = conv.app.db
    await db.settled()

    needles = [MIRA, "mira", dm(MIRA), *mira.events]
    patterns = [re.compile(re.escape(n.encode()) + (rb"(?!\d)" if n.startswith("$") else b""), re.IGNORECASE)
                for n in needles]
    tables = await db.tables()
    assert {"polls", "poll_votes", "duty_turns", "duty_overrides", "posts", "outbox", "handled_events",
            "safespace_reports"} <= set(tables)
    for table in tables:
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            text = repr(tuple(row)).encode()
            found = [p.pattern for p in patterns if p.search(text)]
            assert not found, (table, tuple(row), found)
    if db.dialect == "sqlite":  # SQLite's files; on PostgreSQL erased rows wait for vacuum (README, backups)
        base = Path(db.path)
        files = {p.name: p.read_bytes() for p in base.parent.glob(base.name + "*")}
        assert "plenum.db" in files
        for name, data in files.items():
            found = [p.pattern for p in patterns if p.search(data)]
            assert not found, (name, found)
    # the secret poll: no tag and no key left, only the two ballots
    assert await db.fetchval("SELECT COUNT(*) FROM poll_secret_ballots WHERE tag IS NOT NULL") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM poll_secret_ballots WHERE poll_id = 3") == 2
    assert await db.fetchval("SELECT secret_key FROM polls WHERE id = 3") is None
    # and the group still works: the report cannot reach her, the others' votes count
    assert "nicht mehr erreichen" in (await conv.reply(AWA, "!antworten 1 Noch da?", AWARE)).body
    assert "| 2       | jemand (anonym), @bob:test" in (await conv.reply(BOB, "!ergebnis 2", ROOM)).body  # her click counts


async def test_forget_leaves_no_edit_waiting_for_a_deleted_message(tmp_path):
    """Review finding: a poll in a direct chat, a vote, !vergessen, then the deadline: the table edit's
    original was deleted, so the edit stayed pending for ever (and 100 of them would stop delivery)."""
    from datetime import timedelta

    from tests.fakes import FakeChat, start_conversation

    chat = FakeChat()
    chat.add_room("!g:test", ["@u:test", "@v:test"], name="Gruppe")
    chat.add_room("!dm-u:test", ["@u:test"])
    conv = await start_conversation(tmp_path, chat)
    try:
        await conv.say("@u:test", "umfrage Pizza? | ja | nein\nbis: morgen 12 Uhr", "!dm-u:test")
        await conv.say("@u:test", "abstimmen 1 1", "!dm-u:test")
        await conv.say("@u:test", "vergessen", "!dm-u:test")
        await conv.say("@u:test", "vergessen bestätigen", "!dm-u:test")
        await conv.advance(timedelta(days=2))
        pending = await conv.app.db.fetchall("SELECT id, edits_ref FROM outbox WHERE sent_at IS NULL AND failed IS NULL")
        assert [tuple(r) for r in pending] == []
    finally:
        await conv.app.db.close()


async def test_the_next_reply_after_forget_gets_a_fresh_transaction_id(tmp_path):
    """Review finding: !vergessen deleted the highest outbox rows, SQLite gave their ids to the next rows,
    and the homeserver took the next reply's transaction id for a resend: the answer was never sent."""
    from tests.fakes import FakeChat, start_conversation

    chat = FakeChat()
    chat.add_room("!g:test", ["@u:test", "@v:test"], name="Gruppe")
    chat.add_room("!dm-u:test", ["@u:test"])
    conv = await start_conversation(tmp_path, chat)
    try:
        for text in ("hilfe", "vergessen", "vergessen bestätigen"):
            await conv.say("@u:test", text, "!dm-u:test")
        again = conv.event("@u:test", "hilfe", "!dm-u:test")
        await conv.deliver(again)
        assert len(conv.chat.replies_to(again.event_id)) == 1
        txns = [s.txn_id for s in conv.chat.sent]
        assert len(txns) == len(set(txns))
    finally:
        await conv.app.db.close()
