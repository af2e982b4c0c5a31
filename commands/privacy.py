"""!mydata / !meinedaten and !forget / !vergessen: what the bot stores about me, and erasing it.

The answers name personal data, so they always go to the person's direct chat; typed in a
group room, that room only learns that an answer was sent. Also the housekeeping job that keeps stored traces short-lived (handled event ids, sent messages).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import command
from bot.render import Rich, bullets, lines, plain
from bot.scheduler import JobHandler, Scheduler
from storage.core import DirectRooms, HandledEvents, Job, Outbox, private_ref

CONFIRM_WINDOW = timedelta(minutes=10)
KEEP_TRACES = timedelta(days=30)
HOUSEKEEPING_EVERY = timedelta(days=1)


class Privacy(Feature):
    name = "privacy"

    def __init__(self, dms: DirectRooms, handled: HandledEvents, outbox: Outbox, scheduler: Scheduler,
                 clock) -> None:
        self.dms, self.handled, self.outbox, self.scheduler, self.clock = dms, handled, outbox, scheduler, clock
        self.features: list[Feature] = []
        self._asked: dict[str, datetime] = {}  # user -> when they asked to forget (awaiting confirmation)

    def bind(self, features: list[Feature]) -> None:
        """All features are known only after they are built."""
        self.features = [f for f in features if f is not self]

    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        return [plain(ctx.t("privacy.core.dm"))] if await self.dms.get(user_id) else []

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        """Last of all features (their goodbyes to others are queued by now): the direct chat and its traces.

        Messages to the direct chat go from the outbox, sent or pending; this command's own
        answer is queued after this, as a private row that goes once delivered."""
        rooms = {await self.dms.get(user_id), ctx.room_id if ctx.is_dm and ctx.sender == user_id else None}
        for room_id in rooms - {None}:  # the recorded direct chat, and the one typed in if that is another
            await self.outbox.forget_room(room_id, user_id, ctx.now)
        await self.outbox.forget_room(None, user_id, ctx.now)
        return [plain(ctx.t("privacy.core.dm_forgotten"))] if await self.dms.forget(user_id) else []

    async def _collect(self, ctx: Ctx, method: str) -> list[Rich]:
        found: list[Rich] = []
        for feature in [*self.features, self]:
            found += await getattr(feature, method)(ctx.sender, ctx)
        return found

    async def _answer_privately(self, ctx: Ctx, rich: Rich, dm_room: str | None) -> None:
        """The answer in the direct chat (a reply there); typed elsewhere, the room hears only that it was sent.

        The outbox row is private: dropped once delivered, so the database keeps no record of
        when someone looked at or erased their data.
        """
        if ctx.is_dm:
            await ctx.reply_rich(rich, ref=private_ref())
            return
        if dm_room is not None:
            await ctx.messenger.send(dm_room, rich, ref=private_ref())
        else:  # delivery opens a direct chat and remembers it
            await ctx.messenger.dm(ctx.sender, rich, ref=private_ref())
        await ctx.reply("privacy.answered_in_dm")

    async def _dm_room(self, ctx: Ctx) -> str | None:
        return ctx.room_id if ctx.is_dm else await self.dms.get(ctx.sender)

    @command("mydata", aliases=["meinedaten"])
    async def mydata(self, ctx: Ctx):
        found = await self._collect(ctx, "my_data")
        if not found:
            answer = ctx.rich("privacy.nothing")
        else:
            answer = lines([ctx.rich("privacy.header"), bullets(found), ctx.rich("privacy.how_to_forget")])
        await self._answer_privately(ctx, answer, await self._dm_room(ctx))

    @command("forget", aliases=["vergessen"])
    async def forget_ask(self, ctx: Ctx):
        self._asked[ctx.sender] = ctx.now
        await self._answer_privately(ctx, ctx.rich("privacy.confirm_forget"), await self._dm_room(ctx))

    @command("forget confirm", aliases=["vergessen bestätigen", "vergessen bestaetigen", "vergessen ja"])
    async def forget_confirm(self, ctx: Ctx):
        asked = self._asked.pop(ctx.sender, None)
        if asked is None or ctx.now - asked > CONFIRM_WINDOW:
            raise UserError("privacy.not_asked", usage=False)
        dm_room = await self._dm_room(ctx)  # before the core forgets which room it is
        done = await self._collect(ctx, "forget")
        self.scheduler.db.erase_traces()  # earlier page images in the WAL still name the person
        if not ctx.is_dm and dm_room is None:
            # no direct chat is known: opening one now would record the person again. The room hears
            # only that it is done, not what there was.
            await ctx.reply("privacy.forgotten_no_dm")
            return
        if not done:
            answer = ctx.rich("privacy.nothing")
        else:
            answer = lines([ctx.rich("privacy.forgotten"), bullets(done)])
        await self._answer_privately(ctx, answer, dm_room)

    # ------------------------------------------------------------------ housekeeping
    def jobs(self) -> dict[str, JobHandler]:
        return {"core.housekeeping": JobHandler(self._housekeeping)}

    async def on_start(self) -> None:
        if not await self.scheduler.jobs.get("core.housekeeping"):
            async with self.scheduler.db.transaction():
                await self.scheduler.schedule("core.housekeeping", "core.housekeeping",
                                              self.clock.now() + HOUSEKEEPING_EVERY)

    async def _housekeeping(self, job: Job) -> None:
        before = self.clock.now() - KEEP_TRACES
        pruned = await self.handled.prune(before) + await self.outbox.prune_sent(before)
        await self.outbox.drop_private_done()
        if pruned:
            self.scheduler.db.erase_traces()  # expired traces leave the WAL too
        await self.scheduler.schedule("core.housekeeping", "core.housekeeping", self.clock.now() + HOUSEKEEPING_EVERY)
