"""!away / !abwesend: absences (both days included) that fair assignment respects; planned turns in them move."""
from __future__ import annotations

from bot.converters import DayRange
from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import command
from bot.render import Rich, bullets, lines
from bot.voice import Voice
from commands.duty_planner import Planner
from commands.duty_text import tell_moves
from storage.duties import OPEN, Absences, Turns


class AwayFeature(Feature):
    name = "away"

    def __init__(self, turns: Turns, absences: Absences, planner: Planner, voice: Voice) -> None:
        self.turns, self.absences, self.planner, self.voice = turns, absences, planner, voice

    @command("away", aliases=["abwesend"])
    async def away(self, ctx: Ctx, span: DayRange = None):
        today = self.planner.day(ctx.now)
        if span is None:
            await ctx.reply_rich(await self._list(ctx))
            return
        first, last = span
        if last < today:
            raise UserError("away.past", usage=False, last=self.voice.value(ctx.lang, last))
        await self.absences.add(ctx.sender, first, last, ctx.now)
        affected = [row for row in await self.turns.of_user(ctx.sender, OPEN, after=ctx.now)
                    if first <= self.planner.day(row.occurrence) <= last]
        moves = await self.planner.release_turns(affected, "dropped", "absence", ctx.now)
        head = ctx.rich("away.noted" if moves else "away.noted_none", len(moves) or None,
                        first=self.voice.value(ctx.lang, first), last=self.voice.value(ctx.lang, last))
        await ctx.reply_rich(lines([head, *await tell_moves(self.voice, ctx, moves)]))

    async def _list(self, ctx: Ctx) -> Rich:
        found = await self.absences.current([ctx.sender], self.planner.day(ctx.now))
        if not found:
            return ctx.rich("away.none")
        entries = [ctx.rich("away.entry", first=self.voice.value(ctx.lang, a.first_day),
                            last=self.voice.value(ctx.lang, a.last_day)) for a in found]
        return lines([ctx.rich("away.header", len(found)), bullets(entries)])

    @command("away clear", aliases=["abwesend löschen", "abwesend loeschen", "abwesend aufheben"])
    async def clear(self, ctx: Ctx):
        n = await self.absences.clear(ctx.sender, self.planner.day(ctx.now))
        if not n:
            raise UserError("away.nothing_to_clear", usage=False)
        await ctx.reply("away.cleared", n)

    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        n = await self.absences.count_of(user_id)
        return [ctx.rich("away.mydata", n)] if n else []

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        n = await self.absences.forget(user_id)
        return [ctx.rich("away.forgotten", n)] if n else []
