"""Replies and mentions the Mastodon accounts receive, relayed once each to the organisers' room.

A self-rescheduling job per account (every `poll_seconds`) starts a poll outside the unit of
work; the poll remembers the newest notification id and each relayed id, so a restart neither
repeats nor loses one. The first poll of an account only sets the starting point: old mentions
from before the bot are not dumped into the room.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from bot.ports import AuthError, Clock, Mention, PublishError, Publisher
from bot.render import Rich, link
from bot.scheduler import JobHandler, Scheduler
from bot.voice import Voice
from commands.post_publish import Publishing
from storage.core import Job, Jobs
from storage.db import Database
from storage.posts import Accounts

log = logging.getLogger(__name__)

MENTIONS_JOB = "post.mentions"
TEXT_LIMIT = 500


def mentions_key(account: str) -> str:
    return f"{MENTIONS_JOB}.{account}"


class Relay:
    def __init__(self, db: Database, accounts: Accounts, jobs: Jobs, publishers: Mapping[str, Publisher],
                 poll_seconds: Mapping[str, int], publishing: Publishing, voice: Voice, scheduler: Scheduler,
                 clock: Clock) -> None:
        self.db, self.accounts, self.jobs, self.publishers = db, accounts, jobs, publishers
        self.poll_seconds, self.publishing, self.voice = poll_seconds, publishing, voice
        self.scheduler, self.clock = scheduler, clock

    def handlers(self) -> dict[str, JobHandler]:
        return {MENTIONS_JOB: JobHandler(run=self._due)}

    async def start(self) -> None:
        """Make sure every configured account has its polling job (it survives restarts as a row)."""
        async with self.db.transaction():
            for account in self.publishers:
                if await self.jobs.get(mentions_key(account)) is None:
                    await self.scheduler.schedule(MENTIONS_JOB, mentions_key(account), self.clock.now(),
                                                  {"account": account})

    async def _due(self, job: Job) -> None:
        account = job.payload["account"]
        if account not in self.publishers:
            return  # removed from the config: the job ends here
        every = timedelta(seconds=self.poll_seconds.get(account, 120))
        await self.scheduler.schedule(MENTIONS_JOB, job.key, self.clock.now() + every, {"account": account})
        self.publishing.spawn(self.poll(account))

    async def poll(self, account: str) -> int:
        """Fetch and relay new mentions; returns how many were relayed."""
        lock = self.publishing.lock(f"mentions.{account}")
        if lock.locked():
            return 0  # the previous poll is still waiting for a slow server: no pile-up
        async with lock:
            if await self.accounts.disabled(account):
                return 0
            polled, since = await self.accounts.since_id(account)
            try:
                mentions = await self.publishers[account].mentions(since)
            except AuthError as exc:
                async with self.db.transaction():
                    await self.publishing.disable(account, exc.reason)
                return 0
            except PublishError as exc:
                log.warning("reading the mentions of %s failed: %s", account, exc.reason)
                return 0
            relayed = 0
            async with self.db.transaction():
                rooms = await self.publishing.organiser_rooms(account)
                for mention in mentions:
                    if not await self.accounts.relay_once(account, mention.id) or not polled:
                        continue
                    for room_id in rooms:
                        await self.voice.send(room_id, lambda lang, m=mention: _relay_text(
                            self.voice.speaker(lang), account, m))
                    relayed += 1
                newest = mentions[-1].id if mentions else (since or "")
                await self.accounts.set_since_id(account, newest)
            if not polled:
                log.info("mentions of %s are relayed from id %r on", account, newest or None)
            return relayed


def web_url(url: str) -> bool:
    """Only an http(s) address with a host may become a link: the URL comes from another
    server, and `javascript:` or `data:` in an href would be clickable in the organisers' room."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _relay_text(say, account: str, mention: Mention) -> Rich:
    text = mention.text if len(mention.text) <= TEXT_LIMIT else mention.text[:TEXT_LIMIT].rstrip() + "…"
    return say("post.mention", account=account, who=mention.account, text=text,
               link=link(mention.url.strip()) if web_url(mention.url) else "")  # another scheme: left out
