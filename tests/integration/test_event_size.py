"""The size budget against a real Synapse: what bot.eventsize lets through is accepted, plain and encrypted,
and what Synapse refuses as too large reaches Delivery as a permanent SendRefused (issue 11, defect 3)."""
from __future__ import annotations

import pytest
from nio import RoomCreateResponse, RoomSendError, RoomSendResponse

from bot.eventsize import CONTENT_BUDGET, MAX_EVENT_BYTES, plain_size, wire_size
from bot.matrix_adapter import MatrixAdapter
from bot.ports import SendRefused
from tests.fakes import make_config

EMOJI = "\U0001f600"
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def notice(n: int, char: str = EMOJI) -> dict:
    return {"msgtype": "m.notice", "body": char * n, "m.mentions": {}}


def largest_fitting(char: str) -> dict:
    lo, hi = 1, 100_000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if wire_size(notice(mid, char)) <= CONTENT_BUDGET else (lo, mid - 1)
    return notice(lo, char)


async def room(client, *, encrypted: bool) -> str:
    resp = await client.room_create(name="size", initial_state=[ENCRYPTION] if encrypted else [])
    assert isinstance(resp, RoomCreateResponse), resp
    await client.sync(timeout=0, full_state=True)
    return resp.room_id


@pytest.mark.parametrize("char", [EMOJI, "x", "ä"])
async def test_content_at_the_budget_is_accepted_in_an_encrypted_room(matrix_user, char):
    alice = await matrix_user("alice", e2e=True)
    room_id = await room(alice, encrypted=True)
    content = largest_fitting(char)
    resp = await alice.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    assert isinstance(resp, RoomSendResponse), resp


async def test_what_fits_in_plain_utf8_can_be_too_large_once_encrypted(matrix_user):
    """Why the budget counts the encrypted form: 14,000 emoji are 56 KB plain but about 224 KB encrypted."""
    alice = await matrix_user("alice", e2e=True)
    room_id = await room(alice, encrypted=True)
    content = notice(14_000)
    assert plain_size(content) <= CONTENT_BUDGET < wire_size(content)
    resp = await alice.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    assert isinstance(resp, RoomSendError) and resp.status_code == "M_TOO_LARGE", resp


async def test_too_large_event_is_a_permanent_refusal_of_the_adapter(matrix_user, tmp_path):
    alice = await matrix_user("alice")
    room_id = await room(alice, encrypted=False)
    adapter = MatrixAdapter(make_config(tmp_path))
    adapter.client = alice  # the adapter's send only needs a logged-in client
    content = notice(MAX_EVENT_BYTES, "x")
    with pytest.raises(SendRefused) as refused:
        await adapter.send(room_id, "m.room.message", content, txn_id="size-test-1")
    assert refused.value.too_large and refused.value.status == 413
    assert await adapter.send(room_id, "m.room.message", largest_fitting("x"), txn_id="size-test-2")
