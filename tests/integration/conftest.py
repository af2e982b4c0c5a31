"""Fixtures for tests against a real Synapse and mastodon-mock on loopback (see bot/devserver.py).

Every test under tests/integration is marked `integration` automatically.

- `synapse` (session): a running `SynapseServer` (base_url, server_name, shared_secret, ...).
- `mastodon_mock` (session): a running `MastodonMock` (base_url, dev_user_token, add_fault, ...).
  It is shared: use unique usernames, and clear faults you add (or use `mastodon_faults`).
- `matrix_user` (function): `await matrix_user("alice")` registers a fresh, uniquely named
  user and returns a logged-in `nio.AsyncClient` (closed at teardown);
  `matrix_user("bob", e2e=True)` gives one with an encryption store and uploaded keys.
- `wait_for(client, predicate, timeout=10)`: sync until a new timeline event in a joined room
  satisfies `predicate(room_id, event)`; returns it.
"""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
from nio import AsyncClient, AsyncClientConfig, KeysUploadError, SyncError

from bot.devserver import (
    MastodonMock,
    SynapseServer,
    async_register_user,
    start_mastodon_mock,
    start_synapse,
)

_HERE = Path(__file__).resolve().parent

# A sync returns only 10 timeline events per room by default; tests want all of them.
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 100}}}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory):
    server = start_synapse(tmp_path_factory.mktemp("synapse"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mastodon_mock(tmp_path_factory: pytest.TempPathFactory):
    server = start_mastodon_mock(log_path=tmp_path_factory.mktemp("mastodon") / "mock.log")
    yield server
    server.stop()


@pytest.fixture
def mastodon_faults(mastodon_mock: MastodonMock):
    """The shared mock, with all fault rules cleared after the test."""
    yield mastodon_mock
    mastodon_mock.clear_faults()


def unique(prefix: str = "u") -> str:
    """A fresh name usable as a Matrix localpart or a Mastodon username."""
    return f"{prefix.lower()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def matrix_user(synapse: SynapseServer, tmp_path: Path):
    clients: list[AsyncClient] = []

    async def make(name: str = "user", *, admin: bool = False, e2e: bool = False) -> AsyncClient:
        localpart = unique(name)
        reg = await async_register_user(synapse.base_url, synapse.shared_secret, localpart,
                                        f"pw-{localpart}", admin=admin)
        store = ""
        if e2e:  # the store directory must exist before the client is made
            store_dir = tmp_path / f"store-{localpart}"
            store_dir.mkdir()
            store = str(store_dir)
        client = AsyncClient(synapse.base_url, reg.user_id, device_id=reg.device_id, store_path=store,
                             config=AsyncClientConfig(encryption_enabled=e2e))
        clients.append(client)
        client.restore_login(reg.user_id, reg.device_id, reg.access_token)
        if e2e:
            resp = await client.keys_upload()
            assert not isinstance(resp, KeysUploadError), resp
        return client

    yield make
    for client in clients:
        await client.close()


async def wait_for(client: AsyncClient, predicate: Callable[[str, Any], bool], timeout: float = 10):
    """Sync `client` until a timeline event in a joined room satisfies predicate(room_id, event).

    Only events the client has not synced before are considered (the first call does an
    initial sync, which includes the last 100 events of every joined room).
    Raises TimeoutError after `timeout` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f"no matching event for {client.user_id} within {timeout} s")
        resp = await client.sync(timeout=max(1, int(min(remaining, 5) * 1000)), sync_filter=SYNC_FILTER)
        if isinstance(resp, SyncError):
            raise AssertionError(f"sync failed for {client.user_id}: {resp}")
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                if predicate(room_id, event):
                    return event
