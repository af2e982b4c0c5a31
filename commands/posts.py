"""Fediverse announcements: !post, !alt, !attach, !approve, !posts, !cancel, !delete, and what happens to
a draft when its message is edited or redacted. Publishing lives in post_publish, relaying in post_relay,
the announcements room in post_mirror; the rules they share in post_drafts and post_rules."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Command, Int, Number, Setting, Text, Word, YesNo, bind, command, split_body
from bot.converters import When
from bot.ports import Incoming
from bot.render import Rich, lines, plain
from bot.voice import Voice
from commands.post_drafts import Content, Drafts, publish_key
from commands.post_mirror import Mirror
from commands.post_publish import Publishing
from commands.post_relay import Relay
from commands.post_rules import ContentWarning, LanguageCode, Visibility
from commands.post_view import preview, queue, state_named, status_line
from storage.core import Rooms
from storage.posts import UNPUBLISHED, Accounts, MirrorRooms, Post, Posts

PUBLISHED_SHOWN = 10  # !posts lists this many of the latest published posts


@contextmanager
def states_named(ctx: Ctx) -> Iterator[None]:
    """Errors from the drafting rules name a post's state by its key; say it in the room's language."""
    try:
        yield
    except UserError as err:
        state_named(err, ctx.t)
        raise


class PostsFeature(Feature):
    name = "posts"
    event_types = frozenset({"m.room.message", "m.room.redaction"})

    def __init__(self, posts: Posts, rooms: Rooms, drafts: Drafts, publishing: Publishing, relay: Relay,
                 mirror: Mirror, voice: Voice) -> None:
        self.posts, self.rooms, self.drafts = posts, rooms, drafts
        self.publishing, self.relay, self.mirror, self.voice = publishing, relay, mirror, voice

    def jobs(self) -> dict:
        return {**self.publishing.jobs(), **self.relay.handlers()}

    async def on_start(self) -> None:
        await self.publishing.resume()
        await self.relay.start()
        self.publishing.spawn(self.drafts.refresh())

    async def before_command(self, cmd, ev: Incoming) -> None:
        """The instance limits a draft is split and checked by, read before the transaction opens."""
        await self.drafts.refresh()

    async def on_stop(self) -> None:
        """Let a publication in flight record its status ids before the database closes."""
        await self.publishing.settle()

    # ------------------------------------------------------------------ helpers
    async def _post(self, ctx: Ctx, number: int) -> Post:
        post = await self.posts.get(number)
        if post is None or post.room_id != ctx.room_id:
            raise UserError("post.not_found", id=number, usage=False)
        return post

    async def _image(self, ctx: Ctx) -> Incoming | None:
        """The picture this command replies to, if any (a reply to another kind of file is an error)."""
        if not ctx.reply_to:
            return None
        ev = ctx.replied  # fetched before the transaction (reads_reply)
        if ev is None or ev.msgtype in ("m.text", "m.notice", "m.emote", ""):
            return None
        if ev.msgtype != "m.image":
            raise UserError("post.not_an_image", usage=False)
        return ev

    async def preview(self, ctx: Ctx, post: Post) -> Rich:
        return preview(ctx.rich, post, await self.posts.images(post.id), await self.posts.parts(post.id),
                       await self.posts.approvers(post.id), self.drafts.required, lang=ctx.lang, tz=ctx.tz)

    async def status(self, ctx: Ctx, post: Post) -> Rich:
        return status_line(ctx.rich, post, await self.posts.images(post.id), await self.posts.approvers(post.id),
                           self.drafts.required, lang=ctx.lang, tz=ctx.tz)

    # ------------------------------------------------------------------ drafting
    @command("post", aliases=["beitrag"], who="organiser", where="room", reads_reply=True, applies_edits=True)
    async def post(self, ctx: Ctx, text: Text = None, at: Setting[When] = None, cw: Setting[ContentWarning] = None,
                   visibility: Setting[Visibility] = None, language: Setting[LanguageCode] = None,
                   account: Setting[Word] = None):
        content = self._content(ctx, text, at, cw, visibility, language, account)
        roles = (await self.rooms.get(ctx.room_id)).roles
        if "safespace" in roles:
            raise UserError("post.safespace", usage=False)
        if "organisers" not in roles:
            raise UserError("post.not_organisers_room", usage=False)
        image = await self._image(ctx)
        post = await self.drafts.create(room_id=ctx.room_id, source_room=ctx.room_id, source_event=ctx.event_id,
                                        author=ctx.sender, content=content, origin="command", now=ctx.now,
                                        image=image)
        post = await self.drafts.advance(post, ctx.now)
        await ctx.reply_rich(await self.preview(ctx, post), whole=True)  # approvers must see all of it

    def _content(self, ctx: Ctx, text: str | None, at, cw: str | None, visibility: str | None,
                 language: str | None, account: str | None) -> Content:
        """The settings of a !post message (also of an edited one: the new message is the whole truth)."""
        return Content(text or "", cw or None, visibility or "public", language or ctx.lang,
                       at if at is not None and at > ctx.now else None, self.drafts.account(account))

    async def edit(self, ctx: Ctx, target: str, content: Content) -> None:
        post = await self.posts.by_source(ctx.room_id, target)
        if post is None or post.origin != "command" or post.author != ctx.sender:
            return
        with states_named(ctx):
            await self.drafts.require_unsent(post)
            post = await self.drafts.advance(await self.drafts.edit(post, content), ctx.now)
        await ctx.reply_rich(lines([ctx.rich("post.edited", id=post.id), await self.preview(ctx, post)]))

    @command("alt", who="organiser", where="room")
    async def alt(self, ctx: Ctx, number: Number, k: Int, text: Text):
        post = await self._post(ctx, number)
        with states_named(ctx):
            await self.drafts.set_alt(post, k, text)
        post = await self.drafts.advance(await self.posts.get(post.id), ctx.now,  # type: ignore[arg-type]
                                         required=await self.mirror.required(post))
        await ctx.reply_rich(lines([ctx.rich("post.alt_set", id=post.id, k=k), await self.status(ctx, post)]))

    @command("attach", aliases=["anhängen", "anhaengen"], who="organiser", where="room", reads_reply=True)
    async def attach(self, ctx: Ctx, number: Number):
        post = await self._post(ctx, number)
        image = await self._image(ctx)
        if image is None:
            raise UserError("post.attach_needs_reply", id=number)
        with states_named(ctx):
            k = await self.drafts.attach(post, image)
        post = await self.posts.get(post.id)  # type: ignore[assignment]
        await ctx.reply_rich(lines([ctx.rich("post.attached", id=post.id, k=k), await self.status(ctx, post)]))

    # ------------------------------------------------------------------ four eyes and the queue
    @command("approve", aliases=["freigeben"], who="organiser", where="room")
    async def approve(self, ctx: Ctx, number: Number):
        with states_named(ctx):
            post = await self.drafts.approve(await self._post(ctx, number), ctx.sender, ctx.now)
        if post.state == "scheduled":
            await ctx.reply_rich(lines([ctx.rich("post.approved", id=post.id), await self.status(ctx, post)]))
        else:
            await ctx.reply_rich(lines([ctx.rich("post.approval_noted", id=post.id), await self.status(ctx, post)]))

    @command("posts", aliases=["beiträge", "beitraege"], who="organiser", where="room")
    async def overview(self, ctx: Ctx):
        shown = [p for p in await self.posts.in_room(ctx.room_id, (*UNPUBLISHED, "publishing", "deleting"))]
        shown += (await self.posts.in_room(ctx.room_id, ("published",)))[-PUBLISHED_SHOWN:]
        approvals = {p.id: len(await self.posts.approvers(p.id)) for p in shown if p.state == "draft"}
        alts = {p.id: await self.drafts.missing_alt(p) for p in shown if p.state == "draft"}
        await ctx.reply_rich(queue(ctx.rich, sorted(shown, key=lambda p: p.id), approvals, alts,
                                   self.drafts.required, ctx.now, lang=ctx.lang, tz=ctx.tz))

    @command("cancel", aliases=["abbrechen"], who="organiser", where="room")
    async def cancel(self, ctx: Ctx, number: Number):
        post = await self._post(ctx, number)
        if post.state in ("publishing", "deleting"):
            raise UserError("post.busy", id=post.id, usage=False)
        if post.state not in UNPUBLISHED:
            raise UserError("post.not_cancellable", id=post.id, state=ctx.t("post.state." + post.state),
                            usage=False)
        await self.scheduler_cancel(post)
        online = await self.posts.sent_parts(post.id, online=True)
        await ctx.reply("post.cancelled_partly" if online else "post.cancelled", id=post.id)

    async def scheduler_cancel(self, post: Post) -> None:
        await self.drafts.scheduler.cancel(publish_key(post.id))
        await self.posts.set_state(post.id, "cancelled")

    @command("delete", aliases=["löschen", "loeschen"], who="organiser", where="room")
    async def delete(self, ctx: Ctx, number: Number):
        post = await self._post(ctx, number)
        if post.state in ("publishing", "deleting"):
            raise UserError("post.busy", id=post.id, usage=False)
        if not await self.posts.sent_parts(post.id, online=True):
            raise UserError("post.nothing_to_delete", id=post.id, usage=False)
        await self.posts.set_state(post.id, "deleting")
        self.publishing.spawn(self.publishing.delete(post.id, ctx.event_id))

    # ------------------------------------------------------------------ the announcements room
    @command("announcements direct", aliases=["ankündigungen direkt", "ankuendigungen direkt"], who="organiser",
             where="room")
    async def direct(self, ctx: Ctx, value: YesNo):
        await self.mirror.set_direct(ctx, value)

    # ------------------------------------------------------------------ edits, redactions, mirroring
    async def wants(self, ev: Incoming) -> bool:
        """Messages matter only in a mirrored announcements room, edits only of a post's source message:
        every chat message of every room is asked this, outside any transaction (one keyed read each)."""
        if ev.type != "m.room.message":
            return True
        relation = ev.content.get("m.relates_to") or {}
        if isinstance(relation, dict) and relation.get("rel_type") == "m.replace":
            return await self.posts.by_source(ev.room_id, str(relation.get("event_id") or "")) is not None
        return await self.mirror.wants(ev)

    async def on_event(self, ev: Incoming, ctx: Ctx) -> None:
        if ev.type == "m.room.redaction" and ev.redacts:
            await self.redacted(ctx, ev.redacts)
            return
        relation = ev.content.get("m.relates_to") or {}
        if relation.get("rel_type") == "m.replace":
            await self.edited(ev, ctx, relation.get("event_id", ""))
        else:
            await self.mirror.message(ev, ctx)

    async def edited(self, ev: Incoming, ctx: Ctx, target: str) -> None:
        post = await self.posts.by_source(ev.room_id, target)
        if post is None or post.author != ev.sender:
            return
        body = str((ev.content.get("m.new_content") or {}).get("body") or "")
        if post.origin == "mirror":
            await self.mirror.edited(post, body, ctx)
            return
        if not body.startswith("!"):
            return
        first, *more = body[1:].split("\n")
        word, _, rest = first.strip().partition(" ")
        if word.lower() not in (POST_COMMAND.name, *POST_COMMAND.aliases):
            return
        try:
            kwargs = await bind(POST_COMMAND, ctx, split_body(rest, more, POST_COMMAND, ctx.lang))
            content = self._content(ctx, **kwargs)
            await self.edit(ctx, target, content)
        except UserError as err:
            await ctx.reply_rich(plain(ctx.t(err.key, **err.params)))

    async def redacted(self, ctx: Ctx, target: str) -> None:
        post = await self.posts.by_source(ctx.room_id, target)
        if post is not None:
            sent = await self.posts.sent_parts(post.id, online=True)
            if post.state in UNPUBLISHED and not sent:
                await self.scheduler_cancel(post)
                await self.voice.say(post.room_id, "post.redacted_cancelled", id=post.id)
            elif sent or post.state == "publishing":
                await self.voice.say(post.room_id, "post.redacted_published", id=post.id)
        for post_id in await self.posts.posts_with_image_event(target):
            post = await self.posts.get(post_id)
            if post is None or post.state not in UNPUBLISHED:
                continue
            await self.posts.remove_image_event(post_id, target)
            await self.drafts.reset(post)
            await self.voice.say(post.room_id, "post.image_removed", id=post.id)

    # ------------------------------------------------------------------ privacy
    async def my_data(self, user_id: str, ctx: Ctx) -> list[Rich]:
        out = []
        authored = [p.id for p in await self.posts.authored_by(user_id)]
        if authored:
            out.append(ctx.rich("post.mydata.authored", len(authored), ids=", ".join(f"#{i}" for i in authored)))
        approved = await self.posts.approved_by(user_id)
        if approved:
            out.append(ctx.rich("post.mydata.approved", len(approved), ids=", ".join(f"#{i}" for i in approved)))
        return out

    async def forget(self, user_id: str, ctx: Ctx) -> list[Rich]:
        cancelled = 0
        for post in await self.posts.authored_by(user_id):
            if post.state in UNPUBLISHED and not await self.posts.sent_parts(post.id):
                await self.scheduler_cancel(post)
                cancelled += 1
        for post_id in await self.posts.approved_by(user_id):
            post = await self.posts.get(post_id)
            if post is not None and post.state in ("draft", "scheduled"):
                await self.posts.withdraw_approval(post_id, user_id)
                await self.drafts.unschedule_if_short(post)
        changed = await self.posts.anonymise(user_id, "forgotten-" + secrets.token_hex(4))
        if not (changed or cancelled):
            return []
        return [ctx.rich("post.forgotten", cancelled)]


# The !post declaration itself (names, grammar): an edited !post message is read with it. The pipeline
# never dispatches edits (m.replace) as commands; they arrive in on_event.
POST_COMMAND: Command = PostsFeature.post.__plenum_command__  # type: ignore[attr-defined]


def build_posts_feature(config, db, chat, clock, voice, kv, rooms, jobs, scheduler, publishers) -> PostsFeature:
    """Wire the announcements feature (one line in bot/app.py:build_app)."""
    posts, accounts = Posts(db), Accounts(db)
    drafts = Drafts(posts, publishers, scheduler, config.bot.approvals_required,
                    timedelta(minutes=config.bot.grace_minutes))
    publishing = Publishing(db, posts, accounts, publishers, chat, voice, scheduler, clock, kv,
                            list(config.bot.admins))
    relay = Relay(db, accounts, jobs, publishers, {a.name: a.poll_seconds for a in config.mastodon}, publishing,
                  voice, scheduler, clock)
    mirror = Mirror(posts, rooms, MirrorRooms(db), drafts, voice)
    return PostsFeature(posts, rooms, drafts, publishing, relay, mirror, voice)
