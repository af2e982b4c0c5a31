"""!room / !raum: give a room its role (organisers, awareness, welcome, announcements) and language.

organisers, awareness and announcements <account> are trust anchors (CONTRACT.md): one room each,
founded by a config admin (when none is configured, by an organiser whom the room vouches for),
moved later by an admin or with a confirmation typed in the room that holds the anchor now."""
from __future__ import annotations

from datetime import timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Choice, Number, Word, command
from bot.i18n import LANGUAGE_WORDS
from bot.render import Rich, lines, plain
from bot.voice import Voice
from storage.core import Rooms
from storage.roles import Anchors

ROLES = ("organisers", "awareness", "safespace", "welcome", "announcements")
MOVE_VALID = timedelta(days=7)  # a move nobody confirmed lapses
ROLE_WORDS = {
    "organisers": "organisers", "organizers": "organisers", "orga": "organisers", "organisatoren": "organisers",
    "awareness": "awareness", "safespace": "safespace", "schutzraum": "safespace", "welcome": "welcome",
    "willkommen": "welcome", "announcements": "announcements", "ankündigungen": "announcements",
    "ankuendigungen": "announcements",
}


class Language(Choice):
    label = "language"
    WORDS = LANGUAGE_WORDS
    error = "room.bad_language"


class Role(Choice):
    label = "role"
    WORDS = ROLE_WORDS
    error = "room.bad_role"


class RoomsFeature(Feature):
    name = "rooms"

    def __init__(self, rooms: Rooms, anchors: Anchors, voice: Voice, accounts: list[str]) -> None:
        self.rooms, self.anchors, self.voice = rooms, anchors, voice
        self.accounts = accounts

    @command("room", aliases=["raum"], where="room")
    async def show(self, ctx: Ctx):
        settings = await self.rooms.get(ctx.room_id)
        roles = [self._role_name(ctx, r, a) for r, a in sorted(settings.roles.items())]
        holders = [ctx.t("room.anchor_entry", role=self._role_name(ctx, role, arg),
                         room=await self.voice.room_name(room_id))
                   for role, arg, room_id in await self.anchors.holders()]
        await ctx.reply_rich(lines([
            plain(ctx.t("room.header")),
            plain(ctx.t("room.language", language=ctx.t("language." + ctx.lang))),
            plain(ctx.t("room.roles", roles=", ".join(roles) if roles else ctx.t("room.no_roles"))),
            plain(ctx.t("room.anchors", holders=" · ".join(holders) if holders else ctx.t("room.no_roles"))),
        ]))

    @staticmethod
    def _role_name(ctx: Ctx, role: str, arg: str | None) -> str:
        return ctx.t("room.role." + role) + (f" ({arg})" if arg else "")

    def _role_in(self, role: str, arg: str | None):
        """The role's name as another room's language says it (Voice calls it with that language)."""
        return lambda lang: self.voice.t(lang, "room.role." + role) + (f" ({arg})" if arg else "")

    async def _set_role(self, ctx: Ctx, role: str, arg: str | None = None) -> None:
        await self.rooms.set_role(ctx.room_id, role, arg)
        await ctx.reply("room.role_set", role=ctx.t("room.role." + role))

    async def _claim(self, ctx: Ctx, role: str, arg: str | None = None) -> None:
        """Give this room an anchor role: founded by an admin, moved by an admin or on the holder's word."""
        holder = await self.anchors.holder(role, arg)
        if holder is not None and await ctx.chat.room_info(holder) is None:
            holder = None  # the bot left that room: nobody can confirm there, so the role is founded anew
        name = self._role_name(ctx, role, arg)
        if holder == ctx.room_id:
            raise UserError("room.role_already", role=name, usage=False)
        if holder is None:
            if not ctx.perms.is_admin(ctx.sender) and (
                    ctx.perms.admins or not await ctx.perms.vouched(ctx.sender, ctx.room_id)):
                raise UserError("room.anchor_first_admin" if ctx.perms.admins else "room.anchor_first_vouched",
                                role=name, usage=False)
            await self.anchors.move(role, arg, ctx.room_id)
            await ctx.reply("room.role_set", role=name)
            return
        old_name = await self.voice.room_name(holder)
        if ctx.perms.is_admin(ctx.sender):
            await self._move(ctx, role, arg, holder)
            await ctx.reply("room.role_moved_here", role=name, room=old_name)
            return
        move = await self.anchors.request(role, arg, holder, ctx.room_id, ctx.sender, ctx.now)
        here = await self.voice.room_name(ctx.room_id)
        await self.voice.say(holder, "room.move_asked", role=self._role_in(role, arg), user=ctx.sender, room=here,
                             number=move.id)
        await ctx.reply("room.move_requested", role=name, room=old_name, number=move.id)

    async def _move(self, ctx: Ctx, role: str, arg: str | None, holder: str) -> None:
        await self.anchors.move(role, arg, ctx.room_id)
        here = await self.voice.room_name(ctx.room_id)
        await self.voice.say(holder, "room.role_moved_away", role=self._role_in(role, arg), room=here)

    @command("room confirm", aliases=["raum bestätigen", "raum bestaetigen"], where="room")
    async def confirm(self, ctx: Ctx, number: Number):
        move = await self.anchors.pending(number)
        if move is None or ctx.now - move.requested_at > MOVE_VALID:
            raise UserError("room.move_unknown", number=number, usage=False)
        holder = await self.anchors.holder(move.role, move.arg)
        if holder != move.from_room:  # the role moved some other way meanwhile
            await self.anchors.drop(move.id)
            raise UserError("room.move_unknown", number=number, usage=False)
        if ctx.room_id != holder:
            raise UserError("room.move_wrong_room", number=number, room=await self.voice.room_name(holder),
                            usage=False)
        # the organisers' and the awareness room's members hold that trust; announcements need an organiser
        if move.role == "announcements" and not await ctx.is_organiser():
            raise UserError("error.organisers_only", usage=False)
        await self.anchors.move(move.role, move.arg, move.to_room)
        name = self._role_name(ctx, move.role, move.arg)
        new_name = await self.voice.room_name(move.to_room)
        await self.voice.say(move.to_room, "room.move_done", role=self._role_in(move.role, move.arg),
                             room=await self.voice.room_name(holder))
        await ctx.reply("room.role_moved_away", role=name, room=new_name)

    @command("room organisers", aliases=["raum organisatoren", "raum orga"], who="organiser", where="room")
    async def organisers(self, ctx: Ctx):
        await self._claim(ctx, "organisers")

    @command("room awareness", aliases=["raum awareness-team"], who="organiser", where="room")
    async def awareness(self, ctx: Ctx):
        await self._claim(ctx, "awareness")

    @command("room welcome", aliases=["raum willkommen"], who="organiser", where="room")
    async def welcome(self, ctx: Ctx):
        await self._set_role(ctx, "welcome")

    @command("room announcements", aliases=["raum ankündigungen", "raum ankuendigungen"], who="organiser",
             where="room")
    async def announcements(self, ctx: Ctx, account: Word = None):
        if not self.accounts:
            raise UserError("room.no_accounts", usage=False)
        account = account or self.accounts[0]
        if account not in self.accounts:
            raise UserError("room.unknown_account", account=account, accounts=", ".join(self.accounts))
        info = await self.rooms.get(ctx.room_id)
        if "safespace" in info.roles:
            raise UserError("room.not_in_safespace", usage=False)
        await self._claim(ctx, "announcements", account)

    @command("room language", aliases=["raum sprache"])
    async def language(self, ctx: Ctx, language: Language):
        if not ctx.is_dm and not await ctx.is_organiser():  # in a direct chat it is one's own choice
            raise UserError("error.organisers_only", usage=False)
        await self.rooms.set_language(ctx.room_id, language)
        ctx.lang = language
        await ctx.reply("room.language_set", language=ctx.t("language." + language))

    @command("room remove", aliases=["raum entfernen"], who="organiser", where="room")
    async def remove(self, ctx: Ctx, role: Role):
        if not await self.rooms.clear_role(ctx.room_id, role):
            raise UserError("room.role_not_set", role=ctx.t("room.role." + role), usage=False)
        await ctx.reply("room.role_removed", role=ctx.t("room.role." + role))

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        moves = await self.anchors.requested_by(user_id)
        return [plain(ctx.t("privacy.rooms.moves", n=len(moves)))] if moves else []

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        n = await self.anchors.forget_requester(user_id)
        return [plain(ctx.t("privacy.rooms.moves_forgotten", n=n))] if n else []
