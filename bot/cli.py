"""The `plenum` command: run, check-config, demo, crypto, migrate-db."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot import crypto_cli
from bot.config import Config, ConfigError, database_url, load_config
from bot.crosssign import read_status


class SecretFilter(logging.Filter):
    """Replaces every configured secret in log records with ***, whatever logged it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "***")
                record.msg, record.args = message, None
        return True


def config_secrets(config: Config) -> list[str]:
    found = []
    for secret in (config.matrix.password, config.matrix.access_token):
        if secret is not None:
            found.append(secret.get_secret_value())
    found += [a.access_token.get_secret_value() for a in config.mastodon if a.access_token is not None]
    url = database_url(config)
    if url:  # the whole URL and, separately, its password
        from urllib.parse import urlsplit

        found += [url, urlsplit(url).password or ""]
    return found


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # libraries that would log request or statement values (user ids, report texts) at DEBUG
    for noisy in ("nio", "aiohttp", "urllib3", "peewee", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as err:
        for problem in err.problems:
            print(problem)
        return 1
    print(f"ok: {config.matrix.user_id} on {config.matrix.homeserver}, {len(config.mastodon)} Mastodon account(s)")
    url = database_url(config)
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        print(f"database: PostgreSQL {parts.hostname or '(local socket)'}/{parts.path.strip('/')}"
              " (active/standby: run two instances with this config)")
    else:
        print(f"database: SQLite {config.bot.data_dir / 'plenum.db'}")
    crypto = read_status(config.bot.data_dir)  # what the bot's last start found (bot/crosssign.py)
    if config.matrix.cross_signing and crypto is not None and crypto.get("state") != "signed":
        print(f"crypto: {crypto.get('detail')}")
    return 0


async def _run(config: Config) -> None:
    from bot.runner import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_bot(config, stop)


def config_or_problems(path) -> Config | None:
    """The config at path, or None after one line per problem on stderr (for commands that run the bot)."""
    try:
        return load_config(path)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_run(args: argparse.Namespace) -> int:
    config = config_or_problems(args.config)
    if config is None:
        return 1
    setup_logging(args.log_level or config.bot.log_level, config_secrets(config))
    from bot.runner import SteppedDown

    try:
        asyncio.run(_run(config))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were up (during login): a clean stop too
        logging.getLogger("plenum").info("stopped")
    except SteppedDown as exc:  # a supervisor (systemd Restart=always) starts it again, as the standby
        logging.getLogger("plenum").error("stepped down: %s", exc)
        return 3
    except Exception as exc:  # noqa: BLE001 - one line, no traceback with secrets in it
        logging.getLogger("plenum").error("fatal: %s", exc)
        return 2
    return 0


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """Copy a stopped SQLite installation into an empty PostgreSQL database (storage/copy.py)."""
    setup_logging("WARNING", [args.to])
    if not args.source.startswith("sqlite:"):
        print("--from must be sqlite:PATH (the plenum.db of the stopped installation)", file=sys.stderr)
        return 2
    if not args.to.startswith(("postgresql://", "postgres://")):
        print("--to must be a postgresql:// URL", file=sys.stderr)
        return 2
    path = Path(args.source.removeprefix("sqlite:")).expanduser()
    if not path.is_file():
        print(f"no SQLite database at {path}", file=sys.stderr)
        return 2
    try:
        counts = asyncio.run(_migrate_db(path, args.to))
    except Exception as exc:  # noqa: BLE001 - one line, the URL's password filtered by the log filter
        print(f"migrate-db failed, nothing was copied: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for table, n in counts.items():
        print(f"{table}: {n}")
    print(f"ok: {sum(counts.values())} rows in {len(counts)} tables copied and counted; set [database] url and start")
    return 0


async def _migrate_db(path: Path, url: str) -> dict[str, int]:
    from bot.crypto_state import CryptoState
    from storage.copy import copy_database
    from storage.db import Database
    from storage.pg import PgDatabase
    from storage.schema import REGISTRY

    source, target = Database(path), PgDatabase(url)
    await source.open()
    try:
        await target.open()
        try:
            # the encryption state next to plenum.db goes along (device, nio store, cross-signing keys)
            return await copy_database(source, target, REGISTRY, extra=CryptoState(target, path.parent).save)
        finally:
            await target.close()
    finally:
        await source.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    setup_logging(args.log_level or "INFO", [])
    return run_demo(Path(args.data), args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plenum", description="Matrix bot for local political groups")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot until SIGINT/SIGTERM")
    run.add_argument("--config", required=True, type=Path)
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    check = sub.add_parser("check-config", help="validate a config file")
    check.add_argument("--config", required=True, type=Path)
    demo = sub.add_parser("demo", help="local homeserver, Mastodon test server, bot and demo rooms")
    demo.add_argument("--data", default=os.environ.get("PLENUM_DEMO_DIR", ".plenum-demo"))
    demo.add_argument("--port", type=int, default=8008, help="homeserver port on 127.0.0.1")
    demo.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    migrate = sub.add_parser("migrate-db", help="copy a stopped SQLite installation into PostgreSQL")
    migrate.add_argument("--from", dest="source", required=True, help="sqlite:PATH to plenum.db")
    migrate.add_argument("--to", required=True, help="postgresql://user@host/db (an empty database)")
    crypto_cli.add_parser(sub)
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "check-config": cmd_check_config, "demo": cmd_demo, "crypto": crypto_cli.run,
                "migrate-db": cmd_migrate_db}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
