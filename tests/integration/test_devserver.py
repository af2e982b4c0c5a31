"""The local test servers work: Synapse rooms/messages/media, mastodon-mock with Mastodon.py and faults."""
from __future__ import annotations

import io
import urllib.request

import pytest
from mastodon import Mastodon, MastodonAPIError
from nio import (
    DownloadResponse,
    JoinResponse,
    MegolmEvent,
    RoomCreateEvent,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomMessageText,
    RoomSendResponse,
    UploadResponse,
)

from tests.integration.conftest import unique, wait_for


def test_synapse_health(synapse):
    with urllib.request.urlopen(f"{synapse.base_url}/health", timeout=5) as resp:
        assert resp.status == 200
    assert synapse.server_name == "localhost"
    print(f"Synapse startup: {synapse.startup_seconds:.2f} s")


async def test_room_invite_join_message(matrix_user):
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    created = await alice.room_create(name="harness", invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    assert ":" not in room_id  # room version 12: no server part in room ids

    create = await wait_for(alice, lambda r, e: r == room_id and isinstance(e, RoomCreateEvent))
    assert create.room_version == "12"
    assert create.sender == alice.user_id
    state = await alice.room_get_state_event(room_id, "m.room.create")
    assert isinstance(state, RoomGetStateEventResponse) and state.content["room_version"] == "12"

    assert isinstance(await bob.join(room_id), JoinResponse)
    sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "hello bob"})
    assert isinstance(sent, RoomSendResponse), sent

    got = await wait_for(bob, lambda r, e: r == room_id and isinstance(e, RoomMessageText))
    assert (got.sender, got.body, got.event_id) == (alice.user_id, "hello bob", sent.event_id)


async def test_media_upload_and_download(matrix_user):
    alice, bob = await matrix_user("alice"), await matrix_user("bob")
    data = b"\x89PNG fake image bytes" * 100
    up, _ = await alice.upload(io.BytesIO(data), content_type="image/png", filename="a.png",
                               filesize=len(data))
    assert isinstance(up, UploadResponse), up
    down = await bob.download(up.content_uri)
    assert isinstance(down, DownloadResponse), down
    assert down.body == data


async def test_encrypted_room_roundtrip(matrix_user):
    alice, bob = await matrix_user("alice", e2e=True), await matrix_user("bob", e2e=True)
    created = await alice.room_create(
        invite=[bob.user_id],
        initial_state=[{"type": "m.room.encryption", "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"}}],
    )
    room_id = created.room_id
    assert isinstance(await bob.join(room_id), JoinResponse)
    await wait_for(bob, lambda r, e: r == room_id and isinstance(e, RoomCreateEvent))
    # Alice must see Bob's membership before sending, so the room key goes to his device.
    await wait_for(alice, lambda r, e: r == room_id and getattr(e, "state_key", None) == bob.user_id
                   and getattr(e, "membership", None) == "join")
    sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "secret"},
                                 ignore_unverified_devices=True)
    assert isinstance(sent, RoomSendResponse), sent
    got = await wait_for(bob, lambda r, e: r == room_id and isinstance(e, (RoomMessageText, MegolmEvent)))
    assert isinstance(got, RoomMessageText), f"not decrypted: {got}"
    assert got.body == "secret" and got.decrypted


def _client(mastodon_mock, username: str) -> Mastodon:
    return Mastodon(access_token=mastodon_mock.dev_user_token(username),
                    api_base_url=mastodon_mock.base_url, ratelimit_method="throw")


def test_mastodon_dev_user_and_status(mastodon_mock):
    name = unique("poster")
    api = _client(mastodon_mock, name)
    me = api.account_verify_credentials()
    assert me.username == name
    status = api.status_post("Hello from the harness")
    listed = mastodon_mock.statuses(me.id)
    assert [s["id"] for s in listed] == [str(status.id)]
    assert "Hello from the harness" in listed[0]["content"]
    assert [s.id for s in api.account_statuses(me.id)] == [status.id]


def test_mastodon_fault_once(mastodon_faults):
    api = _client(mastodon_faults, unique("faulty"))
    me = api.account_verify_credentials()
    rule = mastodon_faults.add_fault({"methods": ["POST"], "path": "/api/v1/statuses*"},
                                     {"type": "status", "status": 503}, count=1)
    assert rule["remaining"] == 1 and mastodon_faults.faults() == [rule]
    with pytest.raises(MastodonAPIError) as err:
        api.status_post("first try")
    assert "503" in str(err.value) or "unavailable" in str(err.value).lower()
    assert mastodon_faults.faults() == []  # spent
    status = api.status_post("second try")
    assert [s["id"] for s in mastodon_faults.statuses(me.id)] == [str(status.id)]
