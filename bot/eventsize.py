"""How big an event is on the wire, and the budget every event the bot queues must fit.

Synapse refuses an event whose canonical JSON (the whole PDU: content plus room_id, sender,
type, origin_server_ts, depth, prev_events, auth_events, hashes, signatures) exceeds
65,536 bytes. The bot only controls the content, so it keeps the content within
CONTENT_BUDGET and leaves the rest for the envelope.

In an encrypted room the homeserver sees an m.room.encrypted event instead: matrix-nio
serialises {"type", "content", "room_id"} with json.dumps' default ensure_ascii (an emoji
becomes a 12-byte surrogate escape), Megolm adds a header, padding, MAC and signature, and
the result is unpadded base64 (4/3) next to the sender key, session id and device id. The
bot cannot cheaply know whether a room is encrypted when a message is queued (and a room
may turn encrypted before it is delivered), so every content must fit both ways.

Measured with json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) in
UTF-8, which is canonical JSON for the strings, lists, dicts and small integers the bot sends
(no extra dependency for the same number).
"""
from __future__ import annotations

import json
import math
from typing import Any

MAX_EVENT_BYTES = 65_536  # Synapse's limit on a whole event (canonical JSON, UTF-8)
# 5,536 bytes for the envelope: room_id (<= 255), sender (<= 255), type, origin_server_ts, depth,
# up to 20 prev_events and a handful of auth_events (~48 bytes each), hashes, signatures (~150),
# unsigned. Real envelopes are 1-2 KB; the rest is margin.
CONTENT_BUDGET = 60_000

# Encrypted: plaintext wrapper {"type": ..., "room_id": <= 255 bytes, "content": ...} plus the
# Megolm framing (version, index, length, PKCS#7 padding <= 16, MAC 8, signature 64), generously.
_PLAINTEXT_WRAPPER = 400
_MEGOLM_FRAMING = 128
# m.room.encrypted content besides the ciphertext: algorithm, sender_key, session_id, device_id, keys
_ENCRYPTED_FIELDS = 400


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plain_size(content: dict[str, Any]) -> int:
    """Bytes of the content as Synapse measures it in an unencrypted room."""
    return len(canonical_json(content))


def encrypted_size(content: dict[str, Any]) -> int:
    """Upper estimate of the m.room.encrypted content that carries this content."""
    plaintext = len(json.dumps(content, separators=(",", ":")).encode("ascii")) + _PLAINTEXT_WRAPPER
    return math.ceil((plaintext + _MEGOLM_FRAMING) * 4 / 3) + _ENCRYPTED_FIELDS


def wire_size(content: dict[str, Any]) -> int:
    """The size that counts against CONTENT_BUDGET: the larger of the plain and the encrypted form."""
    return max(plain_size(content), encrypted_size(content))


def fits(content: dict[str, Any], budget: int = CONTENT_BUDGET) -> bool:
    return wire_size(content) <= budget
