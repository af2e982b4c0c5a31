"""!room / !raum: give a room its role (organisers, awareness, welcome, announcements) and language."""
from __future__ import annotations

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Choice, Word, command
from bot.i18n import LANGUAGE_WORDS
from bot.render import lines, plain
from storage.core import Rooms

ROLES = ("organisers", "awareness", "safespace", "welcome", "announcements")
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

    def __init__(self, rooms: Rooms, accounts: list[str]) -> None:
        self.rooms = rooms
        self.accounts = accounts

    @command("room", aliases=["raum"], where="room")
    async def show(self, ctx: Ctx):
        settings = await self.rooms.get(ctx.room_id)
        roles = [ctx.t("room.role." + r) + (f" ({a})" if a else "") for r, a in sorted(settings.roles.items())]
        await ctx.reply_rich(lines([
            plain(ctx.t("room.header")),
            plain(ctx.t("room.language", language=ctx.t("language." + ctx.lang))),
            plain(ctx.t("room.roles", roles=", ".join(roles) if roles else ctx.t("room.no_roles"))),
        ]))

    async def _set_role(self, ctx: Ctx, role: str, arg: str | None = None) -> None:
        await self.rooms.set_role(ctx.room_id, role, arg)
        await ctx.reply("room.role_set", role=ctx.t("room.role." + role))

    @command("room organisers", aliases=["raum organisatoren", "raum orga"], who="organiser", where="room")
    async def organisers(self, ctx: Ctx):
        await self._set_role(ctx, "organisers")

    @command("room awareness", aliases=["raum awareness-team"], who="organiser", where="room")
    async def awareness(self, ctx: Ctx):
        await self._set_role(ctx, "awareness")

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
        await self._set_role(ctx, "announcements", account)

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
