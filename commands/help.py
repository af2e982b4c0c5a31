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

    def _name(self, cmd, lang: str) -> str:
        return cmd.name if lang == "en" or not cmd.aliases else cmd.aliases[0]

    @command("help", aliases=["hilfe"])
    async def help(self, ctx: Ctx, topic: Text = None):
        if topic:
            cmd = self.registry.find(topic)
            if cmd is None:
                raise UserError("help.unknown", topic=topic, usage=False)
            other = cmd.aliases[0] if ctx.lang == "en" and cmd.aliases else cmd.name
            await ctx.reply_rich(lines([
                code(self.usage(cmd, ctx.lang)),
                plain(ctx.t("help." + cmd.key)),
                plain(ctx.t("help.also", name="!" + other)),
            ]))
            return
        if ctx.lang not in self._lists:
            entries = [fmt("{name} – {text}", name=bold("!" + self._name(cmd, ctx.lang)),
                           text=ctx.t("help." + cmd.key))
                       for cmd in sorted(self.registry.commands, key=lambda c: c.name)]
            self._lists[ctx.lang] = lines([plain(ctx.t("help.header")), *entries, plain(ctx.t("help.footer"))])
        await ctx.reply_rich(self._lists[ctx.lang])
