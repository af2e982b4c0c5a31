"""The config file (TOML) as frozen dataclasses: unknown keys are errors, secrets may come from the environment.

Checked by hand rather than with pydantic: the config is read once at start, and pydantic with
these models cost 8.9 MB resident for the life of the process (bench/README.md, issue 15).
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MXID = re.compile(r"^@[^:\s]+:[^\s]+$")
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class SecretStr:
    """A secret that never shows in repr, str or logs; get_secret_value() gives it out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "plenum"
    cross_signing: bool = True  # sign the bot's device with its own identity, so Element trusts it


@dataclass(frozen=True)
class BotConfig:
    data_dir: Path = Path("data")
    language: Literal["de", "en"] = "de"
    timezone: str = "Europe/Berlin"
    admins: list[str] = field(default_factory=list)
    approvals_required: int = 1
    catch_up_minutes: int = 15
    grace_minutes: int = 60  # late scheduled work runs at start within this
    rate_limit: int = 10  # commands per user per rate_window_seconds
    rate_window_seconds: int = 10
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass(frozen=True)
class MastodonAccount:
    name: str
    api_base_url: str
    access_token: SecretStr | None = None
    poll_seconds: int = 120  # how often mentions are fetched


@dataclass(frozen=True)
class DatabaseConfig:
    """Absent (or no url): SQLite in data_dir. A postgresql:// url: PostgreSQL, and active/standby."""
    url: SecretStr | None = None  # may carry a password: a secret, also from PLENUM_DATABASE_URL


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    bot: BotConfig = field(default_factory=BotConfig)
    mastodon: list[MastodonAccount] = field(default_factory=list)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ------------------------------------------------------------------ value checks (raise ValueError)
Check = Callable[[Any], Any]


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("must be a string")
    return v


def _secret(v: Any) -> SecretStr:
    return SecretStr(_str(v))


def _http_url(v: Any) -> str:
    if not _str(v).startswith(("http://", "https://")):
        raise ValueError("must start with https:// (or http:// for a local test server)")
    return v.rstrip("/")


def _mxid(v: Any) -> str:
    if not _MXID.match(_str(v)):
        raise ValueError("must look like @name:server")
    return v


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
        return v.strip().lower() in ("true", "yes", "1", "on")  # as pydantic read it: "false" is False
    raise ValueError("must be true or false")


def _int(lo: int | None = None, hi: int | None = None) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, str) and v.strip().lstrip("-").isdecimal() and v.strip().isascii():
            v = int(v)  # "10" in quotes, as pydantic accepted it
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError("must be a whole number")
        if lo is not None and v < lo:
            raise ValueError(f"must be at least {lo}")
        if hi is not None and v > hi:
            raise ValueError(f"must be at most {hi}")
        return v
    return check


def _one_of(*options: str) -> Check:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError("must be one of " + ", ".join(repr(o) for o in options))
        return v
    return check


def _timezone(v: Any) -> str:
    try:
        ZoneInfo(_str(v))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r}, e.g. Europe/Berlin") from None
    return v


def _admins(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
        raise ValueError("must be a list of Matrix user ids")
    bad = [a for a in v if not _MXID.match(a)]
    if bad:
        raise ValueError("not Matrix user ids: " + ", ".join(bad))
    return list(v)


def _database_url(v: Any) -> SecretStr:
    from urllib.parse import urlsplit

    text = _str(v)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("is not a URL, e.g. postgresql://plenum@db.example/plenum") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must start with postgresql:// (leave [database] out for SQLite in data_dir)")
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise ValueError("names no database, e.g. postgresql://plenum@db.example/plenum")
    return SecretStr(text)


def _account_name(v: Any) -> str:
    if not _ACCOUNT_NAME.match(_str(v)):
        raise ValueError("may contain only letters, digits, _ and -")
    return v


MATRIX: dict[str, Check] = {"homeserver": _http_url, "user_id": _mxid, "password": _secret,
                            "access_token": _secret, "device_name": _str, "cross_signing": _bool}
BOT: dict[str, Check] = {
    "data_dir": lambda v: Path(_str(v)), "language": _one_of("de", "en"), "timezone": _timezone,
    "admins": _admins, "approvals_required": _int(0, 5), "catch_up_minutes": _int(0), "grace_minutes": _int(0),
    "rate_limit": _int(1), "rate_window_seconds": _int(1), "log_level": _one_of("DEBUG", "INFO", "WARNING", "ERROR"),
}
DATABASE: dict[str, Check] = {"url": _database_url}
MASTODON: dict[str, Check] = {"name": _account_name, "api_base_url": _http_url, "access_token": _secret,
                              "poll_seconds": _int(10)}


def _table(raw: Any, where: str, checks: dict[str, Check], required: tuple[str, ...],
           problems: list[str]) -> dict[str, Any] | None:
    """The checked values of one table; None (and problems) if anything in it is wrong."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table")
        return None
    before = len(problems)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in checks:
            problems.append(f"{where}.{key}: unknown key")
            continue
        try:
            values[key] = checks[key](value)
        except ValueError as exc:
            problems.append(f"{where}.{key}: {exc}")
    for key in required:
        if key not in raw:
            problems.append(f"{where}.{key}: field required")
    return values if len(problems) == before else None


def _validate(raw: dict[str, Any]) -> Config:
    problems: list[str] = []
    for key in raw:
        if key not in ("matrix", "bot", "mastodon", "database"):
            problems.append(f"{key}: unknown key")
    matrix = bot = None
    if "matrix" not in raw:
        problems.append("matrix: field required")
    else:
        values = _table(raw["matrix"], "matrix", MATRIX, ("homeserver", "user_id"), problems)
        if values is not None:
            matrix = MatrixConfig(**values)
            if matrix.password is None and matrix.access_token is None:
                problems.append("matrix: needs password or access_token (or PLENUM_MATRIX_PASSWORD / "
                                "PLENUM_MATRIX_ACCESS_TOKEN)")
    values = _table(raw.get("bot", {}), "bot", BOT, (), problems)
    if values is not None:
        bot = BotConfig(**values)
    database = _table(raw.get("database", {}), "database", DATABASE, (), problems)
    accounts: list[MastodonAccount] = []
    listed = raw.get("mastodon", [])
    if not isinstance(listed, list):
        problems.append("mastodon: must be a list of [[mastodon]] tables")
        listed = []
    for i, item in enumerate(listed):
        values = _table(item, f"mastodon.{i}", MASTODON, ("name", "api_base_url"), problems)
        if values is None:
            continue
        account = MastodonAccount(**values)
        if account.access_token is None:
            problems.append(f"mastodon.{i}: needs access_token (or PLENUM_MASTODON_{account.name.upper()}_TOKEN)")
        accounts.append(account)
    names = [a.name for a in accounts]
    if len(names) != len(set(names)):
        problems.append("mastodon: account names must be unique")
    if problems or matrix is None or bot is None or database is None:
        raise ConfigError(problems)
    return Config(matrix=matrix, bot=bot, mastodon=accounts, database=DatabaseConfig(**database))


def apply_env(raw: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Fill secrets from PLENUM_MATRIX_PASSWORD, PLENUM_MATRIX_ACCESS_TOKEN, PLENUM_MASTODON_<NAME>_TOKEN,
    PLENUM_DATABASE_URL."""
    if env.get("PLENUM_DATABASE_URL"):
        database = raw.setdefault("database", {})
        if isinstance(database, dict):
            database["url"] = env["PLENUM_DATABASE_URL"]
    matrix = raw.setdefault("matrix", {}) if isinstance(raw.get("matrix", {}), dict) else raw["matrix"]
    if isinstance(matrix, dict):
        if env.get("PLENUM_MATRIX_PASSWORD"):
            matrix["password"] = env["PLENUM_MATRIX_PASSWORD"]
        if env.get("PLENUM_MATRIX_ACCESS_TOKEN"):
            matrix["access_token"] = env["PLENUM_MATRIX_ACCESS_TOKEN"]
    for account in raw.get("mastodon", []) if isinstance(raw.get("mastodon"), list) else []:
        if isinstance(account, dict) and isinstance(account.get("name"), str):
            token = env.get(f"PLENUM_MASTODON_{account['name'].upper()}_TOKEN")
            if token:
                account["access_token"] = token
    return raw


def parse_config(text: str, env: dict[str, str] | None = None, base_dir: Path | None = None) -> Config:
    """Parse TOML text into a Config, or raise ConfigError with one line per problem naming the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"toml: {exc}"]) from None
    raw = apply_env(raw, dict(os.environ) if env is None else env)
    config = _validate(raw)
    return _resolve(config, base_dir)


def _resolve(config: Config, base_dir: Path | None) -> Config:
    if base_dir is not None and not config.bot.data_dir.is_absolute():
        bot = dataclasses.replace(config.bot, data_dir=(base_dir / config.bot.data_dir).resolve())
        config = dataclasses.replace(config, bot=bot)
    return config


def database_url(config: Config) -> str | None:
    return config.database.url.get_secret_value() if config.database.url is not None else None


def load_config(path: Path | str, env: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"config: cannot read {path}: {exc.strerror}"]) from None
    return parse_config(text, env, base_dir=path.parent)
