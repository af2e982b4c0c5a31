"""The awareness team's side: admit or deny requests, remove people from safe spaces, anonymous reports.

Commands here work only in a room with the role "awareness"; each answer there is the log
of the action. A report reaches that room without its sender: no name, no reply relation,
no log line; the database keeps only a keyed reference (storage.safespace.Reports). The
messages that tie a report number to the reporter's direct chat are private outbox rows
(storage.core.private_ref): deleted the moment they are delivered, so no row and no job time
says when a report or an answer passed through a direct chat. `name: yes` names the reporter
on purpose.

The reporter can write back (`follow_up`, asked by the dispatcher for a direct chat's messages
without `!`): a Matrix reply to the bot's message about report #N (the number rides in that
message's content, REPORT_FIELD), or a message that names no command within FOLLOW_UP_DAYS of the
team's latest answer to one of their reports (found through the keyed route), reaches the awareness
room as a message on #N, never with a name.
"""
from __future__ import annotations

from datetime import timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Number, Setting, Text, User, YesNo, command
from bot.ports import Incoming
from bot.render import Rich, message_content
from bot.voice import Voice
from commands.spacebook import SpaceBook, SpaceName
from storage.core import DirectRooms, day_of, private_ref
from storage.safespace import Admissions, Reports, Request, Requests, SafeSpaces

REPORT_FIELD = "org.plenum.report"  # the report number in the bot's messages about it in a direct chat
FOLLOW_UP_DAYS = 7  # a plain message this soon after the team's answer continues that report


class Awareness(Feature):
    name = "awareness"

    def __init__(self, book: SpaceBook, spaces: SafeSpaces, admissions: Admissions, requests: Requests,
                 reports: Reports, dms: DirectRooms, voice: Voice) -> None:
        self.book, self.spaces, self.admissions, self.requests = book, spaces, admissions, requests
        self.reports, self.dms, self.voice = reports, dms, voice

    async def _require_awareness_room(self, ctx: Ctx) -> None:
        if "awareness" not in (await self.book.rooms.get(ctx.room_id)).roles:
            raise UserError("awareness.only_here", usage=False)

    # ------------------------------------------------------------------ admission decisions
    async def _open_request(self, ctx: Ctx, number: int) -> Request:
        """Request #number, asked about in the awareness room."""
        await self._require_awareness_room(ctx)
        request = await self.requests.get(number)
        if request is None:
            raise UserError("awareness.unknown_request", number=number, usage=False)
        return request

    @command("admit", aliases=["zulassen"], where="room")
    async def admit(self, ctx: Ctx, number: Number):
        request = await self._open_request(ctx, number)
        space = await self.spaces.get(request.room_id)
        info = await ctx.chat.room_info(request.room_id)
        if space is None or info is None:
            # A reply, not a UserError: the error would roll the close back with the command's savepoint.
            await self.requests.close(number)
            await ctx.reply("awareness.space_gone", number=number)
            return
        if request.user_id not in info.members:
            await ctx.messenger.invite(space.room_id, request.user_id)
        await self.requests.close(number)
        await self.admissions.lift_removal(space.room_id, request.user_id)
        await self.admissions.set(space.room_id, request.user_id, "admitted")
        lang = await self.voice.dm_lang(request.user_id, await self.voice.lang(space.room_id))
        await self.voice.dm(request.user_id, lang, "safespace.admitted_dm", name=info.name)
        await ctx.reply("awareness.admitted", number=number, user=request.user_id, name=info.name)

    @command("deny", aliases=["ablehnen"], where="room")
    async def deny(self, ctx: Ctx, number: Number):
        request = await self._open_request(ctx, number)
        await self.requests.close(number)
        name = await self.voice.room_name(request.room_id)
        lang = await self.voice.dm_lang(request.user_id, await self.voice.lang(request.room_id))
        await self.voice.dm(request.user_id, lang, "safespace.denied_dm", name=name)
        await ctx.reply("awareness.denied", number=number, user=request.user_id, name=name)

    @command("remove", aliases=["entfernen", "rauswerfen"], where="room")
    async def remove(self, ctx: Ctx, user: User, space: SpaceName):
        await self._require_awareness_room(ctx)
        found, info = await self.book.resolve(ctx.chat, space)
        if info.level(user) >= info.level(ctx.chat.own_user_id):
            raise UserError("awareness.cannot_remove", user=user, name=info.name, usage=False)
        lang = await self.voice.lang(found.room_id)
        was_member = user in info.members
        if was_member:
            await ctx.messenger.kick(found.room_id, user, reason=ctx.i18n.t(lang, "awareness.kick_reason"))
        if info.power.get(user, 0) > 0:
            await ctx.messenger.set_power_level(found.room_id, user, 0)
        await self.admissions.drop(found.room_id, user)
        pending = await self.requests.find(found.room_id, user)
        if pending is not None:
            await self.requests.close(pending.id)
        await self.admissions.remove(found.room_id, user)
        await ctx.reply("awareness.removed" if was_member else "awareness.removed_not_member", user=user,
                        name=info.name)

    # ------------------------------------------------------------------ anonymous reports
    @command("report", aliases=["melden", "meldung"], where="dm", prose=True)
    async def report(self, ctx: Ctx, text: Text, name: Setting[YesNo] = False):
        await self.book.require_member(ctx)
        awareness = await self.book.awareness_room()
        if awareness is None:
            raise UserError("awareness.no_room", usage=False)
        number = await self.reports.create(ctx.sender)
        lang = await self.voice.lang(awareness)
        if name:
            message = self.voice.rich(lang, "awareness.report_named", number=number, text=text, user=ctx.sender)
        else:
            message = self.voice.rich(lang, "awareness.report", number=number, text=text)
        # No reply_to and no mention: nothing in the event points back at the direct chat.
        # whole: a report that cannot reach the team unabridged is refused (TooLarge rolls back its number)
        await ctx.messenger.send(awareness, message, ref=private_ref(), whole=True)
        await self._tell_reporter(ctx, ctx.room_id, number, ctx.rich(
            "awareness.report_sent_named" if name else "awareness.report_sent", number=number),
            reply_to=ctx.event_id)

    @command("answer", aliases=["antworten", "antwort"], where="room")
    async def answer(self, ctx: Ctx, number: Number, text: Text):
        await self._require_awareness_room(ctx)
        if not await self.reports.exists(number):
            raise UserError("awareness.unknown_report", number=number, usage=False)
        reporter = await self.reports.reporter(number, await self._everyone(ctx))
        if reporter is None:
            raise UserError("awareness.report_unreachable", number=number, usage=False)
        dm_room = await self.dms.get(reporter)
        lang = await self.voice.lang(dm_room) if dm_room else self.voice.default_language
        message = self.voice.rich(lang, "awareness.answer_dm", number=number, text=text)
        if dm_room is not None:  # whole: the reporter gets the team's answer unabridged, or the team is told
            await self._tell_reporter(ctx, dm_room, number, message)
        else:
            await ctx.messenger.dm(reporter, message, ref=private_ref(), whole=True)
        await self.reports.mark_answered(number, day_of(ctx.now))
        await ctx.reply("awareness.answer_sent", number=number)

    # ------------------------------------------------------------------ the reporter writes back
    async def _tell_reporter(self, ctx: Ctx, dm_room: str, number: int, rich: Rich, *,
                             reply_to: str | None = None) -> None:
        """A message about report #number in the reporter's direct chat, carrying the number in its
        content (REPORT_FIELD), so a Matrix reply to it is known to belong to that report: the link
        lives in the direct chat's own timeline, never in the database. A private outbox row."""
        content = message_content(rich, reply_to=reply_to, budget=None)
        content[REPORT_FIELD] = number
        await ctx.messenger.send_event(dm_room, "m.room.message", content, ref=private_ref())

    async def follow_up(self, ctx: Ctx, ev: Incoming, named_command: bool) -> bool:
        """A reporter's message in their direct chat that belongs to a report goes to the awareness room,
        without their name: a Matrix reply to a message about the report (always), or a message that
        names no command within FOLLOW_UP_DAYS of the team's latest answer to one of their reports.
        True if it was taken."""
        number = await self._replied_report(ctx, ev)
        if number is None and not named_command:
            since = day_of(ctx.now - timedelta(days=FOLLOW_UP_DAYS))
            number = await self.reports.latest_answered(ev.sender, since)
        if number is None:
            return False
        awareness = await self.book.awareness_room()
        if awareness is None:
            return False
        lang = await self.voice.lang(awareness)
        message = self.voice.rich(lang, "awareness.follow_up", number=number, text=ev.body.strip())
        try:  # TooLarge is raised before anything is queued
            await ctx.messenger.send(awareness, message, ref=private_ref(), whole=True)
        except UserError as err:
            await ctx.reply(err.key, ref=private_ref(), **err.params)
            return True
        await self._tell_reporter(ctx, ctx.room_id, number, ctx.rich("awareness.follow_up_sent", number=number),
                                  reply_to=ctx.event_id)
        return True

    async def _replied_report(self, ctx: Ctx, ev: Incoming) -> int | None:
        """The report a Matrix reply refers to: the bot's message it answers carries the number, and the
        keyed route must say the report is the sender's own."""
        if not ev.reply_to:
            return None
        target = ctx.replied  # read before the transaction (Dispatcher.prepare)
        if target is None or target.sender != ctx.chat.own_user_id:
            return None
        number = target.content.get(REPORT_FIELD)
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        return number if await self.reports.is_theirs(number, ev.sender) else None

    async def _everyone(self, ctx: Ctx) -> set[str]:
        """Candidates for a report's keyed reference: everyone in a room with the bot."""
        people: set[str] = set()
        for room_id in await ctx.chat.joined_rooms():
            info = await ctx.chat.room_info(room_id)
            if info is not None:
                people.update(info.members)
        people.discard(ctx.chat.own_user_id)
        return people

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        # Only a count: report numbers in a reply to the reporter would tie them together again.
        n = len(await self.reports.of_user(user_id))
        return [ctx.rich("awareness.mydata_reports", n)] if n else []

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        n = len(await self.reports.erase_routes(user_id))
        return [ctx.rich("awareness.forgot_reports", n)] if n else []
