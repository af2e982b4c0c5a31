"""!meeting, !poll, !consensus, !vote, !results, !close, !polls: date finding, decisions and consensing.

Every poll is one row (storage.polls) with a message that is edited in place as votes
arrive. Votes come from `!vote`, from native poll responses (decision polls) and from
keycap reactions (date polls; see commands.poll_events). Deadlines and nudges are
scheduler jobs, so they also run after downtime. Results are counted by commands.tally.
"""
from __future__ import annotations


from bot.converters import When
from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Choice, Converter, Int, Items, Number, Setting, Text, YesNo, command
from bot.names import Names
from bot.render import Rich, lines, plain
from bot.timeformat import format_weekday_date
from commands import poll_render as show
from commands.decisions import Decisions
from commands.meetings import Meetings
from commands.poll_events import PollEvents
from commands.poll_jobs import CLOSE_JOB, NUDGE_JOB, PollDeps, PollJobs, ref
from commands.pollcount import Standing, standing
from commands.pollrules import (KEYCAPS, MAX_OPTIONS, MIN_OPTIONS, choice_ballot, consensus_ballot, meeting_ballot,
                                nudge_at, read_items)
from storage.core import KeyValue, private_ref
from storage.decisions import DecisionRepo
from storage.polls import Poll
from storage.safespace import SafeSpaces

__all__ = ["Polls", "PollDeps", "poll_features"]


# --------------------------------------------------------------------------- argument types
class Title(Text):
    label = "title"


class OptionText(Text):
    """An option of a decision or consensing poll (the usage line says <Option>, not <Text>)."""

    label = "option"


class Choices(Converter):
    shape = "rest"
    label = "poll_choices"

    @classmethod
    def convert(cls, ctx, raw: str):
        items = read_items(raw)
        if not items:
            raise UserError("error.missing_argument", arg=cls.label)
        return items


class Positive(Int):
    label = "number"

    @classmethod
    def convert(cls, ctx, raw: str) -> int:
        value = super().convert(ctx, raw)
        if value < 1:
            raise UserError("polls.error.bad_number", value=raw)
        return value


_RULES = {"simple": "simple", "einfach": "simple", "einfache": "simple", "2/3": "2/3", "zweidrittel": "2/3",
          "zwei drittel": "2/3", "two thirds": "2/3", "two-thirds": "2/3", "2/3-mehrheit": "2/3"}


class Majority(Choice):
    label = "majority"
    error = "polls.error.bad_majority"
    WORDS = {word + suffix: rule for word, rule in _RULES.items() for suffix in ("", " mehrheit", " majority")}


class Polls(PollEvents, PollJobs, Feature):
    name = "polls"

    def __init__(self, deps: PollDeps) -> None:
        self.deps = deps
        self.repo = deps.repo
        self.deadline_fix = None  # Meetings.fix_at_deadline, for `fix: yes`
        self.record_decision = None  # Decisions.record: enters a closed poll into the room's record

    # ------------------------------------------------------------------ creating
    @command("meeting", aliases=["termin", "terminumfrage"], stores_text=True)
    async def meeting(self, ctx: Ctx, title: Title, options: Items[When], until: Setting[When] = None,
                      fix: Setting[YesNo] = False):
        self._check_count(len(options))
        labels = [(format_weekday_date(at, ctx.lang, ctx.tz, ctx.now), at) for at in options]
        self._check_duplicates([label for label, _ in labels])  # dates that read alike are one option
        if fix and until is None:
            raise UserError("polls.error.fix_needs_until")
        if until is not None and until > min(options):
            raise UserError("polls.error.until_after_option", until=format_weekday_date(until, ctx.lang, ctx.tz),
                            first=format_weekday_date(min(options), ctx.lang, ctx.tz))
        poll = await self._create(ctx, "meeting", title, labels, until, fix_at_deadline=fix)
        s = await standing(self.repo, poll)  # the table is sent whole or the poll refused (TooLarge)
        await ctx.reply_rich(show.message(ctx, s), ref=ref(poll.id, "table"), whole=True)
        await ctx.messenger.send(ctx.room_id, show.maybe_message(ctx, poll), ref=ref(poll.id, "maybe"))
        keys = list(KEYCAPS[: len(options)])
        for role in ("table", "maybe"):  # clickable answers: the bot reacts first, members click
            await self.relate(poll.id, role, "m.reaction", {"keys": keys})

    @command("poll", aliases=["umfrage", "abstimmung"], stores_text=True)
    async def poll(self, ctx: Ctx, question: Title, options: Items[OptionText] = None, until: Setting[When] = None,
                   choices: Setting[Positive] = 1, secret: Setting[YesNo] = False, quorum: Setting[Positive] = None,
                   majority: Setting[Majority] = "simple"):
        yesno = not options
        labels = [ctx.t("polls.yes"), ctx.t("polls.no"), ctx.t("polls.abstain")] if yesno else list(options)
        self._check_count(len(labels))
        self._check_duplicates(labels)
        if choices > (1 if yesno else len(labels)):
            raise UserError("polls.error.choices_too_many", k=choices, options=1 if yesno else len(labels))
        poll = await self._create(ctx, "choice", question, [(label, None) for label in labels], until,
                                  max_choices=choices, quorum=quorum, majority=majority, secret=secret, yesno=yesno)
        if not secret:  # a secret ballot gets no native poll: its responses would be public
            await ctx.messenger.send_event(ctx.room_id, show.POLL_START, show.native_start(poll),
                                           ref=ref(poll.id, "native"))
        await ctx.reply_rich(show.message(ctx, await standing(self.repo, poll)), ref=ref(poll.id, "table"), whole=True)

    @command("consensus", aliases=["konsens", "konsensieren"], stores_text=True)
    async def consensus(self, ctx: Ctx, question: Title, options: Items[OptionText], until: Setting[When] = None):
        labels = [ctx.t("polls.consensus.passive"), *options]
        self._check_count(len(labels), minimum=MIN_OPTIONS)
        self._check_duplicates(labels)
        poll = await self._create(ctx, "consensus", question, [(label, None) for label in labels], until)
        await ctx.reply_rich(show.message(ctx, await standing(self.repo, poll)), ref=ref(poll.id, "table"), whole=True)

    def _check_count(self, n: int, minimum: int = MIN_OPTIONS) -> None:
        if n < minimum:
            raise UserError("polls.error.too_few", minimum=minimum)
        if n > MAX_OPTIONS:
            raise UserError("polls.error.too_many", count=n, max=MAX_OPTIONS)

    @staticmethod
    def _check_duplicates(labels: list[str]) -> None:
        seen: set[str] = set()
        for label in labels:
            key = " ".join(label.casefold().split())
            if key in seen:
                raise UserError("polls.error.duplicate", option=label)
            seen.add(key)

    async def _create(self, ctx: Ctx, kind: str, title: str, options, until, fix_at_deadline: bool = False,
                      **kw) -> Poll:
        poll = await self.repo.create(room_id=ctx.room_id, kind=kind, creator=ctx.sender, title=title,
                                      created_at=ctx.now, options=options, until=until, **kw)
        if until is not None:
            await self.deps.scheduler.schedule(CLOSE_JOB, ref(poll.id, "close"), until,
                                               {"poll": poll.id, "fix": fix_at_deadline})
            nudge = nudge_at(ctx.now, until)
            if nudge is not None:
                await self.deps.scheduler.schedule(NUDGE_JOB, ref(poll.id, "nudge"), nudge, {"poll": poll.id})
        return poll

    # ------------------------------------------------------------------ voting
    async def find(self, ctx: Ctx, number: int, *, open_only: bool = False) -> Poll:
        """The poll #number if it belongs to this room (or, from a direct chat, to a room of the sender)."""
        poll = await self.repo.get(number)
        if poll is not None and poll.room_id != ctx.room_id:
            info = await ctx.chat.room_info(poll.room_id) if ctx.is_dm else None
            if info is None or ctx.sender not in info.members:
                poll = None
            else:  # asked from a direct chat: the poll's people are named as they are in its room
                ctx.names = Names.of(info)
        if poll is None:
            raise UserError("polls.error.unknown", id=number, usage=False)
        if open_only and not poll.is_open:
            raise UserError("polls.error.closed", id=number, usage=False)
        return poll

    @command("vote", aliases=["abstimmen", "stimme"])
    async def vote(self, ctx: Ctx, number: Number, choices: Choices):
        poll = await self.find(ctx, number, open_only=True)
        # the vote counts at the event's server time, as native responses and reactions do; the
        # bot's own clock would let a vote held up by downtime beat a later click
        at = ctx.event.ts if ctx.event is not None else ctx.now
        if poll.until is not None and at > poll.until:  # sent after the deadline, before the close job ran
            raise UserError("polls.error.closed", id=poll.id, usage=False)
        n = len(poll.options)
        if poll.kind == "meeting":
            ballot = meeting_ballot(choices, n, poll.id)
            await self.repo.add_vote(poll.id, ctx.event_id, ctx.sender, at, {str(k): v for k, v in ballot.items()})
            await ctx.reply("polls.voted.meeting", id=poll.id, **show.date_answers(poll, ballot))
        elif poll.kind == "consensus":
            ratings = consensus_ballot(choices, n, poll.id)
            await self.repo.add_vote(poll.id, ctx.event_id, ctx.sender, at, {str(k): v for k, v in ratings.items()})
            await ctx.reply("polls.voted.consensus", id=poll.id)
        else:
            chosen = choice_ballot(choices, n, poll.id, poll.max_choices, poll.yesno)
            if poll.secret:
                if not ctx.is_dm:
                    raise UserError("polls.error.secret_in_room", id=poll.id, usage=False)
                replaced = await self.repo.put_secret_ballot(poll.id, ctx.sender, chosen)
                # private: no outbox row keeps when whose secret ballot came in
                await ctx.reply("polls.voted.secret_again" if replaced else "polls.voted.secret", id=poll.id,
                                ref=private_ref())
            else:
                await self.repo.add_vote(poll.id, ctx.event_id, ctx.sender, at, chosen)
                await ctx.reply("polls.voted.choice", id=poll.id,
                                options="; ".join(show.numbered(ctx, poll, i) for i in chosen))
        await self.refresh(poll)

    async def refresh(self, poll: Poll) -> None:
        """Edit the poll's message to the current standing (pending edits coalesce in the outbox).

        `poll` is as read in the caller's transaction: its votes are counted afresh, the row is not."""
        ctx = await self.deps.room_ctx(poll.room_id)
        await self.edit_table(poll, show.message(ctx, await standing(self.repo, poll)))

    # ------------------------------------------------------------------ looking and closing
    @command("results", aliases=["ergebnis", "ergebnisse", "stand"])
    async def results(self, ctx: Ctx, number: Number):
        poll = await self.find(ctx, number)
        await ctx.reply_rich(show.standings(ctx, await standing(self.repo, poll)))

    @command("polls", aliases=["umfragen", "abstimmungen"])
    async def polls(self, ctx: Ctx):
        found = await self.repo.open_in_room(ctx.room_id)
        if not found:
            await ctx.reply("polls.list.none")
            return
        items = [show.list_line(ctx, await standing(self.repo, p)) for p in found]
        await ctx.reply_rich(lines([plain(ctx.t("polls.list.header")), *items]))

    @command("close", aliases=["schliessen", "schließen", "beenden"])
    async def close(self, ctx: Ctx, number: Number):
        poll = await self.find(ctx, number, open_only=True)
        await self.require_creator_or_organiser(ctx, poll, "polls.error.close_not_allowed")
        await self.close_poll(poll, ctx)

    async def require_creator_or_organiser(self, ctx: Ctx, poll: Poll, key: str) -> None:
        if ctx.sender == poll.creator or await ctx.is_organiser(room_id=poll.room_id):
            return
        if poll.creator:
            names = Names.of(await ctx.chat.room_info(poll.room_id))  # named as in the poll's room
            raise UserError(key, id=poll.id, creator=names.name(poll.creator), usage=False)
        raise UserError(key + "_orga", id=poll.id, usage=False)

    async def close_poll(self, poll: Poll, ctx: Ctx, *, reply: bool = True, fixing: bool = False) -> Standing:
        """Close now: final table, native end event, result message (a reply to `!close`, else a notice)."""
        if not await self.repo.close(poll.id, ctx.now):
            return await standing(self.repo, poll)
        await self.deps.scheduler.cancel_prefix(ref(poll.id, ""))
        closed = await self.repo.get(poll.id)
        assert closed is not None
        s = await standing(self.repo, closed)
        recorded = await self.record_decision(s) if self.record_decision else None  # in this transaction
        if closed.secret:
            await self.repo.seal(closed.id)  # counted above; from now on no ballot can be tied to anyone
        room_ctx = await self.deps.room_ctx(closed.room_id)
        await self.edit_table(closed, show.message(room_ctx, s))
        text = show.result(room_ctx, s, fixing=fixing)
        if recorded is not None:
            text = lines([text, plain(room_ctx.t("decisions.recorded", number=recorded))])
        if closed.kind == "choice" and not closed.secret:
            fallback = room_ctx.t("polls.native.ended", result=show.first_line(room_ctx, s).text)
            await self.relate(closed.id, "native", show.POLL_END, {"text": fallback})
        await self.post(ctx, closed, text, "polls.closed_elsewhere", reply=reply)
        return s

    async def post(self, ctx: Ctx, poll: Poll, text: Rich, elsewhere: str, *, reply: bool = True) -> None:
        """Say `text` where the poll lives: as the reply to a command given in the poll's room, else
        posted there (a command from a direct chat is answered with `elsewhere`, which names the poll)."""
        answering = reply and bool(ctx.event_id)
        if answering and ctx.room_id == poll.room_id:
            await ctx.reply_rich(text)
            return
        await self.deps.messenger.send(poll.room_id, text)
        if answering:
            await ctx.reply(elsewhere, id=poll.id)


def poll_features(deps: PollDeps) -> list[Feature]:
    """The poll features, sharing one repository: polls and votes, fixed meetings, the record of decisions."""
    polls = Polls(deps)
    meetings = Meetings(polls)
    polls.deadline_fix = meetings.fix_at_deadline
    db = deps.repo.db
    decisions = Decisions(DecisionRepo(db), deps.repo, SafeSpaces(db), KeyValue(db), deps)
    polls.record_decision = decisions.record
    return [polls, meetings, decisions]
