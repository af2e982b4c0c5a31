"""Matrix secret storage (4S) as Element does it: the recovery key encoding and m.secret_storage.v1.aes-hmac-sha2.

Spec: client-server API, "Secret storage" and "Recovery key". No I/O here: the adapter
(bot/crosssign.py) reads and writes the account data these functions produce.
"""
from __future__ import annotations

import base64
import functools
import operator
import os

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
DEFAULT_KEY = "m.secret_storage.default_key"
KEY_PREFIX = "m.secret_storage.key."
RECOVERY_PREFIX = bytes([0x8B, 0x01])


class SecretStorageError(Exception):
    """A recovery key or a stored secret that cannot be used; the message says why, never the secret."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    """Standard base64, padded or not (the spec says padded; some clients leave it off)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, TypeError):
        raise SecretStorageError("stored secret is not valid base64") from None


def _parity(data: bytes) -> int:
    return functools.reduce(operator.xor, data, 0)


def encode_recovery_key(key: bytes) -> str:
    """0x8B 0x01, the 32-byte key, a parity byte (XOR of all before), base58, groups of four."""
    if len(key) != 32:
        raise ValueError("a secret storage key has 32 bytes")
    raw = RECOVERY_PREFIX + key
    text = base58.b58encode(raw + bytes([_parity(raw)])).decode()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def decode_recovery_key(text: str) -> bytes:
    """The 32-byte key of a recovery key as typed (spaces and line breaks ignored)."""
    compact = "".join(text.split())
    if not compact:
        raise SecretStorageError("no recovery key given")
    try:
        raw = base58.b58decode(compact)
    except ValueError:
        raise SecretStorageError("not a recovery key: it contains characters a recovery key never has "
                                 "(0, O, I, l or punctuation)") from None
    if len(raw) != 35 or raw[:2] != RECOVERY_PREFIX:
        raise SecretStorageError("not a recovery key: wrong length or prefix (is it a security phrase?)")
    if _parity(raw) != 0:
        raise SecretStorageError("recovery key parity check failed: a character is mistyped")
    return raw[2:34]


def _derive(key: bytes, name: str) -> tuple[bytes, bytes]:
    """HKDF-SHA-256 with 32 zero bytes as salt and the secret's name as info: AES key, HMAC key."""
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=bytes(32), info=name.encode()).derive(key)
    return okm[:32], okm[32:]


def _mac(key: bytes, data: bytes) -> hmac.HMAC:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h


def encrypt(plaintext: bytes, key: bytes, name: str, iv: bytes | None = None) -> dict[str, str]:
    """{"iv", "ciphertext", "mac"} of one secret; a random IV has bit 63 cleared, as the spec asks."""
    if iv is None:
        fresh = bytearray(os.urandom(16))
        fresh[8] &= 0x7F
        iv = bytes(fresh)
    aes_key, mac_key = _derive(key, name)
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return {"iv": _b64(iv), "ciphertext": _b64(ciphertext), "mac": _b64(_mac(mac_key, ciphertext).finalize())}


def decrypt(payload: dict[str, str], key: bytes, name: str) -> bytes:
    """The plaintext of encrypt()'s output; SecretStorageError if the MAC does not match."""
    try:
        iv, ciphertext, mac = _unb64(payload["iv"]), _unb64(payload["ciphertext"]), _unb64(payload["mac"])
    except (KeyError, TypeError):
        raise SecretStorageError(f"stored secret {name} is incomplete") from None
    aes_key, mac_key = _derive(key, name)
    try:
        _mac(mac_key, ciphertext).verify(mac)
    except InvalidSignature:
        raise SecretStorageError(f"the key does not open {name} (wrong recovery key?)") from None
    decryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def key_description(key: bytes, iv: bytes | None = None) -> dict[str, str]:
    """Content of m.secret_storage.key.<id>: the MAC of 32 zero bytes lets a client check a key."""
    check = encrypt(bytes(32), key, "", iv)
    return {"algorithm": ALGORITHM, "iv": check["iv"], "mac": check["mac"]}


def check_key(description: dict, key: bytes) -> None:
    """Raise SecretStorageError unless `key` is the one the description was made for."""
    if description.get("algorithm") != ALGORITHM:
        raise SecretStorageError(f"secret storage uses {description.get('algorithm')!r}, not {ALGORITHM}")
    if "iv" not in description or "mac" not in description:
        return  # the spec allows descriptions without a check; decryption will tell
    expected = encrypt(bytes(32), key, "", _unb64(description["iv"]))["mac"]
    if _unb64(expected) != _unb64(description["mac"]):
        raise SecretStorageError("this recovery key does not belong to the account's secret storage")


def encrypt_secret(secret: str, key_id: str, key: bytes, name: str) -> dict:
    """Account data content for secret `name` (e.g. m.cross_signing.master) encrypted with one key."""
    return {"encrypted": {key_id: encrypt(secret.encode(), key, name)}}


def decrypt_secret(content: dict, key_id: str, key: bytes, name: str) -> str:
    encrypted = (content or {}).get("encrypted") or {}
    if key_id not in encrypted:
        raise SecretStorageError(f"{name} is not stored with secret storage key {key_id}")
    try:
        return decrypt(encrypted[key_id], key, name).decode()
    except UnicodeDecodeError:
        raise SecretStorageError(f"{name} decrypted to something that is not text") from None
