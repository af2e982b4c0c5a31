"""!help / !hilfe: a short overview by capability, one group or one command in detail, and answers to
bare group words (`!dienst`) and near-misses (`!hlife` -> "did you mean !hilfe?")."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Command, Text, close_enough, command
from bot.render import Rich, bold, code, fmt, lines, plain

# capability -> the features whose commands it lists (a feature not named here falls into "more")
GROUPS: dict[str, tuple[str, ...]] = {
    "polls": ("polls", "meetings", "decisions"),
    "duties": ("duties", "duty_turns", "duty_swaps", "duty_stats", "away", "welcome"),
    "safespace": ("safespace", "awareness", "speakers"),  # PRODUCT.md: the quota list is a FINTA* tool
    "posts": ("posts",),
    "room": ("rooms", "help"),
    "privacy": ("privacy",),
}
# the few commands the overview names for each group, in this order, where the asker may use them
HEADLINES: dict[str, tuple[str, ...]] = {
    "polls": ("meeting", "poll", "consensus", "vote", "results", "decisions"),
    "duties": ("duties", "duty plan", "duty join", "duty swap", "away"),
    "safespace": ("safespace", "report", "rules", "speak", "answer"),
    "posts": ("post", "approve", "posts"),
    "room": ("room", "room language"),
    "privacy": ("mydata", "forget"),
}
# words that name a group after !hilfe (and bare, as !dienst); they win over a command of the same name
GROUP_WORDS = {
    **dict.fromkeys(("termine", "termin", "abstimmungen", "umfragen", "polls", "meetings", "votes", "voting"), "polls"),
    **dict.fromkeys(("dienste", "dienst", "duties", "duty", "aufgaben"), "duties"),
    **dict.fromkeys(("schutzräume", "schutzraeume", "schutzraum", "safespace", "safespaces", "awareness", "finta"),
                    "safespace"),
    **dict.fromkeys(("ankündigungen", "ankuendigungen", "beiträge", "beitraege", "mastodon", "fediverse",
                     "announcements", "posts"), "posts"),
    **dict.fromkeys(("raum", "room", "räume", "raeume", "rooms", "rollen", "roles"), "room"),
    **dict.fromkeys(("daten", "datenschutz", "privacy", "data"), "privacy"),
}
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


def sort_key(name: str) -> str:
    """Names in the order a German or English reader expects (umlauts beside their vowel)."""
    return name.casefold().translate(_FOLD)


class Topic(Text):
    label = "topic"


@dataclass(frozen=True)
class Hint:
    """What to say to a message that names no command: a group to list, or a command meant."""

    group: str | None = None
    meant: Command | None = None
    spelling: str = ""


class Help(Feature):
    name = "help"

    def __init__(self) -> None:
        self.registry = None
        self.usage = None
        self._group_of: dict[int, str] = {}

    def bind(self, registry, usage) -> None:
        """The registry exists only after all features are built."""
        self.registry, self.usage = registry, usage
        owners = {feature: group for group, features in GROUPS.items() for feature in features}
        self._group_of = {id(cmd): owners.get(cmd.owner.name, "more") for cmd in registry.commands}

    def group(self, cmd: Command) -> str:
        return self._group_of.get(id(cmd), "more")

    def commands_of(self, group: str) -> list[Command]:
        """A capability's commands; the room topic also shows every role, e.g. !raum schutzraum."""
        return [c for c in self.registry.commands
                if self.group(c) == group or (group == "room" and c.name.split()[0] == "room")]

    # ------------------------------------------------------------------ the command
    @command("help", aliases=["hilfe"])
    async def help(self, ctx: Ctx, topic: Topic = None):
        if not topic:
            await ctx.reply_rich(await self.overview(ctx))
            return
        words = topic.lstrip("!").split()
        group = GROUP_WORDS.get(" ".join(words).casefold())
        if group:
            await ctx.reply_rich(await self.listing(ctx, group))
            return
        cmd = self.registry.find(topic)
        if cmd is None:
            hint = self.hint(words)
            if hint and hint.meant:
                raise UserError("help.unknown_meant", topic=topic, meant="!" + hint.spelling, usage=False)
            raise UserError("help.unknown", topic=topic, usage=False)
        other = cmd.shown_name("de" if ctx.lang == "en" else "en")
        parts = [code(self.usage(cmd, ctx.lang)), plain(ctx.t("help." + cmd.key))]
        if other != cmd.shown_name(ctx.lang):  # "!alt" has one name only
            parts.append(plain(ctx.t("help.also", name="!" + other)))
        await ctx.reply_rich(lines(parts))

    async def _may(self, ctx: Ctx, cmd: Command) -> bool:
        return cmd.who != "organiser" or await ctx.is_organiser()

    async def overview(self, ctx: Ctx) -> Rich:
        """One line per capability, those the asker can use first (issue: at most 2 KB)."""
        rows = []
        for group, headlines in HEADLINES.items():
            found = [c for name in headlines if (c := self.registry.find(name)) is not None]
            usable = [c for c in found if await self._may(ctx, c)]
            names = ", ".join("!" + c.shown_name(ctx.lang) for c in (usable or found))
            rows.append((not usable, fmt("{title} – {names}", title=bold(ctx.t("help.group." + group)), names=names)))
        rows.sort(key=lambda r: r[0])  # stable: the capabilities' own order within each kind
        return lines([plain(ctx.t("help.header")), *(row for _, row in rows), plain(ctx.t("help.footer"))])

    async def listing(self, ctx: Ctx, group: str) -> Rich:
        """Every command of one capability: what the asker may use first, names sorted in the room's language."""
        entries = []
        for cmd in self.commands_of(group):
            entries.append((not await self._may(ctx, cmd), sort_key(cmd.shown_name(ctx.lang)), cmd))
        entries.sort(key=lambda e: e[:2])
        parts: list[Rich | str] = [bold(ctx.t("help.group." + group)), plain(ctx.t("help.group." + group + ".text"))]
        for organisers_only, _, cmd in entries:
            text = ctx.t("help." + cmd.key) + (" " + ctx.t("help.organisers_only") if organisers_only else "")
            parts.append(fmt("{usage} – {text}", usage=code(self.usage(cmd, ctx.lang)), text=text))
        return lines(parts)

    # ------------------------------------------------------------------ words that are no command
    def hint(self, words: list[str]) -> Hint | None:
        """Pure and cheap (runs for every '!word' in a shared room): a group word or a near-miss."""
        if not words:
            return None
        return self._hint(tuple(w.casefold() for w in words[:2]))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Help per app, and its registry never changes
    def _hint(self, lowered: tuple[str, ...]) -> Hint | None:
        return (self._near(" ".join(lowered), 2) if len(lowered) == 2 else None) or (  # "dienst tauschn"
            Hint(group=GROUP_WORDS[lowered[0]]) if lowered[0] in GROUP_WORDS else self._near(lowered[0], 1))

    def _near(self, typed: str, size: int) -> Hint | None:
        for cmd in self.registry.commands:
            for name in cmd.names:
                if len(name) == size and close_enough(typed, " ".join(name)):
                    return Hint(meant=cmd, spelling=" ".join(name))
        return None

    async def answer(self, ctx: Ctx, hint: Hint) -> None:
        if hint.meant is not None:
            await ctx.reply("help.did_you_mean", command="!" + hint.spelling)
        else:
            await ctx.reply_rich(await self.listing(ctx, hint.group or "more"))
