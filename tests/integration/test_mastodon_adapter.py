"""MastodonPublisher against a real mastodon-mock server: limits, idempotency, faults, media, threads."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.mastodon_adapter import MastodonPublisher
from bot.ports import AuthError, PermanentError, RetryableError
from bot.retry import with_retries
from commands.threadsplit import count_chars, split_thread

STATUSES = "/api/v1/statuses*"


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def mock_url():
    """A private mastodon-mock (in-memory) on a free loopback port for this module."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix="mastodon-mock-", suffix=".log", delete=False)
    exe = Path(sys.executable).with_name("mastodon_mock")
    proc = subprocess.Popen(
        [str(exe), "serve", "--in-memory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _http("GET", f"{url}/api/v1/instance")
            break
        except (OSError, urllib.error.URLError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"mastodon-mock did not start:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(2)  # uvicorn waits for the connection the "timeout" fault holds open
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def mock(mock_url):
    """Helpers for one test; faults are cleared afterwards."""

    class Mock:
        url = mock_url

        def user(self, prefix: str = "plenum") -> dict[str, Any]:
            name = f"{prefix}_{uuid.uuid4().hex[:8]}"
            return _http("POST", f"{mock_url}/api/v1/_mock/dev_user", {"username": name})

        def fault(self, effect: dict[str, Any], count: int = 1, path: str = STATUSES, methods=("POST",)):
            rule = {"match": {"methods": list(methods), "path": path}, "effect": effect, "count": count}
            return _http("POST", f"{mock_url}/api/v1/_mock/faults", rule)

        def faults(self) -> list[dict[str, Any]]:
            return _http("GET", f"{mock_url}/api/v1/_mock/faults")

        def statuses(self, account_id: str) -> list[dict[str, Any]]:
            return _http("GET", f"{mock_url}/api/v1/accounts/{account_id}/statuses?limit=40")

        def status(self, status_id: str) -> dict[str, Any]:
            return _http("GET", f"{mock_url}/api/v1/statuses/{status_id}")

        def post_as(self, token: str, text: str) -> dict[str, Any]:
            return _http("POST", f"{mock_url}/api/v1/statuses", {"status": text}, token=token)

    yield Mock()
    _http("DELETE", f"{mock_url}/api/v1/_mock/faults")


@pytest.fixture
def account(mock):
    return mock.user()


@pytest.fixture
def publisher(mock, account):
    return MastodonPublisher("board", mock.url, account["access_token"], request_timeout=5)


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_limits_come_from_the_instance_and_are_cached(mock, publisher):
    limits = await publisher.limits()
    assert limits.max_characters == 500
    assert limits.url_length == 23
    assert limits.max_media == 4
    assert limits.description_limit == 1500  # the mock does not advertise it: fallback
    mock.fault({"type": "status", "status": 503}, count=5, path="/api/v2/instance*", methods=["GET"])
    assert await publisher.limits() == limits  # served from the cache, no request


async def test_same_idempotency_key_gives_one_status(mock, account, publisher):
    first = await publisher.post_status("Einladung zur Mitgliederversammlung", idempotency_key="ann-1")
    again = await publisher.post_status("Einladung zur Mitgliederversammlung", idempotency_key="ann-1")
    assert again == first
    assert first.url.endswith(first.id)
    assert [s["id"] for s in mock.statuses(account["id"])] == [first.id]


async def test_503_three_times_then_429_then_success_posts_once(mock, account, publisher):
    mock.fault({"type": "status", "status": 503}, count=3)
    mock.fault({"type": "ratelimit"}, count=1)
    sleep = FakeSleep()
    posted = await with_retries(
        lambda: publisher.post_status("Demo am Samstag", idempotency_key="ann-2"), sleep=sleep
    )
    assert [s["id"] for s in mock.statuses(account["id"])] == [posted.id]
    assert len(sleep.delays) == 4
    assert sleep.delays[-1] == 60  # the mock's reset is 300 s away: honoured, capped at max_delay


async def test_server_errors_and_rate_limits_carry_a_code(mock, publisher):
    mock.fault({"type": "status", "status": 503}, count=1)
    with pytest.raises(RetryableError) as caught:
        await publisher.post_status("Eins", idempotency_key="code-1")
    assert (caught.value.code, caught.value.detail) == ("server_error", None)
    mock.fault({"type": "ratelimit"}, count=1)
    with pytest.raises(RetryableError) as caught:
        await publisher.post_status("Zwei", idempotency_key="code-2")
    assert caught.value.code == "rate_limited" and caught.value.retry_after is not None


async def test_timeout_is_retryable_and_the_retry_posts_once(mock, account):
    impatient = MastodonPublisher("board", mock.url, account["access_token"], request_timeout=0.5)
    mock.fault({"type": "latency", "delay_ms": 1500})
    with pytest.raises(RetryableError, match="network error or timeout") as caught:
        await impatient.post_status("Kurz vor knapp", idempotency_key="ann-3")
    assert caught.value.code == "network"
    again = await impatient.post_status("Kurz vor knapp", idempotency_key="ann-3")
    await asyncio.sleep(1.5)  # let the abandoned request run its course on the server
    assert [s["id"] for s in mock.statuses(account["id"])] == [again.id]


async def test_hung_connection_is_retryable(mock, account):
    impatient = MastodonPublisher("board", mock.url, account["access_token"], request_timeout=0.5)
    mock.fault({"type": "timeout"}, path="/api/v2/instance*", methods=["GET"])
    with pytest.raises(RetryableError):
        await impatient.limits()
    assert (await impatient.limits()).max_characters == 500


async def test_malformed_answer_is_retried_and_posts_once(mock, account, publisher):
    mock.fault({"type": "malformed"})
    sleep = FakeSleep()
    posted = await with_retries(
        lambda: publisher.post_status("Stammtisch", idempotency_key="ann-4"), sleep=sleep
    )
    assert len(sleep.delays) == 1
    assert [s["id"] for s in mock.statuses(account["id"])] == [posted.id]


async def test_too_long_status_is_a_permanent_error(mock, account, publisher):
    sleep = FakeSleep()
    with pytest.raises(PermanentError, match="too long") as caught:
        await with_retries(lambda: publisher.post_status("x" * 501, idempotency_key="ann-5"), sleep=sleep)
    assert not isinstance(caught.value, AuthError)
    assert "422" in caught.value.reason
    assert caught.value.code == "rejected" and "too long" in caught.value.detail  # Mastodon's words for the room
    assert "422" not in caught.value.detail and "post status" not in caught.value.detail
    assert sleep.delays == []
    assert mock.statuses(account["id"]) == []


async def test_bad_token_is_an_auth_error(mock, caplog):
    caplog.set_level(logging.DEBUG)
    token = "not-a-valid-token-" + uuid.uuid4().hex
    publisher = MastodonPublisher("board", mock.url, token)
    with pytest.raises(AuthError) as caught:
        await publisher.post_status("Hallo", idempotency_key="ann-6")
    assert "401" in caught.value.reason
    assert caught.value.code == "auth" and caught.value.detail is None
    assert token not in caught.value.reason and token not in caplog.text
    assert token not in repr(publisher) and token not in str(publisher)


async def test_media_is_attached_with_its_description(mock, publisher):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    alt = "Ein rotes Quadrat als Platzhalter für das Plakat"
    media_id = await publisher.upload_media(buffer.getvalue(), "image/png", alt)
    posted = await publisher.post_status("Unser Plakat", idempotency_key="ann-7", media_ids=[media_id])
    attachments = mock.status(posted.id)["media_attachments"]
    assert [(a["id"], a["description"], a["type"]) for a in attachments] == [(media_id, alt, "image")]


async def test_upload_waits_until_the_media_is_processed(mock, publisher):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 90, 0)).save(buffer, format="PNG")
    done = await publisher.upload_media(buffer.getvalue(), "image/png", "Grünes Quadrat")
    pending = {"id": done, "type": "image", "url": None, "preview_url": None, "description": "Grünes Quadrat"}
    # The server answers 202 with url null, then 206 (still processing), then the real media.
    mock.fault({"type": "status", "status": 202, "body": pending}, path="/api/v2/media")
    mock.fault({"type": "status", "status": 206, "body": pending}, path="/api/v1/media/*", methods=["GET"])
    assert await publisher.upload_media(buffer.getvalue(), "image/png", "Grünes Quadrat") == done
    assert mock.faults() == []  # both faults were used: it polled twice


async def test_thread_parts_are_chained_in_order(mock, account, publisher):
    limits = await publisher.limits()
    paragraph = "Wir laden herzlich ein. Details unter https://example.org/termine/2025/mitgliederversammlung. " * 4
    text = "\n\n".join([paragraph.strip()] * 3)
    parts = split_thread(text, limits.max_characters, cw="Parteiinterna", url_length=limits.url_length)
    assert len(parts) == 3 and all(count_chars(p) <= 500 for p in parts)
    ids, reply_to = [], None
    for number, part in enumerate(parts):
        posted = await publisher.post_status(
            part, idempotency_key=f"thread-{number}", in_reply_to_id=reply_to, spoiler_text="Parteiinterna"
        )
        ids.append(posted.id)
        reply_to = posted.id
    chain = [mock.status(i) for i in ids]
    assert [s["in_reply_to_id"] for s in chain] == [None, ids[0], ids[1]]
    assert all(s["spoiler_text"] == "Parteiinterna" for s in chain)
    assert [s["id"] for s in mock.statuses(account["id"])] == list(reversed(ids))


async def test_delete_removes_the_status_and_tolerates_repeats(mock, account, publisher):
    posted = await publisher.post_status("Versehentlich gepostet", idempotency_key="ann-8")
    assert await publisher.delete_status(posted.id) is True
    with pytest.raises(urllib.error.HTTPError) as caught:
        mock.status(posted.id)
    assert caught.value.code == 404
    assert await publisher.delete_status(posted.id) is False  # already gone: no error, but the caller knows
    assert mock.statuses(account["id"]) == []


async def test_mentions_are_returned_once_oldest_first(mock, account, publisher):
    other = mock.user("anna")
    name = account["username"]
    first = mock.post_as(other["access_token"], f"@{name} Wann ist das <b>Treffen</b> & wo?")
    mentions = await publisher.mentions(None)
    assert len(mentions) == 1
    mention = mentions[0]
    assert mention.account == other["username"]
    assert mention.text == f"@{name} Wann ist das <b>Treffen</b> & wo?"
    assert mention.url == first["url"]
    assert mention.created_at.tzinfo is not None
    assert await publisher.mentions(mention.id) == []

    mock.post_as(other["access_token"], "Kein Mention, nur ein Post")
    newer = [mock.post_as(other["access_token"], f"@{name} Nachricht {i}") for i in range(45)]
    later = await publisher.mentions(mention.id)
    assert [m.url for m in later] == [s["url"] for s in newer]  # across pages, oldest first
    assert await publisher.mentions(later[-1].id) == []
