"""Building blocks of the benchmark: statistics, /proc readings, bot subprocesses, a timing sync watcher."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from nio import (
    AsyncClient,
    AsyncClientConfig,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesError,
    RoomSendResponse,
    SyncError,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A member's client. Synapse caps a sync's timeline at 100 events (filter_timeline_limit); the
# watchers sync continuously, so more never pile up between two syncs (Watcher.limited counts it).
FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 100}, "ephemeral": {"not_types": ["*"]}},
}


def log(msg: str) -> None:
    """Progress goes to stderr, so stdout carries only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ statistics
def pct(values: Iterable[float], q: float) -> float | None:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: list[float], prefix: str) -> dict[str, float | None]:
    return {f"{prefix}.p50": pct(values, 50), f"{prefix}.p95": pct(values, 95), f"{prefix}.p99": pct(values, 99)}


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


# ------------------------------------------------------------------------------ /proc
def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        raw = fh.read()
    fields = raw[raw.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


async def wait_quiet(pid: int, threshold: float = 0.02, interval: float = 1.0, timeout: float = 60) -> float:
    """Wait until the process used less than `threshold` CPU seconds in `interval`; returns the wait."""
    start = time.monotonic()
    last = cpu_seconds(pid)
    while time.monotonic() - start < timeout:
        await asyncio.sleep(interval)
        now = cpu_seconds(pid)
        if now - last < threshold:
            break
        last = now
    return time.monotonic() - start


# ------------------------------------------------------------------------------ processes
@dataclass
class BotProc:
    """A bot run as a subprocess; ready when `ready_marker` appears in its log."""

    name: str
    argv: list[str]
    log_path: Path
    ready_marker: str
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_marker in self.log_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# ------------------------------------------------------------------------------ clients
def make_client(base_url: str, user: Any) -> AsyncClient:
    """A plain (unencrypted) nio client logged in with the token from the registration answer."""
    client = AsyncClient(base_url, user.user_id, device_id=user.device_id,
                         config=AsyncClientConfig(encryption_enabled=False, request_timeout=90, max_timeouts=None))
    client.restore_login(user.user_id, user.device_id, user.access_token)
    return client


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    resp = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    if not isinstance(resp, RoomSendResponse):
        raise RuntimeError(f"send failed for {client.user_id}: {resp}")
    return resp.event_id


async def create_room(owner: AsyncClient, invite: list[str], name: str) -> str:
    resp = await owner.room_create(name=name, invite=invite)
    if not isinstance(resp, RoomCreateResponse):
        raise RuntimeError(f"room_create failed: {resp}")
    return resp.room_id


async def join(client: AsyncClient, room_id: str) -> None:
    for attempt in range(5):
        resp = await client.join(room_id)
        if getattr(resp, "room_id", None):
            return
        await asyncio.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"{client.user_id} could not join {room_id}: {resp}")


def reply_target(event: Any) -> str | None:
    rel = event.source.get("content", {}).get("m.relates_to", {}) or {}
    return (rel.get("m.in_reply_to") or {}).get("event_id")


def is_notice_from(event: Any, sender: str) -> bool:
    return event.sender == sender and event.source.get("content", {}).get("msgtype") == "m.notice"


async def room_history(client: AsyncClient, room_id: str) -> list[Any]:
    """Every event of the room, newest first, from /messages (the authority, not a sync)."""
    events: list[Any] = []
    token = client.next_batch
    while True:
        resp = await client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=1000)
        if isinstance(resp, RoomMessagesError):
            raise RuntimeError(f"/messages failed: {resp}")
        events.extend(resp.chunk)
        if not resp.chunk or not resp.end or resp.end == token:
            return events
        token = resp.end


@dataclass
class Seen:
    t: float  # time.perf_counter() when the sync carrying it returned
    room_id: str
    event: Any


class Watcher:
    """A member's long-polling sync loop that timestamps every timeline event it receives."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.events: list[Seen] = []
        self.limited = 0
        self.errors = 0
        self._batch = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        resp = await self.client.sync(timeout=0, full_state=True, sync_filter=FILTER)
        if isinstance(resp, SyncError):
            raise RuntimeError(f"first sync failed for {self.client.user_id}: {resp}")
        self._task = asyncio.create_task(self._loop(), name=f"watch-{self.client.user_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                resp = await self.client.sync(timeout=30000, sync_filter=FILTER)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a dropped connection; poll again
                self.errors += 1
                await asyncio.sleep(0.2)
                continue
            t = time.perf_counter()
            if isinstance(resp, SyncError):
                self.errors += 1
                await asyncio.sleep(0.2)
                continue
            for room_id, info in resp.rooms.join.items():
                if info.timeline.limited and self.events:
                    self.limited += 1
                for ev in info.timeline.events:
                    self.events.append(Seen(t, room_id, ev))
            batch, self._batch = self._batch, asyncio.Event()
            batch.set()

    def mark(self) -> int:
        return len(self.events)

    async def wait_event(self, pred: Callable[[Seen], bool], since: int, timeout: float) -> Seen:
        """The first event at index >= since that matches; TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pos = since
        while True:
            while pos < len(self.events):
                seen = self.events[pos]
                pos += 1
                if pred(seen):
                    return seen
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait_for(self._batch.wait(), remaining)

    async def wait_until(self, cond: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._batch.wait(), remaining)
            except asyncio.TimeoutError:
                return cond()
        return True
