"""Drafting rules shared by !post, message edits and the announcements room: accounts and instance limits,
the thread a text becomes, pictures, the four-eyes rule, and when a post is handed to the publishing queue."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import UserError
from bot.ports import Incoming, InstanceLimits, PublishError, Publisher
from bot.scheduler import Scheduler
from commands.post_rules import missing_alt
from commands.threadsplit import split_thread
from storage.posts import Post, Posts

log = logging.getLogger(__name__)

PUBLISH_JOB = "post.publish"
LIMITS_WAIT = 5.0  # seconds a command may wait for the instance limits before using Mastodon's defaults


def publish_key(post_id: int) -> str:
    return f"{PUBLISH_JOB}.{post_id}"


@dataclass(frozen=True)
class Content:
    """What a draft says and how it goes out (everything an edit may change)."""

    text: str
    cw: str | None
    visibility: str
    language: str | None
    at: datetime | None
    account: str


class Drafts:
    def __init__(self, posts: Posts, publishers: Mapping[str, Publisher], scheduler: Scheduler,
                 approvals_required: int, grace: timedelta) -> None:
        self.posts, self.publishers, self.scheduler = posts, publishers, scheduler
        self.required, self.grace = approvals_required, grace
        self._limits: dict[str, InstanceLimits] = {}

    # ------------------------------------------------------------------ accounts and limits
    def account(self, name: str | None) -> str:
        names = list(self.publishers)
        if not names:
            raise UserError("post.no_accounts", usage=False)
        if name is None:
            return names[0]
        if name not in self.publishers:
            raise UserError("post.unknown_account", account=name, accounts=", ".join(names))
        return name

    async def limits(self, account: str) -> InstanceLimits:
        """The instance's limits as last read (refresh), else Mastodon's defaults (smaller parts than
        needed are still valid posts). No network call: this runs inside the command's transaction."""
        return self._limits.get(account) or InstanceLimits()

    async def refresh(self) -> None:
        """Read every account's limits (the adapter caches them for an hour): at start and before each
        posts command, outside any transaction; one that does not answer soon keeps the last known."""
        for account, publisher in self.publishers.items():
            known = self._limits.get(account)
            try:
                self._limits[account] = await asyncio.wait_for(publisher.limits(),
                                                               LIMITS_WAIT if known is None else 1.0)
            except (PublishError, asyncio.TimeoutError) as exc:
                log.warning("limits of %s unavailable (%s); using %s", account,
                            getattr(exc, "reason", type(exc).__name__), "the last known" if known else "the defaults")

    async def thread(self, content: Content) -> list[str]:
        limits = await self.limits(content.account)
        try:
            parts = split_thread(content.text, limits.max_characters, cw=content.cw, url_length=limits.url_length)
        except ValueError:
            raise UserError("post.cw_too_long", limit=limits.max_characters, usage=False) from None
        return parts or [""]

    # ------------------------------------------------------------------ drafting
    async def create(self, *, room_id: str, source_room: str, source_event: str, author: str, content: Content,
                     origin: str, now: datetime, image: Incoming | None = None) -> Post:
        if not content.text.strip() and image is None:
            raise UserError("post.empty")
        parts = await self.thread(content)
        post_id = await self.posts.create(
            room_id=room_id, source_room=source_room, source_event=source_event, author=author,
            account=content.account, text=content.text, cw=content.cw, visibility=content.visibility,
            language=content.language, at=content.at, origin=origin, now=now)
        await self.posts.set_parts(post_id, parts)
        if image is not None:
            await self.posts.add_image(post_id, image.event_id, image_content(image))
        return await self.posts.get(post_id)  # type: ignore[return-value]

    async def edit(self, post: Post, content: Content) -> Post:
        """New content: a new revision, approvals reset, back to draft (only before anything went out)."""
        self.require_changeable(post)
        if not content.text.strip() and not await self.posts.images(post.id):
            raise UserError("post.empty")
        parts = await self.thread(content)
        await self.scheduler.cancel(publish_key(post.id))
        await self.posts.clear_approvals(post.id)
        await self.posts.update_content(post.id, text=content.text, cw=content.cw, visibility=content.visibility,
                                        language=content.language, at=content.at, account=content.account)
        await self.posts.set_parts(post.id, parts)
        return await self.posts.get(post.id)  # type: ignore[return-value]

    def require_changeable(self, post: Post) -> None:
        if post.state not in ("draft", "scheduled", "missed", "failed"):
            raise UserError("post.not_changeable", id=post.id, state=post.state, usage=False)

    async def require_unsent(self, post: Post) -> None:
        self.require_changeable(post)
        if await self.posts.sent_parts(post.id):
            raise UserError("post.partly_published", id=post.id, usage=False)

    async def attach(self, post: Post, image: Incoming) -> int:
        await self.require_unsent(post)
        images = await self.posts.images(post.id)
        limits = await self.limits(post.account)
        if len(images) >= limits.max_media:
            raise UserError("post.too_many_images", max=limits.max_media, id=post.id, usage=False)
        if any(i.event_id == image.event_id for i in images):
            raise UserError("post.image_already_attached", id=post.id, usage=False)
        k = await self.posts.add_image(post.id, image.event_id, image_content(image))
        await self.reset(post)
        return k

    async def set_alt(self, post: Post, k: int, alt: str) -> None:
        await self.require_unsent(post)
        limits = await self.limits(post.account)
        if len(alt) > limits.description_limit:
            raise UserError("post.alt_too_long", limit=limits.description_limit, length=len(alt), usage=False)
        if not await self.posts.set_alt(post.id, k, alt):
            raise UserError("post.no_such_image", id=post.id, k=k, usage=False)
        await self.reset(post)

    async def reset(self, post: Post) -> bool:
        """Content changed: approvals no longer hold. True if there was something to take back."""
        had = await self.posts.clear_approvals(post.id) > 0 or post.state == "scheduled"
        await self.scheduler.cancel(publish_key(post.id))
        await self.posts.touch_revision(post.id)
        await self.posts.set_state(post.id, "draft")
        return had

    async def unschedule_if_short(self, post: Post) -> None:
        """After an approval was withdrawn: a scheduled post without enough approvals goes back to draft."""
        if post.state == "scheduled" and len(await self.posts.approvers(post.id)) < self.required:
            await self.scheduler.cancel(publish_key(post.id))
            await self.posts.set_state(post.id, "draft")

    # ------------------------------------------------------------------ four eyes and the queue
    async def missing_alt(self, post: Post) -> list[int]:
        return missing_alt([i.alt for i in await self.posts.images(post.id)])

    async def approve(self, post: Post, user_id: str, now: datetime) -> Post:
        """An approval by user_id (an organiser, not the author); schedules the post when enough are in."""
        if post.state in ("missed", "failed"):
            return await self._retry(post, user_id, now)
        if post.state != "draft":
            raise UserError("post.not_approvable", id=post.id, state=post.state, usage=False)
        await self._require_approvable_by(post, user_id)
        if not await self.posts.approve(post.id, user_id, now):
            raise UserError("post.already_approved", id=post.id, usage=False)
        return await self.advance(post, now, strict=True)

    async def _retry(self, post: Post, user_id: str, now: datetime) -> Post:
        """`!approve` of a missed or failed post: a fresh decision to publish it now."""
        await self._require_approvable_by(post, user_id)
        await self.posts.approve(post.id, user_id, now)
        await self.posts.reset_attempts(post.id)
        await self._schedule(post, now)
        return await self.posts.get(post.id)  # type: ignore[return-value]

    async def _require_approvable_by(self, post: Post, user_id: str) -> None:
        """Four eyes (not the author's own post, unless no approvals are required) and every picture described."""
        if self.required > 0 and user_id == post.author:
            raise UserError("post.own_post", id=post.id, usage=False)
        missing = await self.missing_alt(post)
        if missing:
            raise UserError("post.alt_missing", id=post.id, images=", ".join(map(str, missing)), usage=False)

    async def advance(self, post: Post, now: datetime, *, strict: bool = False, required: int | None = None) -> Post:
        """Hand a complete, approved draft to the queue. strict: a long-past `at:` is an error, not a skip."""
        if post.state != "draft" or await self.missing_alt(post):
            return post
        if len(await self.posts.approvers(post.id)) < (self.required if required is None else required):
            return post
        if post.at is not None and post.at < now - self.grace:
            if strict:
                raise UserError("post.at_passed", id=post.id, usage=False)
            return post
        await self._schedule(post, max(post.at or now, now))
        return await self.posts.get(post.id)  # type: ignore[return-value]

    async def _schedule(self, post: Post, due: datetime) -> None:
        fresh = await self.posts.get(post.id)
        assert fresh is not None
        await self.posts.set_state(post.id, "scheduled", due_at=due, retry_round=0)
        await self.scheduler.schedule(PUBLISH_JOB, publish_key(post.id), due,
                                      {"post": post.id, "revision": fresh.revision})


def image_content(image: Incoming) -> dict[str, Any]:
    """What is needed to download the picture later (plain url or encrypted file, and its info)."""
    keep = ("url", "file", "info", "body", "msgtype")
    return {k: v for k, v in image.content.items() if k in keep}
