"""Conversation tests for duties: create/edit/delete, pools, the plan, the list, and every input error."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.conversation.test_duties_support import (ALICE, BOB, CAROL, EN, MEMBERS, ORGA, ROOM, duty_conv,  # noqa: F401
                                                    minutes_duty, plan_rows)


async def test_create_answers_with_number_rule_and_how_to_join(duty_conv):
    answer = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    assert answer.body.startswith("Dienst #1 „Protokoll“ ist angelegt.")
    assert "jeden Dienstag um 18:00 · 1 Person je Termin · Ankündigung 7 Tage vorher · Erinnerung 1 Tag vorher" \
        in answer.body
    assert "!dienst mitmachen Protokoll" in answer.body
    second = await duty_conv.reply(ORGA, "!duty create Moderation | first Monday of the month 19:00", ROOM)
    assert "#2" in second.body and "jeden ersten Montag im Monat um 19:00" in second.body


async def test_create_in_english_with_settings(duty_conv):
    await duty_conv.reply(ORGA, "!room language en", EN)
    answer = await duty_conv.reply(
        ORGA, "!duty create Cleaning | every 2 weeks on Friday 17:00\npeople: 2\nlead: 10 days\nremind: 36h\n"
              "weight: 1,5", EN)
    assert answer.body.splitlines()[0] == "Duty #1 “Cleaning” is created."
    assert ("every 2 weeks on Friday at 17:00 · 2 people per date · announced 10 days ahead · reminder 36 hours before"
            " · weight 1.5") in answer.body
    german = await duty_conv.reply(ORGA, "!dienst anlegen Kasse | monatlich am 1. um 10 Uhr\npersonen: 1\n"
                                         "vorlauf: 2 Wochen\nerinnerung: 0", ROOM)
    assert "Ankündigung 14 Tage vorher" in german.body and "Erinnerung" not in german.body


async def test_create_without_time_says_which_time_it_took(duty_conv):
    answer = await duty_conv.reply(ORGA, "!dienst anlegen Putzen | letzter Freitag im Monat", ROOM)
    assert "keine Uhrzeit angegeben, ich nehme 18:00 Uhr" in answer.body


async def test_only_organisers_create_edit_delete(duty_conv):
    for cmd in ("!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", "!dienst ändern Protokoll\npersonen: 2",
                "!dienst löschen Protokoll"):
        answer = await duty_conv.reply(ALICE, cmd, ROOM)
        assert "Das dürfen nur Organisator*innen" in answer.body


async def test_duplicate_name_is_refused_case_insensitively(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    answer = await duty_conv.reply(ORGA, "!dienst anlegen PROTOKOLL | jeden Mittwoch 18 Uhr", ROOM)
    assert answer.body == ("Den Dienst „Protokoll“ gibt es hier schon (#1). Nimm einen anderen Namen oder ändere "
                           "ihn mit !dienst ändern Protokoll.")


async def test_unreadable_recurrence_says_what_was_understood(duty_conv):
    answer = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden blauen Dienstag 18 Uhr", ROOM)
    assert "Verstanden habe ich: Dienstag, 18:00." in answer.body
    assert "Nicht verstanden: „blauen“." in answer.body
    assert "So geht's: !dienst anlegen <Dienst>" in answer.body
    nothing = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | irgendwann mal", ROOM)
    assert "kann ich nicht als Wiederholung lesen" in nothing.body and "Nicht verstanden: „irgendwann“, „mal“" \
        in nothing.body
    no_day = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | alle 2 Wochen 18 Uhr", ROOM)
    assert "fehlt der Wochentag" in no_day.body and "alle 2 Wochen, 18:00" in no_day.body
    await duty_conv.reply(ORGA, "!room language en", EN)
    english = await duty_conv.reply(ORGA, "!duty create Minutes | every second Tuesday 6pm", EN)
    assert "is ambiguous" in english.body and "What I understood: 2nd, Tuesday, 18:00." in english.body
    cron = await duty_conv.reply(ORGA, "!duty create Minutes | 0 18 * * 9", EN)
    assert "cron expression" in cron.body and "“9” does not fit" in cron.body


async def test_bad_settings_are_refused(duty_conv):
    people = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr\npersonen: 0", ROOM)
    assert people.body.startswith("„0“ geht nicht als Zahl der Personen je Termin: mindestens 1")
    remind = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr\nvorlauf: 1 Tag\n"
                                         "erinnerung: 2 Tage", ROOM)
    assert remind.body.startswith("Die Erinnerung muss näher am Termin liegen als die Ankündigung")
    weight = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr\ngewicht: schwer", ROOM)
    assert weight.body.startswith("„schwer“ geht nicht als Gewicht")
    lead = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr\nvorlauf: bald", ROOM)
    assert lead.body.startswith("„bald“ kann ich nicht als Dauer lesen")
    number = await duty_conv.reply(ORGA, "!dienst anlegen 12 | jeden Dienstag 18 Uhr", ROOM)
    assert number.body.startswith("„12“ ist eine Nummer")
    two = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr | jeden Freitag", ROOM)
    assert two.body.startswith("Bitte nur eine Wiederholung")
    often = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | */5 * * * *", ROOM)
    assert "zu oft für einen Dienst" in often.body
    assert (await duty_conv.reply(ALICE, "!dienste", ROOM)).body.startswith("Hier gibt es noch keine Dienste")


async def test_unknown_duty_names_the_existing_ones(duty_conv):
    none = await duty_conv.reply(ALICE, "!dienst mitmachen Protokoll", ROOM)
    assert "in diesem Raum gibt es noch keine Dienste" in none.body
    await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    await duty_conv.reply(ORGA, "!dienst anlegen Moderation | jeden Dienstag 18 Uhr", ROOM)
    for cmd in ("!dienst mitmachen Protokol", "!dienst plan Kasse", "!dienst erledigt Kasse",
                "!dienst übernehmen Kasse 1.12."):
        answer = await duty_conv.reply(ALICE, cmd, ROOM)
        assert "gibt es hier nicht. Vorhanden: Protokoll, Moderation." in answer.body, answer.body


async def test_names_are_case_insensitive_and_numbers_work(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Social Media | jeden Freitag 12 Uhr", ROOM)
    assert "Pool von Social Media (1 Person)" in (await duty_conv.reply(ALICE, "!dienst mitmachen social media",
                                                                         ROOM)).body
    assert "Pool von Social Media (2 Personen)" in (await duty_conv.reply(BOB, "!dienst mitmachen #1", ROOM)).body
    assert (await duty_conv.reply(BOB, "!dienst mitmachen 1", ROOM)).body == "Du bist schon im Pool von Social Media."
    plan = await duty_conv.reply(ALICE, "!dienst plan SOCIAL MEDIA 4", ROOM)
    assert len(plan_rows(plan.body)) == 4


async def test_join_and_leave_errors(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    assert (await duty_conv.reply(ALICE, "!dienst austreten Protokoll", ROOM)).body == \
        "Du bist nicht im Pool von Protokoll."
    await duty_conv.reply(ALICE, "!dienst mitmachen Protokoll", ROOM)
    assert (await duty_conv.reply(ALICE, "!dienst mitmachen Protokoll", ROOM)).body == \
        "Du bist schon im Pool von Protokoll."


async def test_plan_assigns_fairly_and_names_without_pinging(duty_conv):
    await minutes_duty(duty_conv)
    answer = await duty_conv.reply(BOB, "!dienst plan Protokoll 8", ROOM)
    rows = plan_rows(answer.body)
    assert [r[0] for r in rows] == ["Di 24.11. 18:00", "Di 1.12. 18:00", "Di 8.12. 18:00", "Di 15.12. 18:00",
                                    "Di 22.12. 18:00", "Di 29.12. 18:00", "Di 5.1. 18:00", "Di 12.1. 18:00"]
    assert Counter(u for _, users in rows for u in users) == {m: 2 for m in MEMBERS}
    assert all(a[1] != b[1] for a, b in zip(rows, rows[1:]))  # nobody twice in a row
    assert answer.mentions == []  # a plan names people, it never pings them (issue 11, defect 10)
    assert "matrix.to" not in answer.html
    again = await duty_conv.reply(CAROL, "!dienst plan Protokoll 8", ROOM)
    assert plan_rows(again.body) == rows  # stable
    default = await duty_conv.reply(CAROL, "!dienst plan Protokoll", ROOM)
    assert plan_rows(default.body) == rows[:5]
    too_many = await duty_conv.reply(CAROL, "!dienst plan Protokoll 99", ROOM)
    assert too_many.body.startswith("Bitte gib eine Anzahl von 1 bis 26 an.")


async def test_plan_with_nobody_in_the_pool_says_so(duty_conv):
    await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    answer = await duty_conv.reply(ALICE, "!dienst plan Protokoll 2", ROOM)
    assert plan_rows(answer.body) == [("Di 24.11. 18:00", ()), ("Di 1.12. 18:00", ())]
    assert "Im Pool: 0 Personen" in answer.body and answer.mentions == []


async def test_two_people_per_date(duty_conv):
    await minutes_duty(duty_conv, extra="\npersonen: 2")
    rows = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 4", ROOM)).body)
    assert all(len(users) == 2 for _, users in rows)
    assert Counter(u for _, users in rows for u in users) == {m: 2 for m in MEMBERS}


async def test_joining_later_gets_a_fair_share_of_unannounced_turns(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    await duty_conv.advance(timedelta(minutes=1))  # the first date (24.11.) is announced
    before = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 6", ROOM)).body)
    await duty_conv.reply(CAROL, "!dienst mitmachen Protokoll", ROOM)
    after = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 6", ROOM)).body)
    assert after[0] == before[0]  # announced: stays
    assert Counter(u for _, users in after for u in users) == {ALICE: 2, BOB: 2, CAROL: 2}


async def test_leaving_reassigns_only_the_leavers_future_turns(duty_conv):
    await minutes_duty(duty_conv)
    rows = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 8", ROOM)).body)
    answer = await duty_conv.reply(BOB, "!dienst austreten Protokoll", ROOM)
    assert answer.body.startswith("Du bist nicht mehr im Pool von Protokoll. Deine 2 geplanten Einsätze gehen an andere:")
    bob_dates = [d for d, users in rows if BOB in users]
    for day in bob_dates:
        assert f"Protokoll {day} → @" in answer.body
    after = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 8", ROOM)).body)
    for before_row, after_row in zip(rows, after):
        if BOB in before_row[1]:
            assert BOB not in after_row[1] and after_row[1]
        else:
            assert before_row == after_row
    assert set(answer.mentions) <= set(MEMBERS) - {BOB} and answer.mentions


async def test_edit_people_rule_name_and_nothing(duty_conv):
    await minutes_duty(duty_conv)
    await duty_conv.advance(timedelta(minutes=1))  # 24.11. announced
    nothing = await duty_conv.reply(ORGA, "!dienst ändern Protokoll", ROOM)
    assert nothing.body.startswith("Was soll sich ändern?")
    two = await duty_conv.reply(ORGA, "!dienst ändern Protokoll\npersonen: 2", ROOM)
    assert "2 Personen je Termin" in two.body
    rows = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 4", ROOM)).body)
    assert [len(u) for _, u in rows] == [2, 2, 2, 2]  # the announced date is topped up too
    moved = await duty_conv.reply(ORGA, "!dienst ändern Protokoll | jeden Mittwoch 19 Uhr", ROOM)
    assert "jeden Mittwoch um 19:00" in moved.body
    assert "Diese Termine entfallen: Di 24.11. 18:00, Di 1.12. 18:00" in moved.body
    rows = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 2", ROOM)).body)
    assert [d for d, _ in rows] == ["Mi 25.11. 19:00", "Mi 2.12. 19:00"]
    renamed = await duty_conv.reply(ORGA, "!dienst ändern Protokoll\nname: Mitschrift", ROOM)
    assert "Dienst #1 „Mitschrift“ ist geändert." in renamed.body
    assert (await duty_conv.reply(ALICE, "!dienst plan Mitschrift 1", ROOM)).body.startswith("#1 Mitschrift")


async def test_delete_keeps_history_and_frees_the_name(duty_conv):
    await minutes_duty(duty_conv)
    answer = await duty_conv.reply(ORGA, "!dienst löschen protokoll", ROOM)
    assert answer.body.startswith("Dienst #1 „Protokoll“ ist gelöscht.")
    assert "gibt es hier nicht" in (await duty_conv.reply(ALICE, "!dienst plan Protokoll", ROOM)).body
    again = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr", ROOM)
    assert again.body.startswith("Dienst #2 „Protokoll“")
    sent = await duty_conv.advance(timedelta(days=30))
    assert not any("Protokoll" in s.body and s.mentions for s in sent)  # the deleted duty's turns are gone


async def test_duties_lists_upcoming_assignments_without_pinging(duty_conv):
    await minutes_duty(duty_conv)
    await duty_conv.reply(ORGA, "!dienst anlegen Willkommen", ROOM)
    answer = await duty_conv.reply(ALICE, "!dienste", ROOM)
    lines = answer.body.splitlines()
    assert lines[0] == "Dienste in diesem Raum:"
    assert lines[1] == "#1 Protokoll – jeden Dienstag um 18:00 – 4 Personen im Pool"
    assert lines[2].startswith("• Di 24.11. 18:00: @") and len(lines) >= 5
    assert "#2 Willkommen – ohne feste Termine – 0 Personen im Pool" in answer.body
    assert answer.mentions == []
    english = await duty_conv.reply(ALICE, "!duties", EN)
    assert english.body.startswith("Hier gibt es noch keine Dienste")  # EN room: German default, no duties there


async def test_stats_needs_duties_and_a_sane_window(duty_conv):
    assert (await duty_conv.reply(ALICE, "!dienst statistik", ROOM)).body.startswith("Hier gibt es noch keine Dienste")
    await minutes_duty(duty_conv)
    assert (await duty_conv.reply(ALICE, "!dienst statistik 99", ROOM)).body.startswith("Bitte gib eine Zahl von Monaten")
    answer = await duty_conv.reply(ALICE, "!dienst statistik 3", ROOM)
    assert answer.body.startswith("Dienste der letzten 3 Monate (seit Fr., 21. Aug. 2026):")
    assert "<table>" in answer.html


async def test_help_lists_duty_commands(duty_conv):
    answer = await duty_conv.reply(ALICE, "!hilfe dienst übernehmen", ROOM)
    assert "!dienst übernehmen <Dienst> <Datum>" in answer.body
    assert "Übernimmt den Einsatz an einem Tag" in answer.body
    overview = await duty_conv.reply(ALICE, "!hilfe dienste", ROOM)
    for name in ("!dienst anlegen", "!dienst plan", "!dienste", "!abwesend"):
        assert name in overview.body



async def test_rule_changed_and_back_plans_the_old_dates_again(duty_conv):
    await minutes_duty(duty_conv, members=(ALICE, BOB))
    await duty_conv.reply(ORGA, "!dienst ändern Protokoll | jeden Mittwoch 18 Uhr", ROOM)
    back = await duty_conv.reply(ORGA, "!dienst ändern Protokoll | jeden Dienstag 18 Uhr", ROOM)
    assert "Diese Termine entfallen: Mi 25.11. 18:00" in back.body
    rows = plan_rows((await duty_conv.reply(ALICE, "!dienst plan Protokoll 3", ROOM)).body)
    assert [d for d, _ in rows] == ["Di 24.11. 18:00", "Di 1.12. 18:00", "Di 8.12. 18:00"]
    assert all(users for _, users in rows)
    sent = await duty_conv.advance(timedelta(minutes=1))
    assert [s.mentions for s in sent if s.body.startswith("📋")] == [list(rows[0][1])]


async def test_more_bad_input(duty_conv):
    lead = await duty_conv.reply(ORGA, "!dienst anlegen Protokoll | jeden Dienstag 18 Uhr\nvorlauf: 0\nerinnerung: 0",
                                 ROOM)
    assert lead.body.startswith("Die Ankündigung braucht einen Vorlauf von mehr als null")
    long = await duty_conv.reply(ORGA, "!dienst anlegen " + "x" * 41 + " | jeden Dienstag 18 Uhr", ROOM)
    assert long.body.startswith("„" + "x" * 41 + "“ geht nicht als Name eines Dienstes")
    await minutes_duty(duty_conv, members=(ALICE,))
    await duty_conv.advance(timedelta(days=3, hours=1))  # Tuesday 24.11., 12:00 in Berlin
    await duty_conv.reply(ALICE, "!dienst erledigt Protokoll", ROOM)  # done before 18:00
    done = await duty_conv.reply(BOB, "!dienst übernehmen Protokoll 24.11.", ROOM)
    assert done.body == "Der Einsatz bei Protokoll am Di 24.11. 18:00 ist schon als erledigt bestätigt."


async def test_english_room_speaks_english(duty_conv):
    await duty_conv.reply(ORGA, "!room language en", EN)
    await duty_conv.reply(ORGA, "!duty create Minutes | every Tuesday 6pm", EN)
    joined = await duty_conv.reply(ALICE, "!duty join minutes", EN)
    assert joined.body == "You are now in the pool of Minutes (1 person).\nYour next turn: Tue, Nov 24, 2026, 6:00 PM."
    await duty_conv.reply(BOB, "!duty join minutes", EN)
    plan = await duty_conv.reply(BOB, "!duty plan Minutes 2", EN)
    assert plan.body.splitlines()[1:] == ["In the pool: 2 people", "• Tue Nov 24, 6:00 PM: @alice:test",
                                          "• Tue Dec 1, 6:00 PM: @bob:test"]
    take = await duty_conv.reply(BOB, "!duty take Minutes 2026-11-24", EN)
    assert take.body == "@alice:test: @bob:test takes over your turn for Minutes on Tue Nov 24, 6:00 PM – you are free."
    away = await duty_conv.reply(BOB, "!away 2026-12-01 2026-12-02", EN)
    assert away.body == ("Absence noted: Tue, Dec 1, 2026 to Wed, Dec 2, 2026. This turn goes to someone else:\n"
                         "Minutes Tue Dec 1, 6:00 PM → @alice:test")
    listed = await duty_conv.reply(ORGA, "!duties", EN)
    assert listed.body.startswith("Duty in this room:\n#1 Minutes – every Tuesday at 18:00 – 2 people in the pool")
    stats = await duty_conv.reply(ORGA, "!duty stats", EN)
    assert "Person      | Duty    | Turns | done | handed back | taken over" in stats.body
    assert "@bob:test   | Minutes | 0     | 0    | 0           | 1" in stats.body
