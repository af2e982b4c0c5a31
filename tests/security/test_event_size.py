"""Issue 11, defect 3 (events over Synapse's 65,536 bytes were lost) and the @room part of defect 10.

FakeChat refuses, like Synapse, an event whose canonical JSON with its envelope exceeds
65,536 bytes (M_TOO_LARGE), and records every attempt's size in `chat.sizes`.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.eventsize import CONTENT_BUDGET, MAX_EVENT_BYTES, wire_size
from bot.messenger import Delivery
from bot.render import Rich, mention, message_content
from commands.poll_render import POLL_START, TEXT, native_start
from storage.polls import Option, Poll
from tests.conversation.conftest import ALICE, BOB, ORGA, ROOM, ROOM_EN
from tests.conversation.safespace_setup import AWA, AWARE, SAFE, dm, start
from tests.conversation.test_posts_fakes import ANNA, ORGA as PORGA, pconv  # noqa: F401 - fixture

EMOJI = "\U0001f600"


async def failed_rows(conv) -> list[tuple]:
    return [tuple(r) for r in await conv.app.db.fetchall("SELECT id, type, failed FROM outbox WHERE failed IS NOT NULL")]


def assert_all_fit(conv) -> None:
    assert conv.chat.sizes and max(conv.chat.sizes) <= MAX_EVENT_BYTES, max(conv.chat.sizes)
    for sent in conv.chat.sent:
        assert wire_size(sent.content) <= CONTENT_BUDGET, (sent.type, wire_size(sent.content))


# ---------------------------------------------------------------- user input that cannot fit is refused
async def test_huge_report_is_refused_naming_the_limit_and_reaches_nobody(tmp_path):
    conv = await start(tmp_path)
    try:
        before = len(conv.chat.in_room(AWARE))
        answer = await conv.reply(ALICE, "melden " + EMOJI * 10_000, dm(ALICE))
        assert "zu lang" in answer.body and f"{CONTENT_BUDGET}" in answer.body, answer.body
        assert "Meldung Nr." not in answer.body
        assert len(conv.chat.in_room(AWARE)) == before  # nothing reached the awareness team
        assert await conv.app.db.fetchval("SELECT COUNT(*) FROM safespace_reports") == 0  # the number rolled back
        assert await failed_rows(conv) == []
        # a report that fits still gets number 1 and arrives whole
        text = EMOJI * 1_000
        ok = await conv.reply(ALICE, "melden " + text, dm(ALICE))
        assert "Nr. 1" in ok.body
        assert text in conv.chat.in_room(AWARE)[-1].body
        assert_all_fit(conv)
    finally:
        await conv.app.db.close()


async def test_refusal_in_english_names_the_limit(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!poll " + "Q" + EMOJI * 6_000 + " | a | b", ROOM_EN)
    assert "too long" in answer.body and f"{CONTENT_BUDGET}" in answer.body, answer.body


async def test_too_large_poll_is_refused_and_leaves_no_poll(conv):
    labels = " | ".join(f"{i} " + EMOJI * 1_200 for i in range(20))
    answer = await conv.reply(ALICE, "!umfrage Groß? | " + labels, ROOM)
    assert "zu lang" in answer.body
    assert "#1 Klein?" in (await conv.reply(ALICE, "!umfrage Klein? | a | b", ROOM)).body  # #1 was rolled back
    assert_all_fit(conv)


# ---------------------------------------------------------------- bot-made content is shortened to fit
async def test_edit_of_a_poll_table_near_the_limit_stays_under_it(conv):
    labels = " | ".join(f"Option {i} " + "x" * 900 for i in range(20))
    await conv.reply(ALICE, "!umfrage Lange Optionen? | " + labels, ROOM)
    table = next(s for s in conv.chat.sent if s.type == "m.room.message" and "Lange Optionen" in s.body)
    assert 30_000 < wire_size(table.content) <= CONTENT_BUDGET  # near the limit, not cut
    await conv.reply(BOB, "!abstimmen 1 3", ROOM)
    edits = [s for s in conv.chat.sent if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"]
    assert edits and edits[-1].content["m.new_content"]["body"].count("x" * 900) == 20  # the new text is whole
    assert edits[-1].content["m.mentions"] == {}
    assert await failed_rows(conv) == []
    assert_all_fit(conv)


async def test_native_poll_start_with_20_long_answers_stays_under_the_limit(conv):
    labels = [f"Antwort {i} " + "ö" * 3_000 for i in range(20)]
    at = datetime(2026, 11, 21, tzinfo=timezone.utc)
    poll = Poll(id=1, room_id=ROOM, kind="choice", creator=ALICE, title="Frage " + "ä" * 3_000, created_at=at,
                until=None, closed_at=None, max_choices=1, quorum=None, majority="simple", secret=False, yesno=False,
                options=tuple(Option(idx=i, label=label, at=None) for i, label in enumerate(labels)))
    content = native_start(poll)
    assert wire_size(content) <= CONTENT_BUDGET
    answers = content[POLL_START]["answers"]
    assert [a["id"] for a in answers] == [str(i) for i in range(1, 21)]
    assert all(a[TEXT].startswith(f"Antwort {i} ") and a[TEXT].endswith("…") for i, a in enumerate(answers))
    short = replace(poll, title="Kurz?", options=(Option(0, "ja"), Option(1, "nein")))
    assert native_start(short) == native_start(short, budget=10**9)  # what fits is left alone


async def test_native_poll_of_a_long_poll_command_fits(conv):
    labels = " | ".join(f"Antwort {i} " + "y" * 800 for i in range(20))
    await conv.reply(ALICE, "!umfrage Lang? | " + labels, ROOM)
    native = [s for s in conv.chat.sent if s.type == POLL_START]
    assert len(native) == 1 and len(native[0].content[POLL_START]["answers"]) == 20
    assert await failed_rows(conv) == []
    assert_all_fit(conv)


async def test_huge_bot_reply_is_cut_at_a_line_and_delivered(conv):
    """A reply made by the bot (here: an unknown command echoing 60 KB of input) is shortened, not lost."""
    conv.chat.add_room(dm(ALICE), [ALICE])
    answer = await conv.reply(ALICE, "ü" * 30_000, dm(ALICE))
    assert answer.body.endswith("…") and "formatted_body" not in answer.content
    assert await failed_rows(conv) == []
    assert_all_fit(conv)


# ---------------------------------------------------------------- refused for good: reported, not retried
async def test_permanently_refused_send_is_reported_and_the_room_goes_on(conv):
    attempts = []

    def forbid_native_polls(room_id, type, content):
        if type == POLL_START:
            attempts.append(room_id)
            return "M_FORBIDDEN"
        return None

    conv.chat.refuse_if = forbid_native_polls
    ev = conv.event(ALICE, "!umfrage Pizza? | ja | nein", ROOM)
    await conv.deliver(ev)
    assert attempts == [ROOM]  # once: a permanent refusal is not retried
    answers = [s.body for s in conv.chat.replies_to(ev.event_id)]
    assert any("Pizza?" in a for a in answers), answers  # the table after the refused event still went out
    assert any("nicht angekommen" in a and "abgelehnt" in a for a in answers), answers
    assert [(t, f) for _, t, f in await failed_rows(conv)] == [(POLL_START, "M_FORBIDDEN")]
    # and later messages of the room are not blocked either
    later = await conv.say(BOB, "!umfrage Kaffee? | ja | nein", ROOM)
    assert any("#2 Kaffee?" in s.body for s in later), [s.body for s in later]


async def test_too_large_refusal_is_reported_in_the_language_of_the_room(conv):
    conv.chat.refuse_if = lambda room_id, type, content: "M_TOO_LARGE" if "Kaffee" in content.get("body", "") else None
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    ev = conv.event(ALICE, "!poll Kaffee? | yes | no", ROOM_EN)
    await conv.deliver(ev)
    notices = [s.body for s in conv.chat.replies_to(ev.event_id)]
    assert any("refused it as too large" in n for n in notices), notices


async def test_a_message_given_up_after_every_retry_is_reported(conv):
    delivery: Delivery = conv.app.delivery
    delivery.RETRY_BASE = 0.0
    conv.chat.fail_sends = Delivery.MAX_ATTEMPTS
    ev = conv.event(ALICE, "!umfragen", ROOM)
    await conv.app.pipeline.handle(ev)
    for _ in range(Delivery.MAX_ATTEMPTS):
        await delivery.flush()
    notices = [s.body for s in conv.chat.replies_to(ev.event_id)]
    assert any("nicht erreichbar" in n for n in notices), notices


async def test_edits_of_a_refused_message_are_dropped_not_left_waiting(conv):
    conv.chat.refuse_if = lambda room_id, type, content: ("M_FORBIDDEN" if "Tee?" in content.get("body", "")
                                                          and "m.new_content" not in content else None)
    await conv.say(ALICE, "!umfrage Tee? | ja | nein", ROOM)
    await conv.say(BOB, "!abstimmen 1 1", ROOM)
    pending = await conv.app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed IS NULL")
    assert pending == 0
    failures = [f for _, _, f in await failed_rows(conv)]
    assert failures == ["M_FORBIDDEN", "M_FORBIDDEN", "original gone"], failures  # native poll, table, edit


# ---------------------------------------------------------------- @room in any spelling
async def test_room_mentions_in_a_poll_title_are_defused_in_every_spelling(conv):
    await conv.reply(ALICE, "!umfrage Kommt alle @ROOM und @Room und @room? | ja @rOoM | nein", ROOM)
    assert conv.chat.sent
    for sent in conv.chat.sent:
        text = json.dumps(sent.content, ensure_ascii=False)
        assert not re.search("@room", text, re.IGNORECASE), (sent.type, text)
        assert "room" not in sent.content.get("m.mentions", {})
    table = next(s for s in conv.chat.sent if s.type == "m.room.message" and "Kommt alle" in s.body)
    assert "@\u2060ROOM" in table.body and "@\u2060Room" in table.html  # still readable, case kept


async def test_a_report_the_homeserver_refuses_is_reported_to_the_reporter_as_not_passed_on(tmp_path):
    conv = await start(tmp_path)
    try:
        conv.chat.refuse_if = lambda room_id, type, content: "M_FORBIDDEN" if room_id == AWARE else None
        ev = conv.event(ALICE, "melden Hallo", dm(ALICE))
        await conv.deliver(ev)
        notices = [s.body for s in conv.chat.replies_to(ev.event_id)]
        assert any("anderen Raum" in n and "nicht weitergegeben" in n for n in notices), notices
        assert not any(s.room_id == AWARE and "Hallo" in s.body for s in conv.chat.sent)
    finally:
        await conv.app.db.close()


async def test_rules_that_could_not_be_shown_whole_are_refused(tmp_path):
    conv = await start(tmp_path)
    try:
        await conv.reply(ORGA, "!raum schutzraum", SAFE)
        answer = await conv.reply(ORGA, "!regeln " + EMOJI * 3_000, SAFE)
        assert "zu lang" in answer.body and f"{CONTENT_BUDGET}" in answer.body, answer.body
        assert EMOJI * 10 not in (await conv.reply(ORGA, "!regeln", SAFE)).body  # still the default rules
        assert "gespeichert" in (await conv.reply(ORGA, "!regeln Seid nett " + "ä" * 1_000, SAFE)).body
    finally:
        await conv.app.db.close()


def test_a_display_name_saying_at_room_is_defused_in_the_pill():
    pill = mention("@x:test", "@ROOM")
    assert not re.search("@room", pill.text + pill.html, re.IGNORECASE)


async def test_failure_notices_are_pruned_like_other_sent_messages(conv):
    conv.chat.refuse_if = lambda room_id, type, content: "M_FORBIDDEN" if type == POLL_START else None
    await conv.say(ALICE, "!umfrage Pizza? | ja | nein", ROOM)
    notices = "SELECT COUNT(*) FROM outbox WHERE ref LIKE 'delivery.failed.%'"
    assert await conv.app.db.fetchval(notices) == 1
    async with conv.app.db.transaction():
        await conv.app.messenger.outbox.prune_sent(conv.clock.now() + timedelta(seconds=1))
    assert await conv.app.db.fetchval(notices) == 0


def test_shorten_keeps_what_fits_and_cuts_at_a_line():
    rows = Rich("\n".join(f"Zeile {i} " + "ö" * 50 for i in range(3_000)), "<p>" * 10)
    content = message_content(rows)
    assert wire_size(content) <= CONTENT_BUDGET and "formatted_body" not in content
    kept = content["body"].removesuffix("\n…").split("\n")
    assert kept[-1] == f"Zeile {len(kept) - 1} " + "ö" * 50  # the last kept line is whole
    small = Rich("Hallo", "<b>Hallo</b>")
    assert message_content(small)["formatted_body"] == "<b>Hallo</b>"


def test_a_message_pinging_thousands_still_fits_without_the_pings():
    crowd = frozenset(f"@member{i}:example.org" for i in range(5_000))
    content = message_content(Rich("Bitte abstimmen", "Bitte abstimmen", crowd))
    assert wire_size(content) <= CONTENT_BUDGET and content["m.mentions"] == {}
    few = message_content(Rich("Bitte abstimmen", "Bitte abstimmen", frozenset({"@a:test"})))
    assert few["m.mentions"] == {"user_ids": ["@a:test"]}


async def test_an_answer_to_a_report_that_cannot_fit_is_refused_to_the_team(tmp_path):
    conv = await start(tmp_path)
    try:
        await conv.reply(ALICE, "melden Hallo", dm(ALICE))
        before = len(conv.chat.in_room(dm(ALICE)))
        answer = await conv.reply(AWA, "!antworten 1 " + EMOJI * 10_000, AWARE)
        assert "zu lang" in answer.body
        assert len(conv.chat.in_room(dm(ALICE))) == before  # the reporter got nothing, not half of it
    finally:
        await conv.app.db.close()


async def test_a_post_draft_too_big_to_preview_whole_is_refused(pconv):
    answer = await pconv.reply(ANNA, "!beitrag " + EMOJI * 12_000, PORGA)
    assert "zu lang" in answer.body and f"{CONTENT_BUDGET}" in answer.body, answer.body
    assert (await pconv.reply(ANNA, "!beitrag Demo am Samstag", PORGA)).body.startswith("#1 ")  # rolled back


async def test_a_refused_message_of_the_bot_own_is_reported_in_its_room_without_naming_a_command(conv):
    conv.chat.refuse_if = lambda room_id, type, content: "M_TOO_LARGE" if "Erinnerung" in content.get("body", "") \
        else None
    async with conv.app.db.transaction():  # as a job would: no command behind it
        await conv.app.messenger.send(ROOM, Rich("Erinnerung", "Erinnerung"))
    await conv.app.delivery.flush()
    notice = conv.chat.in_room(ROOM)[-1]
    assert notice.body.startswith("Eine Nachricht von mir für diesen Raum ist nicht angekommen:"), notice.body
    assert notice.reply_to is None
