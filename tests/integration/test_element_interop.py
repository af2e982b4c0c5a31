"""Element's crypto engine (matrix-js-sdk 43 + Rust crypto, 'exclude insecure devices') against the bot.

Runs tests/integration/js/interop.mjs with Node; `npm install` is cached in that folder's
node_modules (gitignored). Skips, saying why, where Node or the npm packages cannot be had.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.crosssign import public_key
from tests.integration.botharness import ROOT, bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import unique
from tests.integration.identity import verified_identity

JS = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("Element interop test needs node (>= 20) and npm on PATH; neither was found")
    if not (JS / "node_modules" / "matrix-js-sdk" / "package.json").exists():
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=JS, capture_output=True,
                                  text=True, timeout=600)
        except subprocess.TimeoutExpired:
            pytest.skip("Element interop test: `npm install` in tests/integration/js took over 10 minutes")
        if done.returncode != 0:
            pytest.skip("Element interop test: `npm install` in tests/integration/js failed:\n" + done.stderr[-1500:])
    return node


def talk_to_bot(node: str, synapse, user, bot, timeout_ms: int) -> dict:
    env = dict(os.environ, HS_URL=synapse.base_url, USER_ID=user.user_id, ACCESS_TOKEN=user.access_token,
               DEVICE_ID=user.device_id, PASSWORD=user.password, BOT_ID=bot.user_id, TIMEOUT_MS=str(timeout_ms))
    done = subprocess.run([node, "interop.mjs"], cwd=JS, env=env, capture_output=True, text=True,
                          timeout=timeout_ms / 1000 + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, f"interop.mjs failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def make_bot(bot_factory, synapse, *, cross_signing: bool):
    user = synapse.register_user(unique("element"), "pw-element")
    bot = bot_factory(start=False, admins=[user.user_id])
    if not cross_signing:
        bot.config_path.write_text(bot.config_path.read_text().replace("[matrix]\n", "[matrix]\ncross_signing = false\n"))
    bot.start()
    return user, bot


def test_element_excluding_insecure_devices_gets_a_trusted_answer(node, synapse, bot_factory):
    user, bot = make_bot(bot_factory, synapse, cross_signing=True)
    result = talk_to_bot(node, synapse, user, bot, 60000)
    assert result["joined"] and result["replied"] and result["decrypted"], result
    assert "!hilfe" in result["body"] and "!abstimmen" in result["body"], result  # the bot's language is "de"
    assert result["shieldColour"] == "NONE" and result["shieldReason"] is None, result


def test_without_cross_signing_element_withholds_its_keys(node, synapse, bot_factory):
    """The failure issue 12 describes, so the test above is known to detect it."""
    user, bot = make_bot(bot_factory, synapse, cross_signing=False)
    result = talk_to_bot(node, synapse, user, bot, 20000)
    assert result["joined"], result
    assert not result["replied"] or result["shieldColour"] == "RED", result
    assert "could not decrypt" in bot.log_text()


def test_element_opens_the_bots_secret_storage_with_the_recovery_key(node, synapse, bot_factory):
    """What the bot stores in 4S is what Element's 'verify with recovery key' reads."""
    bot = bot_factory()
    exported = subprocess.run([sys.executable, "-m", "bot", "crypto", "export-recovery-key", "--config",
                               str(bot.config_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    recovery_key = next(line.strip() for line in exported.stdout.splitlines() if line.startswith("    "))
    local = json.loads((bot.workdir / "data" / "cross_signing.json").read_text())
    login = urllib.request.Request(synapse.base_url + "/_matrix/client/v3/login", method="POST", data=json.dumps({
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": bot.user_id},
        "password": bot.password}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(login, timeout=10) as resp:
        session = json.loads(resp.read())
    env = dict(os.environ, HS_URL=synapse.base_url, USER_ID=bot.user_id, ACCESS_TOKEN=session["access_token"],
               DEVICE_ID=session["device_id"], RECOVERY_KEY=recovery_key)
    done = subprocess.run([node, "recover.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, f"recover.mjs failed ({done.returncode}):\n{done.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert result["secretStorageReady"] and result["privateKeysInSecretStorage"], result
    assert result["privateKeysCachedLocally"] == {"masterKey": True, "selfSigningKey": True,
                                                  "userSigningKey": True}, result
    assert result["masterKey"] == public_key(local["master"]), result
    # and Element, holding the bot's keys now, signed its own new session with them
    observer = synapse.register_user(unique("observer"), "pw-observer")
    master = verified_identity(synapse, observer.access_token, bot.user_id, session["device_id"])
    assert master == "ed25519:" + public_key(local["master"])
