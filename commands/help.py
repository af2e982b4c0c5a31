"""!help / !hilfe: the command list and per-command usage, generated from the declarations."""
from __future__ import annotations

from bot.errors import UserError
from bot.feature import Ctx, Feature
from bot.grammar import Text, command
from bot.render import Rich, bold, code, fmt, lines, plain


class Help(Feature):
    name = "help"

    def __init__(self) -> None:
        self.registry = None
        self.usage = None
        self._lists: dict[str, Rich] = {}  # language -> the command list (the registry is fixed after bind)

    def bind(self, registry, usage) -> None:
        """The registry exists only after all features are built."""
        self.registry, self.usage = registry, usage
        self._lists.clear()

    @command("help", aliases=["hilfe"])
    async def help(self, ctx: Ctx, topic: Text = None):
        if topic:
            cmd = self.registry.find(topic)
            if cmd is None:
                raise UserError("help.unknown", topic=topic, usage=False)
            other = cmd.shown_name("de" if ctx.lang == "en" else "en")
            parts = [code(self.usage(cmd, ctx.lang)), plain(ctx.t("help." + cmd.key))]
            if other != cmd.shown_name(ctx.lang):  # "!alt" has one name only
                parts.append(plain(ctx.t("help.also", name="!" + other)))
            await ctx.reply_rich(lines(parts))
            return
        if ctx.lang not in self._lists:
            entries = [fmt("{name} – {text}", name=bold("!" + cmd.shown_name(ctx.lang)),
                           text=ctx.t("help." + cmd.key))
                       for cmd in sorted(self.registry.commands, key=lambda c: c.name)]
            self._lists[ctx.lang] = lines([plain(ctx.t("help.header")), *entries, plain(ctx.t("help.footer"))])
        await ctx.reply_rich(self._lists[ctx.lang])
