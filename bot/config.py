"""The config file (TOML) as pydantic models: unknown keys are errors, secrets may come from the environment."""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

_MXID = re.compile(r"^@[^:\s]+:[^\s]+$")


def _http_url(v: str) -> str:
    if not v.startswith(("http://", "https://")):
        raise ValueError("must start with https:// (or http:// for a local test server)")
    return v.rstrip("/")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatrixConfig(_Strict):
    homeserver: str
    user_id: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "plenum"
    cross_signing: bool = True  # sign the bot's device with its own identity, so Element trusts it

    @field_validator("homeserver")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)

    @field_validator("user_id")
    @classmethod
    def _mxid(cls, v: str) -> str:
        if not _MXID.match(v):
            raise ValueError("must look like @name:server")
        return v

    @model_validator(mode="after")
    def _secret(self) -> "MatrixConfig":
        if self.password is None and self.access_token is None:
            raise ValueError("needs password or access_token (or PLENUM_MATRIX_PASSWORD / PLENUM_MATRIX_ACCESS_TOKEN)")
        return self


class BotConfig(_Strict):
    data_dir: Path = Path("data")
    language: Literal["de", "en"] = "de"
    timezone: str = "Europe/Berlin"
    admins: list[str] = Field(default_factory=list)
    approvals_required: int = Field(default=1, ge=0, le=5)
    catch_up_minutes: int = Field(default=15, ge=0)
    grace_minutes: int = Field(default=60, ge=0)  # late scheduled work runs at start within this
    rate_limit: int = Field(default=10, ge=1)  # commands per user per rate_window_seconds
    rate_window_seconds: int = Field(default=10, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}, e.g. Europe/Berlin") from None
        return v

    @field_validator("admins")
    @classmethod
    def _admins(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if not _MXID.match(a)]
        if bad:
            raise ValueError("not Matrix user ids: " + ", ".join(bad))
        return v


class MastodonAccount(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    api_base_url: str
    access_token: SecretStr | None = None
    poll_seconds: int = Field(default=120, ge=10)  # how often mentions are fetched

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)

    @model_validator(mode="after")
    def _token(self) -> "MastodonAccount":
        if self.access_token is None:
            raise ValueError(f"needs access_token (or PLENUM_MASTODON_{self.name.upper()}_TOKEN)")
        return self


class DatabaseConfig(_Strict):
    """Absent (or no url): SQLite in data_dir. A postgresql:// url: PostgreSQL, and active/standby."""
    url: SecretStr | None = None  # may carry a password: a secret, also from PLENUM_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        text = v.get_secret_value()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("is not a URL, e.g. postgresql://plenum@db.example/plenum") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql:// (leave [database] out for SQLite in data_dir)")
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise ValueError("names no database, e.g. postgresql://plenum@db.example/plenum")
        return v


class Config(_Strict):
    matrix: MatrixConfig
    bot: BotConfig = Field(default_factory=BotConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    mastodon: list[MastodonAccount] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_accounts(self) -> "Config":
        names = [a.name for a in self.mastodon]
        if len(names) != len(set(names)):
            raise ValueError("mastodon account names must be unique")
        return self


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {msg}")
        raise ConfigError(problems) from None
    config = _resolve(config, base_dir)
    return config


def _resolve(config: Config, base_dir: Path | None) -> Config:
    if base_dir is not None and not config.bot.data_dir.is_absolute():
        bot = config.bot.model_copy(update={"data_dir": (base_dir / config.bot.data_dir).resolve()})
        config = config.model_copy(update={"bot": bot})
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
