"""Conversation tests for consensing: option 0, resistances 0–10, lowest total wins, flags and ties."""
from __future__ import annotations

from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM, ROOM_EN


def cells(body: str, number: int) -> list[str]:
    line = next(line for line in body.split("\n") if line.lstrip("★ ").startswith(f"{number} "))
    return [c.strip() for c in line.split("|")]


async def test_consensus_adds_keep_things_as_they_are(conv):
    answer = await conv.reply(ALICE, "!konsens Wohin mit dem Geld? | Lastenrad | Sommerfest", ROOM)
    assert answer.body.startswith("🤝 #1 Wohin mit dem Geld? (Konsensieren) – offen")
    assert cells(answer.body, 0)[1] == "So lassen, wie es ist"
    assert cells(answer.body, 1)[1] == "Lastenrad" and cells(answer.body, 2)[1] == "Sommerfest"
    assert "!abstimmen 1 0=… 1=… 2=…" in answer.body
    await conv.reply(ORGA, "!room language en", ROOM_EN)
    answer = await conv.reply(ALICE, "!consensus Where? | Park", ROOM_EN)
    assert cells(answer.body, 0)[1] == "Keep things as they are"


async def test_lowest_total_resistance_wins_with_acceptance(conv):
    await conv.reply(ALICE, "!konsens Wohin? | Lastenrad | Sommerfest", ROOM)
    await conv.reply(ALICE, "!abstimmen 1 0=7 1=2 2=10", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=8 1=4 2=0", ROOM)
    answer = await conv.reply(CAROL, "!abstimmen 1 0=9 1=0 2=5", ROOM)
    assert answer.body == "Deine Bewertung für #1 ist eingetragen."
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    lines = result.body.split("\n")
    assert lines[0] == ("Ergebnis #1 „Wohin?“: den geringsten Widerstand hat 1. Lastenrad "
                        "(6 Punkte, Akzeptanz 80 %).")
    assert cells(result.body, 0)[2:5] == ["24", "8,0", "20 %"]
    assert cells(result.body, 1)[:5] == ["★ 1", "Lastenrad", "6", "2,0", "80 %"]
    assert cells(result.body, 2)[2:5] == ["15", "5,0", "50 %"]
    assert not any(c.startswith("⚠") for c in cells(result.body, 2))


async def test_ties_are_named_and_options_not_better_than_passive_flagged(conv):
    await conv.reply(ALICE, "!konsens Was tun? | A | B | C", ROOM)
    await conv.reply(ALICE, "!abstimmen 1 0=5 1=2 2=2 3=9", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=1 1=3 2=3 3=0", ROOM)
    result = await conv.reply(ORGA, "!schliessen 1", ROOM)
    assert result.body.split("\n")[0] == "Ergebnis #1 „Was tun?“: gleich geringer Widerstand (5 Punkte) bei 1. A; 2. B."
    assert cells(result.body, 3)[-1] == "⚠ nicht besser als 0"  # 9 is not less than the passive solution's 6
    assert cells(result.body, 1)[-1] == ""
    assert "⚠ = nicht weniger Widerstand als „So lassen, wie es ist“" in result.body


async def test_latest_rating_replaces_the_earlier_one(conv):
    await conv.reply(ALICE, "!konsens Was tun? | A", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=0 1=10", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=10 1=0", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert result.body.startswith("Ergebnis #1 „Was tun?“: den geringsten Widerstand hat 1. A (0 Punkte")
    assert "1 Person hat bewertet: @bob:test" in conv.chat.sent[-2].content.get("m.new_content", {}).get("body", "")


async def test_passive_solution_can_win_and_nobody_rating_is_said(conv):
    await conv.reply(ALICE, "!konsens Umziehen? | Neues Büro", ROOM)
    await conv.reply(BOB, "!abstimmen 1 0=1 1=8", ROOM)
    result = await conv.reply(ALICE, "!schliessen 1", ROOM)
    assert "den geringsten Widerstand hat 0. So lassen, wie es ist" in result.body.split("\n")[0]
    await conv.reply(ALICE, "!konsens Leer? | X | Y", ROOM)
    result = await conv.reply(ALICE, "!schliessen 2", ROOM)
    assert result.body.split("\n")[0] == "Ergebnis #2 „Leer?“: niemand hat bewertet."


async def test_bad_ratings_get_one_sentence(conv):
    await conv.reply(ALICE, "!konsens Was tun? | A | B", ROOM)
    cases = {
        "!abstimmen 1 0=7 2=1": "Es fehlt noch ein Widerstand für Option 1.",
        "!abstimmen 1 0=7": "Es fehlt noch ein Widerstand für Option 1, 2.",
        "!abstimmen 1 0=11 1=1 2=1": "„0=11“: der Widerstand ist eine ganze Zahl von 0 bis 10.",
        "!abstimmen 1 0=7 1=2 3=1": "Umfrage #1 hat die Optionen 0 bis 2; eine 3 gibt es nicht.",
        "!abstimmen 1 0 1 2": "„0“: gib jeder Option einen Widerstand, z. B. 1=3.",
    }
    for body, expected in cases.items():
        answer = await conv.reply(BOB, body, ROOM)
        assert answer.body.startswith(expected), (body, answer.body)
    answer = await conv.reply(ALICE, "!konsens Zu wenig", ROOM)
    assert "Da fehlen die Einträge" in answer.body
    answer = await conv.reply(ALICE, "!konsens Zu viel | " + " | ".join(f"V{i}" for i in range(20)), ROOM)
    assert answer.body.startswith("Höchstens 20 Optionen, bitte – das sind 21.")


async def test_superscript_rating_gets_a_sentence_not_an_internal_error(conv):
    await conv.reply(ALICE, "!konsens Wohin? | Lastenrad | Sommerfest", ROOM)
    answer = await conv.reply(BOB, "!abstimmen 1 0=² 1=1 2=1", ROOM)
    assert answer.body.split("\n")[0] == "„0=²“: der Widerstand ist eine ganze Zahl von 0 bis 10."
