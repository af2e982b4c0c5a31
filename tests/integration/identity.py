"""A user's cross-signing identity as another user sees it on the homeserver, checked with signedjson."""
from __future__ import annotations

import json
import urllib.request

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64


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
