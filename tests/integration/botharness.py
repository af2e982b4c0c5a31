"""Runs the real bot as a subprocess (`python -m bot run`) against the test Synapse, so tests can
stop it, kill -9 it and restart it exactly as a host would."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import backend
from tests.integration.conftest import unique

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, synapse, workdir: Path, *, admins: list[str] = (), mastodon: list[dict] | None = None,
                 bot_settings: dict | None = None, database_url: str | None = None,
                 twin_of: "BotProcess | None" = None) -> None:
        """database_url: [database] url (default: a database of this workdir with --db=postgres, else SQLite);
        twin_of: the same account and database on a data_dir of its own (a standby on another machine)."""
        self.synapse = synapse
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if twin_of is not None:
            self.password, self.user_id = twin_of.password, twin_of.user_id
            database_url = twin_of.database_url
        else:
            self.password = "bot-" + unique("pw")
            user = synapse.register_user(unique("plenum"), self.password)
            self.user_id = user.user_id
        self.database_url = database_url if database_url is not None else backend.database_url(workdir)
        self.log_path = workdir / "bot.log"
        self.config_path = workdir / "config.toml"
        lines = [
            "[matrix]", f'homeserver = "{synapse.base_url}"', f'user_id = "{self.user_id}"',
            f'password = "{self.password}"',
            "[bot]", f'data_dir = "{workdir / "data"}"', 'language = "de"',
            "admins = [" + ", ".join(f'"{a}"' for a in admins) + "]",
        ]
        for key, value in (bot_settings or {}).items():
            lines.append(f"{key} = {value!r}".replace("'", '"'))
        if self.database_url:
            lines += ["[database]", f'url = "{self.database_url}"']
        for account in mastodon or []:
            lines.append("[[mastodon]]")
            lines += [f'{k} = "{v}"' for k, v in account.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None
        self._log_offset = 0

    def start(self, timeout: float = 60, until: str = "ready:") -> None:
        """Start and wait until the log says `until` ("ready:", or "standby:" for a standby)."""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(self.config_path), "--log-level", "INFO"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until in self.new_log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("bot exited during start:\n" + self.new_log()[-3000:])
            time.sleep(0.05)
        raise RuntimeError("bot did not become ready:\n" + self.new_log()[-3000:])

    def new_log(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(self._log_offset)
            return fh.read().decode(errors="replace")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def bot_factory(synapse, tmp_path):
    """make(admins=[...], ...) -> a started BotProcess; all are stopped at teardown."""
    made: list[BotProcess] = []

    def make(*, start: bool = True, **kw) -> BotProcess:
        bot = BotProcess(synapse, tmp_path / f"bot{len(made)}", **kw)
        made.append(bot)
        if start:
            bot.start()
        return bot

    yield make
    for bot in made:
        if bot.running():
            bot.stop()
