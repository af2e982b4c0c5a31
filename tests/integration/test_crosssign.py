"""The bot's own cross-signing identity on a real Synapse: signed device, kept across restarts, never reset silently."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import backend
from tests.integration.botharness import ROOT, bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import unique
from tests.integration.identity import verified_identity


def device_id(bot) -> str:
    return json.loads((bot.workdir / "data" / "device.json").read_text())["device_id"]


def crypto(bot, *args: str, stdin: str = "", config=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "crypto", *args, "--config", str(config or bot.config_path)],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=60)


def test_device_is_cross_signed_and_stays_so_across_restarts(synapse, bot_factory):
    observer = synapse.register_user(unique("observer"), "pw-observer")
    bot = bot_factory()
    master = verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot))
    keys_file = bot.workdir / "data" / "cross_signing.json"
    assert keys_file.stat().st_mode & 0o777 == 0o600
    first_device = device_id(bot)
    bot.stop()
    bot.start()
    assert device_id(bot) == first_device
    assert verified_identity(synapse, observer.access_token, bot.user_id, first_device) == master
    bot.kill()
    bot.start()
    assert verified_identity(synapse, observer.access_token, bot.user_id, first_device) == master
    assert "created a new identity" not in bot.new_log()


@pytest.mark.skipif(backend.postgres(), reason="keys lost from data_dir and `plenum crypto` changing them are"
                    " SQLite-mode; with PostgreSQL the keys are in the database and the crypto CLI refuses (issue 14)")
def test_lost_keys_are_never_reset_and_the_recovery_key_takes_over(synapse, bot_factory):
    observer = synapse.register_user(unique("observer"), "pw-observer")
    bot = bot_factory()
    master = verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot))
    exported = crypto(bot, "export-recovery-key")
    assert exported.returncode == 0, exported.stderr
    recovery_key = next(line.strip() for line in exported.stdout.splitlines() if line.startswith("    "))
    again = crypto(bot, "export-recovery-key")
    assert recovery_key in again.stdout  # the same key each time, not a new secret storage
    bot.stop()

    (bot.workdir / "data" / "cross_signing.json").unlink()
    bot.start()
    log = bot.new_log()
    assert "already has a cross-signing identity (master key " + master in log and "plenum crypto restore" in log
    assert verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot)) == master  # no reset
    status = crypto(bot, "status")
    assert status.returncode == 1 and "does not hold" in status.stdout and master in status.stdout
    check = subprocess.run([sys.executable, "-m", "bot", "check-config", "--config", str(bot.config_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "crypto: " in check.stdout and "plenum crypto restore" in check.stdout
    bot.stop()

    # a new installation (fresh data_dir, same account) takes over the identity with the recovery key
    fresh = bot_factory(start=False)
    fresh.user_id = bot.user_id
    fresh.config_path.write_text(bot.config_path.read_text().replace(str(bot.workdir / "data"),
                                                                     str(fresh.workdir / "data")))
    wrong = crypto(fresh, "restore", stdin=recovery_key[:-2] + ("zz" if not recovery_key.endswith("zz") else "yy"))
    assert wrong.returncode == 2 and "recovery key" in wrong.stderr
    restored = crypto(fresh, "restore", stdin=recovery_key + "\n")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert master in restored.stdout
    fresh.start()
    assert device_id(fresh) != device_id(bot)
    assert verified_identity(synapse, observer.access_token, bot.user_id, device_id(fresh)) == master
    assert "does not hold" not in fresh.new_log()
    status = crypto(fresh, "status")
    assert status.returncode == 0 and status.stdout.startswith("cross-signed: yes") and master in status.stdout
    assert "recovery key: exported" in status.stdout


@pytest.mark.skipif(backend.postgres(), reason="keys lost from data_dir and `plenum crypto` changing them are"
                    " SQLite-mode; with PostgreSQL the keys are in the database and the crypto CLI refuses (issue 14)")
def test_reset_identity_asks_first_then_replaces_the_identity(synapse, bot_factory):
    observer = synapse.register_user(unique("observer"), "pw-observer")
    bot = bot_factory()
    old = verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot))
    bot.stop()
    (bot.workdir / "data" / "cross_signing.json").unlink()
    refused = crypto(bot, "reset-identity", stdin="no\n")
    assert refused.returncode == 1 and "nothing changed" in refused.stdout
    assert verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot)) == old
    token = json.loads((bot.workdir / "data" / "device.json").read_text())["access_token"]
    token_only = bot.workdir / "token-only.toml"
    token_only.write_text(bot.config_path.read_text().replace(f'password = "{bot.password}"',
                                                              f'access_token = "{token}"'))
    no_password = crypto(bot, "reset-identity", "--yes", config=token_only)  # Synapse's UIA needs the password
    assert no_password.returncode == 2 and "wants the account's password" in no_password.stderr
    assert "_allow_cross_signing_replacement_without_uia" in no_password.stderr and token not in no_password.stderr
    assert not (bot.workdir / "data" / "cross_signing.pending.json").exists()
    assert verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot)) == old
    reset = crypto(bot, "reset-identity", "--yes")  # with the password configured, UIA is answered
    assert reset.returncode == 0, reset.stdout + reset.stderr
    new = verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot))
    assert new != old and new.split(":", 1)[1] in reset.stdout
    bot.start()
    assert verified_identity(synapse, observer.access_token, bot.user_id, device_id(bot)) == new
    assert "does not hold" not in bot.new_log()
