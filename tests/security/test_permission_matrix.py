"""Issue 11: every command x (member, organiser, awareness member, config admin, stranger) x (group room,
direct chat, safe space, awareness room, organisers' room), against a table that mirrors CONTRACT.md.

A case is "refused" when the answer is one of the permission or place refusals below; anything else
(the command ran, or said what is missing or not found) means the sender got past the gate. Every
registered command must have a row, so a new command cannot slip in without deciding who may use it.
"""
from __future__ import annotations

import re

import pytest

from tests.conversation.safespace_setup import SafeChat, dm
from tests.conversation.test_posts_fakes import FakePublisher
from tests.fakes import BOT, start_conversation

MEMBER, ORGANISER, AWARE_MEMBER, ADMIN, STRANGER = (
    "@member:test", "@organiser:test", "@awa:test", "@admin:test", "@stranger:test")
ACTORS = (MEMBER, ORGANISER, AWARE_MEMBER, STRANGER, ADMIN)  # the admin last: it may move roles
GROUP, SAFE, AWARE, ORGS, DM = "!group:test", "!safe:test", "!aware:test", "!orgs:test", "dm"
ROOMS = {
    GROUP: ([MEMBER, ORGANISER, AWARE_MEMBER, ADMIN], {ORGANISER: 50}, "Ortsgruppe"),
    SAFE: ([MEMBER, ORGANISER, ADMIN], {BOT: 100, ORGANISER: 50}, "FINTA*-Treff"),
    AWARE: ([AWARE_MEMBER, ADMIN], {BOT: 100}, "Awareness"),
    ORGS: ([ORGANISER, ADMIN], {BOT: 100, ORGANISER: 50}, "Orga"),
}
REFUSALS = ("error.organisers_only", "error.dm_only", "error.dm_only.report", "error.room_only", "safespace.mark_who",
            "safespace.rules_who", "safespace.members_only", "safespace.not_a_safespace", "room.anchor_first_admin",
            "post.not_organisers_room", "post.safespace", "post.direct_admins_only", "post.not_announcements_room",
            "awareness.only_here", "room.not_in_safespace", "error.stores_text_in_safe_space")


def organiser(actor: str, place: str) -> bool:
    return actor == ADMIN or (place != DM and ROOMS[place][1].get(actor, 0) >= 50)


def rule(name: str):
    """CONTRACT.md's 'who' and 'where' for one command, as a predicate on (actor, place)."""
    return {
        "all": lambda a, p: True,
        "room": lambda a, p: p != DM,
        "dm": lambda a, p: p == DM,
        "member dm": lambda a, p: p == DM and a != STRANGER,
        "organiser": lambda a, p: p != DM and organiser(a, p),
        "organiser, organisers' room": lambda a, p: p == ORGS and organiser(a, p),
        "organiser, not in a safe space": lambda a, p: p not in (DM, SAFE) and organiser(a, p),
        "admin, announcements room": lambda a, p: False,
        "admin, not in a safe space": lambda a, p: a == ADMIN and p not in (DM, SAFE),  # none of these places is an announcements room
        "not in a safe space": lambda a, p: p != SAFE,
        "organiser or awareness team": lambda a, p: p != DM and (organiser(a, p) or a in (AWARE_MEMBER, ADMIN)),
        "organiser or awareness team, safe space": lambda a, p: p == SAFE and (organiser(a, p) or a == ADMIN),
        "awareness room": lambda a, p: p == AWARE,
        "language": lambda a, p: p == DM or organiser(a, p),
    }[name]


# command as typed (with arguments where the gate sits behind them) -> who may, where
TABLE = {
    "help": ("!help", "all"),
    "room": ("!room", "room"),
    "room organisers": ("!room organisers", "organiser"),  # non-admins can only ask the holder room
    "room awareness": ("!room awareness", "organiser"),
    "room announcements": ("!room announcements main", "admin, not in a safe space"),  # not held yet: founding
    "room welcome": ("!room welcome", "organiser"),
    "room language": ("!room language de", "language"),
    "room remove": ("!room remove welcome", "organiser"),
    "room confirm": ("!room confirm 1", "room"),
    "room safespace": ("!room safespace", "organiser or awareness team"),
    "meeting": ("!meeting Plenum | morgen 18 Uhr | übermorgen 18 Uhr", "not in a safe space"),
    "poll": ("!poll Sommerfest? | ja | nein", "not in a safe space"),
    "consensus": ("!consensus Ort | Park | Saal", "not in a safe space"),
    "vote": ("!vote 1 1", "all"),
    "results": ("!results 1", "all"),
    "close": ("!close 1", "all"),
    "polls": ("!polls", "all"),
    "meeting fix": ("!meeting fix 1 1", "all"),
    "duty create": ("!duty create Protokoll | every Tuesday 18:00", "organiser, not in a safe space"),
    "duty edit": ("!duty edit Protokoll\npeople: 2", "organiser, not in a safe space"),
    "duty delete": ("!duty delete Protokoll", "organiser"),
    "duty join": ("!duty join Protokoll", "room"),
    "duty leave": ("!duty leave Protokoll", "room"),
    "duty plan": ("!duty plan Protokoll", "all"),
    "duty done": ("!duty done Protokoll", "all"),
    "duty handback": ("!duty handback Protokoll", "all"),
    "duty take": ("!duty take Protokoll 1.12.2027", "all"),
    "duty swap": ("!duty swap Protokoll 1.12.2027 @member:test", "all"),  # the assignee (handler: not found)
    "duty accept": ("!duty accept 1", "all"),
    "duty decline": ("!duty decline 1", "all"),
    "duty withdraw": ("!duty withdraw 1", "all"),
    "duty stats": ("!duty stats", "room"),
    "duties": ("!duties", "room"),
    "away": ("!away 1.1.2027 2.1.2027", "all"),
    "away clear": ("!away clear", "all"),
    "rules": ("!rules Wir achten aufeinander.", "organiser or awareness team, safe space"),
    "safespace": ("!safespace", "member dm"),
    "safespace join": ("!safespace join 1", "member dm"),
    "confirm": ("!confirm", "member dm"),
    "accept": ("!accept", "dm"),  # a stranger has nothing to accept and is told so
    "report": ("!report Jemand bedrängt mich", "member dm"),
    "answer": ("!answer 1 Danke", "awareness room"),
    "admit": ("!admit 1", "awareness room"),
    "deny": ("!deny 1", "awareness room"),
    "remove": ("!remove @member:test 1", "awareness room"),
    "speak": ("!speak", "room"),
    "next": ("!next", "organiser"),
    "speakers": ("!speakers", "room"),
    "speakers clear": ("!speakers clear", "organiser"),
    "post": ("!post Hallo Welt", "organiser, organisers' room"),
    "alt": ("!alt 1 1 Ein Bild", "organiser"),
    "attach": ("!attach 1", "organiser"),
    "approve": ("!approve 1", "organiser"),
    "posts": ("!posts", "organiser"),
    "cancel": ("!cancel 1", "organiser"),
    "delete": ("!delete 1", "organiser"),
    "announcements direct": ("!announcements direct yes", "admin, announcements room"),
    "decisions": ("!decisions Sommerfest", "room"),
    "decision": ("!decision 1", "room"),
    "decisions export": ("!decisions export", "room"),
    "decision revoke": ("!decision revoke 1", "organiser"),
    "mydata": ("!mydata", "all"),
    "forget": ("!forget", "all"),
    "forget confirm": ("!forget confirm", "all"),
}


async def open_group(tmp_path):
    chat = SafeChat()
    for room_id, (members, power, name) in ROOMS.items():
        chat.add_room(room_id, list(members), power=dict(power), name=name)
    for actor in ACTORS:
        chat.add_room(dm(actor), [actor])
    conv = await start_conversation(tmp_path, chat, rate_limit=1000, publishers={"main": FakePublisher("main")})
    assert "Orga-Raum" in (await conv.reply(ADMIN, "!raum orga", ORGS)).body
    assert "Awareness-Team" in (await conv.reply(ADMIN, "!raum awareness", AWARE)).body
    assert "Schutzraum Nr. 1" in (await conv.reply(ADMIN, "!raum schutzraum", SAFE)).body
    return conv


def refusal_patterns(conv) -> list[re.Pattern[str]]:
    """Each refusal's whole text in both languages, its {placeholders} matching anything."""
    found = []
    for key in REFUSALS:
        for lang in ("de", "en"):
            if conv.app.i18n.has(lang, key):
                parts = re.split(r"\{[^}]*\}", conv.app.i18n.template(lang, key))
                found.append(re.compile(".*?".join(map(re.escape, parts)), re.S))
    return found


@pytest.mark.parametrize("name", sorted(TABLE))
async def test_permission_matrix(tmp_path, name):
    conv = await open_group(tmp_path)
    try:
        registered = {c.name for c in conv.app.dispatcher.registry.commands}
        assert registered == set(TABLE), ("commands without a row", registered - set(TABLE),
                                          "rows without a command", set(TABLE) - registered)
        typed, who = TABLE[name]
        allowed = rule(who)
        refusals = refusal_patterns(conv)
        wrong = []
        for actor in ACTORS:
            for place in (GROUP, DM, SAFE, AWARE, ORGS):
                room = dm(actor) if place == DM else place
                if place != DM and actor not in ROOMS[place][0]:
                    continue  # nobody types into a room they are not in
                body = typed if place != DM else typed.lstrip("!")
                ev = conv.event(actor, body, room)
                await conv.deliver(ev)
                answers = conv.chat.replies_to(ev.event_id)
                assert answers, (name, actor, place, "no answer")
                text = answers[-1].body
                assert "Referenz" not in text, (name, actor, place, text)
                refused = any(r.search(text) for r in refusals)
                if refused == allowed(actor, place):
                    wrong.append((actor, place, "refused" if refused else "let through", text[:120]))
        assert not wrong, "\n".join(map(str, wrong))
    finally:
        await conv.app.db.close()
