"""Votes that are not commands: native poll responses, keycap reactions and their redactions,
re-read from the room's relations at start (votes cast while the bot was down); and the
member's own data (!mydata / !forget).

Storing a vote is idempotent (keyed by its event id), so an event seen live and again in
the relations is counted once; reactions are reconciled to exactly what the room shows.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.feature import Ctx
from bot.ports import Incoming
from bot.render import Rich
from commands import poll_render as show
from commands.poll_jobs import message_of, ref
from commands.pollcount import standing
from commands.pollrules import keycap_index, native_ballot
from storage.polls import Poll, Reaction

if TYPE_CHECKING:
    from commands.poll_jobs import PollDeps
    from storage.polls import PollRepo

log = logging.getLogger(__name__)

class PollEvents:
    """Mixed into the Polls feature (which provides deps, repo, refresh)."""

    deps: "PollDeps"
    repo: "PollRepo"
    event_types = frozenset({show.POLL_RESPONSE, "m.reaction", "m.room.redaction"})

    async def refresh(self, poll: Poll) -> None:  # implemented by Polls
        raise NotImplementedError

    # ------------------------------------------------------------------ live events
    async def poll_of(self, event_id: str) -> tuple[Poll, str] | None:
        """The poll and the role (table, maybe, native) of one of the bot's poll messages."""
        found = await self.repo.message_for(event_id)
        if found is None:
            found = message_of(await self.deps.messenger.ref_for(event_id))
            if found is None:
                return None
            await self.repo.record_message(found[0], found[1], event_id)
        poll = await self.repo.get(found[0])
        return (poll, found[1]) if poll is not None else None

    async def wants(self, ev: Incoming) -> bool:
        """Before the transaction: a reaction or poll response matters only if it relates to one of the bot's
        poll messages (the lookups of poll_of, without its write); people reacting to chat cost nothing."""
        if ev.type == "m.room.redaction":
            return True
        relates = ev.content.get("m.relates_to")
        target = relates.get("event_id") if isinstance(relates, dict) else None
        if not isinstance(target, str):
            return False
        if await self.repo.message_for(target) is not None:
            return True
        return message_of(await self.deps.messenger.ref_for(target)) is not None

    async def on_event(self, ev: Incoming, ctx: Ctx) -> None:
        if ev.type == "m.room.redaction":
            if ev.redacts:
                poll_id = await self.repo.drop_reaction(ev.redacts) or await self.repo.drop_vote_event(ev.redacts)
                poll = await self.repo.get(poll_id) if poll_id else None
                if poll is not None:
                    await self.refresh(poll)
            return
        relates = ev.content.get("m.relates_to")
        target = relates.get("event_id") if isinstance(relates, dict) else None
        if not isinstance(target, str):
            return
        found = await self.poll_of(target)
        if found is not None and await self.count_event(found[0], found[1], ev):
            await self.refresh(found[0])

    async def count_event(self, poll: Poll, role: str, ev: Incoming) -> bool:
        """Store a native response or a reaction; True if it was new and counts."""
        if not poll.is_open or poll.room_id != ev.room_id or (poll.until and ev.ts > poll.until):
            return False  # responses after the end are ignored
        if ev.type == show.POLL_RESPONSE and role == "native" and poll.kind == "choice" and not poll.secret:
            answers = (ev.content.get(show.POLL_RESPONSE) or {}).get("answers")
            if not isinstance(answers, list):
                return False
            ballot = native_ballot(answers, len(poll.options), poll.max_choices)
            return await self.repo.add_vote(poll.id, ev.event_id, ev.sender, ev.ts, ballot)
        if ev.type == "m.reaction" and poll.kind == "meeting" and role in ("table", "maybe"):
            reaction = self.reaction(poll, role, ev)
            return reaction is not None and await self.repo.add_reaction(poll.id, reaction)
        return False

    @staticmethod
    def reaction(poll: Poll, role: str, ev: Incoming) -> Reaction | None:
        relates = ev.content.get("m.relates_to") or {}
        if relates.get("rel_type") != "m.annotation":
            return None
        idx = keycap_index(str(relates.get("key", "")))
        if idx is None or idx >= len(poll.options):
            return None
        return Reaction(ev.event_id, ev.sender, idx, "yes" if role == "table" else "maybe", ev.ts)

    # ------------------------------------------------------------------ after a restart
    async def on_start(self) -> None:
        for poll in await self.repo.all_open():
            try:
                await self.reread(poll)
            except Exception:  # noqa: BLE001 - one room's trouble must not stop the start
                log.warning("could not re-read the votes of poll %d", poll.id, exc_info=True)

    async def reread(self, poll: Poll) -> None:
        """Count what the room's relations show for the poll's messages (votes while we were down)."""
        roles = {"meeting": ("table", "maybe"), "choice": () if poll.secret else ("native",)}.get(poll.kind, ())
        fetched: dict[str, list[Incoming]] = {}
        for role in roles:
            event_id = await self._event_id(poll, role)
            if event_id is None:
                return  # not delivered yet: nothing can relate to it
            rel = "m.annotation" if poll.kind == "meeting" else "m.reference"
            own = self.deps.chat.own_user_id
            fetched[role] = [e for e in await self.deps.chat.relations(poll.room_id, event_id, rel) if e.sender != own]
        async with self.repo.db.transaction():
            fresh = await self.repo.get(poll.id)  # closed while the relations were fetched?
            if fresh is None or not fresh.is_open:
                return
            poll, changed = fresh, False
            if poll.kind == "meeting":
                present = [r for role, evs in fetched.items() for e in evs if e.type == "m.reaction"
                           and (r := self.reaction(poll, role, e)) is not None]
                changed = await self.repo.replace_reactions(poll.id, present)
            for e in fetched.get("native", []):
                if e.type == show.POLL_RESPONSE:
                    changed = await self.count_event(poll, "native", e) or changed
            if changed:
                await self.refresh(poll)

    async def _event_id(self, poll: Poll, role: str) -> str | None:
        known = (await self.repo.messages(poll.id)).get(role)
        if known:
            return known
        target = await self.deps.messenger.event_for(ref(poll.id, role))
        if target is None:
            return None
        async with self.repo.db.transaction():
            await self.repo.record_message(poll.id, role, target[1])
        return target[1]

    # ------------------------------------------------------------------ !mydata / !forget
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        voted, created = await self.repo.polls_of(user_id)
        out: list[Rich] = []
        for poll in voted:
            if poll.is_open:
                out.append(ctx.rich("polls.mydata.open", id=poll.id, title=poll.title,
                                    answer=await self._answer(ctx, poll, user_id)))
            else:
                out.append(ctx.rich("polls.mydata.closed", id=poll.id, title=poll.title))
        for poll in await self.repo.open_secret():
            if await self.repo.secret_ballot(poll.id, user_id) is not None:
                out.append(ctx.rich("polls.mydata.secret", id=poll.id, title=poll.title))
        if created:
            out.append(ctx.rich("polls.mydata.created", len(created), ids=", ".join(f"#{i}" for i in created)))
        return out

    async def _answer(self, ctx: Ctx, poll: Poll, user_id: str) -> str:
        """user_id's counted answer to an open poll."""
        if poll.kind == "meeting":  # typed answers and clicks together
            s = await standing(self.repo, poll)
            assert s.meeting is not None
            answers = {i: answer for i, o in enumerate(s.meeting.options)
                       for answer, who in (("yes", o.yes), ("maybe", o.maybe)) if user_id in who}
            return ctx.t("polls.mydata.meeting_answer", **show.date_answers(poll, answers))
        mine = (await self.repo.latest_votes(poll.id, poll.ends_at)).get(user_id)
        if mine is None:
            return "–"
        if poll.kind == "consensus":
            return " ".join(f"{k}={x}" for k, x in sorted(mine.items(), key=lambda kv: int(kv[0])))
        return "; ".join(show.numbered(ctx, poll, i) for i in mine if 0 <= i < len(poll.options))

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        created = await self.repo.created_by(user_id)  # before forget_voter takes the name off them
        removed, anonymised = await self.repo.forget_voter(user_id)
        changed = [p for p in [await self.repo.get(i) for i in removed] if p is not None]
        changed += [p for p in await self.repo.open_secret() if await self.repo.drop_secret_ballot(p.id, user_id)]
        out: list[Rich] = []
        if changed:
            ids = ", ".join(f"#{i}" for i in sorted(p.id for p in changed))
            out.append(ctx.rich("polls.forgot.removed", len(changed), ids=ids))
            for poll in changed:
                await self.refresh(poll)
        if anonymised:
            out.append(ctx.rich("polls.forgot.anonymised", anonymised))
        if created:
            out.append(ctx.rich("polls.forgot.created", len(created)))
        return out
