"""From a message to a command call: prefix, names and aliases, permissions, rate limit, errors.

Called inside the pipeline's unit of work; a handler's writes run in a savepoint, so a
UserError or a crash undoes them while the error reply and the handled mark still commit.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from bot.errors import UserError, error_ref
from bot.feature import Ctx, Feature, Permissions
from bot.grammar import Command, bind, split_body, usage
from bot.i18n import I18n
from bot.messenger import Messenger
from bot.ports import Chat, Clock, Incoming
from bot.render import plain
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchSettings:
    timezone: str
    catch_up: timedelta
    rate_limit: int = 10
    rate_window: float = 10.0


class RateLimiter:
    """Per user: at most `limit` commands per `window` seconds; one notice, then silence."""

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._warned: set[str] = set()

    def check(self, user_id: str) -> str:
        """'ok', 'warn' (first refusal: tell them once) or 'drop'."""
        now = self.clock()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._warned.discard(user_id)
            return "ok"
        if user_id in self._warned:
            return "drop"
        self._warned.add(user_id)
        return "warn"


class Registry:
    """Command names (English and German, one or two words) to commands."""

    def __init__(self, features: list[Feature]) -> None:
        self.commands: list[Command] = []
        self._by_words: dict[tuple[str, ...], Command] = {}
        self.groups: set[str] = set()
        for feature in features:
            for cmd in feature.commands():
                self.add(cmd)

    def add(self, cmd: Command) -> None:
        spellings = [cmd.name, *cmd.aliases]
        heads = {s.split()[0] for s in spellings}
        tails = {tuple(s.split()[1:]) for s in spellings}
        for head in heads:
            for tail in tails:
                words = (head, *tail)
                if words in self._by_words:
                    raise ValueError(f"command name clash: {' '.join(words)}")
                self._by_words[words] = cmd
                cmd.names.append(words)
                if tail:
                    self.groups.add(head)
        self.commands.append(cmd)

    def lookup(self, words: list[str]) -> tuple[Command | None, int]:
        """The command and how many words its name used."""
        lowered = [w.lower() for w in words[:2]]
        if len(lowered) == 2 and tuple(lowered) in self._by_words:
            return self._by_words[tuple(lowered)], 2
        if lowered and (lowered[0],) in self._by_words:
            return self._by_words[(lowered[0],)], 1
        return None, 0

    def find(self, name: str) -> Command | None:
        cmd, used = self.lookup(name.lstrip("!").split())
        return cmd


class Dispatcher:
    def __init__(self, db: Database, registry: Registry, i18n: I18n, messenger: Messenger, perms: Permissions,
                 chat: Chat, clock: Clock, settings: DispatchSettings, language_of) -> None:
        self.db, self.registry, self.i18n, self.messenger = db, registry, i18n, messenger
        self.perms, self.chat, self.clock, self.settings = perms, chat, clock, settings
        self.language_of = language_of  # async room_id -> its language (Voice.lang: else the default)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_window)

    async def context(self, ev: Incoming, is_dm: bool) -> Ctx:
        lang = await self.language_of(ev.room_id)
        return Ctx(room_id=ev.room_id, sender=ev.sender, event_id=ev.event_id, lang=lang,
                   tz=self.settings.timezone, now=self.clock.now(), is_dm=is_dm, i18n=self.i18n,
                   messenger=self.messenger, perms=self.perms, chat=self.chat, mentions=ev.mentions,
                   reply_to=ev.reply_to, event=ev)

    def command_text(self, body: str, is_dm: bool) -> str | None:
        text = body.strip()
        if text.startswith("!"):
            return text[1:]
        return text if is_dm and text else None

    def parse(self, body: str, is_dm: bool) -> tuple[str, list[str], list[str], Command | None, int] | None:
        """(first line, more lines, words, command, words its name used) if the text is a command for us, else
        None. Pure (no I/O), so the pipeline can ask it for every message before it opens a transaction."""
        text = self.command_text(body, is_dm)
        if not text:
            return None
        first, *more = text.split("\n")
        words = first.split()
        cmd, used = self.registry.lookup(words)
        if cmd is None and not is_dm and not (words and words[0].lower() in self.registry.groups):
            return None  # another bot's command in a shared room
        return first, more, words, cmd, used

    async def dispatch(self, ev: Incoming, is_dm: bool) -> bool:
        """Handle a text message; False if it was no command for us."""
        parsed = self.parse(ev.body, is_dm)
        if parsed is None:
            return False
        first, more, words, cmd, used = parsed
        # old messages and floods get no answer, also not "unknown command"
        if self.clock.now() - ev.ts > self.settings.catch_up:
            log.info("not answering command %s in %s: older than the catch-up window (%d min)",
                     ev.event_id, ev.room_id, self.settings.catch_up.total_seconds() // 60)
            return True
        verdict = self.limiter.check(ev.sender)
        ctx = await self.context(ev, is_dm)
        if verdict != "ok":
            if verdict == "warn":
                await ctx.reply("error.rate_limited", seconds=int(self.settings.rate_window))
            return True
        if cmd is None:
            await ctx.reply("error.unknown_command", command=" ".join(words[:2]))
            return True
        ctx.command = cmd
        rest = first.split(None, used)[used] if len(first.split(None, used)) > used else ""
        try:
            async with self.db.savepoint():
                await self._check_allowed(cmd, ctx)
                kwargs = await bind(cmd, ctx, split_body(rest, more, cmd))
                await cmd.func(cmd.owner, ctx, **kwargs)
        except UserError as err:
            await self.reply_error(ctx, cmd, err)
        except Exception:  # noqa: BLE001 - the one place that turns crashes into a polite reply
            ref = error_ref()
            log.exception("internal error ref=%s in command %s (event %s)", ref, cmd.name, ev.event_id)
            await ctx.reply_rich(ctx.rich("error.internal", ref=ref))  # ref= of reply() names the outbox row
        return True

    async def reply_error(self, ctx: Ctx, cmd: Command, err: UserError) -> None:
        params = dict(err.params)
        if isinstance(params.get("arg"), str):  # an argument's label, e.g. "time" -> "Zeitpunkt"
            params["arg"] = ctx.t("arg." + params["arg"]) if self.i18n.has(ctx.lang, "arg." + params["arg"]) \
                else params["arg"]
        message = ctx.t(err.key, **params)
        if err.usage:
            message += "\n" + ctx.t("help.usage_line", usage=self.usage(cmd, ctx.lang))
        await ctx.reply_rich(plain(message))

    def usage(self, cmd: Command, lang: str) -> str:
        return usage(cmd, cmd.shown_name(lang), lambda label: self.i18n.t(lang, "arg." + label))

    async def _check_allowed(self, cmd: Command, ctx: Ctx) -> None:
        if cmd.where == "dm" and not ctx.is_dm:
            raise UserError("error.dm_only", usage=False)
        if cmd.where == "room" and ctx.is_dm:
            raise UserError("error.room_only", usage=False)
        if cmd.who == "organiser" and not await ctx.is_organiser():
            raise UserError("error.organisers_only", usage=False)
