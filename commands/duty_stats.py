"""!duty stats / !dienst statistik: how the work of this room's duties was spread over the last months."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Int, command
from bot.numbers import format_number
from bot.render import lines, plain, table
from bot.voice import Voice
from commands.fairness import LOAD_STATUSES, spread
from storage.duties import HOLDING, Duties, Turns

DEFAULT_MONTHS, MAX_MONTHS = 6, 24
MAX_AHEAD = timedelta(days=3 * 366)  # planned turns never lie further ahead


class StatsFeature(Feature):
    name = "duty_stats"

    def __init__(self, duties: Duties, turns: Turns, voice: Voice) -> None:
        self.duties, self.turns, self.voice = duties, turns, voice

    @command("duty stats", aliases=["dienst statistik", "dienst stats"], where="room")
    async def stats(self, ctx: Ctx, months: Int = None):
        months = DEFAULT_MONTHS if months is None else months
        if not 1 <= months <= MAX_MONTHS:
            raise UserError("duty.bad_months", max=MAX_MONTHS)
        every = await self.duties.in_room(ctx.room_id, deleted=True)
        if not every:
            raise UserError("duty.none_here", usage=False)
        since_local = ctx.now.astimezone(ZoneInfo(ctx.tz)) - relativedelta(months=months)
        since = since_local.astimezone(ctx.now.tzinfo)
        by_id = {d.id: d for d in every}
        counts: dict[tuple[str, int], list[int]] = {}
        load: dict[str, float] = {}
        for duty in every:
            if duty.deleted_at is None:
                for member in await self.duties.pool(duty.id):
                    counts.setdefault((member.user_id, duty.id), [0, 0, 0, 0])
                    load.setdefault(member.user_id, 0.0)
        # Turns, done and load count what has happened; hand-backs and take-overs count when they were made,
        # so one of a turn still ahead shows up at once.
        for row in await self.turns.in_rooms_since(list(by_id), since, ctx.now + MAX_AHEAD):
            if row.user_id is None:
                continue
            c = counts.setdefault((row.user_id, row.duty_id), [0, 0, 0, 0])
            load.setdefault(row.user_id, 0.0)
            past = row.occurrence <= ctx.now
            c[0] += past and row.status in HOLDING
            c[1] += past and row.status == "done"
            c[2] += row.status == "handed_back"
            c[3] += row.kind == "take"
            if past and row.status in LOAD_STATUSES:
                load[row.user_id] += row.weight
        rows = [[ctx.names.plain(user), plain(by_id[duty_id].name), *map(str, c)]
                for (user, duty_id), c in sorted(counts.items(), key=lambda kv: (ctx.names.name(kv[0][0]).casefold(), kv[0][0], by_id[kv[0][1]].number))]
        headers = [ctx.t(f"duty.stats.{h}") for h in ("person", "duty", "turns", "done", "handed_back", "taken")]
        parts = [ctx.rich("duty.stats_header", months, since=self.voice.value(ctx.lang, since_local.date()))]
        if rows:
            parts.append(table(headers, rows))
            hi, lo = max(load, key=lambda u: (load[u], u)), min(load, key=lambda u: (load[u], u))
            parts.append(ctx.rich("duty.stats_spread", spread=format_number(spread(load), ctx.lang, 2), most=ctx.names.plain(hi),
                                  most_load=format_number(load[hi], ctx.lang, 2), least=ctx.names.plain(lo), least_load=format_number(load[lo], ctx.lang, 2)))
        else:
            parts.append(ctx.rich("duty.stats_empty"))
        await ctx.reply_rich(lines(parts))
