"""The announcements room: what organisers write there becomes a post for the room's account.

Mirrored posts are discussed where organisers work (the first organisers room, else the
announcements room itself) and go through the same four-eyes rule, unless an admin waived it
for that room with `!announcements direct yes`. Nothing is ever taken from a safe space, and
messages of members who are not organisers are left alone.
"""
from __future__ import annotations

import logging

from bot.errors import UserError
from bot.feature import Ctx
from bot.grammar import check_characters
from bot.ports import Incoming
from bot.render import Rich, lines
from bot.voice import Voice
from commands.post_drafts import Content, Drafts
from commands.post_view import preview, say_error
from storage.core import Rooms
from storage.posts import MirrorRooms, Post, Posts

log = logging.getLogger(__name__)


class Mirror:
    def __init__(self, posts: Posts, rooms: Rooms, mirrors: MirrorRooms, drafts: Drafts, voice: Voice) -> None:
        self.posts, self.rooms, self.mirrors, self.drafts, self.voice = posts, rooms, mirrors, drafts, voice

    async def required(self, post: Post) -> int | None:
        """Approvals needed for this post: 0 for a mirrored post from a room set to direct, else the config's."""
        if post.origin == "mirror" and await self.mirrors.direct(post.source_room):
            return 0
        return None

    async def home(self, room_id: str) -> str:
        organisers = await self.voice.organiser_rooms(safe_spaces=False)
        return organisers[0] if organisers else room_id

    async def set_direct(self, ctx: Ctx, direct: bool) -> None:
        if not ctx.perms.is_admin(ctx.sender):
            raise UserError("post.direct_admins_only", usage=False)
        if "announcements" not in (await self.rooms.get(ctx.room_id)).roles:
            raise UserError("post.not_announcements_room", usage=False)
        await self.mirrors.set_direct(ctx.room_id, direct)
        await ctx.reply("post.direct_on" if direct else "post.direct_off")

    async def wants(self, ev: Incoming) -> bool:
        """Could `message` make a post of this? Asked before the pipeline's transaction (reads only)."""
        if ev.type != "m.room.message" or ev.msgtype not in ("m.text", "m.image"):
            return False
        if ev.msgtype == "m.text" and (not ev.body.strip() or ev.body.lstrip().startswith("!")):
            return False  # another bot's command, or nothing to say
        mirrored, _ = await self.mirrors.mirrored(ev.room_id)  # every message of every room: one lookup
        return mirrored

    async def message(self, ev: Incoming, ctx: Ctx) -> None:
        if not await self.wants(ev):
            return
        mirrored, account = await self.mirrors.mirrored(ev.room_id)
        if not mirrored:
            return
        if not await ctx.is_organiser():
            return
        home = await self.home(ev.room_id)
        image = ev if ev.msgtype == "m.image" else None
        text = caption(ev) if image is not None else ev.body
        try:
            check_characters(text)
            content = Content(text, None, "public", ctx.lang, None, self.drafts.account(account))
            post = await self.drafts.create(room_id=home, source_room=ev.room_id, source_event=ev.event_id,
                                            author=ev.sender, content=content, origin="mirror", now=ctx.now,
                                            image=image)
        except UserError as err:
            await self.voice.send(home, lambda lang, e=err: say_error(self.voice.speaker(lang), e))
            return
        post = await self.drafts.advance(post, ctx.now, required=await self.required(post))
        await self._show(post, "post.mirrored", room=await self.voice.room_name(ev.room_id))

    async def edited(self, post: Post, body: str, ctx: Ctx) -> None:
        if body.lstrip().startswith("!"):
            return
        try:
            await self.drafts.require_unsent(post)
            check_characters(body)
            content = Content(body, post.cw, post.visibility, post.language, post.at, post.account)
            post = await self.drafts.edit(post, content)
        except UserError as err:
            await self.voice.send(post.room_id, lambda lang, e=err: say_error(self.voice.speaker(lang), e))
            return
        post = await self.drafts.advance(post, ctx.now, required=await self.required(post))
        await self._show(post, "post.edited")

    async def _show(self, post: Post, key: str, **params: object) -> None:
        images, parts = await self.posts.images(post.id), await self.posts.parts(post.id)
        approvers = await self.posts.approvers(post.id)
        required = await self.required(post)
        required = self.drafts.required if required is None else required

        def build(lang: str) -> Rich:
            say = self.voice.speaker(lang)
            return lines([say(key, id=post.id, **params),
                          preview(say, post, images, parts, approvers, required, lang=lang, tz=self.voice.tz)])

        await self.voice.send(post.room_id, build)


def caption(ev: Incoming) -> str:
    """The text sent with a picture (newer clients put it in body and the file name in filename)."""
    filename = ev.content.get("filename")
    body = ev.body or str(ev.content.get("body") or "")
    return body if filename and body != filename else ""

