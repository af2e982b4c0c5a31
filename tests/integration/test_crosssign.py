"""The bot's own cross-signing identity on a real Synapse: signed device, kept across restarts, never reset silently."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from tests.integration.botharness import ROOT, bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import unique


def keys_query(synapse, token: str, user_id: str) -> dict:
    req = urllib.request.Request(synapse.base_url + "/_matrix/client/v3/keys/query", method="POST",
                                 data=json.dumps({"device_keys": {user_id: []}}).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _verify_key(key_obj: dict):
    (key_id, public), = key_obj["keys"].items()
    return decode_verify_key_bytes(key_id, decode_base64(public)), key_id


def verified_identity(synapse, observer_token: str, user_id: str, device_id: str) -> str:
    """Check, as another user sees it, that device <- self-signing key <- master key; return the master key id."""
    q = keys_query(synapse, observer_token, user_id)
    master, master_id = _verify_key(q["master_keys"][user_id])
    ssk_obj = q["self_signing_keys"][user_id]
    verify_signed_json(ssk_obj, user_id, master)  # raises SignatureVerifyException if not
    ssk, _ = _verify_key(ssk_obj)
    verify_signed_json(q["device_keys"][user_id][device_id], user_id, ssk)
    return master_id


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
