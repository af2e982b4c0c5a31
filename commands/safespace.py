"""FINTA* safe spaces: marking a room, its rules, admission by self-declaration, the rules gate.

A member asks in a direct chat (`!safespace join`), reads the rules, confirms (`!confirm`)
and is invited, or, with approval on, the awareness team decides (commands/awareness.py).
Whoever joins below level 1 is sent the rules and may write only after `!accept`.
Nothing said in a safe space is stored: the bot only reacts to membership events there
and to its own commands. After `!accept` the bot keeps nothing about the person; the
power level in the room is the record.
"""
from __future__ import annotations

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Text, command
from bot.messenger import require_whole
from bot.ports import Incoming, RoomInfo
from bot.render import Rich, lines, plain
from bot.voice import Voice
from commands.powerlevels import WRITE_LEVEL, missing_powers, mute_change
from commands.spacebook import SpaceBook, SpaceName, SpaceOption
from storage.core import Rooms
from storage.safespace import Admissions, Requests, SafeSpace, SafeSpaces

MAX_RULES = 4000
RULES_RESERVE = 4_000  # bytes for the welcome text around the rules (German, measured as encrypted)


class SafeSpaceFeature(Feature):
    name = "safespace"
    event_types = frozenset({"m.room.member"})

    def __init__(self, book: SpaceBook, spaces: SafeSpaces, admissions: Admissions, requests: Requests,
                 rooms: Rooms, voice: Voice) -> None:
        self.book, self.spaces, self.admissions, self.requests, self.rooms = book, spaces, admissions, requests, rooms
        self.voice = voice

    # ------------------------------------------------------------------ organisers
    @command("room safespace", aliases=["raum schutzraum"], where="room")
    async def mark(self, ctx: Ctx, option: SpaceOption = None, other: SpaceOption = None):
        """An organiser of this room or a member of the awareness team (PRODUCT.md), if the bot has the power."""
        if not (await ctx.is_organiser() or await self.book.is_awareness_member(ctx.chat, ctx.sender)):
            raise UserError("safespace.mark_who", usage=False)
        options = {option, other} - {None}
        if "announcements" in (await self.rooms.get(ctx.room_id)).roles:
            raise UserError("safespace.is_announcements", usage=False)
        info = await ctx.room()
        own = ctx.chat.own_user_id
        missing = missing_powers(info.power_levels, info.level(own))
        if missing:
            raise UserError("safespace.bot_lacks", usage=False,
                            missing=", ".join(ctx.t("safespace.power." + m) for m in missing))
        join_rule = "knock" if "knock" in options else "invite"
        # after commit, in this order (outbox rows); the mute is applied to the levels the room has then
        await ctx.messenger.put_state(ctx.room_id, "m.room.join_rules", {"join_rule": join_rule})
        await ctx.messenger.change_power_levels(ctx.room_id,
                                                mute_change(info.power_levels, info.members, info.creators, own))
        await self.rooms.set_role(ctx.room_id, "safespace")
        space = await self.spaces.mark(ctx.room_id, approval="approval" in options)
        parts = [ctx.rich("safespace.marked", number=space.id),
                 ctx.rich("safespace.marked_" + join_rule),
                 ctx.rich("safespace.marked_approval" if space.approval else "safespace.marked_self")]
        if space.approval and await self.book.awareness_room() is None:
            parts.append(ctx.rich("safespace.no_awareness_yet"))
        if not space.rules:
            parts.append(ctx.rich("safespace.set_rules_hint"))
        await ctx.reply_rich(lines(parts))

    @command("rules", aliases=["regeln"], where="room")
    async def rules(self, ctx: Ctx, text: Text = None):
        space = await self.spaces.get(ctx.room_id)
        if space is None:
            raise UserError("safespace.not_a_safespace", usage=False)
        if text is None:
            await ctx.reply_rich(lines([ctx.rich("safespace.rules_header"), self._rules(ctx, space)]))
            return
        if not (await ctx.is_organiser() or await self.book.is_awareness_member(ctx.chat, ctx.sender)):
            raise UserError("safespace.rules_who", usage=False)
        if len(text) > MAX_RULES:
            raise UserError("safespace.rules_too_long", max=MAX_RULES, length=len(text))
        require_whole(plain(text), reserve=RULES_RESERVE)  # applicants must see all of them, not a cut
        await self.spaces.set_rules(ctx.room_id, text)
        await ctx.reply("safespace.rules_set")

    def _rules(self, ctx: Ctx, space: SafeSpace, lang: str | None = None) -> Rich:
        if space.rules:
            return plain(space.rules)
        return self.voice.rich(lang or ctx.lang, "safespace.default_rules")

    # ------------------------------------------------------------------ admission, direct chat
    @command("safespace", aliases=["schutzraum", "schutzräume", "schutzraeume"], where="dm")
    async def show_list(self, ctx: Ctx):
        await self.book.require_member(ctx)
        listing = await self.book.listing(ctx.chat)
        if not listing:
            await ctx.reply("safespace.none")
            return
        entries = [ctx.rich("safespace.list_header")]
        for space, info in listing:
            entry = ctx.rich("safespace.list_entry", number=space.id, name=info.name,
                             alias=f" ({info.alias})" if info.alias else "")
            if space.approval:
                entry = entry + " " + ctx.rich("safespace.list_approval")
            status = await self._status(space, info, ctx.sender)
            if status:
                entry = entry + " " + ctx.rich("safespace.status." + status)
            entries.append(entry)
        entries.append(ctx.rich("safespace.list_footer"))
        await ctx.reply_rich(lines(entries))

    async def _status(self, space: SafeSpace, info: RoomInfo, user_id: str) -> str | None:
        if user_id in info.members:
            return "member"
        if await self.requests.find(space.room_id, user_id):
            return "requested"
        admission = await self.admissions.get(space.room_id, user_id)
        return admission.state if admission else None

    @command("safespace join", aliases=["schutzraum beitreten", "schutzraum join"], where="dm")
    async def join(self, ctx: Ctx, space: SpaceName):
        await self.book.require_member(ctx)
        found, info = await self.book.resolve(ctx.chat, space)
        await self._ask(ctx, found, info, ctx.sender, reply=True)

    async def _ask(self, ctx: Ctx, space: SafeSpace, info: RoomInfo, user_id: str, *, reply: bool) -> None:
        """Show the rules and ask for the self-declaration (after !safespace join or a knock)."""
        if user_id in info.members:
            raise UserError("safespace.already_member", name=info.name, usage=False)
        if await self.requests.find(space.room_id, user_id):
            raise UserError("safespace.already_requested", name=info.name, usage=False)
        await self.admissions.set(space.room_id, user_id, "asked")
        decided = await self._needs_decision(ctx, space, user_id)
        lang = ctx.lang if reply else await self.voice.dm_lang(user_id, await self.voice.lang(space.room_id))
        message = lines([
            self.voice.rich(lang, "safespace.knocked" if not reply else "safespace.rules_for", name=info.name),
            self._rules(ctx, space, lang),
            self.voice.rich(lang, "safespace.declaration", name=info.name),
            self.voice.rich(lang, "safespace.confirm_then_request" if decided else "safespace.confirm_then_invite"),
        ])
        if reply:
            await ctx.reply_rich(message)
        else:
            await ctx.messenger.dm(user_id, message)

    async def _needs_decision(self, ctx: Ctx, space: SafeSpace, user_id: str) -> bool:
        """Approval on, removed before, or a knock from someone who shares no group room with the bot."""
        return (space.approval or await self.admissions.was_removed(space.room_id, user_id)
                or not await self.book.is_group_member(ctx.chat, user_id))

    @command("confirm", aliases=["bestätigen", "bestaetigen"], where="dm")
    async def confirm(self, ctx: Ctx, space: SpaceName = None):
        try:
            found, info = await self._waiting(ctx, "asked", space, "safespace.nothing_to_confirm",
                                              "safespace.confirm_which")
        except UserError:
            await self.book.require_member(ctx)  # a stranger who did not knock: say why instead
            raise
        if ctx.sender in info.members:  # joined another way; a reply, as a UserError would undo the drop
            await self.admissions.drop(found.room_id, ctx.sender)
            await ctx.reply("safespace.already_member", name=info.name)
            return
        if await self._needs_decision(ctx, found, ctx.sender):
            awareness = await self.book.awareness_room()
            if awareness is None:
                raise UserError("safespace.no_awareness_room", usage=False)
            await self.admissions.drop(found.room_id, ctx.sender)
            number = await self.requests.open(found.room_id, ctx.sender)
            await self.voice.say(awareness, "awareness.request", number=number, user=ctx.sender, name=info.name)
            await ctx.reply("safespace.request_sent", name=info.name)
            return
        await ctx.messenger.invite(found.room_id, ctx.sender)
        await self.admissions.set(found.room_id, ctx.sender, "admitted")
        awareness = await self.book.awareness_room()
        if awareness is not None:
            await self.voice.say(awareness, "awareness.log_invited", user=ctx.sender, name=info.name)
        await ctx.reply("safespace.invited", name=info.name)

    @command("accept", aliases=["akzeptieren", "annehmen"], where="dm")
    async def accept(self, ctx: Ctx, space: SpaceName = None):
        found, info = await self._waiting(ctx, "joined", space, "safespace.nothing_to_accept",
                                          "safespace.accept_which")
        if ctx.sender not in info.members:  # left unseen; a reply, as a UserError would undo the drop
            await self.admissions.drop(found.room_id, ctx.sender)
            await ctx.reply("safespace.not_in_room", name=info.name)
            return
        await ctx.messenger.set_power_level(found.room_id, ctx.sender, WRITE_LEVEL)
        await self.admissions.drop(found.room_id, ctx.sender)
        await ctx.reply("safespace.accepted", name=info.name)

    async def _waiting(self, ctx: Ctx, state: str, raw: str | None, none_key: str,
                       which_key: str) -> tuple[SafeSpace, RoomInfo]:
        """The one safe space where the sender's admission is in `state` (named, if several)."""
        waiting = {a.room_id for a in await self.admissions.of_user(ctx.sender, [state])}
        listing = [(s, i) for s, i in await self.book.listing(ctx.chat) if s.room_id in waiting]
        if raw:
            found, info = await self.book.resolve(ctx.chat, raw)
            if found.room_id not in waiting:
                raise UserError(none_key, usage=False)
            return found, info
        if not listing:
            raise UserError(none_key, usage=False)
        if len(listing) > 1:
            raise UserError(which_key, names=", ".join(i.name for _, i in listing), usage=False)
        return listing[0]

    # ------------------------------------------------------------------ membership in safe spaces
    async def on_event(self, ev: Incoming, ctx: Ctx) -> None:
        user = ev.state_key
        if ev.type != "m.room.member" or not user or user == ctx.chat.own_user_id:
            return
        space = await self.spaces.get(ev.room_id)
        if space is None:
            return
        membership = ev.content.get("membership")
        info = await ctx.chat.room_info(ev.room_id)
        if info is None:
            return
        if membership == "knock":
            admission = await self.admissions.get(space.room_id, user)
            if admission is None or admission.state not in ("asked", "admitted"):
                try:
                    await self._ask(ctx, space, info, user, reply=False)
                except UserError:
                    pass  # already a member or already waiting for the awareness team: nothing to say
        elif membership == "join":
            await self._joined(ctx, space, info, user)
        elif membership in ("leave", "ban"):
            await self.admissions.drop(space.room_id, user)

    async def _joined(self, ctx: Ctx, space: SafeSpace, info: RoomInfo, user: str) -> None:
        if info.level(user) >= WRITE_LEVEL:
            await self.admissions.drop(space.room_id, user)
            return
        admission = await self.admissions.get(space.room_id, user)
        if admission is not None and admission.state == "joined":
            return  # a profile change, not a new arrival
        await self.admissions.set(space.room_id, user, "joined")
        lang = await self.voice.dm_lang(user, await self.voice.lang(space.room_id))  # read in the direct chat
        await ctx.messenger.dm(user, lines([
            self.voice.rich(lang, "safespace.welcome", name=info.name),
            self._rules(ctx, space, lang),
            self.voice.rich(lang, "safespace.accept_prompt", name=info.name),
        ]))

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        for admission in await self.admissions.of_user(user_id):
            out.append(ctx.rich("safespace.mydata_admission", name=await self.voice.room_name(admission.room_id),
                                state=ctx.t("safespace.state." + admission.state)))
        for request in await self.requests.of_user(user_id):
            out.append(ctx.rich("safespace.mydata_request", number=request.id,
                                name=await self.voice.room_name(request.room_id)))
        for room_id in await self.admissions.removals_of(user_id):
            out.append(ctx.rich("safespace.mydata_removed", name=await self.voice.room_name(room_id)))
        return out

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        n = await self.admissions.forget_user(user_id) + await self.requests.forget_user(user_id)
        if n:
            out.append(ctx.rich("safespace.forgot", n))
        removals = await self.admissions.removals_of(user_id)
        if removals:
            out.append(ctx.rich("safespace.kept_removals", len(removals)))
        return out
