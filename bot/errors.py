"""The one error path: UserError carries a translation key and is the only text users see."""
from __future__ import annotations

import secrets
from typing import Any


class UserError(Exception):
    """Bad input or a refused action. `key` is a message-catalogue id, `params` fill it in.

    The dispatcher translates it into the room's language and appends the usage line
    of the command at hand, unless `usage=False`.
    """

    def __init__(self, key: str, *, usage: bool = True, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.usage = usage


class TooLarge(UserError):
    """An event would not fit into one Matrix event (bot.eventsize.CONTENT_BUDGET): the input is refused."""

    def __init__(self, needed: int, limit: int) -> None:
        # the share to cut, rounded up, so "shorten it by about N %" is enough
        percent = max(1, -(-(needed - limit) * 100 // needed))
        super().__init__("error.too_large", usage=False, limit=limit, needed=needed, percent=percent)
        self.needed, self.limit = needed, limit


def error_ref() -> str:
    """A short reference id that ties a log line to the 'internal error' reply."""
    return secrets.token_hex(4)
