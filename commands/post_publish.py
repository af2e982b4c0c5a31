"""The publishing queue: at the due minute, every part of a post goes out exactly once.

The scheduler's job only claims the post (state `publishing`, in its unit of work); the network
work runs in a task of its own, outside any transaction, so a slow or failing Mastodon never
holds the database. Every status carries an Idempotency-Key derived from the post, its revision
and the part; each part's status id is committed the moment Mastodon confirms it. A crash
mid-publication leaves the post in `publishing`, and the next start resumes it with the same
keys, so a status Mastodon created but we never heard of is returned, not posted twice. Because
Mastodon forgets keys after an hour, a part whose outcome is unknown is retried only within
IDEMPOTENCY_WINDOW; later the organisers are asked to look instead of risking a duplicate.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.errors import error_ref
from bot.ports import (AuthError, Chat, Clock, PermanentError, PublishedStatus, PublishError, Publisher,
                       RetryableError)
from bot.render import Rich, lines, link
from bot.retry import with_retries
from bot.scheduler import JobHandler, Scheduler
from bot.voice import Voice
from commands.post_drafts import PUBLISH_JOB, publish_key
from commands.post_rules import INLINE_WAIT_MAX, idempotency_key, may_retry, reason_note, retry_delay
from commands.post_view import reason_text
from storage.core import Job, KeyValue
from storage.db import Database
from storage.posts import Accounts, Part, Post, Posts

log = logging.getLogger(__name__)

MAX_ROUNDS = 10  # retry rounds (after the in-memory retries) before a post is given up
SALT_KEY = "posts.idempotency_salt"


class _Defer(Exception):
    """A rate limit that resets later than we want to wait in memory."""

    def __init__(self, seconds: float, error: RetryableError) -> None:
        super().__init__(error.reason)
        self.seconds, self.error = seconds, error


class _Unusable(Exception):
    """The post cannot go out for a reason of ours, not Mastodon's: `post.failed.<code>`, note <code>."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code, self.params = code, params


class _Uncertain(Exception):
    def __init__(self, idx: int) -> None:
        super().__init__(idx)
        self.idx = idx


class Publishing:
    def __init__(self, db: Database, posts: Posts, accounts: Accounts, publishers: Mapping[str, Publisher],
                 chat: Chat, voice: Voice, scheduler: Scheduler, clock: Clock, kv: KeyValue,
                 admins: list[str], *, attempts: int = 6,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.db, self.posts, self.accounts, self.publishers = db, posts, accounts, publishers
        self.chat, self.voice, self.scheduler, self.clock, self.kv = chat, voice, scheduler, clock, kv
        self.admins, self.attempts, self.sleep = admins, attempts, sleep
        self._tasks: set[asyncio.Task] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def jobs(self) -> dict[str, JobHandler]:
        return {PUBLISH_JOB: JobHandler(run=self._due, missed=self._missed)}

    # ------------------------------------------------------------------ background tasks
    def spawn(self, coro: Awaitable[None]) -> None:
        """Run outside the caller's unit of work (a fresh context: not "inside a transaction")."""
        task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until no publication, deletion or poll is running (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def resume(self) -> None:
        """At start: finish what a crash interrupted, with the same idempotency keys."""
        async with self.db.transaction():
            await self.accounts.enable_all()  # a restart is how a host brings a new token
            publishing = await self.posts.with_state("publishing")
            deleting = await self.posts.with_state("deleting")
            for post in publishing:
                for part in await self.posts.parts(post.id):
                    if part.status_id is None and part.first_attempt_at is not None:
                        await self.posts.mark_ambiguous(post.id, part.idx, part.first_attempt_at)
        for post in publishing:
            log.info("resuming the publication of post %d", post.id)
            self.spawn(self.publish(post.id))
        for post in deleting:
            self.spawn(self.delete(post.id, None))

    # ------------------------------------------------------------------ jobs (inside the scheduler's unit of work)
    async def _claim(self, job: Job) -> Post | None:
        post = await self.posts.get(int(job.payload["post"]))
        if post is None or post.state != "scheduled" or post.revision != job.payload.get("revision"):
            return None  # cancelled, edited or re-timed since: that job is stale
        return post

    async def _due(self, job: Job) -> None:
        post = await self._claim(job)
        if post is None:
            return
        await self.posts.set_state(post.id, "publishing", note=post.note, due_at=post.due_at)
        self.spawn(self.publish(post.id))

    async def _missed(self, job: Job) -> None:
        post = await self._claim(job)
        if post is None:
            return
        if await self.posts.sent_parts(post.id):
            await self._due(job)  # a thread that has begun is finished rather than left half
            return
        await self.posts.set_state(post.id, "missed", due_at=post.due_at)
        await self.voice.say(post.room_id, "post.missed", id=post.id, when=post.due_at or job.due_at)

    # ------------------------------------------------------------------ publication
    async def _salt(self) -> str:
        salt = await self.kv.get(SALT_KEY)
        if salt is None:
            salt = secrets.token_hex(6)
            await self.kv.set(SALT_KEY, salt)
        return salt

    async def publish(self, post_id: int) -> None:
        async with self.lock(f"post.{post_id}"):
            async with self.db.transaction():  # waits until the claiming unit of work committed
                post = await self.posts.get(post_id)
                if post is None or post.state != "publishing":
                    return
                salt = await self._salt()
            try:
                await self._publish(post, salt)
            except _Defer as defer:
                await self._later(post, defer.error, seconds=defer.seconds)
            except RetryableError as exc:
                await self._later(post, exc)
            except _Uncertain as exc:
                await self._fail(post, "post.failed.uncertain", "uncertain", part=exc.idx + 1)
            except _Unusable as exc:
                await self._fail(post, "post.failed." + exc.code, exc.code, **exc.params)
            except AuthError as exc:
                async with self.db.transaction():
                    await self.disable(post.account, exc.reason)
                await self._fail(post, "post.failed.auth", reason_note(exc), reason=exc.reason)
            except PermanentError as exc:
                await self._fail(post, "post.failed.rejected", reason_note(exc), reason=exc.reason)
            except Exception:  # noqa: BLE001 - a bug must leave a clear state, not a silent hang
                ref = error_ref()
                log.exception("publishing post %d failed ref=%s", post_id, ref)
                await self._fail(post, "post.failed.internal", "internal", ref=ref)

    async def _publish(self, post: Post, salt: str) -> None:
        publisher = self.publishers.get(post.account)
        if publisher is None:
            raise _Unusable("no_account")
        if await self.accounts.disabled(post.account):
            raise _Unusable("account_disabled")
        media_ids = await self._media(post, publisher)
        reply_to: str | None = None
        first_url = ""
        parts = await self.posts.parts(post.id)
        for part in parts:
            if part.status_id is None:
                status = await self._send(post, part, publisher, salt, reply_to, media_ids if part.idx == 0 else None)
                async with self.db.transaction():
                    await self.posts.record_part(post.id, part.idx, status.id, status.url)
                status_id, url = status.id, status.url
            else:
                status_id, url = part.status_id, part.url or ""
            reply_to = status_id
            first_url = first_url or url
        async with self.db.transaction():
            await self.posts.set_published(post.id, first_url, self.clock.now())
            await self.voice.say(post.room_id, "post.published", len(parts), id=post.id, account=post.account,
                                 link=link(first_url), reply_to=self._reply_target(post))
        log.info("post %d published (%d parts)", post.id, len(parts))

    async def _media(self, post: Post, publisher: Publisher) -> list[str]:
        ids = []
        for image in await self.posts.images(post.id):
            if image.media_id:
                ids.append(image.media_id)
                continue
            if image.content is None:
                raise _Unusable("image_gone", k=image.k)
            try:
                data, mime = await self.chat.download(image.content)
            except Exception as exc:  # noqa: BLE001 - the homeserver may be back later
                raise RetryableError(f"picture {image.k} could not be downloaded from Matrix ({type(exc).__name__})",
                                     retry_after=60, code="image_download") from None
            media_id = await self._call(lambda d=data, m=mime, a=image.alt or "": publisher.upload_media(d, m, a))
            async with self.db.transaction():
                await self.posts.set_media_id(post.id, image.k, media_id)
            ids.append(media_id)
        return ids

    async def _send(self, post: Post, part: Part, publisher: Publisher, salt: str, reply_to: str | None,
                    media_ids: list[str] | None) -> PublishedStatus:
        now = self.clock.now()
        if not may_retry(part.ambiguous_since, now):
            raise _Uncertain(part.idx)
        async with self.db.transaction():
            await self.posts.attempt_part(post.id, part.idx, now)
        key = idempotency_key(salt, post.id, post.revision, part.idx)
        ambiguous: list[datetime] = []
        try:
            return await self._call(lambda: publisher.post_status(
                part.text, idempotency_key=key, in_reply_to_id=reply_to, spoiler_text=post.cw,
                visibility=post.visibility, language=post.language, media_ids=media_ids), ambiguous)
        finally:
            if ambiguous:
                async with self.db.transaction():
                    await self.posts.mark_ambiguous(post.id, part.idx, ambiguous[0])

    async def _call(self, fn: Callable[[], Awaitable], ambiguous: list[datetime] | None = None):
        """with_retries, noting errors that may hide a success, and handing long rate limits to the queue."""
        async def attempt():
            try:
                return await fn()
            except RetryableError as exc:
                if exc.retry_after is None and ambiguous is not None:
                    ambiguous.append(self.clock.now())
                if exc.retry_after is not None and exc.retry_after > INLINE_WAIT_MAX:
                    raise _Defer(exc.retry_after, exc) from None
                raise
        return await with_retries(attempt, attempts=self.attempts, max_delay=INLINE_WAIT_MAX, sleep=self.sleep)

    # ------------------------------------------------------------------ outcomes
    def _reply_target(self, post: Post) -> str | None:
        # a forgotten author's message is no longer known (source_event is empty)
        return (post.source_event or None) if post.source_room == post.room_id else None

    def _reason(self, note: str) -> Callable[[str], Rich]:
        """Why a post waits or failed, worded in the language of the room it is said in."""
        return lambda lang: reason_text(self.voice.speaker(lang), note)

    async def _later(self, post: Post, error: RetryableError, *, seconds: float | None = None) -> None:
        note = reason_note(error)
        async with self.db.transaction():
            fresh = await self.posts.get(post.id)
            if fresh is None or fresh.state != "publishing":
                return
            rounds = fresh.retry_round + (0 if seconds is not None else 1)
            if rounds > MAX_ROUNDS:
                await self._fail(fresh, "post.failed.gave_up", note, reason=error.reason)
                return
            due = self.clock.now() + (timedelta(seconds=seconds + 1) if seconds is not None else retry_delay(rounds))
            await self.posts.set_state(post.id, "scheduled", note=note, due_at=due, retry_round=rounds)
            await self.scheduler.schedule(PUBLISH_JOB, publish_key(post.id), due,
                                          {"post": post.id, "revision": fresh.revision})
            if fresh.note is None:  # tell once, not at every round
                await self.voice.say(post.room_id, "post.delayed", id=post.id, reason=self._reason(note), when=due)
        log.info("post %d: %s; next attempt at %s", post.id, error.reason, due.isoformat())

    async def _fail(self, post: Post, key: str, note: str, *, reason: str | None = None, **params: object) -> None:
        """The post failed: `note` (a reason code, post_rules.REASON_CODES) is kept and said; `reason` is logged."""
        async with self.db.transaction():
            parts = await self.posts.parts(post.id)
            done = [p for p in parts if p.sent]
            await self.posts.set_state(post.id, "failed", note=note, due_at=post.due_at)

            def build(lang: str) -> Rich:
                say = self.voice.speaker(lang)
                out = [say(key, id=post.id, account=post.account, reason=reason_text(say, note), **params)]
                if done:
                    out.append(say("post.failed.partial", len(done), id=post.id, total=len(parts),
                                   link=link(done[0].url or "")))
                return lines(out)

            await self.voice.send(post.room_id, build, reply_to=self._reply_target(post))
        log.warning("post %d failed: %s", post.id, reason or note)

    async def disable(self, account: str, reason: str) -> None:
        """401/403: stop using the account until the host renews the token; tell admins and organisers once."""
        if not await self.accounts.disable(account, reason):
            return
        log.error("Mastodon account %s disabled: %s", account, reason)
        for admin in self.admins:
            await self.voice.dm(admin, self.voice.default_language, "post.account_disabled.admin", account=account,
                                reason=reason, env=f"PLENUM_MASTODON_{account.upper()}_TOKEN")
        for room_id in await self.organiser_rooms(account):
            await self.voice.say(room_id, "post.account_disabled.room", account=account)

    async def organiser_rooms(self, account: str) -> list[str]:
        """Where news about an account goes: organiser rooms that drafted for it, else every organiser room."""
        organisers = await self.voice.organiser_rooms(safe_spaces=False)
        used = [r for r in await self.posts.rooms_for_account(account) if r in organisers]
        return used or organisers

    # ------------------------------------------------------------------ deletion
    async def delete(self, post_id: int, reply_to: str | None) -> None:
        async with self.lock(f"post.{post_id}"):
            async with self.db.transaction():
                post = await self.posts.get(post_id)
                if post is None or post.state != "deleting":
                    return
            publisher = self.publishers.get(post.account)
            try:
                parts = await self.posts.sent_parts(post_id, online=True)
                if publisher is None:
                    raise _Unusable("no_account")
                gone = 0  # parts that were no longer there (deleted on Mastodon, a test server reset)
                for part in reversed(parts):  # replies first, so no part is left pointing at nothing
                    tries: list[int] = []

                    async def delete(status_id: str = part.status_id, tries: list[int] = tries) -> bool:
                        tries.append(1)
                        return await publisher.delete_status(status_id)

                    # a 404 after a failed first try may be our own first try's doing: that one counts as deleted
                    if not await self._call(delete) and len(tries) == 1:
                        gone += 1
                    async with self.db.transaction():
                        await self.posts.mark_part_deleted(post_id, part.idx)
            except Exception as exc:  # noqa: BLE001 - nothing may leave the post in `deleting` without a word
                await self._delete_failed(post, exc, reply_to)
                return
            async with self.db.transaction():
                await self.posts.set_state(post_id, "deleted")
                if gone == len(parts):  # not "deleted": it was not this command that removed it
                    await self.voice.say(post.room_id, "post.deleted_gone", id=post_id, reply_to=reply_to)
                elif gone:
                    await self.voice.say(post.room_id, "post.deleted_partly_gone", len(parts), id=post_id, gone=gone,
                                         reply_to=reply_to)
                else:
                    await self.voice.say(post.room_id, "post.deleted", len(parts), id=post_id, reply_to=reply_to)

    async def _delete_failed(self, post: Post, exc: Exception, reply_to: str | None) -> None:
        """Say why, and leave the post where !delete can be tried again (published, or failed if never whole)."""
        error = exc.error if isinstance(exc, _Defer) else exc
        if isinstance(error, _Unusable):
            note, key, params = error.code, "post.delete_failed", {}
            log.warning("deleting post %d failed: %s", post.id, note)
        elif isinstance(error, PublishError):
            note, key, params = reason_note(error), "post.delete_failed", {}
            log.warning("deleting post %d failed: %s", post.id, error.reason)
        else:
            ref = error_ref()
            note, key, params = "internal", "post.delete_failed_internal", {"ref": ref}
            log.error("deleting post %d failed ref=%s", post.id, ref, exc_info=error)
        async with self.db.transaction():
            if isinstance(error, AuthError):
                await self.disable(post.account, error.reason)
            await self.posts.set_state(post.id, "published" if post.url else "failed", note=note)
            await self.voice.say(post.room_id, key, id=post.id, reason=self._reason(note), reply_to=reply_to, **params)
