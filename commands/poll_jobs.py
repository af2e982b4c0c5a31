"""The poll features' shared wiring (PollDeps, message refs) and the work they do on their own:
deadline closes, nudges, events relating to a poll message (keycaps, the native end), table edits."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import BotConfig
from bot.effects import RESULT
from bot.feature import Ctx, Permissions
from bot.i18n import I18n
from bot.messenger import Messenger
from bot.names import Names
from bot.ports import Chat, Clock
from bot.render import Rich, join
from bot.scheduler import JobHandler, Scheduler
from bot.timeformat import format_when
from bot.voice import Voice
from commands import poll_render as show
from commands.pollcount import Standing, standing
from storage.core import Job
from storage.polls import Poll, PollRepo

CLOSE_JOB, NUDGE_JOB = "polls.close", "polls.nudge"
# Older versions re-sent table edits from this job; the outbox now re-sends an edit merged while in flight.
# Rows left pending by them finish quietly instead of failing as an unknown kind.
RETIRED_SETTLE_JOB = "polls.settle"
# Older versions sent related events from this job once the target had an event id; the outbox row of the
# related event now waits for its target (needs=). Jobs left pending queue their rows.
RELATE_JOB = "polls.relate"


def ref(poll_id: int, what: str) -> str:
    """Outbox ref of a poll's message (table: the edited one, maybe, native), and key of its jobs (close, …)."""
    return f"polls.{poll_id}.{what}"


_REF = re.compile(r"polls\.([0-9]+)\.(table|maybe|native)")


def message_of(outbox_ref: str | None) -> tuple[int, str] | None:
    """(poll id, role) of a poll message's outbox ref."""
    m = _REF.fullmatch(outbox_ref or "")
    return (int(m.group(1)), m.group(2)) if m else None


@dataclass
class PollDeps:
    """What the poll features need besides the command context (jobs and events have none)."""

    repo: PollRepo
    scheduler: Scheduler
    messenger: Messenger
    chat: Chat
    clock: Clock
    i18n: I18n
    voice: Voice
    perms: Permissions
    settings: BotConfig

    async def room_ctx(self, room_id: str) -> Ctx:
        """A context for messages the bot sends on its own (deadlines, nudges, reminders)."""
        lang = await self.voice.lang(room_id)
        return Ctx(room_id=room_id, sender=self.chat.own_user_id, event_id="", lang=lang, tz=self.settings.timezone,
                   now=self.clock.now(), is_dm=False, i18n=self.i18n, messenger=self.messenger, perms=self.perms,
                   chat=self.chat, names=Names.of(await self.chat.room_info(room_id)))


class PollJobs:
    """Mixed into the Polls feature (which provides close_poll and refresh)."""

    deps: PollDeps
    repo: PollRepo
    deadline_fix: Callable[[Poll, Standing], Awaitable[None]] | None

    async def close_poll(self, poll: Poll, ctx: Ctx, *, reply: bool = True,
                         fixing: bool = False) -> Standing:  # implemented by Polls
        raise NotImplementedError

    async def refresh(self, poll: Poll) -> None:  # implemented by Polls
        raise NotImplementedError

    def jobs(self) -> dict[str, JobHandler]:
        return {CLOSE_JOB: JobHandler(self._close_job), NUDGE_JOB: JobHandler(self._nudge_job),
                RELATE_JOB: JobHandler(self._relate_job), RETIRED_SETTLE_JOB: JobHandler(self._retired_job)}

    async def _retired_job(self, job: Job) -> None:
        """A `polls.settle` job of an older version: nothing to do (see RETIRED_SETTLE_JOB)."""

    async def edit_table(self, poll: Poll, rich: Rich) -> None:
        """Edit the poll's table. Pending edits coalesce in the outbox; one that joins an edit already on
        its way is sent again by Delivery (the outbox row's version), so the newest text always arrives."""
        await self.deps.messenger.edit(ref(poll.id, "table"), rich)

    async def _close_job(self, job: Job) -> None:
        poll = await self.repo.get(job.payload["poll"])
        if poll is not None and poll.is_open:
            fixing = bool(job.payload.get("fix")) and self.deadline_fix is not None
            s = await self.close_poll(poll, await self.deps.room_ctx(poll.room_id), reply=False, fixing=fixing)
            if fixing:
                await self.deadline_fix(s.poll, s)

    async def _nudge_job(self, job: Job) -> None:
        poll = await self.repo.get(job.payload["poll"])
        now = self.deps.clock.now()
        if poll is None or not poll.is_open or (poll.until and now >= poll.until):
            return
        info = await self.deps.chat.room_info(poll.room_id)
        if info is None:
            return
        members = [m for m in info.members if m != self.deps.chat.own_user_id]
        ctx = await self.deps.room_ctx(poll.room_id)
        when = format_when(poll.until, lang=ctx.lang, tz=ctx.tz) if poll.until else ""
        if poll.secret:
            missing = len(members) - len(await self.repo.secret_voters(poll.id, members))
            if missing > 0:
                await self.deps.messenger.send(poll.room_id, ctx.rich("polls.nudge_secret", missing, id=poll.id,
                                                                      title=poll.title, when=when))
            return
        answered = set((await standing(self.repo, poll)).voters)
        missing_people = [m for m in members if m not in answered]
        if missing_people:
            who = join([show.pill(ctx, m) for m in missing_people])
            await self.deps.messenger.send(poll.room_id, ctx.rich("polls.nudge", id=poll.id, title=poll.title,
                                                                  when=when, who=who))

    async def relate(self, poll_id: int, role: str, type_: str, data: dict) -> None:
        """Send events relating to one of the poll's messages (the bot's keycaps, the native end): outbox
        rows that need that message's row, so Delivery fills in its event id once it is sent, in the
        room's order (effects.RESULT); no job looks for it."""
        poll = await self.repo.get(poll_id)
        if poll is None:
            return
        target = ref(poll_id, role)
        if type_ == "m.reaction":
            for key in data["keys"]:
                await self.deps.messenger.send_event(poll.room_id, "m.reaction", {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": RESULT, "key": key}}, needs=target)
        else:
            await self.deps.messenger.send_event(poll.room_id, type_, show.native_end(RESULT, data["text"]),
                                                 needs=target)

    async def _relate_job(self, job: Job) -> None:
        """A `polls.relate` job of an older version (it looked for the event id for days): queued now."""
        p = job.payload
        await self.relate(p["poll"], p["role"], p["type"], p["data"])
