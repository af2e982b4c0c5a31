"""!meeting fix / !termin festlegen: turn a date poll's option into a meeting with a calendar file
(.ics, icalendar) and reminders before it (default one day and one hour; setting `remind:`)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.effects import RESULT
from bot.errors import UserError
from bot.eventsize import CONTENT_BUDGET
from bot.feature import Ctx, Feature
from bot.grammar import Converter, Int, Number, Setting, Text, command
from bot.render import Rich, code, join, lines, message_content, plain
from bot.scheduler import JobHandler
from bot.timeformat import format_when
from commands import poll_render as show
from commands.pollcount import Standing, standing
from commands.pollrules import parse_duration, parse_reminders
from storage.polls import Meeting, Poll

if TYPE_CHECKING:
    from commands.polls import Polls


REMIND_JOB = "polls.remind"
DEFAULT_REMINDERS = (24 * 60, 60)
DEFAULT_MINUTES = 120
ICS_MIME = "text/calendar"


class OptionNumber(Int):
    label = "option"


class Duration(Converter):
    shape = "rest"
    label = "poll_duration"

    @classmethod
    def convert(cls, ctx, raw: str) -> int:
        minutes = parse_duration(raw)
        if minutes is None:
            raise UserError("polls.error.bad_duration", value=raw)
        return minutes


class Reminders(Converter):
    shape = "rest"
    label = "reminders"

    @classmethod
    def convert(cls, ctx, raw: str) -> tuple[int, ...]:
        minutes = parse_reminders(raw)
        if minutes is None:
            raise UserError("polls.error.bad_reminders", value=raw)
        return minutes


def meeting_key(poll_id: int, what: str = "") -> str:
    return f"polls.meeting.{poll_id}.{what}"


def and_list(ctx: Ctx, items: list[str]) -> str:
    """"a, b und c" / "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + ctx.t("polls.and") + items[-1]


def duration_text(ctx: Ctx, minutes: int) -> str:
    """1440 -> "1 Tag", 90 -> "1 Stunde und 30 Minuten"."""
    parts = []
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(ctx.t("polls.unit." + unit, count))
    return and_list(ctx, parts)


def build_ics(poll: Poll, meeting: Meeting, *, description: str, now: datetime, host: str) -> bytes:
    """One VEVENT in UTC with a stable UID (a re-fix updates it: SEQUENCE) and an alarm per reminder."""
    from icalendar import Alarm, Calendar, Event  # 3 MB resident, needed only when a meeting is fixed

    cal = Calendar()
    cal.add("prodid", "-//Plenum//Plenum Matrix bot//DE")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    room = hashlib.sha256(poll.room_id.encode()).hexdigest()[:12]
    event.add("uid", f"plenum-poll-{poll.id}-{room}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=meeting.minutes))
    event.add("summary", poll.title)
    event.add("description", description)
    event.add("sequence", meeting.sequence)
    if meeting.location:
        event.add("location", meeting.location)
    for minutes in meeting.reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", poll.title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        event.add_component(alarm)
    cal.add_component(event)
    return cal.to_ical()


class Meetings(Feature):
    name = "meetings"

    def __init__(self, polls: Polls) -> None:
        self.polls, self.deps, self.repo = polls, polls.deps, polls.repo

    def jobs(self) -> dict[str, JobHandler]:
        return {REMIND_JOB: JobHandler(self._remind)}

    @command("meeting fix", aliases=["termin festlegen"])
    async def fix(self, ctx: Ctx, number: Number, option: OptionNumber = None, remind: Setting[Reminders] = None,
                  duration: Setting[Duration] = None, location: Setting[Text] = None):
        poll = await self.polls.find(ctx, number)
        if poll.kind != "meeting":
            raise UserError("polls.error.not_meeting", id=poll.id, usage=False)
        await self.polls.require_creator_or_organiser(ctx, poll, "polls.error.fix_not_allowed")
        s = await standing(self.repo, poll)
        idx = self._pick(ctx, s, option)
        starts_at = poll.options[idx].at
        assert starts_at is not None
        if starts_at <= ctx.now:
            raise UserError("polls.error.fix_past", option=format_when(starts_at, lang=ctx.lang, tz=ctx.tz),
                            id=poll.id, usage=False)
        if poll.is_open:
            s = await self.polls.close_poll(poll, ctx, reply=False, fixing=True)
        await self._fix(ctx, poll, idx, s, remind, duration, location)

    async def fix_at_deadline(self, poll: Poll, s: Standing) -> None:
        """`fix: yes` on a date poll: at the deadline a single best date becomes the meeting by itself."""
        best = s.meeting.best if s.meeting else ()
        ctx = await self.deps.room_ctx(poll.room_id)
        starts_at = poll.options[best[0]].at if len(best) == 1 else None
        if starts_at is None or starts_at <= ctx.now:
            return  # a tie or nobody: the organisers decide with !meeting fix
        await self._fix(ctx, poll, best[0], s, None, None, None)

    async def _fix(self, ctx: Ctx, poll: Poll, idx: int, s: Standing, remind: tuple[int, ...] | None,
                   duration: int | None, location: str | None) -> None:
        starts_at = poll.options[idx].at
        assert starts_at is not None
        before = await self.repo.meeting(poll.id)
        meeting = await self.repo.fix_meeting(
            poll.id, idx, starts_at,
            duration or (before.minutes if before else DEFAULT_MINUTES),
            location if location is not None else (before.location if before else None),
            remind if remind is not None else (before.reminders if before else DEFAULT_REMINDERS))
        await self.deps.scheduler.cancel_prefix(meeting_key(poll.id))
        for minutes in meeting.reminders:
            due = starts_at - timedelta(minutes=minutes)
            if due > ctx.now:
                await self.deps.scheduler.schedule(REMIND_JOB, meeting_key(poll.id, str(minutes)), due,
                                                   {"poll": poll.id, "minutes": minutes, "sequence": meeting.sequence})
        room_ctx = await self.deps.room_ctx(poll.room_id)  # said in the poll's room, in its language
        await self.polls.post(ctx, poll, self._announcement(room_ctx, poll, meeting, s),
                              "polls.meeting.fixed_elsewhere")
        await self._send_ics(room_ctx, poll, meeting)

    def _pick(self, ctx: Ctx, s: Standing, option: int | None) -> int:
        poll = s.poll
        if option is None:
            best = s.meeting.best if s.meeting else ()
            if len(best) != 1:
                raise UserError("polls.error.which_option", id=poll.id,
                                options=", ".join(str(poll.number(i)) for i in best) or "–")
            return best[0]
        if not 1 <= option <= len(poll.options):
            raise UserError("polls.error.option_out_of_range", poll=poll.id, option=option, first=1,
                            last=len(poll.options), usage=False)
        return option - 1

    @staticmethod
    def _attendees(ctx: Ctx, s: Standing, idx: int) -> list[Rich]:
        """The line naming (and pinging) who said yes or maybe to the date; none if nobody did."""
        opt = s.meeting.options[idx] if s.meeting else None
        who = [show.pill(ctx, u) for u in (*opt.yes, *opt.maybe) if u.startswith("@")] if opt else []
        return [ctx.rich("polls.meeting.attendees", who=join(who))] if who else []

    def _details(self, ctx: Ctx, meeting: Meeting) -> list[Rich]:
        parts = []
        if meeting.location:
            parts.append(plain(ctx.t("polls.meeting.location", location=meeting.location)))
        parts.append(plain(ctx.t("polls.meeting.duration", duration=duration_text(ctx, meeting.minutes))))
        return parts

    def _announcement(self, ctx: Ctx, poll: Poll, meeting: Meeting, s: Standing) -> Rich:
        when = format_when(meeting.starts_at, lang=ctx.lang, tz=ctx.tz)
        if meeting.reminders:
            times = and_list(ctx, [duration_text(ctx, m) for m in meeting.reminders])
            remind = ctx.t("polls.meeting.reminders", times=times)
        else:
            remind = ctx.t("polls.meeting.no_reminders")
        return lines([ctx.rich("polls.meeting.fixed", id=poll.id, title=poll.title, when=when),
                      *self._details(ctx, meeting), plain(remind), *self._attendees(ctx, s, meeting.idx)])

    async def _send_ics(self, ctx: Ctx, poll: Poll, meeting: Meeting) -> None:
        """The calendar entry as an .ics file, uploaded after commit (an outbox row, bytes included: a few
        kilobytes); should the upload be given up, the file message becomes the entry as text to save."""
        host = self.deps.chat.own_user_id.split(":", 1)[-1]
        room = await self.deps.voice.room_name(poll.room_id)
        description = ctx.t("polls.meeting.ics_description", id=poll.id, room=room)
        data = build_ics(poll, meeting, description=description, now=ctx.now, host=host)
        filename = ctx.t("polls.meeting.ics_filename", id=poll.id)
        upload = await ctx.messenger.upload(poll.room_id, data, ICS_MIME, filename)
        as_text = message_content(lines([plain(ctx.t("polls.meeting.ics_text", filename=filename)),
                                         code(data.decode().replace("\r\n", "\n").strip())]), budget=CONTENT_BUDGET)
        await ctx.messenger.send_event(poll.room_id, "m.room.message", {
            "msgtype": "m.file", "body": filename, "filename": filename, "url": RESULT,
            "info": {"mimetype": ICS_MIME, "size": len(data)}, "m.mentions": {}}, needs=upload, fallback=as_text)

    async def _remind(self, job) -> None:
        p = job.payload
        poll = await self.repo.get(p["poll"])
        meeting = await self.repo.meeting(p["poll"])
        now = self.deps.clock.now()
        if poll is None or meeting is None or meeting.sequence != p["sequence"] or meeting.starts_at <= now:
            return  # re-fixed since, or already begun (the bot was down too long)
        ctx = await self.deps.room_ctx(poll.room_id)
        s = await standing(self.repo, poll)
        parts: list[Rich] = [ctx.rich("polls.meeting.reminder", title=poll.title,
                                      when=format_when(meeting.starts_at, lang=ctx.lang, tz=ctx.tz),
                                      left=duration_text(ctx, max(1, round((meeting.starts_at - now).total_seconds()
                                                                           / 60)))),
                             *self._details(ctx, meeting), *self._attendees(ctx, s, meeting.idx)]
        await self.deps.messenger.send(poll.room_id, lines(parts))
