"""The bot's cross-signing start-up logic against a fake homeserver that checks signatures like Synapse would.

Covers the crash windows of bot/crosssign.py: keys are on disk before they are uploaded,
a reset that died half-way is finished or dropped, a foreign identity is never replaced.
"""
from __future__ import annotations

import copy

import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from bot.crosssign import (KEYS_FILE, PENDING_FILE, STATUS_FILE, CrossSignError, Identity, LocalKeys, Published,
                           ensure_cross_signed, read_status)

USER, DEVICE = "@plenum:localhost", "DEV1"


def _vk(public: str):
    return decode_verify_key_bytes("ed25519:" + public, decode_base64(public))


class FakeHomeserver:
    user_id = USER

    def __init__(self, fail_upload: bool = False) -> None:
        self.keys: dict | None = None
        self.device = {"user_id": USER, "device_id": DEVICE, "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
                       "keys": {f"ed25519:{DEVICE}": "devkey"}, "signatures": {USER: {f"ed25519:{DEVICE}": "x"}},
                       "unsigned": {"device_display_name": "plenum"}}
        self.fail_upload, self.uploads, self.signed = fail_upload, 0, 0

    async def published(self, device_id):
        pub = lambda usage: next(iter(self.keys[f"{usage}_key"]["keys"].values())) if self.keys else None  # noqa: E731
        return Published(pub("master"), pub("self_signing"), copy.deepcopy(self.device) if device_id else None)

    async def upload_identity(self, identity: Identity) -> None:
        if self.fail_upload:
            raise CrossSignError("POST /keys/device_signing/upload answered 500")  # as if killed mid-request
        body = identity.key_objects(USER)
        master = _vk(identity.public("master"))
        verify_signed_json(body["self_signing_key"], USER, master)
        verify_signed_json(body["user_signing_key"], USER, master)
        self.keys, self.uploads = body, self.uploads + 1

    async def sign_device(self, identity: Identity, device: dict) -> None:
        from bot.crosssign import Homeserver

        captured = {}

        async def call(method, path, body=None, ok=(200,)):
            captured.update(body[USER])
            return 200, {"failures": {}}

        hs = Homeserver("http://x", USER, "token")
        hs.call = call  # type: ignore[method-assign]
        await hs.sign_device(identity, device)
        signed = captured[DEVICE]
        assert "unsigned" not in signed
        verify_signed_json(signed, USER, _vk(identity.public("self_signing")))
        self.device, self.signed = signed, self.signed + 1


async def test_first_start_creates_uploads_and_signs(tmp_path):
    hs = FakeHomeserver()
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed"
    local = LocalKeys.load(tmp_path / KEYS_FILE)
    assert (tmp_path / KEYS_FILE).stat().st_mode & 0o777 == 0o600
    assert (await hs.published(DEVICE)).master == local.identity.public("master")
    assert hs.signed == 1 and read_status(tmp_path)["state"] == "signed"
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed"  # a restart changes nothing
    assert hs.uploads == 1 and hs.signed == 1


async def test_keys_are_on_disk_before_the_upload_and_reused_after_a_crash(tmp_path):
    hs = FakeHomeserver(fail_upload=True)
    with pytest.raises(CrossSignError):
        await ensure_cross_signed(hs, tmp_path, DEVICE)
    saved = LocalKeys.load(tmp_path / KEYS_FILE)
    assert saved is not None
    hs.fail_upload = False
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed"
    assert (await hs.published(DEVICE)).master == saved.identity.public("master")


async def test_a_new_device_id_gets_signed(tmp_path):
    hs = FakeHomeserver()
    await ensure_cross_signed(hs, tmp_path, DEVICE)
    hs.device = {**hs.device, "signatures": {USER: {f"ed25519:{DEVICE}": "x"}}}  # as a fresh device's keys
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed" and hs.signed == 2


async def test_an_identity_the_bot_does_not_hold_is_never_replaced(tmp_path, caplog):
    hs = FakeHomeserver()
    await hs.upload_identity(Identity.generate())  # made elsewhere (Element, a lost data_dir)
    foreign = (await hs.published(DEVICE)).master
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "not_held"
    assert hs.uploads == 1 and hs.signed == 0 and (await hs.published(DEVICE)).master == foreign
    assert not (tmp_path / KEYS_FILE).exists()
    assert f"master key ed25519:{foreign}" in caplog.text and "plenum crypto restore" in caplog.text
    assert "plenum crypto restore" in read_status(tmp_path)["detail"]
    assert (tmp_path / STATUS_FILE).stat().st_mode & 0o777 == 0o600


async def test_a_reset_that_died_after_its_upload_is_adopted(tmp_path):
    hs = FakeHomeserver()
    await ensure_cross_signed(hs, tmp_path, DEVICE)
    new = LocalKeys(Identity.generate())
    new.save(tmp_path / PENDING_FILE)
    await hs.upload_identity(new.identity)  # ... and the process died before it renamed the file
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed"
    assert LocalKeys.load(tmp_path / KEYS_FILE).identity == new.identity
    assert not (tmp_path / PENDING_FILE).exists()


async def test_a_reset_that_died_before_its_upload_is_dropped(tmp_path):
    hs = FakeHomeserver()
    await ensure_cross_signed(hs, tmp_path, DEVICE)
    old = LocalKeys.load(tmp_path / KEYS_FILE).identity
    LocalKeys(Identity.generate()).save(tmp_path / PENDING_FILE)
    assert await ensure_cross_signed(hs, tmp_path, DEVICE) == "signed"
    assert LocalKeys.load(tmp_path / KEYS_FILE).identity == old and not (tmp_path / PENDING_FILE).exists()
