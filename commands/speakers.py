"""Quota speakers' list (quotierte Redeliste) for meetings in any room: !speak, !next, !speakers.

People choose the FINTA* or the open list per request; the bot stores only the queue
entry (deleted when called) and how often someone has spoken in this round, never on
which list. The order is commands/speakerorder.py.
"""
from __future__ import annotations

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Choice, command
from bot.render import Rich, lines
from bot.voice import Voice
from commands.speakerorder import FINTA, GO, OPEN, next_speaker, speaking_order
from storage.safespace import SpeakersLists

WITHDRAW = "withdraw"


class SpeakList(Choice):
    label = "speaklist"
    WORDS = {
        "finta": FINTA, "finta*": FINTA, "flinta": FINTA, "flinta*": FINTA, "quote": FINTA, "quota": FINTA,
        "go": GO, "motion": GO, "geschäftsordnung": GO, "geschaeftsordnung": GO, "ga": GO,
        "open": OPEN, "offen": OPEN, "offene": OPEN,
        "withdraw": WITHDRAW, "cancel": WITHDRAW, "zurück": WITHDRAW, "zurueck": WITHDRAW, "weg": WITHDRAW,
    }
    error = "speakers.bad_list"


class Speakers(Feature):
    name = "speakers"

    def __init__(self, lists: SpeakersLists, voice: Voice) -> None:
        self.lists, self.voice = lists, voice

    def _label(self, ctx: Ctx, list_: str) -> str:
        return ctx.t("speakers.list." + list_)

    async def _order(self, room_id: str):
        return speaking_order(await self.lists.waiting(room_id), await self.lists.spoken(room_id),
                              await self.lists.last_list(room_id))

    @command("speak", aliases=["rede", "wortmeldung"], where="room")
    async def speak(self, ctx: Ctx, which: SpeakList = None):
        which = which or OPEN
        if which == WITHDRAW:
            if not await self.lists.withdraw(ctx.room_id, ctx.sender):
                raise UserError("speakers.not_waiting", usage=False)
            await ctx.reply("speakers.withdrawn")
            return
        for entry in await self.lists.waiting(ctx.room_id):
            if entry.user_id == ctx.sender and (entry.list == GO) == (which == GO):
                raise UserError("speakers.already_waiting", usage=False, list=self._label(ctx, entry.list))
        entry_id = await self.lists.add(ctx.room_id, ctx.sender, which)
        order = await self._order(ctx.room_id)
        position = next(i for i, e in enumerate(order, start=1) if e.id == entry_id)
        await ctx.reply("speakers.added", list=self._label(ctx, which), position=position)

    @command("next", aliases=["weiter", "nächste", "naechste"], who="organiser", where="room")
    async def call_next(self, ctx: Ctx):
        waiting = await self.lists.waiting(ctx.room_id)
        entry = next_speaker(waiting, await self.lists.spoken(ctx.room_id), await self.lists.last_list(ctx.room_id))
        if entry is None:
            raise UserError("speakers.empty", usage=False)
        await self.lists.call(ctx.room_id, entry)
        parts = [ctx.rich("speakers.called", speaker=ctx.names.mention(entry.user_id), list=self._label(ctx, entry.list))]
        order = await self._order(ctx.room_id)
        if order:
            parts.append(ctx.rich("speakers.then", speaker=ctx.names.plain(order[0].user_id), list=self._label(ctx, order[0].list)))
        else:
            parts.append(ctx.rich("speakers.then_nobody"))
        await ctx.reply_rich(lines(parts))

    @command("speakers", aliases=["redeliste"], where="room")
    async def show(self, ctx: Ctx):
        order = await self._order(ctx.room_id)
        if not order:
            await ctx.reply("speakers.none")
            return
        entries: list[Rich] = [ctx.rich("speakers.header", len(order))]
        for i, e in enumerate(order, start=1):
            entries.append(ctx.rich("speakers.entry", position=i, speaker=ctx.names.plain(e.user_id),
                                    list=self._label(ctx, e.list)))
        await ctx.reply_rich(lines(entries))

    @command("speakers clear", aliases=["redeliste leeren", "redeliste löschen", "redeliste schliessen"],
             who="organiser", where="room")
    async def clear(self, ctx: Ctx):
        n = await self.lists.clear(ctx.room_id)
        await ctx.reply("speakers.cleared", n)

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        waiting, spoken = await self.lists.of_user(user_id)
        out = []
        if waiting:
            out.append(ctx.rich("speakers.mydata_waiting", len(waiting), rooms=await self._names(ctx, waiting)))
        if spoken:
            out.append(ctx.rich("speakers.mydata_spoken", len(spoken), rooms=await self._names(ctx, spoken)))
        return out

    async def _names(self, ctx: Ctx, room_ids: list[str]) -> str:
        return ", ".join([await self.voice.room_name(room_id) for room_id in room_ids])

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        n = await self.lists.forget_user(user_id)
        return [ctx.rich("speakers.forgot", n)] if n else []
