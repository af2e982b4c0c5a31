"""The bot's own cross-signing identity (adapter layer): keys in data_dir, upload, and signing its device.

Element trusts a device once the account has a master key, a self-signing key signed by it,
and the device keys signed by the self-signing key (shared/NOTES.md). matrix-nio 0.26 has no
cross-signing, so this talks to the homeserver itself with the bot's access token (aiohttp).

Never a silent reset: when the account already has a master key this installation does not
hold, the bot keeps working unverified and says what to do; only `plenum crypto
reset-identity` replaces an identity. Private keys are written (0600, atomically) before they
are uploaded, so a kill -9 at any point leaves either no identity or one the bot holds.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import nacl.signing
from signedjson.key import decode_signing_key_base64
from signedjson.sign import sign_json
from unpaddedbase64 import decode_base64, encode_base64

log = logging.getLogger(__name__)

KEYS_FILE = "cross_signing.json"
PENDING_FILE = "cross_signing.pending.json"  # a replacement being uploaded (reset-identity)
STATUS_FILE = "cross_signing_status.json"  # what the last login found, for check-config
USAGES = ("master", "self_signing", "user_signing")


class CrossSignError(Exception):
    """A cross-signing step failed; the message names the step and never carries a key or token."""


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON readable only by the owner, atomically: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)  # `plenum crypto restore` into a fresh data_dir
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def signing_key(seed_b64: str) -> nacl.signing.SigningKey:
    """An ed25519 key from its unpadded-base64 seed, named ed25519:<public key> for signedjson."""
    public = encode_base64(nacl.signing.SigningKey(decode_base64(seed_b64)).verify_key.encode())
    return decode_signing_key_base64("ed25519", public, seed_b64)


def public_key(seed_b64: str) -> str:
    return signing_key(seed_b64).version


@dataclass(frozen=True)
class Identity:
    """The three private cross-signing keys (unpadded base64 seeds, as 4S stores them)."""
    master: str
    self_signing: str
    user_signing: str

    @classmethod
    def generate(cls) -> "Identity":
        return cls(*(encode_base64(bytes(nacl.signing.SigningKey.generate())) for _ in USAGES))

    def seed(self, usage: str) -> str:
        return getattr(self, usage)

    def public(self, usage: str) -> str:
        return public_key(self.seed(usage))

    def key_objects(self, user_id: str) -> dict[str, dict[str, Any]]:
        """Bodies for /keys/device_signing/upload: the master key, and the others signed by it."""
        master_key = signing_key(self.master)
        out = {}
        for usage in USAGES:
            pub = self.public(usage)
            obj: dict[str, Any] = {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{pub}": pub}}
            out[f"{usage}_key"] = obj if usage == "master" else sign_json(obj, user_id, master_key)
        return out


@dataclass
class LocalKeys:
    """data_dir/cross_signing.json: the identity and, once exported, the secret storage key."""
    identity: Identity
    ssss_key_id: str | None = None
    ssss_key: str | None = None  # unpadded base64 of the 32-byte secret storage key

    @classmethod
    def load(cls, path: Path) -> "LocalKeys | None":
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(Identity(*(data[u] for u in USAGES)), data.get("ssss_key_id"), data.get("ssss_key"))

    def save(self, path: Path) -> None:
        write_private(path, {**asdict(self.identity), "ssss_key_id": self.ssss_key_id, "ssss_key": self.ssss_key})


@dataclass(frozen=True)
class Published:
    """What /keys/query says about the account: public cross-signing keys and one device's keys."""
    master: str | None
    self_signing: str | None
    device: dict[str, Any] | None


def _only_key(obj: dict | None) -> str | None:
    keys = list(((obj or {}).get("keys") or {}).values())
    return keys[0] if keys else None


class Homeserver:
    """The few client-server calls cross-signing needs, with the bot's access token."""

    def __init__(self, base_url: str, user_id: str, token: str, password: str | None = None) -> None:
        self.base_url, self.user_id, self.password = base_url.rstrip("/"), user_id, password
        self._token = token
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Homeserver":
        self._http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self._token}"},
                                           timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        assert self._http is not None
        async with self._http.request(method, self.base_url + "/_matrix/client/v3" + path, json=body) as resp:
            try:
                data = await resp.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                data = None
            if resp.status not in ok:
                err = data.get("errcode", "") if isinstance(data, dict) else ""
                raise CrossSignError(f"{method} {path.split('?')[0]} answered {resp.status} {err}".rstrip())
            return resp.status, data

    async def published(self, device_id: str | None) -> Published:
        _, q = await self.call("POST", "/keys/query", {"device_keys": {self.user_id: []}})
        device = ((q.get("device_keys") or {}).get(self.user_id) or {}).get(device_id) if device_id else None
        return Published(_only_key((q.get("master_keys") or {}).get(self.user_id)),
                         _only_key((q.get("self_signing_keys") or {}).get(self.user_id)), device)

    async def account_data(self, type_: str) -> dict | None:
        status, data = await self.call("GET", f"/user/{quote(self.user_id, safe='')}/account_data/{type_}",
                                       ok=(200, 404))
        return data if status == 200 else None

    async def put_account_data(self, type_: str, content: dict) -> None:
        await self.call("PUT", f"/user/{quote(self.user_id, safe='')}/account_data/{type_}", content)

    async def upload_identity(self, identity: Identity) -> None:
        """POST /keys/device_signing/upload, answering user-interactive auth with the password."""
        body = identity.key_objects(self.user_id)
        status, data = await self.call("POST", "/keys/device_signing/upload", body, ok=(200, 401))
        if status == 200:
            return
        flows = [f.get("stages", []) for f in (data or {}).get("flows", [])]
        if self.password is None or ["m.login.password"] not in flows:
            raise CrossSignError(
                "the homeserver wants the account's password to change its cross-signing keys: set [matrix] "
                "password (or PLENUM_MATRIX_PASSWORD) for this step, or let the server admin allow it once "
                f"(Synapse: POST /_synapse/admin/v1/users/{self.user_id}/_allow_cross_signing_replacement_without_uia)")
        body["auth"] = {"type": "m.login.password", "session": (data or {}).get("session"), "password": self.password,
                        "identifier": {"type": "m.id.user", "user": self.user_id}}
        await self.call("POST", "/keys/device_signing/upload", body)

    async def sign_device(self, identity: Identity, device: dict[str, Any]) -> None:
        """POST /keys/signatures/upload: the device's own keys (`unsigned` removed), signed by the self-signing key."""
        signed = {k: v for k, v in device.items() if k != "unsigned"}
        signed = sign_json(signed, self.user_id, signing_key(identity.self_signing))
        _, data = await self.call("POST", "/keys/signatures/upload", {self.user_id: {device["device_id"]: signed}})
        if (data or {}).get("failures"):
            raise CrossSignError(f"the homeserver refused the device signature: {json.dumps(data['failures'])[:300]}")


def device_signed_by(device: dict[str, Any] | None, user_id: str, ssk_public: str | None) -> bool:
    return bool(device and ssk_public and f"ed25519:{ssk_public}" in (device.get("signatures") or {}).get(user_id, {}))


def not_held_message(master: str) -> str:
    return (f"this account already has a cross-signing identity (master key ed25519:{master}) whose private keys "
            "this installation does not hold: the bot keeps working, but Element shows its device as unverified. "
            "Run `plenum crypto restore --config ...` with the recovery key, or `plenum crypto reset-identity "
            "--config ...` to replace the identity (everyone who verified the bot will be warned)")


def write_status(data_dir: Path, state: str, detail: str, master: str | None = None) -> None:
    write_private(data_dir / STATUS_FILE, {"state": state, "detail": detail, "master": master})


def read_status(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / STATUS_FILE
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except ValueError:
        return None


async def ensure_cross_signed(hs: Homeserver, data_dir: Path, device_id: str) -> str:
    """Create or adopt the identity and sign `device_id`; returns the state written for check-config."""
    keys_path, pending_path = data_dir / KEYS_FILE, data_dir / PENDING_FILE
    local = LocalKeys.load(keys_path)
    pub = await hs.published(device_id)
    pending = LocalKeys.load(pending_path)
    if pending is not None:  # a reset-identity that died after its upload, or before it
        if pub.master == pending.identity.public("master"):
            pending.save(keys_path)
            local = pending
        pending_path.unlink()
    if pub.master is None:
        if local is None:
            local = LocalKeys(Identity.generate())
            local.save(keys_path)  # before the upload: never an identity on the server that nobody holds
            log.info("cross-signing: created a new identity, master key ed25519:%s; back up %s "
                     "(`plenum crypto export-recovery-key` gives a recovery key)", local.identity.public("master"),
                     keys_path)
        await hs.upload_identity(local.identity)
        pub = await hs.published(device_id)
    ident = local.identity if local else None
    if ident is None or pub.master != ident.public("master") or pub.self_signing != ident.public("self_signing"):
        message = not_held_message(pub.master or "?")
        log.warning("cross-signing: %s", message)
        write_status(data_dir, "not_held", message, pub.master)
        return "not_held"
    if pub.device is None:
        raise CrossSignError(f"the homeserver has no keys for device {device_id} yet")
    if not device_signed_by(pub.device, hs.user_id, pub.self_signing):
        await hs.sign_device(ident, pub.device)
        log.info("cross-signing: signed device %s with self-signing key ed25519:%s", device_id, pub.self_signing)
    write_status(data_dir, "signed", f"device {device_id} is cross-signed", pub.master)
    return "signed"
