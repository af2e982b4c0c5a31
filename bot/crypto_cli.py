"""`plenum crypto status|export-recovery-key|restore|reset-identity`: the host's tools for the bot's identity."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import string
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from unpaddedbase64 import decode_base64, encode_base64

from bot import ssss
from bot.config import Config
from bot.crosssign import (KEYS_FILE, PENDING_FILE, USAGES, CrossSignError, Homeserver, Identity, LocalKeys,
                           device_signed_by, not_held_message, write_status)

SECRET = "m.cross_signing."  # + master / self_signing / user_signing: the account data types Element uses


@asynccontextmanager
async def session(config: Config) -> AsyncIterator[tuple[Homeserver, str | None]]:
    """The bot's own token and device (data_dir/device.json or the configured token); else a temporary login."""
    m = config.matrix
    password = m.password.get_secret_value() if m.password is not None else None
    device_file = config.bot.data_dir / "device.json"
    saved = json.loads(device_file.read_text()) if device_file.exists() else {}
    token, device_id, temporary = None, saved.get("device_id"), False
    if m.access_token is not None:
        token = m.access_token.get_secret_value()
    elif saved.get("access_token") and saved.get("user_id") == m.user_id:
        token = saved["access_token"]
    elif password is not None:  # a fresh data_dir (restore): log in only for this command
        token, device_id, temporary = await _login(m.homeserver, m.user_id, password), None, True
    else:
        raise CrossSignError("no access token: set [matrix] password or access_token")
    async with Homeserver(m.homeserver, m.user_id, token, password) as hs:
        try:
            if m.access_token is not None:
                device_id = (await hs.call("GET", "/account/whoami"))[1].get("device_id")
            yield hs, device_id
        finally:
            if temporary:
                await hs.call("POST", "/logout", {})


async def _login(homeserver: str, user_id: str, password: str) -> str:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password,
            "initial_device_display_name": "plenum crypto (temporary)"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.post(homeserver.rstrip("/") + "/_matrix/client/v3/login", json=body) as resp:
            if resp.status != 200:
                raise CrossSignError(f"login with the configured password failed ({resp.status})")
            return (await resp.json())["access_token"]


async def _sign_if_needed(hs: Homeserver, config: Config, ident: Identity, device_id: str | None) -> str:
    """Sign the bot's device now if it exists; returns a sentence for the host."""
    if device_id is None:
        return "the bot signs its device when it starts"
    pub = await hs.published(device_id)
    if pub.device is None:
        return f"device {device_id} has no keys on the server; the bot signs it when it starts"
    if not device_signed_by(pub.device, hs.user_id, pub.self_signing):
        await hs.sign_device(ident, pub.device)
    write_status(config.bot.data_dir, "signed", f"device {device_id} is cross-signed", pub.master)
    return f"device {device_id} is signed"


async def status(config: Config) -> int:
    async with session(config) as (hs, device_id):
        pub = await hs.published(device_id)
        local = LocalKeys.load(config.bot.data_dir / KEYS_FILE)
        default = await hs.account_data(ssss.DEFAULT_KEY)
    if pub.master is None:
        print("cross-signed: no - the account has no cross-signing identity yet; the bot creates one when it starts")
        return 1
    held = local is not None and (local.identity.public("master"), local.identity.public("self_signing")) == (
        pub.master, pub.self_signing)
    signed = device_signed_by(pub.device, hs.user_id, pub.self_signing)
    print(f"cross-signed: {'yes' if signed else 'no'} - device {device_id or '(none yet)'}, "
          f"self-signing key ed25519:{pub.self_signing}, master key ed25519:{pub.master}")
    if not held:
        print(not_held_message(pub.master))
    elif not signed:
        print("the private keys are here: the bot signs its device when it starts")
    if held and local.ssss_key_id and (default or {}).get("key") == local.ssss_key_id:
        print(f"recovery key: exported (secret storage key {local.ssss_key_id}); "
              "`plenum crypto export-recovery-key` shows it again")
    elif held:
        print("recovery key: none yet - run `plenum crypto export-recovery-key` and keep the key safe")
    return 0 if signed and held else 1


async def export_recovery_key(config: Config, replace: bool = False) -> int:
    path = config.bot.data_dir / KEYS_FILE
    async with session(config) as (hs, _device):
        pub = await hs.published(None)
        local = LocalKeys.load(path)
        if local is None or local.identity.public("master") != pub.master:
            print(not_held_message(pub.master) if pub.master else
                  "no cross-signing identity yet: start the bot once, then export the recovery key")
            return 1
        default = (await hs.account_data(ssss.DEFAULT_KEY) or {}).get("key")
        if not (local.ssss_key_id and local.ssss_key):
            if default and not replace:
                print(f"the account already has secret storage (key {default}) that this installation does not "
                      "hold: use that recovery key with `plenum crypto restore`, or pass --replace to make a new "
                      "default key (secrets other clients stored under the old key stay behind it)")
                return 1
            local.ssss_key_id = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
            local.ssss_key = encode_base64(os.urandom(32))
            local.save(path)  # before the upload: the key printed below is always one the bot keeps
        key_id, key = local.ssss_key_id, decode_base64(local.ssss_key)
        await store_secrets(hs, local.identity, key_id, key)
    print("Recovery key for the bot's cross-signing identity (master key ed25519:" + pub.master + "):")
    print()
    print("    " + ssss.encode_recovery_key(key))
    print()
    print("Keep it somewhere safe, away from the server. With it, `plenum crypto restore` lets a new "
          "installation take over this identity instead of resetting it.")
    return 0


async def store_secrets(hs: Homeserver, ident: Identity, key_id: str, key: bytes) -> None:
    """The key description, the three private keys in 4S (as Element stores them), then the default key."""
    desc = await hs.account_data(ssss.KEY_PREFIX + key_id)
    try:
        ssss.check_key(desc or {}, key)
    except ssss.SecretStorageError:
        await hs.put_account_data(ssss.KEY_PREFIX + key_id, ssss.key_description(key))
    for usage in USAGES:
        await hs.put_account_data(SECRET + usage, ssss.encrypt_secret(ident.seed(usage), key_id, key, SECRET + usage))
    await hs.put_account_data(ssss.DEFAULT_KEY, {"key": key_id})


async def restore(config: Config, recovery_key: str) -> int:
    key = ssss.decode_recovery_key(recovery_key)
    async with session(config) as (hs, device_id):
        key_id = (await hs.account_data(ssss.DEFAULT_KEY) or {}).get("key")
        if not key_id:
            print("this account has no secret storage: nothing to restore from")
            return 1
        ssss.check_key(await hs.account_data(ssss.KEY_PREFIX + key_id) or {}, key)
        seeds = [ssss.decrypt_secret(await hs.account_data(SECRET + u) or {}, key_id, key, SECRET + u) for u in USAGES]
        ident = Identity(*seeds)
        pub = await hs.published(device_id)
        if (ident.public("master"), ident.public("self_signing")) != (pub.master, pub.self_signing):
            print(f"the keys in secret storage do not belong to the account's published identity (master key "
                  f"ed25519:{pub.master}); nothing was changed")
            return 1
        LocalKeys(ident, key_id, encode_base64(key)).save(config.bot.data_dir / KEYS_FILE)
        done = await _sign_if_needed(hs, config, ident, device_id)
    print(f"restored the cross-signing identity with master key ed25519:{pub.master}; {done}")
    return 0


async def reset_identity(config: Config) -> int:
    """Replace the identity (the caller has asked for confirmation); the old recovery key keeps working if held."""
    data_dir = config.bot.data_dir
    async with session(config) as (hs, device_id):
        old = LocalKeys.load(data_dir / KEYS_FILE)
        default = (await hs.account_data(ssss.DEFAULT_KEY) or {}).get("key")
        keep_ssss = old is not None and old.ssss_key_id is not None and old.ssss_key_id == default
        new = LocalKeys(Identity.generate(), old.ssss_key_id if keep_ssss else None,
                        old.ssss_key if keep_ssss else None)
        new.save(data_dir / PENDING_FILE)  # the bot adopts it at start if we die after the upload
        try:
            await hs.upload_identity(new.identity)
        except BaseException:
            (data_dir / PENDING_FILE).unlink()
            raise
        new.save(data_dir / KEYS_FILE)
        (data_dir / PENDING_FILE).unlink()
        if keep_ssss:
            await store_secrets(hs, new.identity, new.ssss_key_id, decode_base64(new.ssss_key))
        done = await _sign_if_needed(hs, config, new.identity, device_id)
    print(f"new cross-signing identity, master key ed25519:{new.identity.public('master')}; {done}")
    print("the recovery key is unchanged and now holds the new keys" if keep_ssss else
          "run `plenum crypto export-recovery-key` to get a recovery key for it")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    crypto = sub.add_parser("crypto", help="the bot's cross-signing identity and recovery key")
    csub = crypto.add_subparsers(dest="crypto_command", required=True)
    csub.add_parser("status", help="is the bot's device cross-signed, and by which master key")
    export = csub.add_parser("export-recovery-key", help="put the private keys in secret storage, print the key")
    export.add_argument("--replace", action="store_true", help="make a new default secret storage key")
    restore_p = csub.add_parser("restore", help="take over the identity with a recovery key (read from stdin)")
    restore_p.add_argument("--recovery-key-file", type=argparse.FileType("r"), help="read the key from this file")
    reset = csub.add_parser("reset-identity", help="replace the identity (everyone who verified the bot is warned)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    for p in (csub.choices.values()):
        p.add_argument("--config", required=True)


def _confirm_reset() -> bool:
    print("This replaces the bot's cross-signing identity. Everyone who verified the bot will see a warning "
          "that its identity was reset. Type 'reset' to go on: ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("reset", "yes")


def run(args: argparse.Namespace) -> int:
    from bot.cli import config_or_problems, config_secrets, setup_logging

    config = config_or_problems(args.config)
    if config is None:
        return 1
    setup_logging("WARNING", config_secrets(config))
    command = args.crypto_command
    if command != "status" and config.database.url is not None:
        # with PostgreSQL the keys live in the database and every start rewrites data_dir from it, so
        # a change written here would be undone (after a reset: keys that no longer match the server's)
        print(f"plenum crypto {command} does not work with [database] url (PostgreSQL) yet: the bot's start would"
              " undo it. Nothing changed.", file=sys.stderr)
        return 2
    if command == "reset-identity" and not args.yes and not _confirm_reset():
        print("nothing changed")
        return 1
    if command == "restore":
        if args.recovery_key_file is not None:
            text = args.recovery_key_file.readline()
        elif sys.stdin.isatty():
            text = getpass.getpass("recovery key: ")  # not echoed: it is as good as the private keys
        else:
            text = sys.stdin.readline()
        work = restore(config, text)
    else:
        work = {"status": lambda: status(config), "reset-identity": lambda: reset_identity(config),
                "export-recovery-key": lambda: export_recovery_key(config, args.replace)}[command]()
    try:
        return asyncio.run(work)
    except (CrossSignError, ssss.SecretStorageError, aiohttp.ClientError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
