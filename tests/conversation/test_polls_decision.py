"""Conversation tests for decision polls: native Element polls, !vote, choices, quorum, majority, secret ballots."""
from __future__ import annotations

from datetime import timedelta

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM

START, RESPONSE, END = ("org.matrix.msc3381.poll.start", "org.matrix.msc3381.poll.response",
                        "org.matrix.msc3381.poll.end")
DM = "!dm-bob:test"


async def create(conv, body: str, sender: str = ALICE):
    ev = conv.event(sender, body, ROOM)
    sent = await conv.deliver(ev)
    start = next((s for s in sent if s.type == START), None)
    status = next(s for s in sent if s.reply_to == ev.event_id)
    return start, status


def response(conv, sender: str, start_id: str, *answers: str, **kw):
    return conv.event(sender, "", ROOM, type=RESPONSE, content={
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
        RESPONSE: {"answers": list(answers)}}, **kw)


def last_edit(conv, target: str) -> str:
    found = [s for s in conv.chat.sent if s.content.get("m.relates_to", {}).get("rel_type") == "m.replace"
             and s.content["m.relates_to"]["event_id"] == target]
    return found[-1].content["m.new_content"]["body"]


def row(body: str, number: int) -> str:
    return next(line for line in body.split("\n") if line.startswith(f"{number} "))


async def test_poll_is_a_native_element_poll_with_fallback(conv):
    start, status = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    content = start.content
    assert content[START] == {
        "question": {"org.matrix.msc1767.text": "Mittagessen?", "body": "Mittagessen?", "msgtype": "m.text"},
        "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
        "answers": [{"id": "1", "org.matrix.msc1767.text": "Pizza"}, {"id": "2", "org.matrix.msc1767.text": "Sushi"}]}
    assert content["org.matrix.msc1767.text"] == "Mittagessen?\n1. Pizza\n2. Sushi"
    assert content["body"] == content["org.matrix.msc1767.text"]
    assert status.body.startswith("🗳 #1 Mittagessen? – offen")
    assert "!abstimmen 1 <Nr.>" in status.body


async def test_native_responses_count_and_only_the_latest_per_member(conv):
    start, status = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    await conv.deliver(response(conv, BOB, start.event_id, "1"))
    await conv.deliver(response(conv, CAROL, start.event_id, "1"))
    await conv.deliver(response(conv, BOB, start.event_id, "2"))
    body = last_edit(conv, status.event_id)
    assert row(body, 1).split("|")[2].strip() == "1" and "carol" in row(body, 1)
    assert row(body, 2).split("|")[2].strip() == "1" and "bob" in row(body, 2)
    assert "2 Stimmen abgegeben." in body
    answer = await conv.reply(CAROL, "!abstimmen 1 2", ROOM)  # typed after clicking: the typed vote is latest
    assert answer.body == "Deine Stimme für #1: 2. Sushi."
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.split("\n")[0] == "Ergebnis #1 „Mittagessen?“: gewonnen hat 2. Sushi mit 2 von 2 gültigen Stimmen."
    assert "Der Beschluss ist gültig: einfache Mehrheit erreicht." in result.body


async def test_close_sends_the_poll_end_and_later_responses_are_ignored(conv):
    start, status = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    await conv.deliver(response(conv, BOB, start.event_id, "1"))
    sent = await conv.say(ORGA, "!schliessen 1", ROOM)
    [end] = [s for s in sent if s.type == END]
    assert end.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": start.event_id}
    assert end.content[END] == {}
    assert end.content["org.matrix.msc1767.text"].startswith("Die Umfrage ist beendet. Ergebnis #1")
    assert await conv.say(CAROL, "", ROOM, type=RESPONSE, content={
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id}, RESPONSE: {"answers": ["2"]}}) == []
    result = await conv.reply(ALICE, "!ergebnis 1", ROOM)
    assert result.body.startswith("Ergebnis #1 „Mittagessen?“: gewonnen hat 1. Pizza mit 1 von 1 gültigen Stimme.")


async def test_deadline_closes_a_decision_poll(conv):
    start, _ = await create(conv, "!umfrage Antrag: Beamer kaufen\nbis: morgen 12:00")
    await conv.deliver(response(conv, BOB, start.event_id, "1"))
    await conv.reply(CAROL, "!abstimmen 1 nein", ROOM)
    await conv.reply(ORGA, "!abstimmen 1 ja", ROOM)
    sent = await conv.advance(timedelta(days=1, hours=2))
    result = next(s for s in sent if s.body.startswith("Ergebnis"))
    assert result.body.split("\n")[0] == "Ergebnis #1: „Antrag: Beamer kaufen“ ist angenommen (2 ja, 1 nein, 0 Enthaltungen)."
    assert any(s.type == END for s in sent)


async def test_yes_no_motion_rejected_tied_and_abstentions(conv):
    await create(conv, "!umfrage Antrag A")
    for who, choice in ((ALICE, "nein"), (BOB, "nein"), (CAROL, "enthaltung"), (ORGA, "ja")):
        await conv.reply(who, f"!abstimmen 1 {choice}", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.startswith("Ergebnis #1: „Antrag A“ ist abgelehnt (1 ja, 2 nein, 1 Enthaltung).")
    await create(conv, "!umfrage Antrag B")
    await conv.reply(ALICE, "!abstimmen 2 1", ROOM)
    await conv.reply(BOB, "!abstimmen 2 2", ROOM)
    result = await conv.reply(ALICE, "!schliessen 2", ROOM)
    assert result.body.startswith("Ergebnis #2: „Antrag B“ ist nicht angenommen – Stimmengleichheit (1 ja, 1 nein).")
    assert "Kein gültiger Beschluss: Stimmengleichheit." in result.body


async def test_quorum_and_two_thirds_majority_state_validity(conv):
    await create(conv, "!umfrage Satzungsänderung\nquorum: 3\nmehrheit: 2/3")
    await conv.reply(ALICE, "!abstimmen 1 ja", ROOM)
    await conv.reply(BOB, "!abstimmen 1 ja", ROOM)
    result = await conv.reply(ALICE, "!ergebnis 1", ROOM)
    assert result.body.startswith("Zwischenstand von #1 (noch offen):")
    assert "Quorum: 3" in result.body and "2 Stimmen abgegeben." in result.body
    await conv.reply(CAROL, "!abstimmen 1 nein", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    lines = result.body.split("\n")
    assert lines[0] == "Ergebnis #1: „Satzungsänderung“ ist angenommen (2 ja, 1 nein, 0 Enthaltungen)."
    assert lines[1].startswith("Der Beschluss ist gültig: Zweidrittelmehrheit erreicht.")
    await create(conv, "!umfrage Nochmal | A | B | C\nquorum: 2\nmehrheit: 2/3")
    for who, choice in ((ALICE, "1"), (BOB, "1"), (CAROL, "2")):
        await conv.reply(who, f"!abstimmen 2 {choice}", ROOM)
    await conv.reply(ORGA, "!abstimmen 2 3", ROOM)
    result = await conv.reply(ALICE, "!schliessen 2", ROOM)
    assert result.body.startswith("Ergebnis #2 „Nochmal“: kein Gewinner – keine Option hat die Zweidrittelmehrheit")
    assert "Kein gültiger Beschluss: Zweidrittelmehrheit nicht erreicht." in result.body


async def test_several_choices_by_command(conv):
    start, _ = await create(conv, "!umfrage Welche Themen? | Wohnen | Verkehr | Klima\nauswahl: 2")
    assert start.content[START]["max_selections"] == 2
    answer = await conv.reply(BOB, "!abstimmen 1 1 3", ROOM)
    assert answer.body == "Deine Stimme für #1: 1. Wohnen; 3. Klima."
    answer = await conv.reply(BOB, "!abstimmen 1 1 2 3", ROOM)
    assert answer.body == "Bei Umfrage #1 darfst du höchstens 2 wählen, z. B. !abstimmen 1 1 2"
    await conv.deliver(response(conv, CAROL, start.event_id, "2", "3"))
    result = await conv.reply(ALICE, "!ergebnis 1", ROOM)
    assert row(result.body, 3).replace(" ", "").startswith("3|Klima|2|")


async def test_bad_decision_polls_get_one_sentence(conv):
    cases = {
        "!umfrage Frage | Nur eine": "Eine Umfrage braucht mindestens 2 Optionen.",
        "!umfrage Frage | A | a": "„a“ steht zweimal in der Liste.",
        "!umfrage Frage | " + " | ".join(f"O{i}" for i in range(21)): "Höchstens 20 Optionen, bitte – das sind 21.",
        "!umfrage Frage | A | B\nauswahl: 3": "auswahl: 3 geht nicht – es gibt nur 2 Optionen zur Wahl.",
        "!umfrage Frage | A | B\nmehrheit: absolut": "„absolut“ ist keine Mehrheitsregel",
        "!umfrage Frage | A | B\nquorum: 0": "„0“ geht hier nicht: Bitte gib eine ganze Zahl ab 1 an.",
        "!umfrage Frage | A | B\nbis: gestern 10:00": "„gestern 10:00“ liegt in der Vergangenheit.",
    }
    for body, expected in cases.items():
        answer = await conv.reply(ALICE, body, ROOM)
        assert answer.body.startswith(expected), (body, answer.body)
    await create(conv, "!umfrage Frage | A | B")
    for body, expected in {"!abstimmen 1 3": "Umfrage #1 hat die Optionen 1 bis 2; eine 3 gibt es nicht.",
                           "!abstimmen 1 ja": "„ja“ verstehe ich nicht"}.items():
        answer = await conv.reply(BOB, body, ROOM)
        assert answer.body.startswith(expected), (body, answer.body)


async def test_only_creator_or_organiser_may_close(conv):
    await create(conv, "!umfrage Frage | A | B")
    answer = await conv.reply(BOB, "!schliessen 1", ROOM)
    assert answer.body == ("Umfrage #1 schließen dürfen nur @alice:test (hat sie angelegt) und die "
                           "Organisator*innen des Raums.")
    answer = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert answer.body.startswith("Ergebnis #1 „Frage“: kein Gewinner")
    answer = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert answer.body.startswith("Umfrage #1 ist schon geschlossen.")


# --------------------------------------------------------------------------- secret ballots
async def test_secret_ballot_only_in_a_direct_chat_and_hidden_until_close(conv):
    conv.chat.add_room(DM, [BOB])
    conv.chat.add_room("!dm-carol:test", [CAROL])
    start, status = await create(conv, "!umfrage Vorstandswahl | Anna | Ben\ngeheim: ja")
    assert start is None  # no native poll: its responses would show who chose what
    assert status.body.startswith("🔒 #1 Vorstandswahl (geheim) – offen") and "Direktchat" in status.body
    answer = await conv.reply(BOB, "!abstimmen 1 1", ROOM)
    assert answer.body.startswith("Umfrage #1 ist geheim: stimm bitte im Direktchat mit mir ab")
    answer = await conv.reply(BOB, "abstimmen 1 1", DM)
    assert answer.body == "Deine geheime Stimme für #1 ist gezählt. Bis zum Schluss kannst du sie noch ändern."
    answer = await conv.reply(BOB, "abstimmen 1 2", DM)
    assert answer.body.startswith("Deine geheime Stimme für #1 ist geändert")
    await conv.reply(CAROL, "abstimmen 1 2", "!dm-carol:test")
    for text in (last_edit(conv, status.event_id), (await conv.reply(ALICE, "!ergebnis 1", ROOM)).body):
        assert "2 Stimmen abgegeben." in text and "Ben" not in text.split("\n", 1)[1].replace("Direktchat", "")
    stored = await conv.app.db.fetchall("SELECT * FROM poll_secret_ballots")
    assert len(stored) == 2 and not any("@" in str(tuple(r)) for r in stored)
    assert "gewonnen" not in (await conv.reply(ALICE, "!ergebnis 1", ROOM)).body
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.split("\n")[0] == "Ergebnis #1 „Vorstandswahl“: gewonnen hat 2. Ben mit 2 von 2 gültigen Stimmen."
    assert "bob" not in result.body and "carol" not in result.body
    assert await conv.app.db.fetchval("SELECT COUNT(*) FROM poll_secret_ballots WHERE tag IS NOT NULL") == 0
    assert await conv.app.db.fetchval("SELECT COUNT(*) FROM polls WHERE secret_key IS NOT NULL") == 0
    outbox = await conv.app.db.fetchall("SELECT content FROM outbox")
    assert not any("Ben" in r["content"] and "geheime Stimme" in r["content"] for r in outbox)


async def test_vote_from_a_direct_chat_needs_membership_of_the_polls_room(conv):
    conv.chat.add_room("!dm-stranger:test", ["@stranger:test"])
    conv.chat.add_room(DM, [BOB])
    await create(conv, "!umfrage Frage | A | B\ngeheim: ja")
    answer = await conv.reply("@stranger:test", "abstimmen 1 1", "!dm-stranger:test")
    assert answer.body.startswith("Eine Umfrage #1 gibt es hier nicht.")
    await create(conv, "!umfrage Offen | A | B")
    answer = await conv.reply(BOB, "abstimmen 2 1", DM)  # open polls may be answered from a direct chat too
    assert answer.body == "Deine Stimme für #2: 1. A."
    answer = await conv.reply(BOB, "schliessen 2", DM)
    assert answer.body == ("Umfrage #2 schließen dürfen nur @alice:test (hat sie angelegt) und die "
                           "Organisator*innen des Raums.")


async def test_secret_nudge_counts_without_names(conv):
    conv.chat.add_room(DM, [BOB])
    await create(conv, "!umfrage Wahl | A | B\ngeheim: ja\nbis: 23.11. 12:00")
    await conv.reply(BOB, "abstimmen 1 1", DM)
    sent = await conv.advance(timedelta(days=1, hours=1))
    [nudge] = [s for s in sent if s.body.startswith("⏰")]
    assert "3 Mitglieder haben noch nicht abgestimmt" in nudge.body and nudge.mentions == []


async def test_superscript_and_endless_numbers_get_a_sentence_not_an_internal_error(conv):
    await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    for number in ("²", "1" * 5000):
        answer = await conv.reply(BOB, f"!abstimmen 1 {number}", ROOM)
        assert answer.body.split("\n")[0] == f"„{number}“ verstehe ich nicht – schreib die Nummer einer Option, z. B. 2."


async def test_a_native_answer_id_like_superscript_two_counts_as_invalid(conv):
    start, status = await create(conv, "!umfrage Mittagessen? | Pizza | Sushi")
    await conv.deliver(response(conv, BOB, start.event_id, "²"))
    body = last_edit(conv, status.event_id)
    assert "1 Stimme abgegeben." in body
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert "Abgegeben: 1, davon 0 Enthaltungen und 1 ungültig; 0 gültige Stimmen." in result.body


async def test_majority_words_with_and_without_mehrheit(conv):
    for n, words in enumerate(("Zwei  Drittel Mehrheit", "two-thirds majority", "2/3-Mehrheit"), start=1):
        await create(conv, f"!umfrage Frage {n} | A | B\nmehrheit: {words}")
        result = await conv.reply(ALICE, f"!ergebnis {n}", ROOM)
        assert "Zweidrittelmehrheit" in result.body, words
    await create(conv, "!umfrage Frage 4 | A | B\nmehrheit: einfache Mehrheit")
    assert "einfache Mehrheit" in (await conv.reply(ALICE, "!ergebnis 4", ROOM)).body
