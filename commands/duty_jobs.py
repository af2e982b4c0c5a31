"""A slot's scheduled work: announce the holders (lead time), remind them, escalate if nobody confirmed.

Each job runs once per slot (the slot row records it), also after downtime: an announcement
or reminder for a turn that is already over is skipped, an escalation is always sent.
"""
from __future__ import annotations

from datetime import datetime

from bot.ports import Clock
from bot.scheduler import JobHandler
from bot.voice import Voice
from commands.duty_planner import JOB_ANNOUNCE, JOB_ESCALATE, JOB_REMIND, Planner
from commands.duty_text import organisers_room, typed_day, who
from storage.core import Job
from storage.db import from_ms
from storage.duties import HOLDING, OPEN, Duties, Duty, Slot, Turns


class DutyJobs:
    def __init__(self, duties: Duties, turns: Turns, planner: Planner, voice: Voice, clock: Clock) -> None:
        self.duties, self.turns, self.planner, self.voice, self.clock = duties, turns, planner, voice, clock

    def handlers(self) -> dict[str, JobHandler]:
        return {JOB_ANNOUNCE: JobHandler(self.announce), JOB_REMIND: JobHandler(self.remind),
                JOB_ESCALATE: JobHandler(self.escalate)}

    async def _claim(self, job: Job, field: str) -> tuple[Duty, Slot, datetime] | None:
        """The job's live slot and the time now, once: None if the slot is gone or `field` was marked already."""
        duty = await self.duties.get(int(job.payload["duty"]))
        occ: datetime = from_ms(int(job.payload["occ"]))  # type: ignore[assignment]
        slot = await self.turns.slot(duty.id, occ) if duty and duty.deleted_at is None else None
        if duty is None or slot is None:
            return None
        now = self.clock.now()
        if not await self.turns.mark_slot(duty.id, slot.occurrence, field, now):
            return None
        return duty, slot, now

    async def _users(self, duty: Duty, slot: Slot, statuses: tuple[str, ...]) -> list[str]:
        return [r.user_id for r in await self.turns.holders(duty.id, slot.occurrence, statuses) if r.user_id]

    async def announce(self, job: Job) -> None:
        claimed = await self._claim(job, "announced_at")
        if claimed is None:
            return
        duty, slot, now = claimed
        if slot.occurrence > now:  # after a long downtime, a turn that is over is not announced any more
            users = await self._users(duty, slot, HOLDING)
            if users:
                names = await self.voice.names(duty.room_id)
                await self.voice.say(duty.room_id, "duty.announce", len(users), users=who(users, names, ping=True),
                                     duty=duty.name, when=slot.occurrence)
            else:
                await self.voice.say(duty.room_id, "duty.announce_nobody", duty=duty.name, when=slot.occurrence,
                                     day=typed_day(self.planner.day(slot.occurrence)))
        await self.planner.ensure(duty, now)  # keep planning ahead

    async def remind(self, job: Job) -> None:
        claimed = await self._claim(job, "reminded_at")
        if claimed is None:
            return
        duty, slot, now = claimed
        if slot.occurrence <= now:
            return  # too late to remind; the escalation follows if nobody confirmed
        if slot.announced_at is not None and slot.announced_at > job.due_at:
            return  # announced after the reminder was due (planned at short notice): that was reminder enough
        users = await self._users(duty, slot, OPEN)
        if users:
            names = await self.voice.names(duty.room_id)
            await self.voice.say(duty.room_id, "duty.remind", len(users), users=who(users, names, ping=True),
                                 duty=duty.name, when=slot.occurrence)

    async def escalate(self, job: Job) -> None:
        claimed = await self._claim(job, "escalated_at")
        if claimed is None:
            return
        duty, slot, _ = claimed
        rows = await self.turns.holders(duty.id, slot.occurrence, OPEN)
        for row in rows:
            await self.turns.set_status(row.id, "missed")
        if not rows:
            return
        target = await organisers_room(self.voice, duty.room_id)
        users = who([r.user_id for r in rows], await self.voice.names(duty.room_id), ping=False)  # named as there
        await self.voice.say(target, "duty.escalate", len(rows), users=users,
                             duty=duty.name, when=slot.occurrence, room=await self.voice.room_name(duty.room_id))
