"""Secret storage and recovery keys against vectors made by Element's own code (matrix-js-sdk 43).

The vectors were printed by matrix-js-sdk 43.0.0's encodeRecoveryKey, encryptAESSecretStorageItem
and calculateKeyCheck (tests/integration/js/node_modules) for the inputs below; the spec itself
has no test vectors for m.secret_storage.v1.aes-hmac-sha2.
"""
from __future__ import annotations

import base64

import base58
import pytest
from hypothesis import given, strategies as st

from bot import ssss

KEY = bytes(range(32))
ZERO_IV = bytes(16)


def test_recovery_key_matches_element():
    assert ssss.encode_recovery_key(KEY) == "EsSz ykH7 LCZx 7Cae cmKD wcmY JRXi Ybtu 8iQ3 t8Ez nRwK pUY1"
    assert ssss.decode_recovery_key("EsSzykH7LCZx7CaecmKDwcmYJRXiYbtu8iQ3t8EznRwKpUY1\n") == KEY


@given(st.binary(min_size=32, max_size=32))
def test_recovery_key_round_trip(key):
    assert ssss.decode_recovery_key(ssss.encode_recovery_key(key)) == key


def test_recovery_key_parity_failure_is_a_clear_error():
    raw = bytearray(base58.b58decode("EsSzykH7LCZx7CaecmKDwcmYJRXiYbtu8iQ3t8EznRwKpUY1"))
    raw[-1] ^= 0x01
    with pytest.raises(ssss.SecretStorageError, match="parity check failed"):
        ssss.decode_recovery_key(base58.b58encode(bytes(raw)).decode())


@pytest.mark.parametrize("text, reason", [
    ("", "no recovery key"),
    ("EsSz 0kH7", "characters a recovery key never has"),
    ("EsSz ykH7 LCZx", "wrong length or prefix"),
])
def test_not_a_recovery_key(text, reason):
    with pytest.raises(ssss.SecretStorageError, match=reason):
        ssss.decode_recovery_key(text)


def test_encrypt_matches_element():
    item = ssss.encrypt(b"c2VjcmV0IGtleSBmb3IgdGVzdHM", KEY, "m.cross_signing.master", ZERO_IV)
    assert item == {"iv": "AAAAAAAAAAAAAAAAAAAAAA==", "ciphertext": "bJ1n0XZHWoNg++JiVotMC0JHoOMGO6KmMV0R",
                    "mac": "od9YEJhCm/y40jSJtdjbA4yWx5Du3dqB3vz7ONU9+iM="}
    other = ssss.encrypt(b"hello", bytes([7]) * 32, "", base64.b64decode("AQIDBAUGBwgJCgsMDQ4PEA=="))
    assert other["ciphertext"] == "Xnl6CU4=" and other["mac"] == "rr3l/XVEcBSpMlwX8zLLAKk0EeXD8wmYmfa1eBNNlfM="


def test_decrypt_element_item_and_reject_wrong_key():
    item = {"iv": "AAAAAAAAAAAAAAAAAAAAAA", "ciphertext": "bJ1n0XZHWoNg++JiVotMC0JHoOMGO6KmMV0R",
            "mac": "od9YEJhCm/y40jSJtdjbA4yWx5Du3dqB3vz7ONU9+iM"}  # unpadded is read too
    assert ssss.decrypt(item, KEY, "m.cross_signing.master") == b"c2VjcmV0IGtleSBmb3IgdGVzdHM"
    with pytest.raises(ssss.SecretStorageError, match="does not open"):
        ssss.decrypt(item, bytes(32), "m.cross_signing.master")
    with pytest.raises(ssss.SecretStorageError, match="does not open"):
        ssss.decrypt(item, KEY, "m.cross_signing.self_signing")  # the name is bound in


def test_key_check_matches_element():
    desc = ssss.key_description(KEY, ZERO_IV)
    assert desc == {"algorithm": ssss.ALGORITHM, "iv": "AAAAAAAAAAAAAAAAAAAAAA==",
                    "mac": "Gv+0yDqPNdj9zSgvL1FUew0ODALBHY/PO5cLnkGX55w="}
    ssss.check_key(desc, KEY)
    with pytest.raises(ssss.SecretStorageError, match="does not belong"):
        ssss.check_key(desc, bytes(32))


def test_random_iv_has_bit_63_clear_and_secret_round_trips():
    for _ in range(20):
        content = ssss.encrypt_secret("seed", "KEYID", KEY, "m.cross_signing.user_signing")
        assert base64.b64decode(content["encrypted"]["KEYID"]["iv"])[8] & 0x80 == 0
        assert ssss.decrypt_secret(content, "KEYID", KEY, "m.cross_signing.user_signing") == "seed"
    with pytest.raises(ssss.SecretStorageError, match="not stored with"):
        ssss.decrypt_secret(content, "OTHER", KEY, "m.cross_signing.user_signing")
