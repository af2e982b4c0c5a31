"""!duty swap / accept / decline / withdraw: two people exchange turns, or one hands a turn to another.

The holder of a turn offers it to a member of the duty's room. If that person has a turn of the
same duty (the one named with `für <date>`, else their next one), it is a true swap; otherwise a
hand-over. The offer is a message in the duty's room that pings the person; they accept with
`!duty accept [N]` or a ✅ reaction on it, or decline. It lapses when the earlier of the two turns
begins. Accepting moves both turns in the command's transaction: the old rows stay as `swapped`
(who was planned), new rows of kind `swap` carry the turn, and the override log says who gave what
to whom, so fairness and statistics count whoever actually does the turn. A slot's announcement,
reminder and escalation read its holders when they run, so they follow the turn to its new holder.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Number, command
from bot.names import Names
from bot.render import Rich
from bot.scheduler import JobHandler, Scheduler
from bot.voice import Short, Voice
from commands.duty_planner import Planner
from commands.duty_swap_spec import SwapSpec, read_swap
from commands.duty_text import DutyFinder
from storage.core import Job
from storage.duties import OPEN, Absences, Duties, Duty, TurnRow, Turns
from storage.duty_swaps import SwapOffer, Swaps

JOB_LAPSE = "duty.swap_lapse"
ACCEPT_KEYS = frozenset({"✅", "✔", "☑"})  # reactions that accept (variation selectors stripped)
_REF = re.compile(r"duty\.swap\.([0-9]+)")


def offer_ref(swap_id: int) -> str:
    """Outbox ref of the offer message (a ✅ on it accepts) and key of the offer's lapse job."""
    return f"duty.swap.{swap_id}"


class SwapFeature(Feature):
    name = "duty_swaps"
    event_types = frozenset({"m.reaction"})

    def __init__(self, duties: Duties, turns: Turns, absences: Absences, swaps: Swaps, planner: Planner,
                 finder: DutyFinder, voice: Voice, scheduler: Scheduler) -> None:
        self.duties, self.turns, self.absences, self.swaps, self.planner = duties, turns, absences, swaps, planner
        self.finder, self.voice, self.scheduler = finder, voice, scheduler

    def jobs(self) -> dict[str, JobHandler]:
        return {JOB_LAPSE: JobHandler(self.lapse)}

    def _short(self, lang: str, occ: datetime) -> str:
        return self.voice.value(lang, Short(occ))

    # ------------------------------------------------------------------ the plan around an offer
    async def _turn_on(self, duty: Duty, user: str, day: date, now: datetime) -> TurnRow | None:
        """user's open turn of duty on day (planned ahead first if the day lies beyond the plan)."""
        def on_day(rows: list[TurnRow]) -> TurnRow | None:
            return next((r for r in rows if self.planner.day(r.occurrence) == day), None)
        found = on_day(await self.turns.of_user(user, OPEN, after=now, duty_id=duty.id))
        if found is None:
            await self.planner.ensure_day(duty, day, now)
            found = on_day(await self.turns.of_user(user, OPEN, after=now, duty_id=duty.id))
        return found

    async def _dates(self, ctx: Ctx, duty: Duty, user: str) -> str:
        rows = await self.turns.of_user(user, OPEN, after=ctx.now, duty_id=duty.id)
        return ", ".join(self._short(ctx.lang, r.occurrence) for r in rows[:3]) or "–"

    async def _absent(self, user: str, occ: datetime) -> bool:
        day = self.planner.day(occ)
        return any(a.first_day <= day <= a.last_day for a in await self.absences.current([user], day))

    async def _holds(self, duty: Duty, occ: datetime, user: str) -> TurnRow | None:
        return next((r for r in await self.turns.holders(duty.id, occ, OPEN) if r.user_id == user), None)

    # ------------------------------------------------------------------ offering
    @command("duty swap", aliases=["dienst tauschen"])
    async def swap(self, ctx: Ctx, spec: SwapSpec):
        request = await read_swap(ctx, self.finder, spec)
        duty, day, person, for_day = request.duty, request.day, request.person, request.for_day
        if person == ctx.sender:
            raise UserError("duty.swap.self", usage=False)
        mine = await self._turn_on(duty, ctx.sender, day, ctx.now)
        if mine is None:
            raise UserError("duty.swap.not_yours", usage=False, name=duty.name, date=self.voice.value(ctx.lang, day),
                            dates=await self._dates(ctx, duty, ctx.sender))
        info = await self.voice.chat.room_info(duty.room_id)
        if info is None or person not in info.members or person == self.voice.chat.own_user_id:
            raise UserError("duty.swap.not_member", usage=False, user=person,
                            room=info.name if info else duty.room_id)
        when = self._short(ctx.lang, mine.occurrence)
        named = Names.of(info).name(person)
        if any(r.user_id == person for r in await self.turns.holders(duty.id, mine.occurrence)):
            raise UserError("duty.swap.already_there", usage=False, user=named, name=duty.name, when=when)
        if await self._absent(person, mine.occurrence):
            raise UserError("duty.swap.absent", usage=False, user=named, date=self.voice.value(ctx.lang, day))
        theirs = await self._their_turn(ctx, duty, person, for_day)
        for other in await self.swaps.open_on(duty.id, [mine.occurrence]):
            if other.offerer == ctx.sender and other.offerer_occ == mine.occurrence:
                raise UserError("duty.swap.exists", usage=False, id=other.id, when=when)
        expires = min(mine.occurrence, theirs.occurrence) if theirs else mine.occurrence
        offer = await self.swaps.add(duty.id, ctx.sender, mine.occurrence, person,
                                     theirs.occurrence if theirs else None, ctx.now, expires)
        await self.scheduler.schedule(JOB_LAPSE, offer_ref(offer.id), expires, {"swap": offer.id})
        lang = await self.voice.lang(duty.room_id)
        text = self._offer_text(lang, duty, offer, await self.voice.names(duty.room_id))
        if duty.room_id == ctx.room_id:
            await ctx.reply_rich(text, ref=offer_ref(offer.id))
        else:
            await self.voice.messenger.send(duty.room_id, text, ref=offer_ref(offer.id))
            await ctx.reply_rich(self.voice.rich(ctx.lang, "duty.swap.offered_elsewhere", id=offer.id,
                                                 user=named, room=info.name))

    async def _their_turn(self, ctx: Ctx, duty: Duty, person: str, for_day: date | None) -> TurnRow | None:
        """The turn the offerer gets in return: the one on for_day, else person's next one the offerer is not
        on already; None (a hand-over) if person has none."""
        theirs: TurnRow | None = None
        if for_day is not None:
            theirs = await self._turn_on(duty, person, for_day, ctx.now)
            if theirs is None:
                raise UserError("duty.swap.for_not_theirs", usage=False, user=person, name=duty.name,
                                date=self.voice.value(ctx.lang, for_day), dates=await self._dates(ctx, duty, person))
        else:
            for row in await self.turns.of_user(person, OPEN, after=ctx.now, duty_id=duty.id):
                if not any(r.user_id == ctx.sender for r in await self.turns.holders(duty.id, row.occurrence)):
                    theirs = row
                    break
        if theirs is None:
            return None
        if any(r.user_id == ctx.sender for r in await self.turns.holders(duty.id, theirs.occurrence)):
            raise UserError("duty.swap.you_there", usage=False, name=duty.name,
                            when=self._short(ctx.lang, theirs.occurrence))
        if await self._absent(ctx.sender, theirs.occurrence):
            raise UserError("duty.swap.you_absent", usage=False, user=person,
                            date=self.voice.value(ctx.lang, self.planner.day(theirs.occurrence)))
        return theirs

    def _offer_text(self, lang: str, duty: Duty, offer: SwapOffer, names: Names) -> Rich:
        common = dict(id=offer.id, user=names.mention(offer.target or ""), offerer=names.plain(offer.offerer or ""),
                      duty=duty.name, mine=Short(offer.offerer_occ), until=offer.expires_at)
        if offer.is_handover:
            return self.voice.rich(lang, "duty.swap.offer_handover", **common)
        return self.voice.rich(lang, "duty.swap.offer", theirs=Short(offer.target_occ), **common)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ answering
    async def _pick(self, ctx: Ctx, number: int | None, *, as_offerer: bool = False) -> SwapOffer:
        """The open offer the sender means: by number, or their only one."""
        if number is None:
            mine = [o for o in await (self.swaps.open_by(ctx.sender) if as_offerer else self.swaps.open_for(ctx.sender))
                    if o.expires_at > ctx.now]
            if not mine:
                raise UserError("duty.swap.none_by_you" if as_offerer else "duty.swap.none_for_you", usage=False)
            if len(mine) > 1:
                raise UserError("duty.swap.which", usage=False, ids=", ".join(f"#{o.id}" for o in mine),
                                first=mine[0].id)
            return mine[0]
        offer = await self.swaps.get(number)
        if offer is None:
            raise UserError("duty.swap.unknown", usage=False, id=number)
        state = "lapsed" if offer.state == "open" and offer.expires_at <= ctx.now else offer.state
        if state != "open":
            raise UserError("duty.swap.closed", usage=False, id=offer.id, state=ctx.t(f"duty.swap.state.{state}"))
        owner = offer.offerer if as_offerer else offer.target
        if owner != ctx.sender:
            raise UserError("duty.swap.not_offerer" if as_offerer else "duty.swap.not_for_you", usage=False,
                            id=offer.id, user=owner or "–")
        return offer

    async def _duty_of(self, offer: SwapOffer) -> Duty | None:
        duty = await self.duties.get(offer.duty_id)
        return duty if duty is not None and duty.deleted_at is None else None

    async def _tell(self, ctx: Ctx, where: Duty, key: str, *, reaction_to: str | None = None, **params) -> None:
        """The answer: a reply to the command (and a notice in the duty's room if it came from elsewhere),
        or for a reaction, a reply to the offer message in the duty's room."""
        if reaction_to is None:
            await ctx.reply_rich(self.voice.rich(ctx.lang, key, **params))
        if reaction_to is not None or where.room_id != ctx.room_id:
            await self.voice.say(where.room_id, key, reply_to=reaction_to, **params)

    @command("duty accept", aliases=["dienst annehmen"])
    async def accept(self, ctx: Ctx, number: Number = None):
        await self._accept(ctx, await self._pick(ctx, number))

    async def _accept(self, ctx: Ctx, offer: SwapOffer, reaction_to: str | None = None) -> None:
        duty = await self._duty_of(offer)
        mine = await self._holds(duty, offer.offerer_occ, offer.offerer or "") if duty else None
        theirs = None
        if duty and not offer.is_handover:
            theirs = await self._holds(duty, offer.target_occ, offer.target or "")  # type: ignore[arg-type]
        if duty is None or mine is None or (not offer.is_handover and theirs is None) or \
                offer.offerer_occ <= ctx.now:
            await self.swaps.decide(offer.id, "void", ctx.now)
            await self.scheduler.cancel(offer_ref(offer.id))
            if duty is not None:
                await self._tell(ctx, duty, "duty.swap.void", reaction_to=reaction_to, id=offer.id)
            else:
                await ctx.reply("duty.swap.void", id=offer.id)
            return
        if await self._absent(offer.target or "", offer.offerer_occ):
            raise UserError("duty.swap.accept_absent", usage=False, id=offer.id,
                            date=self.voice.value(ctx.lang, self.planner.day(offer.offerer_occ)))
        if theirs is not None and await self._absent(offer.offerer or "", theirs.occurrence):
            raise UserError("duty.swap.offerer_absent", usage=False, id=offer.id, user=offer.offerer or "",
                            date=self.voice.value(ctx.lang, self.planner.day(theirs.occurrence)))
        if not await self.swaps.decide(offer.id, "accepted", ctx.now):
            return  # decided in the meantime: nothing moves twice
        await self.scheduler.cancel(offer_ref(offer.id))
        await self._move(duty, mine, offer.target or "", ctx.now)
        if theirs is not None:
            await self._move(duty, theirs, offer.offerer or "", ctx.now)
        names = await self.voice.names(duty.room_id)
        params = dict(id=offer.id, duty=duty.name, user=names.plain(offer.target or ""),
                      offerer=names.mention(offer.offerer or ""), mine=Short(offer.offerer_occ))
        if theirs is None:
            await self._tell(ctx, duty, "duty.swap.accepted_handover", reaction_to=reaction_to, **params)
        else:
            await self._tell(ctx, duty, "duty.swap.accepted", reaction_to=reaction_to,
                             theirs=Short(theirs.occurrence), **params)

    async def _move(self, duty: Duty, row: TurnRow, to_user: str, now: datetime) -> None:
        """The turn goes to to_user; the old row stays as `swapped`, the change is logged."""
        await self.turns.set_status(row.id, "swapped")
        await self.turns.add(duty.id, row.occurrence, to_user, "assigned", "swap", row.weight, now)
        await self.turns.override(duty.id, row.occurrence, "swap", row.user_id, to_user, now)

    @command("duty decline", aliases=["dienst ablehnen"])
    async def decline(self, ctx: Ctx, number: Number = None):
        offer = await self._pick(ctx, number)
        if (duty := await self._close(ctx, offer, "declined")) is not None:
            names = await self.voice.names(duty.room_id)
            await self._tell(ctx, duty, "duty.swap.declined", id=offer.id, user=names.plain(ctx.sender),
                             duty=duty.name, offerer=names.mention(offer.offerer or ""), mine=Short(offer.offerer_occ))

    @command("duty withdraw", aliases=["dienst zurückziehen", "dienst zurueckziehen"])
    async def withdraw(self, ctx: Ctx, number: Number = None):
        offer = await self._pick(ctx, number, as_offerer=True)
        if (duty := await self._close(ctx, offer, "withdrawn")) is not None:
            names = await self.voice.names(duty.room_id)
            await self._tell(ctx, duty, "duty.swap.withdrawn", id=offer.id, user=names.plain(offer.target or ""),
                             offerer=names.plain(ctx.sender))

    async def _close(self, ctx: Ctx, offer, state: str) -> Duty | None:
        """Decide the offer and stop its lapse job; the duty to tell, or None (said: it is gone)."""
        await self.swaps.decide(offer.id, state, ctx.now)
        await self.scheduler.cancel(offer_ref(offer.id))
        duty = await self._duty_of(offer)
        if duty is None:
            await ctx.reply("duty.swap.void", id=offer.id)
        return duty

    # ------------------------------------------------------------------ ✅ on the offer, lapse
    async def wants(self, ev) -> bool:
        """Before the transaction: only an accepting reaction to a swap offer matters (issue 15: people
        reacting to chat cost no write)."""
        return await self._offer_reacted_to(ev) is not None

    async def _offer_reacted_to(self, ev) -> int | None:
        """The swap offer an accepting reaction (✅) is on, by its number."""
        relates = ev.content.get("m.relates_to")
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return None
        key, target = str(relates.get("key", "")).replace("\ufe0f", ""), relates.get("event_id")
        if key not in ACCEPT_KEYS or not isinstance(target, str):
            return None
        m = _REF.fullmatch(await self.voice.messenger.ref_for(target) or "")
        return int(m.group(1)) if m else None

    async def on_event(self, ev, ctx: Ctx) -> None:
        number = await self._offer_reacted_to(ev)
        target = ev.content["m.relates_to"]["event_id"] if number is not None else None
        offer = await self.swaps.get(number) if number is not None else None
        if offer is None or offer.state != "open" or offer.target != ev.sender or offer.expires_at <= ctx.now:
            return  # someone else's ✅, or one after the offer was decided: nothing to do, nothing to say
        try:
            async with self.swaps.db.savepoint():
                await self._accept(ctx, offer, reaction_to=target)
        except UserError as err:  # the refusal is said where the reaction was made
            duty = await self._duty_of(offer)
            if duty is not None:
                await self.voice.say(duty.room_id, err.key, reply_to=target, **err.params)

    async def lapse(self, job: Job) -> None:
        offer = await self.swaps.get(int(job.payload["swap"]))
        if offer is None or offer.state != "open":
            return
        await self.swaps.decide(offer.id, "lapsed", job.due_at)
        duty = await self._duty_of(offer)
        if duty is None:
            return
        sent = await self.voice.messenger.event_for(offer_ref(offer.id))
        names = await self.voice.names(duty.room_id)
        await self.voice.say(duty.room_id, "duty.swap.lapsed", reply_to=sent[1] if sent else None, id=offer.id,
                             duty=duty.name, mine=Short(offer.offerer_occ), offerer=names.plain(offer.offerer or "–"))

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        offers = await self.swaps.of_user(user_id)
        for offer in offers:
            duty = await self._duty_of(offer)
            if offer.state == "open" and duty is not None:
                key = "duty.swap.mydata_by_you" if offer.offerer == user_id else "duty.swap.mydata_to_you"
                other = (offer.target if offer.offerer == user_id else offer.offerer) or "–"
                out.append(self.voice.rich(ctx.lang, key, id=offer.id, duty=duty.name, mine=Short(offer.offerer_occ),
                                           user=(await self.voice.names(duty.room_id)).plain(other)))
        decided = sum(o.state != "open" for o in offers)
        if decided:
            out.append(ctx.rich("duty.swap.mydata_past", decided))
        return out

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        voided, anonymised = await self.swaps.forget(user_id, ctx.now)
        return [ctx.rich("duty.swap.forgot", anonymised)] if anonymised else []
