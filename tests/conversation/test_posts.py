"""Conversation tests for drafting and approving posts: !post, !alt, !attach, !approve, !posts, !cancel, edits."""
from __future__ import annotations

from datetime import timedelta

from bot.ports import InstanceLimits, PermanentError
from commands.threadsplit import count_chars
from tests.conversation.test_posts_fakes import (ADMIN, ANNA, BEN, CARO, MIA, ORGA, PLAIN, image_event,  # noqa: F401
                                                 open_conversation, pconv, settle)


async def test_post_answers_with_number_and_exact_preview(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Demo am Samstag um 14 Uhr am Markt.", ORGA)
    assert answer.content["msgtype"] == "m.notice"
    assert answer.body.startswith("#1 – Vorschau für das Konto main (öffentlich, Sprache de), sofort nach der Freigabe")
    assert "Demo am Samstag um 14 Uhr am Markt." in answer.body
    assert "Braucht noch 1 Freigabe von einer anderen Person aus der Orga: !freigeben 1" in answer.body
    assert pconv.pub.statuses == {}


async def test_long_text_is_previewed_as_the_thread_it_becomes(pconv):
    paragraph = "Wir laden herzlich zur Mitgliederversammlung ein. Details unter https://example.org/termine. " * 4
    text = "\n\n".join([paragraph.strip()] * 3)
    answer = await pconv.reply(ANNA, f"!beitrag {text}\ncw: Parteiinterna", ORGA)
    assert "Inhaltswarnung (über jedem Teil): Parteiinterna" in answer.body
    assert "── Teil 1 von 3 ──" in answer.body and "── Teil 3 von 3 ──" in answer.body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    parts = pconv.pub.live()
    assert len(parts) == 3
    assert all(count_chars(p["text"]) + len("Parteiinterna") <= 500 for p in parts)
    assert all(p["spoiler_text"] == "Parteiinterna" for p in parts)
    assert [p["in_reply_to_id"] for p in parts] == [None, parts[0]["id"], parts[1]["id"]]
    assert [p["text"].split(" (")[-1] for p in parts] == ["1/3)", "2/3)", "3/3)"]
    for part in parts:  # each part's text appears in the preview exactly as posted
        assert part["text"] in answer.body


async def test_author_cannot_approve_own_post(pconv):
    await pconv.reply(ANNA, "!beitrag Hallo Welt", ORGA)
    answer = await pconv.reply(ANNA, "!freigeben 1", ORGA)
    assert "Den eigenen Beitrag #1 kannst du nicht freigeben" in answer.body
    await settle(pconv, timedelta(minutes=5))
    assert pconv.pub.statuses == {}


async def test_approval_by_another_organiser_publishes_once_and_links_it(pconv):
    cmd = pconv.event(ANNA, "!beitrag Hallo Welt", ORGA)
    await pconv.deliver(cmd)
    answer = await pconv.reply(BEN, "!freigeben 1", ORGA)
    assert "Beitrag #1 ist freigegeben." in answer.body and "Geht jetzt raus." in answer.body
    sent = await settle(pconv)
    [status] = pconv.pub.live()
    assert status["text"] == "Hallo Welt" and status["language"] == "de" and status["visibility"] == "public"
    links = [s for s in sent if status["url"] in s.body]
    assert len(links) == 1 and links[0].reply_to == cmd.event_id
    assert "Beitrag #1 ist auf main veröffentlicht" in links[0].body
    assert f'href="{status["url"]}"' in links[0].html
    await settle(pconv, timedelta(hours=2))
    assert len(pconv.pub.statuses) == 1 and pconv.pub.calls == 1


async def test_members_who_are_not_organisers_cannot_post_or_approve(pconv):
    assert "nur Organisator*innen" in (await pconv.reply(MIA, "!beitrag Hallo", ORGA)).body
    await pconv.reply(ANNA, "!beitrag Hallo", ORGA)
    assert "nur Organisator*innen" in (await pconv.reply(MIA, "!freigeben 1", ORGA)).body


async def test_post_only_in_organisers_room_and_never_in_a_safe_space(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Hallo", PLAIN)
    assert "im Orga-Raum" in answer.body
    async with pconv.app.db.transaction():
        await pconv.app.anchors.move("organisers", None, PLAIN)
        await pconv.app.rooms.set_role(PLAIN, "safespace")
    answer = await pconv.reply(ANNA, "!beitrag Hallo", PLAIN)
    assert "In einem Schutzraum entwerfe ich keine Beiträge" in answer.body


async def test_scheduled_post_goes_out_at_its_minute(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Infostand morgen\num: 21.11.2026 12:30", ORGA)
    assert "am Sa., 21. Nov. 2026, 12:30" in answer.body
    answer = await pconv.reply(BEN, "!freigeben 1", ORGA)
    assert "Geht am Sa., 21. Nov. 2026, 12:30 raus." in answer.body
    await settle(pconv, timedelta(minutes=89))  # the clock starts at 11:00 Berlin: now 12:29
    assert pconv.pub.statuses == {}
    await settle(pconv, timedelta(minutes=1))
    assert [s["text"] for s in pconv.pub.live()] == ["Infostand morgen"]


async def test_time_in_the_past_is_refused(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Zu spät\num: 20.11.2026 12:00", ORGA)
    assert "liegt in der Vergangenheit" in answer.body
    answer = await pconv.reply(BEN, "!beiträge", ORGA)
    assert "keine Beiträge" in answer.body


async def test_unknown_account_names_the_configured_ones(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Hallo\nkonto: stadtrat", ORGA)
    assert answer.body.startswith("Ein Konto „stadtrat“ gibt es nicht. Eingerichtet sind: main, jugend.")


async def test_settings_account_visibility_language_in_german(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Hello youth\nkonto: jugend\nsichtbarkeit: nicht gelistet\nsprache: en",
                               ORGA)
    assert "für das Konto jugend (nicht gelistet, Sprache en)" in answer.body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    assert pconv.pub.statuses == {}
    [status] = pconv.youth.live()
    assert (status["visibility"], status["language"]) == ("unlisted", "en")


async def test_bad_visibility_and_language_are_explained(pconv):
    answer = await pconv.reply(ANNA, "!beitrag Hallo\nsichtbarkeit: geheim", ORGA)
    assert "„geheim“ kenne ich als Sichtbarkeit nicht" in answer.body
    answer = await pconv.reply(ANNA, "!beitrag Hallo\nsprache: Klingonisch", ORGA)
    assert "ist kein Sprachcode" in answer.body


async def test_english_room_gets_english_answers(pconv):
    await pconv.reply(ANNA, "!room language en", ORGA)
    answer = await pconv.reply(ANNA, "!post Hello\nvisibility: private", ORGA)
    assert "#1 – preview for the account main (followers only, language en), as soon as it is approved" in answer.body
    answer = await pconv.reply(ANNA, "!approve 1", ORGA)
    assert "You cannot approve your own post #1" in answer.body


async def test_picture_needs_alt_text_before_approval(pconv):
    img = image_event(pconv, ANNA, ORGA)
    await pconv.deliver(img)
    answer = await pconv.reply(ANNA, "!beitrag Unser Plakat", ORGA, reply_to=img.event_id)
    assert "Bild 1: noch ohne Alternativtext – !alt 1 1 <Beschreibung>" in answer.body
    answer = await pconv.reply(BEN, "!freigeben 1", ORGA)
    assert "kann noch nicht freigegeben werden: Bild 1 hat keinen Alternativtext" in answer.body
    answer = await pconv.reply(ANNA, "!alt 1 1 Rotes Plakat: Demo am Samstag, 14 Uhr", ORGA)
    assert "Alternativtext für Bild 1 von Beitrag #1 gesetzt." in answer.body
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    [status] = pconv.pub.live()
    [media] = status["media"]
    assert media["description"] == "Rotes Plakat: Demo am Samstag, 14 Uhr"
    assert media["mime"] == "image/png" and media["data"].startswith(b"\x89PNG")


async def test_attach_adds_pictures_up_to_the_instance_limit(pconv):
    first = image_event(pconv, ANNA, ORGA, "1.png")
    await pconv.deliver(first)
    await pconv.reply(ANNA, "!beitrag Bilder vom Fest", ORGA, reply_to=first.event_id)
    for k in range(2, 5):
        img = image_event(pconv, ANNA, ORGA, f"{k}.png")
        await pconv.deliver(img)
        answer = await pconv.reply(CARO, "!anhängen 1", ORGA, reply_to=img.event_id)
        assert f"Bild {k} an Beitrag #1 angehängt" in answer.body
    fifth = image_event(pconv, ANNA, ORGA, "5.png")
    await pconv.deliver(fifth)
    answer = await pconv.reply(ANNA, "!anhängen 1", ORGA, reply_to=fifth.event_id)
    assert "hat schon 4 Bilder – mehr erlaubt die Instanz nicht" in answer.body
    answer = await pconv.reply(BEN, "!freigeben 1", ORGA)
    assert "Bild 1, 2, 3, 4 hat keinen Alternativtext" in answer.body


async def test_attach_needs_a_reply_to_a_picture(pconv):
    await pconv.reply(ANNA, "!beitrag Hallo", ORGA)
    answer = await pconv.reply(ANNA, "!attach 1", ORGA)
    assert "Schreib !anhängen 1 als Antwort auf das Bild" in answer.body
    video = pconv.event(ANNA, "clip.mp4", ORGA, msgtype="m.video",
                        content={"msgtype": "m.video", "body": "clip.mp4", "url": "mxc://test/clip"})
    await pconv.deliver(video)
    answer = await pconv.reply(ANNA, "!attach 1", ORGA, reply_to=video.event_id)
    assert "nur Bilder" in answer.body


async def test_alt_text_limit_and_unknown_picture(pconv):
    img = image_event(pconv, ANNA, ORGA)
    await pconv.deliver(img)
    await pconv.reply(ANNA, "!beitrag Plakat", ORGA, reply_to=img.event_id)
    answer = await pconv.reply(ANNA, "!alt 1 1 " + "x" * 1501, ORGA)
    assert "1501 Zeichen lang; die Instanz erlaubt höchstens 1500" in answer.body
    answer = await pconv.reply(ANNA, "!alt 1 2 Beschreibung", ORGA)
    assert "Beitrag #1 hat kein Bild 2" in answer.body
    answer = await pconv.reply(ANNA, "!alt 7 1 Beschreibung", ORGA)
    assert "Einen Beitrag #7 gibt es in diesem Raum nicht" in answer.body


async def test_limits_come_from_the_instance(tmp_path):
    conv = await open_conversation(tmp_path)
    conv.pub.instance = InstanceLimits(max_characters=100, max_media=1)
    await conv.reply("@admin:test", "!raum orga", ORGA)
    answer = await conv.reply(ANNA, "!beitrag " + "Ein Satz mit etwas Inhalt. " * 6, ORGA)
    assert "── Teil 1 von 2 ──" in answer.body
    await conv.app.db.close()


async def test_approvals_required_two_needs_two_other_people(tmp_path):
    conv = await open_conversation(tmp_path, approvals_required=2)
    await conv.reply("@admin:test", "!raum orga", ORGA)
    answer = await conv.reply(ANNA, "!beitrag Hallo", ORGA)
    assert "Braucht noch 2 Freigaben von anderen Personen" in answer.body
    answer = await conv.reply(BEN, "!freigeben 1", ORGA)
    assert "Deine Freigabe für Beitrag #1 ist notiert." in answer.body and "Braucht noch 1 Freigabe" in answer.body
    answer = await conv.reply(BEN, "!freigeben 1", ORGA)
    assert "Du hast Beitrag #1 schon freigegeben." in answer.body
    await settle(conv)
    assert conv.pub.statuses == {}
    await conv.reply(CARO, "!freigeben 1", ORGA)
    await settle(conv)
    assert len(conv.pub.statuses) == 1
    await conv.feature.publishing.settle()
    await conv.app.db.close()


async def test_no_approval_needed_when_configured_zero(tmp_path):
    conv = await open_conversation(tmp_path, approvals_required=0)
    await conv.reply("@admin:test", "!raum orga", ORGA)
    answer = await conv.reply(ANNA, "!beitrag Sofort raus", ORGA)
    assert "Geht jetzt raus." in answer.body
    await settle(conv)
    assert [s["text"] for s in conv.pub.live()] == ["Sofort raus"]
    await conv.app.db.close()


async def test_posts_lists_each_group(pconv):
    await pconv.reply(ANNA, "!beitrag Entwurf eins", ORGA)
    await pconv.reply(ANNA, "!beitrag Geplant zwei\num: 22.11.2026 18:00", ORGA)
    await pconv.reply(BEN, "!freigeben 2", ORGA)
    await pconv.reply(ANNA, "!beitrag Raus drei", ORGA)
    await pconv.reply(BEN, "!freigeben 3", ORGA)
    await settle(pconv)
    pconv.pub.faults.append(PermanentError("post status: rejected (422): nope", code="rejected",
                                           detail="post status: rejected (422): nope"))  # Mastodon's own words
    await pconv.reply(ANNA, "!beitrag Kaputt vier", ORGA)
    await pconv.reply(BEN, "!freigeben 4", ORGA)
    await settle(pconv)
    body = (await pconv.reply(BEN, "!beiträge", ORGA)).body
    assert "Entwurf:" in body and "#1 (main): Entwurf eins – 0 von 1 Freigaben" in body
    assert "Geplant:" in body and "#2 (main): Geplant zwei – So 22.11. 18:00" in body
    assert "Fehlgeschlagen oder verpasst:" in body and "#4 (main): Kaputt vier – post status: rejected (422): nope" in body
    assert "Veröffentlicht:" in body and "#3 (main): Raus drei" in body and "https://social.test/@main/" in body
    assert body.index("Entwurf:") < body.index("Geplant:") < body.index("Fehlgeschlagen") < body.index("Veröffentlicht:")


async def test_cancel_before_publication_and_not_after(pconv):
    await pconv.reply(ANNA, "!beitrag Wird nichts\num: 22.11.2026 18:00", ORGA)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    answer = await pconv.reply(CARO, "!abbrechen 1", ORGA)
    assert "Beitrag #1 ist abgebrochen und geht nicht raus." in answer.body
    await settle(pconv, timedelta(days=2))
    assert pconv.pub.statuses == {}
    await pconv.reply(ANNA, "!beitrag Geht raus", ORGA)
    await pconv.reply(BEN, "!freigeben 2", ORGA)
    await settle(pconv)
    answer = await pconv.reply(ANNA, "!cancel 2", ORGA)
    assert "kann nicht mehr abgebrochen werden" in answer.body and "!löschen 2" in answer.body


async def test_editing_the_post_message_resets_approvals(pconv):
    cmd = pconv.event(ANNA, "!beitrag Treffen um 18 Uhr\num: 22.11.2026 18:00", ORGA)
    await pconv.deliver(cmd)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    edit_content = {"msgtype": "m.text", "body": "* !beitrag Treffen um 19 Uhr\num: 22.11.2026 18:00",
                    "m.new_content": {"msgtype": "m.text", "body": "!beitrag Treffen um 19 Uhr\num: 22.11.2026 18:00"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": cmd.event_id}}
    edit = pconv.event(ANNA, edit_content["body"], ORGA, content=edit_content)
    sent = await pconv.deliver(edit)
    [answer] = sent
    assert answer.reply_to == edit.event_id
    assert "Beitrag #1 geändert; bisherige Freigaben gelten nicht mehr." in answer.body
    assert "Treffen um 19 Uhr" in answer.body and "Braucht noch 1 Freigabe" in answer.body
    await settle(pconv, timedelta(days=2))
    assert pconv.pub.statuses == {}  # the old approval does not carry the new text out
    answer = await pconv.reply(BEN, "!freigeben 1", ORGA)
    assert "Freigegeben, aber der Zeitpunkt ist vorbei" in answer.body or "schon vorbei" in answer.body


async def test_edit_by_someone_else_or_of_other_messages_is_ignored(pconv):
    cmd = pconv.event(ANNA, "!beitrag Original", ORGA)
    await pconv.deliver(cmd)
    content = {"msgtype": "m.text", "body": "* !beitrag Fremd", "m.new_content": {"body": "!beitrag Fremd"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": cmd.event_id}}
    assert await pconv.say(BEN, "* !beitrag Fremd", ORGA, content=content) == []


async def test_edit_with_a_bad_setting_explains(pconv):
    cmd = pconv.event(ANNA, "!beitrag Original", ORGA)
    await pconv.deliver(cmd)
    content = {"msgtype": "m.text", "body": "* !beitrag Neu\nkonto: nirgends",
               "m.new_content": {"body": "!beitrag Neu\nkonto: nirgends"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": cmd.event_id}}
    [answer] = await pconv.say(ANNA, content["body"], ORGA, content=content)
    assert "Ein Konto „nirgends“ gibt es nicht" in answer.body


async def test_post_refused_at_first_is_drafted_by_its_fixing_edit_and_later_edits_change_it(pconv):
    cmd = pconv.event(ANNA, "!beitrag Treffen\nkonto: nirgends", ORGA)
    [error] = await pconv.deliver(cmd)
    assert "Ein Konto „nirgends“ gibt es nicht" in error.body

    def edit(text: str) -> dict:
        return {"msgtype": "m.text", "body": f"* {text}", "m.new_content": {"msgtype": "m.text", "body": text},
                "m.relates_to": {"rel_type": "m.replace", "event_id": cmd.event_id}}
    [draft] = await pconv.say(ANNA, "* !beitrag Treffen", ORGA, content=edit("!beitrag Treffen um 18 Uhr"))
    assert draft.body.startswith("#1 – Vorschau") and draft.reply_to == cmd.event_id
    [changed] = await pconv.say(ANNA, "* !beitrag Treffen", ORGA, content=edit("!beitrag Treffen um 19 Uhr"))
    assert "Beitrag #1 geändert" in changed.body and "19 Uhr" in changed.body  # !post reads its own edits
    assert "#2" not in (await pconv.reply(ANNA, "!beiträge", ORGA)).body


async def test_redacting_the_post_message_cancels_it(pconv):
    cmd = pconv.event(ANNA, "!beitrag Doch nicht\num: 22.11.2026 18:00", ORGA)
    await pconv.deliver(cmd)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    sent = await pconv.say(ANNA, "", ORGA, type="m.room.redaction", redacts=cmd.event_id, content={})
    assert any("Beitrag #1 wurde entfernt – der Beitrag ist abgebrochen" in s.body for s in sent)
    await settle(pconv, timedelta(days=2))
    assert pconv.pub.statuses == {}


async def test_redacting_an_attached_picture_removes_it(pconv):
    img = image_event(pconv, ANNA, ORGA)
    await pconv.deliver(img)
    await pconv.reply(ANNA, "!beitrag Mit Bild", ORGA, reply_to=img.event_id)
    sent = await pconv.say(ANNA, "", ORGA, type="m.room.redaction", redacts=img.event_id, content={})
    assert any("Ein Bild von Beitrag #1 wurde entfernt" in s.body for s in sent)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    await settle(pconv)
    [status] = pconv.pub.live()
    assert status["media"] == []


async def test_help_lists_the_post_commands(pconv):
    answer = await pconv.reply(ANNA, "!hilfe ankündigungen", ORGA)
    for name in ("!beitrag", "!alt", "!anhängen", "!freigeben", "!beiträge", "!abbrechen", "!löschen"):
        assert name in answer.body
    answer = await pconv.reply(ANNA, "!hilfe beitrag", ORGA)
    assert "[at: <Zeitpunkt>]" in answer.body or "um:" in answer.body


async def test_edit_sent_without_the_star_is_an_edit_not_a_second_post(pconv):
    cmd = pconv.event(ANNA, "!beitrag Erste Fassung", ORGA)
    await pconv.deliver(cmd)
    content = {"msgtype": "m.text", "body": "!beitrag Zweite Fassung",
               "m.new_content": {"msgtype": "m.text", "body": "!beitrag Zweite Fassung"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": cmd.event_id}}
    answer = await pconv.reply(ANNA, content["body"], ORGA, content=content)
    assert "Beitrag #1 geändert" in answer.body and "Zweite Fassung" in answer.body
    assert "#2" not in (await pconv.reply(BEN, "!beiträge", ORGA)).body


async def test_approving_twice_or_after_publication_names_the_state(pconv):
    await pconv.reply(ANNA, "!beitrag Hallo\num: 22.11.2026 18:00", ORGA)
    await pconv.reply(BEN, "!freigeben 1", ORGA)
    answer = await pconv.reply(CARO, "!freigeben 1", ORGA)
    assert answer.body.startswith("Beitrag #1 wartet nicht auf Freigabe (Stand: geplant).")
