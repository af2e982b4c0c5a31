"""The bot's own examples work (issue 16 item 8).

Every example command in the catalogues - a `!command` after "z. B." / "e.g." / "for example" / a colon
or a question mark, or in quotes, in both languages - is run through the real dispatcher in a room
speaking that language, after the set-up it needs (a poll with enough options, a duty with a turn on
the example's date, swap offers, decisions ...). It must be understood and carried out: no usage or
parse error, no refusal at all, no internal error. Placeholders ({id}, {name} ...) are filled as the
bot fills them in the message they come from.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from bot.dispatcher import Dispatcher
from bot.i18n import LANGUAGES, load_catalog
from commands.pollrules import KEYCAPS
from tests.conversation import safespace_setup as ss
from tests.conversation.test_posts_fakes import FakePublisher
from tests.fakes import Conversation, FakeChat, start_conversation

ALICE, BOB, CAROL, ORGA, KIM = "@alice:test", "@bob:test", "@carol:test", "@orga:test", "@kim:example.org"
ADMIN = "@admin:test"
ROOMS = {"de": "!room:test", "en": "!english:test"}

# ------------------------------------------------------------------ finding the examples
_CUE = re.compile(r"(?:\bz\. ?B\.|\b[Zz]um Beispiel|\be\.g\.|\b[Ff]or example)(?: (?:mit|with|so|like this))*:?\s*$"
                  r"|[:?]\s*$")
_END = re.compile(r"\.(?=\s+[A-ZÄÖÜ(])|\.$|[;,)](?=\s|$)|\s\(|\s[–·-]\s|[“”„\"]"
                  r"|\s(?:oder|or|und|and|tippen)\b|\n|$")
_LIST = re.compile(r"^(?:,\s*|\s+(?:oder|or|und|and)\s+)$")  # "!rede, !rede finta oder !rede go"
_COMMAND = re.compile(r"!(?=[^\W\d])")


def examples(lang: str) -> list[tuple[str, str]]:
    """(message key, example command) for every example in the language's catalogues."""
    found: list[tuple[str, str]] = []
    for message in load_catalog(lang):
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        for text in message.string if isinstance(message.string, (list, tuple)) else [message.string]:
            last_end = None
            for m in _COMMAND.finditer(text):
                before = text[:m.start()]
                meant = before.endswith(("„", "“", '"')) or _CUE.search(before[-30:]) is not None \
                    or (last_end is not None and _LIST.match(text[last_end:m.start()]) is not None)
                end = _END.search(text, m.start() + 1)
                last_end = end.start() if meant else None
                command = text[m.start():end.start()].strip() if meant else ""
                if command and "<" not in command and "…" not in command and (key, command) not in found:
                    found.append((key, command))
    return found


ALL = [(lang, key, command) for lang in LANGUAGES for key, command in examples(lang)]


def test_the_catalogues_have_examples_to_run():
    keys = {key for _, key, _ in ALL}
    assert len(ALL) >= 80
    assert {"help.meeting", "help.vote", "help.duty.create", "help.duty.swap", "polls.meeting.how",
            "polls.poll.how_multi", "decisions.list.more", "speakers.bad_list"} <= keys


# ------------------------------------------------------------------ set-ups
@dataclass
class Stage:
    conv: Conversation
    lang: str
    room: str
    sender: str = ALICE
    params: dict[str, object] = field(default_factory=dict)

    def de(self, german: str, english: str) -> str:
        return german if self.lang == "de" else english

    async def say(self, who: str, german: str, english: str, room: str | None = None) -> str:
        answer = await self.conv.reply(who, self.de(german, english), room or self.room)
        return answer.body

    @property
    def duty(self) -> str:
        return self.de("Protokoll", "Minutes")

    async def daily_duty(self, *pool: str) -> None:
        await self.say(ORGA, f"!dienst anlegen {self.duty} | täglich 18 Uhr\npersonen: 1",
                       f"!duty create {self.duty} | daily 18:00\npeople: 1")
        for user in pool:
            await self.say(user, f"!dienst mitmachen {self.duty}", f"!duty join {self.duty}")
        self.params.update(name=self.duty, duty=self.duty)


Setup = Callable[[Stage], Awaitable[None]]


async def decisions(s: Stage) -> None:
    """Five closed decision polls, so decision 3 exists and 5 is later than 3."""
    titles = ["Sommerfest summer party", "Haushalt budget 2027", "Beamer", "Kasse", "Plakate"]
    for number, title in enumerate(titles, start=1):
        await s.say(ORGA, f"!umfrage {title}", f"!poll {title}")
        await s.say(ALICE, f"!abstimmen {number} ja", f"!vote {number} yes")
        await s.say(ORGA, f"!schliessen {number}", f"!close {number}")
    s.sender, s.params["example"] = ORGA, 1


async def organiser(s: Stage) -> None:
    s.sender = ORGA


async def plan(s: Stage) -> None:
    await s.daily_duty(ALICE)


async def take(s: Stage) -> None:
    await s.daily_duty(BOB)
    s.params["day"] = s.de("2.12.2026", "2026-12-02")


async def handback(s: Stage) -> None:
    await s.daily_duty(ALICE, BOB)


async def join(s: Stage) -> None:
    await s.daily_duty()


async def swap(s: Stage) -> None:
    await s.daily_duty(ALICE)


async def offers(s: Stage) -> None:
    """Three hand-over offers from Bob to Alice; Alice answers, Bob withdraws."""
    await s.daily_duty(BOB)
    for day in ("1.12.", "2.12.", "3.12."):
        await s.say(BOB, f"!dienst tauschen {s.duty} {day} {ALICE}", f"!duty swap {s.duty} 2026-12-0{day[0]} {ALICE}")
    s.params.update(first=1, id=1)


async def offerer(s: Stage) -> None:
    await offers(s)
    s.sender = BOB


async def polls(s: Stage) -> None:
    """help.vote: #3 a date poll, #4 a yes/no poll, #5 consensing with two proposals."""
    for _ in range(3):
        await s.say(ORGA, "!termin Plenum | 1.12. 18 Uhr | 2.12. 18 Uhr", "!meeting Plenary | 1.12. 18:00 | 2.12. 18:00")
    await s.say(ORGA, "!umfrage Antrag", "!poll Motion")
    await s.say(ORGA, "!konsens Wohin? | Park | Hof", "!consensus Where? | Park | Yard")


async def meeting(s: Stage) -> None:
    await s.say(ORGA, "!termin Plenum | 1.12. 18 Uhr | 2.12. 18 Uhr", "!meeting Plenary | 1.12. 18:00 | 2.12. 18:00")
    s.sender = ORGA
    s.params.update(id=1, option=1)


async def big_meeting(s: Stage) -> None:
    dates = " | ".join(f"{d}.12. 18 Uhr" for d in range(1, len(KEYCAPS) + 2))
    await s.say(ORGA, f"!termin Plenum | {dates}", f"!meeting Plenary | {dates.replace(' Uhr', ':00')}")
    s.params.update(id=1, first=len(KEYCAPS) + 1)


async def multi(s: Stage) -> None:
    await s.say(ORGA, "!umfrage Essen? | Pizza | Suppe\nauswahl: 2", "!poll Lunch? | Pizza | Soup\nchoices: 2")
    s.params["id"] = 1


async def post(s: Stage) -> None:
    """A draft by one organiser in the organisers' room, to be approved by another."""
    await s.say(ADMIN, "!raum orga", "!room organisers")
    await s.say(ORGA, "!beitrag Hallo Welt", "!post Hello world")
    s.sender, s.params["id"] = ADMIN, 1


async def on_the_list(s: Stage) -> None:
    await s.say(ALICE, "!rede", "!speak")


SETUPS: dict[str, Setup] = {  # by message key, then by "key|command"
    "help.decisions": decisions, "help.decision": decisions, "help.decision.revoke": decisions,
    "decisions.list.more": decisions, "decisions.list.how": decisions,
    "help.duty.create": organiser, "duty.none_here": organiser,
    "help.duty.plan": plan, "help.duty.take": take, "duty.announce_nobody": take, "duty.announce": handback,
    "duty.join_hint": join, "duty.on_demand_hint": join, "welcome.nobody": join,
    "help.duty.swap": swap, "duty.swap.no_person": swap,
    "help.duty.accept": offers, "help.duty.decline": offers, "duty.swap.which": offers,
    "help.duty.withdraw": offerer, "duty.swap.exists": offerer,
    "help.vote": polls, "polls.meeting.how": meeting, "polls.meeting.fix_hint": meeting,
    "polls.error.which_option": meeting, "polls.meeting.how_more": big_meeting, "polls.poll.how_multi": multi,
    "post.failed.auth": post, "post.failed.account_disabled": post, "post.status.needs_approval": post,
    "speakers.bad_list|!rede zurück": on_the_list, "speakers.bad_list|!speak withdraw": on_the_list,
}
# run elsewhere: the awareness room (test_an_awareness_example_works); examples the bot composes when it
# answers (test_the_example_in_a_refusal_of_too_many_choices_works); "0=… 1=…" is a pattern to fill in
ELSEWHERE = {"awareness.request", "polls.error.too_many_choices", "polls.consensus.how"}


# ------------------------------------------------------------------ running one
async def start(tmp_path) -> Conversation:
    chat = FakeChat()
    for room in ROOMS.values():
        chat.add_room(room, [ALICE, BOB, CAROL, ORGA, KIM, ADMIN], power={ORGA: 50}, name="Ortsgruppe")
    conv = await start_conversation(tmp_path, chat, publishers={"main": FakePublisher()}, rate_limit=1000)
    await conv.reply(ORGA, "!room language en", ROOMS["en"])
    return conv


async def run(conv: Conversation, monkeypatch, sender: str, room: str, command: str) -> list[str]:
    """Problems with one command: not a command, a refusal (UserError), an internal error."""
    refused: list[str] = []
    original = Dispatcher.reply_error

    async def spy(self, ctx, cmd, err):
        refused.append(f"{err.key} (usage line: {err.usage})")
        await original(self, ctx, cmd, err)

    monkeypatch.setattr(Dispatcher, "reply_error", spy)
    problems = []
    cmd, _ = conv.app.dispatcher.registry.lookup(command[1:].split("\n")[0].split())
    if cmd is None:
        problems.append("not a command")
    sent = await conv.say(sender, command, room)
    problems += refused
    problems += [f"internal error: {s.body}" for s in sent if "ref " in s.body.lower() and
                 ("referenz" in s.body.lower() or "reference" in s.body.lower())]
    if not sent:
        problems.append("no answer")
    monkeypatch.setattr(Dispatcher, "reply_error", original)
    return problems


@pytest.mark.parametrize("lang, key, example", [e for e in ALL if e[1] not in ELSEWHERE],
                         ids=[f"{lang}:{key}:{example}" for lang, key, example in ALL if key not in ELSEWHERE])
async def test_every_example_in_the_catalogues_works(tmp_path, monkeypatch, lang, key, example):
    conv = await start(tmp_path)
    try:
        stage = Stage(conv, lang, ROOMS[lang])
        setup = SETUPS.get(f"{key}|{example}") or SETUPS.get(key)
        if setup is not None:
            await setup(stage)
        command = re.sub(r"\{(\w+)\}", lambda m: str(stage.params.get(m.group(1), m.group(0))), example)
        assert "{" not in command, f"no value for a placeholder in {command!r}: add it to the set-up"
        assert await run(conv, monkeypatch, stage.sender, stage.room, command) == [], command
    finally:
        await conv.app.db.close()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_an_awareness_example_works(tmp_path, monkeypatch, lang):
    conv = await ss.start(tmp_path)
    try:
        await conv.reply(ss.ORGA, "!raum schutzraum genehmigung", ss.SAFE)
        if lang == "en":
            await conv.reply(ss.AWA, "!room language en", ss.AWARE)
        await conv.reply(ss.ALICE, "schutzraum beitreten 1", ss.dm(ss.ALICE))
        await conv.reply(ss.ALICE, "bestätigen", ss.dm(ss.ALICE))
        request = conv.chat.in_room(ss.AWARE)[-1].body
        shown = [command for key, command in examples(lang) if key == "awareness.request"]
        assert len(shown) == 2
        for command in shown:
            assert command.replace("{number}", "1").split()[0] in request
        admit = shown[0].replace("{number}", "1")
        assert await run(conv, monkeypatch, ss.AWA, ss.AWARE, admit) == []
    finally:
        await conv.app.db.close()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_example_in_a_refusal_of_too_many_choices_works(tmp_path, monkeypatch, lang):
    conv = await start(tmp_path)
    try:
        room = ROOMS[lang]
        await conv.reply(ORGA, "!umfrage Essen? | Pizza | Suppe | Salat\nauswahl: 2" if lang == "de"
                         else "!poll Lunch? | Pizza | Soup | Salad\nchoices: 2", room)
        refusal = await conv.reply(ALICE, "!abstimmen 1 1 2 3" if lang == "de" else "!vote 1 1 2 3", room)
        example = re.search(r"(![^\n]+?)\s*$", refusal.body.split("\n")[0]).group(1)
        assert await run(conv, monkeypatch, ALICE, room, example) == [], example
    finally:
        await conv.app.db.close()
