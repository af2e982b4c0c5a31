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


def error_ref() -> str:
    """A short reference id that ties a log line to the 'internal error' reply."""
    return secrets.token_hex(4)
