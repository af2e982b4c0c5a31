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
from typing import Any

from bot.errors import UserError, error_ref
from bot.feature import Ctx, Feature, Permissions
from bot.grammar import Command, bind, check_characters, split_body, usage
from bot.i18n import I18n
from bot.messenger import Messenger
from bot.names import Names
from bot.ports import Chat, Clock, Incoming
from bot.render import plain
from storage.db import Database

log = logging.getLogger(__name__)

DONE, ANSWERED = "done", "answered"  # what dispatch made of a command


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
                 chat: Chat, clock: Clock, settings: DispatchSettings, language_of, is_safe_space=None) -> None:
        self.db, self.registry, self.i18n, self.messenger = db, registry, i18n, messenger
        self.perms, self.chat, self.clock, self.settings = perms, chat, clock, settings
        self.language_of = language_of  # async room_id -> its language (Voice.lang: else the default)
        self.is_safe_space = is_safe_space  # async room_id -> bool (role "safespace"); None: no safe spaces
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_window)
        self.hints = None  # commands/help.Help once bound: what to say to '!word' that names no command
        self.followups = None  # commands/awareness.Awareness once bound: a reporter writing back in a direct chat

    async def context(self, ev: Incoming, is_dm: bool) -> Ctx:
        lang = await self.language_of(ev.room_id)
        return Ctx(room_id=ev.room_id, sender=ev.sender, event_id=ev.event_id, lang=lang,
                   tz=self.settings.timezone, now=self.clock.now(), is_dm=is_dm, i18n=self.i18n,
                   messenger=self.messenger, perms=self.perms, chat=self.chat, mentions=ev.mentions,
                   reply_to=ev.reply_to, event=ev, names=Names.of(await self.chat.room_info(ev.room_id)))

    def command_text(self, body: str, is_dm: bool) -> str | None:
        text = body.strip()
        if text.startswith("!"):
            return text[1:]
        return text if is_dm and text else None

    async def prepare(self, ev: Incoming, is_dm: bool) -> Incoming | None:
        """Before the transaction, for a command: its feature's before_command, and the event it replies
        to if it reads_reply (both may call the network). A failure here only logs: the command runs."""
        text = self.command_text(ev.body, is_dm)
        cmd, _ = self.registry.lookup(text.split("\n")[0].split()) if text else (None, 0)
        # in a direct chat a reply may be a reporter writing back (Awareness.follow_up reads ctx.replied)
        wants_reply = bool(ev.reply_to) and ((cmd is not None and cmd.reads_reply) or (is_dm and
                                                                                      self.followups is not None))
        if cmd is None and not wants_reply:
            return None
        try:
            if cmd is not None:
                await cmd.owner.before_command(cmd, ev)
            if wants_reply:
                return await self.chat.get_event(ev.room_id, ev.reply_to)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - the command goes on with what it has (no picture, known limits)
            log.warning("could not prepare event %s", ev.event_id, exc_info=True)
        return None

    def named_command(self, body: str, is_dm: bool) -> Command | None:
        """The command a text names (with its `!`, or in a direct chat without), else None."""
        text = self.command_text(body, is_dm)
        return self.registry.lookup(text.split("\n")[0].split())[0] if text else None

    def parse(self, body: str, is_dm: bool) -> tuple[str, list[str], list[str], Command | None, int, Any] | None:
        """(first line, more lines, words, command, words its name used, hint) if the text is for us, else None.
        Pure (no I/O), so the pipeline asks it for every message before it opens a transaction (issue 15)."""
        text = self.command_text(body, is_dm)
        if not text:
            return None
        first, *more = text.split("\n")
        words = first.split()
        cmd, used = self.registry.lookup(words)
        hint = self.hints.hint(words) if cmd is None and self.hints is not None else None
        if cmd is None and hint is None and not is_dm:
            return None  # another bot's command in a shared room
        return first, more, words, cmd, used, hint

    async def dispatch(self, ev: Incoming, is_dm: bool, replied: Incoming | None = None) -> str | None:
        """Handle a text message: None if it was no command for us, else DONE (the command went
        through) or ANSWERED (refused, an error, unknown, too late: an edit may still fix it)."""
        parsed = self.parse(ev.body, is_dm)
        if parsed is None:
            return None
        first, more, words, cmd, used, hint = parsed
        text = "\n".join([first, *more])
        # old messages and floods get no answer, also not "unknown command"
        if self.clock.now() - ev.ts > self.settings.catch_up:
            log.info("not answering command %s in %s: older than the catch-up window (%d min)",
                     ev.event_id, ev.room_id, self.settings.catch_up.total_seconds() // 60)
            return ANSWERED
        verdict = self.limiter.check(ev.sender)
        ctx = await self.context(ev, is_dm)
        ctx.replied = replied
        if verdict != "ok":
            if verdict == "warn":
                await ctx.reply("error.rate_limited", seconds=int(self.settings.rate_window))
            return ANSWERED
        try:
            check_characters(text)  # first: even "unknown command" would repeat the broken text
        except UserError as err:
            await ctx.reply(err.key)
            return ANSWERED
        # in a direct chat, what a reporter writes back to the awareness team (not a typed !command)
        if (is_dm and self.followups is not None and not ev.body.lstrip().startswith("!")
                and await self.followups.follow_up(ctx, ev, named_command=cmd is not None)):
            return DONE
        if cmd is None:
            if hint is not None:  # a bare group word (!dienst) or a near-miss (!hlife)
                await self.hints.answer(ctx, hint)
            else:
                await ctx.reply("error.unknown_command", command=" ".join(words[:2]))
            return ANSWERED
        ctx.command = cmd
        rest = first.split(None, used)[used] if len(first.split(None, used)) > used else ""
        try:
            async with self.db.savepoint():
                await self._check_allowed(cmd, ctx)
                kwargs = await bind(cmd, ctx, split_body(rest, more, cmd, ctx.lang))
                await cmd.func(cmd.owner, ctx, **kwargs)
        except UserError as err:
            await self.reply_error(ctx, cmd, err)
        except Exception:  # noqa: BLE001 - the one place that turns crashes into a polite reply
            ref = error_ref()
            log.exception("internal error ref=%s in command %s (event %s)", ref, cmd.name, ev.event_id)
            await ctx.reply_rich(ctx.rich("error.internal", ref=ref))  # ref= of reply() names the outbox row
        else:
            return DONE
        return ANSWERED

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
        return usage(cmd, cmd.shown_name(lang), lambda label: self.i18n.t(lang, "arg." + label), lang)

    async def _check_allowed(self, cmd: Command, ctx: Ctx) -> None:
        if cmd.where == "dm" and not ctx.is_dm:  # a command may say why, and how to reach the direct chat
            key = "error.dm_only." + cmd.key
            raise UserError(key if self.i18n.has(ctx.lang, key) else "error.dm_only", usage=False,
                            bot=f"https://matrix.to/#/{ctx.chat.own_user_id}")
        if cmd.where == "room" and ctx.is_dm:
            raise UserError("error.room_only", usage=False)
        if cmd.stores_text and self.is_safe_space is not None and await self.is_safe_space(ctx.room_id):
            raise UserError("error.stores_text_in_safe_space", usage=False)
        if cmd.who == "organiser" and not await ctx.is_organiser():
            raise UserError("error.organisers_only", usage=False)
