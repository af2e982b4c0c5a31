"""Conversation tests for the record of decisions: recorded at every close, exactly once, searchable,
revocable, exported as Markdown; secret ballots keep only the result, date polls are no decisions."""
from __future__ import annotations

from datetime import timedelta

from storage.safespace import SafeSpaces
from tests.fakes import start_conversation
from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM, ROOM_EN

START = "org.matrix.msc3381.poll.start"


async def poll_start(conv, body: str, sender: str = ALICE, room: str = ROOM):
    sent = await conv.say(sender, body, room)
    return next((s for s in sent if s.type == START), None)


async def decided(conv, question: str, *votes: tuple[str, str], room: str = ROOM, close: str = "!schliessen"):
    """A yes/no motion, voted on and closed; the close answer."""
    await conv.reply(ALICE, f"!umfrage {question}", room)
    number = await conv.app.db.fetchval("SELECT MAX(id) FROM polls")
    for who, choice in votes:
        await conv.reply(who, f"!abstimmen {number} {choice}", room)
    return await conv.reply(ORGA, f"{close} {number}", room)


def unhurried(conv) -> None:
    """Many commands in a row: lift the per-user rate limit for this test."""
    conv.app.dispatcher.limiter.limit = 1000


async def count(conv) -> int:
    return await conv.app.db.fetchval("SELECT COUNT(*) FROM decisions")


async def test_close_records_a_numbered_decision_shown_in_detail_with_link(conv):
    start = await poll_start(conv, "!umfrage Sommerfest 2027 im Park? | Ja, im Park | Lieber im Hinterhof\nquorum: 2")
    await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    await conv.reply(CAROL, "!abstimmen 1 1", ROOM)
    await conv.reply(ALICE, "!abstimmen 1 2", ROOM)
    result = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert result.body.split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."
    detail = await conv.reply(BOB, "!beschluss 1", ROOM)
    lines = detail.body.split("\n")
    assert lines[0] == "📖 Beschluss 1: „Sommerfest 2027 im Park?“"
    assert lines[1] == "Abgeschlossen am Sa., 21. Nov. 2026, 11:00 · Abstimmung #1, einfache Mehrheit"
    assert lines[2] == "Ergebnis: gewählt: 1. Ja, im Park mit 2 von 3 gültigen Stimmen"
    assert lines[3:5] == ["  ★ 1. Ja, im Park – 2 Stimmen", "  2. Lieber im Hinterhof – 1 Stimme"]
    assert lines[5] == "Beteiligung: 3 Stimmen abgegeben. Quorum von 2: erreicht."
    url = f"https://matrix.to/#/{ROOM}/{start.event_id}?via=test"
    assert lines[6] == f"Zur Abstimmung: {url}"
    assert f'<a href="{url}">' in detail.html
    assert "alice" not in detail.body and "bob" not in detail.body  # the record names nobody
    row = await conv.app.db.fetchone("SELECT * FROM decisions")
    assert "@" not in " ".join(str(v) for v in tuple(row) if v != ROOM and v != start.event_id)


async def test_numbers_count_per_room_and_differ_from_poll_numbers(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await decided(conv, "Antrag A", (BOB, "ja"))
    answer = await decided(conv, "Buy a projector?", (BOB, "yes"), (ALICE, "no"), (ORGA, "yes"), room=ROOM_EN,
                           close="!close")
    assert answer.body.split("\n")[-1] == "📖 Recorded as decision 1 – !decision 1 shows it."  # poll #2, decision 1
    await decided(conv, "Antrag B", (BOB, "nein"))
    listed = await conv.reply(BOB, "!beschlüsse", ROOM)
    assert listed.body.split("\n")[:3] == [
        "📖 Beschlüsse dieses Raums, die neuesten zuerst:",
        "• Beschluss 2 (Sa., 21. Nov. 2026): „Antrag B“ – abgelehnt (0 ja, 1 nein, 0 Enthaltungen)",
        "• Beschluss 1 (Sa., 21. Nov. 2026): „Antrag A“ – angenommen (1 ja, 0 nein, 0 Enthaltungen)"]
    listed = await conv.reply(BOB, "!decisions", ROOM_EN)
    assert listed.body.split("\n")[:2] == [
        "📖 Decisions of this room, newest first:",
        "• Decision 1 (Sat, Nov 21, 2026): “Buy a projector?” – carried (2 yes, 1 no, 0 abstentions)"]
    assert listed.body.split("\n")[-1] == "Details: !decision 1 · file for the minutes: !decisions export"


async def test_deadline_records_the_decision_once(conv):
    await conv.reply(ALICE, "!umfrage Antrag: Beamer kaufen\nbis: morgen 12:00\nquorum: 3", ROOM)
    await conv.reply(BOB, "!abstimmen 1 ja", ROOM)
    sent = await conv.advance(timedelta(days=1, hours=2))
    result = next(s for s in sent if s.body.startswith("Ergebnis"))
    assert result.body.split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."
    await conv.advance(timedelta(days=1))  # nothing falls due twice
    assert await count(conv) == 1
    detail = await conv.reply(BOB, "!beschluss 1", ROOM)
    assert "Ergebnis: kein Beschluss – Quorum von 3 nicht erreicht" in detail.body
    assert "Beteiligung: 1 Stimme abgegeben. Quorum von 3: nicht erreicht." in detail.body


async def test_a_replayed_or_repeated_close_records_nothing_twice(conv):
    await conv.reply(ALICE, "!umfrage Antrag C\nbis: morgen 12:00", ROOM)
    polls = conv.app.feature("polls")
    stale = await polls.repo.get(1)  # as a retried deadline job would hold it: still open
    close = conv.event(ORGA, "!schliessen 1", ROOM)
    await conv.deliver(close)
    await conv.deliver(close)  # the same event again (sync replay): handled once
    again = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert again.body.startswith("Umfrage #1 ist schon geschlossen.")
    async with conv.app.db.transaction():
        await polls.close_poll(stale, await polls.deps.room_ctx(ROOM), reply=False)
    await conv.advance(timedelta(days=2))  # the deadline passes after the close
    assert await count(conv) == 1
    assert len([s for s in conv.chat.sent if "Eingetragen als Beschluss" in s.body]) == 1


async def test_a_close_that_fails_records_nothing_and_the_retry_gets_the_number(conv):
    """The record is written in the close's transaction: a crash later in the close undoes both."""
    await conv.reply(ALICE, "!umfrage Antrag D", ROOM)
    polls = conv.app.feature("polls")
    edit_table = polls.edit_table

    async def crash_once(poll, rich):
        polls.edit_table = edit_table
        raise RuntimeError("homeserver hiccup")

    polls.edit_table = crash_once
    answer = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert answer.body.startswith("Da ist bei mir etwas schiefgegangen (Referenz ")
    assert await count(conv) == 0 and (await polls.repo.get(1)).is_open
    answer = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert answer.body.split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."
    assert await count(conv) == 1


async def test_consensing_round_is_recorded_with_acceptance(conv):
    await conv.reply(ALICE, "!konsens Wohin mit dem Geld? | Lastenrad | Sommerfest", ROOM)
    await conv.reply(ALICE, "!abstimmen 1 0=7 1=2 2=10", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=8 1=4 2=0", ROOM)
    await conv.reply(CAROL, "!abstimmen 1 0=9 1=0 2=5", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."
    detail = await conv.reply(BOB, "!beschluss 1", ROOM)
    lines = detail.body.split("\n")
    assert lines[1].endswith("· Konsensieren #1")
    assert lines[2] == "Ergebnis: geringster Widerstand: 1. Lastenrad (6 Punkte, Akzeptanz 80 %)"
    assert lines[3:6] == ["  0. So lassen, wie es ist – Widerstand 24 Punkte, Akzeptanz 20 %",
                          "  ★ 1. Lastenrad – Widerstand 6 Punkte, Akzeptanz 80 %",
                          "  2. Sommerfest – Widerstand 15 Punkte, Akzeptanz 50 %"]
    assert lines[6] == "Beteiligung: 3 Personen haben bewertet."
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await conv.reply(ALICE, "!consensus Where to meet? | Park", ROOM_EN)
    await conv.reply(BOB, "!vote 2 0=3 1=3", ROOM_EN)
    await conv.reply(ALICE, "!close 2", ROOM_EN)
    detail = await conv.reply(BOB, "!decision 1", ROOM_EN)
    assert detail.body.split("\n")[2] == ("Result: no clear result – equally low resistance for "
                                          "0. Keep things as they are; 1. Park")
    assert "Participation: 1 person rated." in detail.body


async def test_secret_ballot_records_only_result_and_participation(conv):
    for who in (BOB, CAROL, ORGA):
        conv.chat.add_room(f"!dm-{who[1:].split(':')[0]}:test", [who])
    await conv.reply(ALICE, "!umfrage Vorstandswahl | Anna | Ben\ngeheim: ja", ROOM)
    for who, choice in ((BOB, "2"), (CAROL, "2"), (ORGA, "1")):
        await conv.reply(who, f"abstimmen 1 {choice}", f"!dm-{who[1:].split(':')[0]}:test")
    await conv.reply(ALICE, "!schliessen 1", ROOM)
    detail = await conv.reply(BOB, "!beschluss 1", ROOM)
    lines = detail.body.split("\n")
    assert lines[1].endswith("· geheime Abstimmung #1, einfache Mehrheit")
    assert lines[2] == "Ergebnis: gewählt: 2. Ben"
    assert lines[3] == "Geheime Abstimmung: festgehalten sind nur das Ergebnis und die Beteiligung."
    assert lines[4:6] == ["  1. Anna", "  ★ 2. Ben"]  # no counts
    assert lines[6] == "Beteiligung: 3 Stimmen abgegeben."
    stored = await conv.app.db.fetchone("SELECT options, valid_votes FROM decisions")
    assert '"votes": null' in stored["options"] and '"votes": 2' not in stored["options"]
    assert stored["valid_votes"] is None
    listed = await conv.reply(BOB, "!beschlüsse", ROOM)
    assert "„Vorstandswahl“ – gewählt: 2. Ben" in listed.body and "von" not in listed.body.split("\n")[1]


async def test_search_folds_case_umlauts_and_sharp_s(conv):
    unhurried(conv)
    await decided(conv, "Sommerfest 2027 im Park", (BOB, "ja"))
    await decided(conv, "Umbenennung der Straße vor dem Büro", (BOB, "ja"))
    await conv.reply(ALICE, "!umfrage Welches Essen? | Grünkohl | Pizza", ROOM)
    await conv.reply(BOB, "!abstimmen 3 1", ROOM)
    await conv.reply(ALICE, "!schliessen 3", ROOM)
    for words, expected in (("sommerfest", [1]), ("SOMMERFEST 2027", [1]), ("strasse", [2]), ("Straße", [2]),
                            ("buero", [2]), ("büro", [2]), ("buro", [2]), ("gruenkohl", [3]), ("Grünkohl", [3]),
                            ("park sommerfest", [1]), ("park straße", []), ("%", []), ("_", [])):
        listed = await conv.reply(BOB, f"!beschlüsse {words}", ROOM)
        numbers = [int(line.split()[2]) for line in listed.body.split("\n") if line.startswith("• Beschluss")]
        assert numbers == expected, (words, listed.body)
    listed = await conv.reply(BOB, "!beschlüsse Sommerfest", ROOM)
    assert listed.body.startswith("📖 Beschlüsse zu „Sommerfest“, die neuesten zuerst:\n• Beschluss 1")
    listed = await conv.reply(BOB, "!beschlüsse „Straße“", ROOM)
    assert listed.body.startswith("📖 Beschlüsse zu „Straße“, die neuesten zuerst:\n• Beschluss 2")
    listed = await conv.reply(BOB, "!beschluesse Haushalt", ROOM)
    assert listed.body == "Zu „Haushalt“ gibt es in diesem Raum keinen Beschluss. !beschlüsse zeigt alle."


async def test_long_record_shows_twenty_newest_and_how_to_narrow(conv):
    unhurried(conv)
    for n in range(1, 23):
        await decided(conv, f"Antrag {n}")
    listed = await conv.reply(BOB, "!beschlüsse", ROOM)
    items = [line for line in listed.body.split("\n") if line.startswith("• ")]
    assert len(items) == 20 and items[0].startswith("• Beschluss 22 ") and items[-1].startswith("• Beschluss 3 ")
    assert ("… und 2 ältere. Grenz die Suche mit Wörtern ein, z. B. !beschlüsse Haushalt 2027, oder hol alle als "
            "Datei: !beschlüsse export.") in listed.body


async def test_empty_record_and_unknown_number_say_what_to_do(conv):
    answer = await conv.reply(BOB, "!beschlüsse", ROOM)
    assert answer.body.startswith("In diesem Raum gibt es noch keine Beschlüsse.")
    answer = await conv.reply(BOB, "!beschluss 4", ROOM)
    assert answer.body == "Einen Beschluss 4 gibt es in diesem Raum nicht. !beschlüsse zeigt alle."
    await decided(conv, "Antrag A", (BOB, "ja"))
    answer = await conv.reply(BOB, "!decision 1", ROOM_EN)  # another room: its own record
    assert answer.body == "Einen Beschluss 1 gibt es in diesem Raum nicht. !beschlüsse zeigt alle."


async def test_polls_closed_before_the_upgrade_are_entered_once_in_closing_order(conv, tmp_path):
    polls = conv.app.feature("polls")
    polls.record_decision = None  # as the version before the record of decisions closed them
    await conv.reply(ALICE, "!umfrage Älterer Antrag", ROOM)
    await conv.reply(ALICE, "!konsens Wohin? | Park", ROOM)
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    for number in (2, 3, 1):
        await conv.reply(ORGA, f"!schliessen {number}", ROOM)
        await conv.advance(timedelta(minutes=5))
    async with conv.app.db.transaction():
        await conv.app.db.execute("DELETE FROM kv WHERE key = 'decisions.backfilled'")  # the upgrade
    for _ in range(2):  # the first start after it enters them, the next one nothing more
        await conv.app.db.close()
        fresh = await start_conversation(tmp_path, conv.chat, start=conv.clock.now())
        fresh._ids, conv = conv._ids, fresh  # event ids keep counting, as on a real homeserver
    listed = await conv.reply(BOB, "!beschlüsse", ROOM)
    first, second = listed.body.split("\n")[1:3]
    assert first.startswith("• Beschluss 2 (") and first.endswith(
        "„Älterer Antrag“ – nicht angenommen – einfache Mehrheit nicht erreicht (0 ja, 0 nein, 0 Enthaltungen)")
    assert second.startswith("• Beschluss 1 (") and second.endswith("„Wohin?“ – niemand hat bewertet")
    assert await count(conv) == 2
    await conv.app.db.close()


async def test_meeting_poll_is_not_a_decision(conv):
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert "Beschluss" not in result.body
    assert await count(conv) == 0
    answer = await decided(conv, "Antrag nach dem Termin", (BOB, "ja"))  # the date poll took no number
    assert answer.body.split("\n")[-1] == "📖 Eingetragen als Beschluss 1 – !beschluss 1 zeigt ihn."


async def test_no_decision_is_recorded_in_a_safe_space(conv):
    """Nothing said in a safe space is stored (here the room became one while its poll ran)."""
    await conv.reply(ALICE, "!umfrage Geheimes Thema\nbis: morgen 12:00", ROOM)
    async with conv.app.db.transaction():  # marked afterwards (poll commands are refused in a safe space)
        await conv.app.rooms.set_role(ROOM, "safespace")
        await SafeSpaces(conv.app.db).mark(ROOM, False)
    sent = await conv.advance(timedelta(days=2))
    assert any(s.body.startswith("Ergebnis #1") for s in sent)  # the poll closes as before …
    assert not any("Eingetragen als Beschluss" in s.body for s in sent), [s.body for s in sent]
    assert await count(conv) == 0  # … but nothing said in a safe space is kept in the record


async def test_organiser_revokes_an_earlier_decision_by_a_later_one(conv):
    unhurried(conv)
    await decided(conv, "Sommerfest im Park", (BOB, "ja"))
    await decided(conv, "Sommerfest doch im Hinterhof", (BOB, "ja"))
    answer = await conv.reply(BOB, "!beschluss aufheben 1 durch 2", ROOM)
    assert answer.body.startswith("Das dürfen nur Organisator*innen")
    answer = await conv.reply(ORGA, "!beschluss aufheben 2 durch 1", ROOM)
    assert answer.body == "Beschluss 2 kann nur ein späterer Beschluss aufheben, nicht Beschluss 1."
    answer = await conv.reply(ORGA, "!beschluss aufheben 1 durch 7", ROOM)
    assert answer.body == "Einen Beschluss 7 gibt es in diesem Raum nicht. !beschlüsse zeigt alle."
    answer = await conv.reply(ORGA, "!beschluss aufheben 1 durch Beschluss 2", ROOM)
    assert answer.body == "Beschluss 1 „Sommerfest im Park“ ist jetzt aufgehoben durch Beschluss 2."
    answer = await conv.reply(ORGA, "!beschluss aufheben 1", ROOM)
    assert answer.body == "Beschluss 1 ist schon aufgehoben durch Beschluss 2."
    listed = await conv.reply(BOB, "!beschlüsse sommerfest", ROOM)
    assert listed.body.split("\n")[2].endswith("– angenommen (1 ja, 0 nein, 0 Enthaltungen) – aufgehoben durch "
                                               "Beschluss 2")
    detail = await conv.reply(BOB, "!beschluss 1", ROOM)
    assert "Aufgehoben durch Beschluss 2." in detail.body
    detail = await conv.reply(BOB, "!beschluss 2", ROOM)
    assert "Hebt Beschluss 1 auf." in detail.body
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    await decided(conv, "Old rule", (BOB, "yes"), room=ROOM_EN, close="!close")
    answer = await conv.reply(ORGA, "!decision revoke 1", ROOM_EN)
    assert answer.body == "Decision 1 “Old rule” is now revoked."
    detail = await conv.reply(BOB, "!decision 1", ROOM_EN)
    assert "Revoked on Sat, Nov 21, 2026." in detail.body
    answer = await conv.reply(ORGA, "!decision revoke 1 by soon", ROOM_EN)
    assert answer.body.startswith("I don't understand “by soon” – write the number of the later decision")


async def test_export_sends_a_markdown_file_for_the_minutes(conv):
    start = await poll_start(conv, "!umfrage Sommerfest *2027* | Park | Hof")
    await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    await conv.reply(ORGA, "!schliessen 1", ROOM)
    await decided(conv, "Beitrag erhöhen", (BOB, "nein"), (CAROL, "nein"))
    await conv.reply(ORGA, "!beschluss aufheben 1 durch 2", ROOM)
    ev = conv.event(BOB, "!beschlüsse export", ROOM)
    await conv.deliver(ev)
    [file] = conv.chat.replies_to(ev.event_id)
    assert file.content["msgtype"] == "m.file"
    assert file.content["filename"] == file.body == "beschluesse-ortsgruppe-2026-11-21.md"
    assert file.content["info"]["mimetype"] == "text/markdown"
    data = conv.chat.uploads[file.content["url"]]
    assert file.content["info"]["size"] == len(data)
    md = data.decode()
    assert md.startswith("# Beschlüsse – Ortsgruppe\n\nExportiert am Sa., 21. Nov. 2026: 2 Beschlüsse.\n")
    assert md.index("## Beschluss 1: Sommerfest \\*2027\\*") < md.index("## Beschluss 2: Beitrag erhöhen")
    first = md.split("## Beschluss 1")[1].split("## Beschluss 2")[0]
    assert "- Abgeschlossen am Sa., 21. Nov. 2026, 11:00 (Abstimmung #1, einfache Mehrheit)" in first
    assert "- Ergebnis: gewählt: 1. Park mit 1 von 1 gültigen Stimme" in first
    assert "    - ★ 1. Park – 1 Stimme\n    - 2\\. Hof – 0 Stimmen" in first
    assert "- Beteiligung: 1 Stimme abgegeben." in first
    assert "- Aufgehoben durch Beschluss 2\n" in first
    assert f"- Zur Abstimmung: <https://matrix.to/#/{ROOM}/{start.event_id}?via=test>" in first
    second = md.split("## Beschluss 2")[1]
    assert "- Ergebnis: abgelehnt (0 ja, 2 nein, 0 Enthaltungen)" in second and "- Hebt Beschluss 1 auf." in second


async def test_export_that_cannot_be_uploaded_is_retried_then_reported_once(conv):
    await decided(conv, "Antrag A", (BOB, "ja"))
    delivery = conv.app.delivery
    delivery.RETRY_BASE = 0
    conv.chat.fail_effects = delivery.MAX_ATTEMPTS  # the upload fails every time (after commit, retried)
    ev = conv.event(BOB, "!beschlüsse export", ROOM)
    await conv.deliver(ev)
    for _ in range(delivery.MAX_ATTEMPTS):
        await delivery.flush()
    [answer] = conv.chat.replies_to(ev.event_id)  # the file message went with its upload: one notice
    assert answer.body.startswith("Etwas, das ich dafür tun sollte")
    assert "nach mehreren Versuchen nicht erreichbar" in answer.body
    assert conv.chat.uploads == {}


async def test_export_uploaded_after_a_failed_attempt(conv):
    await decided(conv, "Antrag A", (BOB, "ja"))
    conv.app.delivery.RETRY_BASE = 0
    conv.chat.fail_effects = 1
    ev = conv.event(BOB, "!beschlüsse export", ROOM)
    await conv.deliver(ev)
    assert conv.chat.replies_to(ev.event_id) == []  # the upload waits for its retry, so does the file
    await conv.app.delivery.flush()
    [file] = conv.chat.replies_to(ev.event_id)
    assert conv.chat.uploads[file.content["url"]].decode().startswith("# Beschlüsse")


async def test_export_in_english_and_of_an_empty_record(conv):
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(BOB, "!decisions export", ROOM_EN)
    assert answer.body.startswith("This room has no decisions yet.")
    await decided(conv, "Buy a projector?", (BOB, "yes"), room=ROOM_EN, close="!close")
    ev = conv.event(BOB, "!decisions export", ROOM_EN)
    await conv.deliver(ev)
    [file] = conv.chat.replies_to(ev.event_id)
    assert file.body == "decisions-english-room-2026-11-21.md"
    md = conv.chat.uploads[file.content["url"]].decode()
    assert md.startswith("# Decisions – English room\n\nExported on Sat, Nov 21, 2026: 1 decision.\n")
    assert "## Decision 1: Buy a projector?" in md and "- Result: carried (1 yes, 0 no, 0 abstentions)" in md


async def test_help_explains_every_decision_command(conv):
    for topic, start in (("beschlüsse", "!beschlüsse [<Suchwörter>]"), ("beschluss", "!beschluss <Nr>"),
                         ("beschlüsse export", "!beschlüsse export [<Suchwörter>]"),
                         ("beschluss aufheben", "!beschluss aufheben <Nr> [<durch M>]")):
        answer = await conv.reply(BOB, f"!hilfe {topic}", ROOM)
        assert answer.body.startswith(start), answer.body
    answer = await conv.reply(BOB, "!hilfe termine", ROOM)
    assert "– Das Beschlussbuch dieses Raums" in answer.body and "!beschlüsse" in answer.body
    assert "!beschlüsse" in (await conv.reply(BOB, "!hilfe", ROOM)).body  # the overview names it


async def test_a_search_with_hundreds_of_words_is_one_sentence_not_an_internal_error(conv):
    answer = await conv.reply(BOB, "!beschlüsse " + " ".join(f"wort{i}" for i in range(300)), ROOM)
    assert "höchstens 10 Wörtern" in answer.body
