"""!decisions / !beschlüsse, !decision / !beschluss, export and revoke: the room's record of decisions.

Every closed decision poll and consensing round becomes a numbered decision of its room, written
by `record` in the transaction that closes the poll (Polls.close_poll calls it), so a close that is
retried or replayed records nothing twice. Date polls are no decisions (they choose a date), and
nothing is recorded in a safe space. The record names nobody: no creator, no voter.
"""
from __future__ import annotations

import logging
import re

from bot.effects import RESULT
from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Converter, Number, Text, command
from bot.render import bullets, lines, plain
from bot.timeparse import zone
from commands import decision_text as text
from commands.poll_jobs import PollDeps, ref
from commands.pollcount import Standing, standing
from storage.core import KeyValue
from storage.decisions import Decision, DecisionRepo, fold
from storage.polls import Poll, PollRepo
from storage.safespace import SafeSpaces

log = logging.getLogger(__name__)

BACKFILLED = "decisions.backfilled"  # kv: polls closed before the upgrade have been entered
SHOWN = 20  # decisions in one list; more are counted, with a hint how to narrow
MARKDOWN_MIME = "text/markdown"


_QUOTES = "\"'„“”‚‘’«»‹›"


MAX_WORDS = 10


class Words(Text):
    """Search words: every one must occur in the question or an option."""

    label = "words"

    @classmethod
    def convert(cls, ctx, raw: str) -> list[str]:
        words = [w.strip(_QUOTES) for w in raw.split()]  # „Sommerfest“ is searched as Sommerfest
        words = [w for w in words if w]
        if len(words) > MAX_WORDS:  # every word is a condition of the query: keep it small
            raise UserError("decisions.too_many_words", max=MAX_WORDS, usage=False)
        return words


_BY = re.compile(r"^(?:(?:by|durch|mit)\s+)?(?:(?:decision|beschluss)\s+)?#?([0-9]+)$", re.IGNORECASE)


class RevokedBy(Converter):
    """`by 5` / `durch Beschluss 5` / `5`: the later decision that revokes."""

    shape = "rest"
    label = "decision_by"

    @classmethod
    def convert(cls, ctx, raw: str) -> int:
        m = _BY.match(" ".join(raw.split()))
        if m is None:
            raise UserError("decisions.error.bad_by", value=raw.strip())
        return int(m.group(1))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:40] or "raum"


class Decisions(Feature):
    name = "decisions"

    def __init__(self, repo: DecisionRepo, polls: PollRepo, spaces: SafeSpaces, kv: KeyValue, deps: PollDeps) -> None:
        self.repo, self.polls, self.spaces, self.kv, self.deps = repo, polls, spaces, kv, deps

    async def on_start(self) -> None:
        """Once, after the upgrade that brought the record: enter the polls closed before, in closing order."""
        async with self.repo.db.transaction():
            if await self.kv.get(BACKFILLED):
                return
            entered = 0
            for poll_id in await self.repo.unrecorded_polls():
                poll = await self.polls.get(poll_id)
                if poll is not None and await self.record(await standing(self.polls, poll)) is not None:
                    entered += 1
            await self.kv.set(BACKFILLED, "1")
        if entered:
            log.info("entered %d polls closed before the record of decisions existed", entered)

    # ------------------------------------------------------------------ recording (called at a poll's close)
    async def record(self, s: Standing) -> int | None:
        """Enter a just-closed poll into its room's record; its number, or None (date poll, safe space, known)."""
        poll = s.poll
        if poll.kind == "meeting" or await self.spaces.get(poll.room_id) is not None:
            return None
        decision = text.decision_of(s, await self._poll_event(poll))
        return await self.repo.record(decision) if decision is not None else None

    async def _poll_event(self, poll: Poll) -> str | None:
        """The event a link should open: the native poll, else the poll's table (None: not sent yet)."""
        role = "native" if poll.kind == "choice" and not poll.secret else "table"
        known = (await self.polls.messages(poll.id)).get(role)
        if known:
            return known
        target = await self.deps.messenger.event_for(ref(poll.id, role))
        return target[1] if target else None

    async def _url(self, d: Decision) -> str | None:
        event_id = d.event_id
        if event_id is None:  # closed before its message was delivered: look again
            poll = await self.polls.get(d.poll_id)
            event_id = await self._poll_event(poll) if poll else None
        if event_id is None:
            return None
        return text.permalink(d.room_id, event_id, self.deps.chat.own_user_id.split(":", 1)[-1])

    # ------------------------------------------------------------------ looking
    @command("decisions", aliases=["beschlüsse", "beschluesse"], where="room")
    async def decisions(self, ctx: Ctx, words: Words = None):
        terms = words or []
        found, total = await self.repo.search(ctx.room_id, terms, limit=SHOWN)
        asked = " ".join(terms)
        if not found:
            await ctx.reply("decisions.list.none_matching" if terms else "decisions.list.none", words=asked)
            return
        head = ctx.t("decisions.list.header_matching", words=asked) if terms else ctx.t("decisions.list.header")
        parts = [plain(head), bullets([text.list_line(ctx.t, d, ctx.lang, ctx.tz) for d in found])]
        if total > len(found):
            parts.append(plain(ctx.t("decisions.list.more", total - len(found))))
        parts.append(plain(ctx.t("decisions.list.how", example=found[0].number)))
        await ctx.reply_rich(lines(parts))

    @command("decision", aliases=["beschluss"], where="room")
    async def decision(self, ctx: Ctx, number: Number):
        d = await self._find(ctx, number)
        revokes = (await self.repo.revocations(ctx.room_id)).get(d.number, [])
        await ctx.reply_rich(text.detail(ctx.t, d, ctx.lang, ctx.tz, await self._url(d), revokes))

    async def _find(self, ctx: Ctx, number: int) -> Decision:
        d = await self.repo.get(ctx.room_id, number)
        if d is None:
            raise UserError("decisions.error.unknown", number=number, usage=False)
        return d

    # ------------------------------------------------------------------ export
    @command("decisions export", aliases=["beschlüsse export", "beschluesse exportieren"], where="room")
    async def export(self, ctx: Ctx, words: Words = None):
        terms = words or []
        found, _ = await self.repo.search(ctx.room_id, terms, newest_first=False)
        if not found:
            await ctx.reply("decisions.list.none_matching" if terms else "decisions.list.none", words=" ".join(terms))
            return
        room = await self.deps.voice.room_name(ctx.room_id)
        urls = {d.number: await self._url(d) for d in found}
        body = text.markdown(ctx.t, found, room=room, lang=ctx.lang, tz=ctx.tz, now=ctx.now,
                             url=lambda d: urls[d.number], revokes=await self.repo.revocations(ctx.room_id))
        data = body.encode()
        filename = ctx.t("decisions.export.filename", room=_slug(room),
                         date=ctx.now.astimezone(zone(ctx.tz)).date().isoformat())
        # uploaded after commit (the bytes wait in the outbox row: an export is a few kilobytes); if the
        # upload is given up, the member is told by the outbox's failure notice and the file message goes too
        upload = await ctx.messenger.upload(ctx.room_id, data, MARKDOWN_MIME, filename)
        await ctx.messenger.send_event(ctx.room_id, "m.room.message", {
            "msgtype": "m.file", "body": filename, "filename": filename, "url": RESULT,
            "info": {"mimetype": MARKDOWN_MIME, "size": len(data)}, "m.mentions": {},
            "m.relates_to": {"m.in_reply_to": {"event_id": ctx.event_id}}}, needs=upload)

    # ------------------------------------------------------------------ revoking
    @command("decision revoke", aliases=["beschluss aufheben"], who="organiser", where="room")
    async def revoke(self, ctx: Ctx, number: Number, by: RevokedBy = None):
        d = await self._find(ctx, number)
        if d.revoked:
            raise UserError("decisions.error.already_revoked", number=number,
                            note=text.revoked_note(ctx.t, d, ctx.lang), usage=False)
        if by is not None:
            later = await self.repo.get(ctx.room_id, by)
            if later is None:
                raise UserError("decisions.error.unknown", number=by, usage=False)
            if by <= number:
                raise UserError("decisions.error.not_later", number=number, by=by, usage=False)
        await self.repo.revoke(ctx.room_id, number, by, ctx.now)
        if by is None:
            await ctx.reply("decisions.revoked_now", number=number, question=d.question)
        else:
            await ctx.reply("decisions.revoked_now_by", number=number, question=d.question, by=by)
