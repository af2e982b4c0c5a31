"""Local throwaway servers for tests, `plenum demo` and benchmarks: Synapse and mastodon-mock on loopback.

Stdlib only (no nio, no Mastodon.py). Both servers run as subprocesses of the current
interpreter, so `matrix-synapse` and `mastodon-mock` must be installed in it.

Synapse: ``start_synapse(workdir)`` writes a test-friendly homeserver.yaml (SQLite, no
federation, no rate limits, no sync cache, presence off, server_name "localhost", default
room version left alone: 12 in Synapse 1.163) and ``register_user`` creates accounts through
the shared-secret admin API; the answer carries a token and device id for ``restore_login``.

mastodon-mock: ``start_mastodon_mock()`` runs ``mastodon_mock serve --in-memory`` (or, with
``db_path``, on a SQLite file of its own that survives a restart). Tokens via
``dev_user(username)`` (``POST /api/v1/_mock/dev_user`` → ``{"id", "username",
"display_name", "role", "access_token"}``). An account's statuses are listed with
``GET /api/v1/accounts/<id>/statuses`` (newest first, default limit 20; Mastodon.py:
``account_statuses(account_id)``; helper: ``MastodonMock.statuses(account_id)``). Faults via
``POST /api/v1/_mock/faults`` with ``{"match": {"methods": ["POST"], "path": "/api/v1/statuses*"
(fnmatch glob; or "path_regex"), "effect": {"type": "status"|"ratelimit"|"latency"|"timeout"|
"malformed", "status": 503, "body": {...}, "headers": {...}, "delay_ms": 0}, "count": N}``
(count omitted = forever); ``GET`` lists them, ``DELETE`` clears. ``/api/v1/_mock/*`` is never
faulted.
"""
from __future__ import annotations

import asyncio
import atexit
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_NAME = "localhost"
_RC_KEYS = (
    "rc_message", "rc_registration", "rc_registration_token_validity", "rc_login.address",
    "rc_login.account", "rc_login.failed_attempts", "rc_admin_redaction", "rc_joins.local",
    "rc_joins.remote", "rc_joins_per_room", "rc_key_requests", "rc_3pid_validation",
    "rc_invites.per_room", "rc_invites.per_user", "rc_invites.per_issuer",
    "rc_third_party_invite", "rc_media_create", "rc_presence.per_user", "rc_delayed_event_mgmt",
    "rc_room_creation", "rc_reports", "rc_user_directory", "rc_profile",
)  # every RatelimitSettings key read by synapse/config/ratelimiting.py in 1.163


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 10) -> Any:
    """JSON request with urllib; raises RuntimeError with the answer's body on HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url} -> {e.code}: {e.read()[:500]!r}") from None
    return json.loads(raw) if raw else None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, logs: list[Path], what: str) -> None:
    """Wait until url answers 200; the server is stopped if it does not, or if the wait is interrupted
    (a Ctrl-C meanwhile must not leave a server in a process group of its own running)."""
    try:
        _poll_healthy(url, proc, timeout, logs, what)
    except BaseException:
        _stop_proc(proc)
        raise


def _poll_healthy(url: str, proc: subprocess.Popen, timeout: float, logs: list[Path], what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            why = f"exited with code {proc.returncode}"
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            why = f"did not answer {url} within {timeout:g} s"
            break
        time.sleep(0.05)
    _stop_proc(proc)
    tails = "\n".join(f"--- {p}:\n{_tail(p)}" for p in logs)
    raise RuntimeError(f"{what} {why}\n{tails}")


def _stop_proc(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class _Server:
    """Shared lifecycle: stop() is idempotent, also runs at interpreter exit; context manager."""

    proc: subprocess.Popen

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 10 s)."""
        _stop_proc(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------ Synapse
@dataclass
class RegisteredUser:
    user_id: str
    access_token: str
    device_id: str
    password: str


@dataclass
class SynapseServer(_Server):
    base_url: str
    server_name: str
    shared_secret: str
    workdir: Path
    proc: subprocess.Popen = field(repr=False)
    startup_seconds: float = 0.0

    @property
    def log_path(self) -> Path:
        return self.workdir / "homeserver.log"

    def register_user(self, localpart: str, password: str, admin: bool = False) -> RegisteredUser:
        return register_user(self.base_url, self.shared_secret, localpart, password, admin)


def synapse_config(workdir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """The homeserver.yaml contents (as a dict; JSON is valid YAML)."""
    config: dict[str, Any] = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "signing_key_path": str(workdir / "signing.key"),
        "media_store_path": str(workdir / "media_store"),
        "log_config": str(workdir / "log_config.yaml"),
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }],
        "registration_shared_secret": shared_secret,
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "bcrypt_rounds": 4,
        "caches": {"sync_response_cache_duration": 0},
        "presence": {"enabled": False},
        "enable_authenticated_media": True,  # nio 0.26 downloads via /_matrix/client/v1/media
        "max_upload_size": "50M",
        "url_preview_enabled": False,
        "federation_rr_transactions_per_room_per_second": 1000,
    }
    for key in _RC_KEYS:
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = {"per_second": 1000, "burst_count": 1000}
    return config


def _retry_port_clash(start, port: int | None, *args: Any) -> Any:
    """Call start(port, *args); with no fixed port, retry on another if the free one got taken."""
    for attempt in range(3):
        try:
            return start(port or free_port(), *args)
        except RuntimeError as e:
            if port or attempt == 2 or "address already in use" not in str(e).lower():
                raise


def start_synapse(workdir: Path, port: int | None = None, timeout: float = 60,
                  own_group: bool = False) -> SynapseServer:
    """Configure and start a Synapse in ``workdir`` (created; reused state is kept) and wait for /health.
    ``own_group``: as for start_mastodon_mock."""
    return _retry_port_clash(_start_synapse, port, workdir, timeout, own_group)


def _start_synapse(port: int, workdir: Path, timeout: float, own_group: bool = False) -> SynapseServer:
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    secret_file = workdir / "shared_secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(16))
    shared_secret = secret_file.read_text().strip()
    key_file = workdir / "signing.key"
    if not key_file.exists():  # Synapse's format: "ed25519 <version> <unpadded base64 seed>"
        seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        key_file.write_text(f"ed25519 a_{secrets.token_hex(2)} {seed}\n")
    (workdir / "media_store").mkdir(exist_ok=True)
    log_config = {
        "version": 1,
        "formatters": {"f": {"format": "%(asctime)s %(name)s %(levelname)s %(request)s %(message)s"}},
        "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter", "request": ""}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(workdir / "homeserver.log"),
                              "formatter": "f", "filters": ["context"]}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }
    (workdir / "log_config.yaml").write_text(json.dumps(log_config, indent=1))
    config_file = workdir / "homeserver.yaml"
    config_file.write_text(json.dumps(synapse_config(workdir, port, shared_secret), indent=1))
    out_path = workdir / "synapse.stdout.log"
    started = time.monotonic()
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config_file)],
            cwd=workdir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            process_group=0 if own_group else None,
        )
    base_url = f"http://127.0.0.1:{port}"
    _wait_healthy(f"{base_url}/health", proc, timeout, [out_path, workdir / "homeserver.log"], "Synapse")
    server = SynapseServer(base_url, SERVER_NAME, shared_secret, workdir, proc, time.monotonic() - started)
    atexit.register(server.stop)
    return server


def register_user(base_url: str, shared_secret: str, localpart: str, password: str,
                  admin: bool = False, displayname: str | None = None) -> RegisteredUser:
    """Create an account via POST /_synapse/admin/v1/register (nonce + HMAC-SHA1)."""
    url = f"{base_url.rstrip('/')}/_synapse/admin/v1/register"
    nonce = _http("GET", url)["nonce"]
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, localpart, password):
        mac.update(part.encode() + b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    body: dict[str, Any] = {"nonce": nonce, "username": localpart, "password": password,
                            "admin": admin, "mac": mac.hexdigest()}
    if displayname:
        body["displayname"] = displayname
    answer = _http("POST", url, body)
    return RegisteredUser(answer["user_id"], answer["access_token"], answer["device_id"], password)


async def async_register_user(base_url: str, shared_secret: str, localpart: str, password: str,
                              admin: bool = False, displayname: str | None = None) -> RegisteredUser:
    """`register_user` in a worker thread, for use inside an event loop."""
    return await asyncio.to_thread(register_user, base_url, shared_secret, localpart, password,
                                   admin, displayname)


# ------------------------------------------------------------------------- mastodon-mock
@dataclass
class MastodonMock(_Server):
    base_url: str
    proc: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False, default=Path(os.devnull))
    tmpdir: Path | None = field(repr=False, default=None)  # removed by stop()

    def stop(self) -> None:
        super().stop()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def dev_user(self, username: str | None = None, display_name: str | None = None) -> dict[str, Any]:
        """Create a local account; answer: {"id", "username", "display_name", "role", "access_token"}.

        A taken username gives 422 (RuntimeError here)."""
        body = {k: v for k, v in {"username": username, "display_name": display_name}.items() if v}
        return _http("POST", f"{self.base_url}/api/v1/_mock/dev_user", body)

    def dev_user_token(self, username: str | None = None) -> str:
        """An access token for a new account ``username`` (a unique one if None)."""
        return self.dev_user(username)["access_token"]

    def statuses(self, account_id: str, token: str | None = None, limit: int = 40) -> list[dict[str, Any]]:
        """GET /api/v1/accounts/<id>/statuses: newest first; public/unlisted only without ``token``."""
        return _http("GET", f"{self.base_url}/api/v1/accounts/{account_id}/statuses?limit={limit}",
                     token=token)

    def add_fault(self, match: dict[str, Any], effect: dict[str, Any], count: int | None = 1) -> dict[str, Any]:
        """Add a fault rule (see module docstring); ``count=None`` fires forever. Returns the rule."""
        body: dict[str, Any] = {"match": match, "effect": effect}
        if count is not None:
            body["count"] = count
        return _http("POST", f"{self.base_url}/api/v1/_mock/faults", body)

    def faults(self) -> list[dict[str, Any]]:
        """Active rules with their ``remaining`` budgets (spent rules are removed)."""
        return _http("GET", f"{self.base_url}/api/v1/_mock/faults")

    def clear_faults(self) -> None:
        _http("DELETE", f"{self.base_url}/api/v1/_mock/faults")

    def reset(self) -> None:
        """Drop all data and faults; re-seed the default: account "testuser", token "mock_token"."""
        _http("POST", f"{self.base_url}/api/v1/_mock/reset")


def start_mastodon_mock(port: int | None = None, timeout: float = 30,
                        log_path: Path | None = None, db_path: Path | None = None,
                        own_group: bool = False) -> MastodonMock:
    """Run ``mastodon_mock serve`` on 127.0.0.1 and wait for /health: in memory, or with its SQLite
    file at ``db_path`` (kept across restarts: accounts, tokens, statuses). ``own_group``: a process
    group of its own, so a Ctrl-C in the terminal reaches only the parent, which stops it in order."""
    return _retry_port_clash(_start_mastodon_mock, port, timeout, log_path, db_path, own_group)


def _start_mastodon_mock(port: int, timeout: float, log_path: Path | None, db_path: Path | None = None,
                         own_group: bool = False) -> MastodonMock:
    # cwd is a fresh directory: the mock would read ./.mastodon_mock.toml or ./pyproject.toml.
    cwd = Path(tempfile.mkdtemp(prefix="mastodon-mock-"))
    log_path = log_path or cwd / "mock.log"
    store = ["--in-memory"]
    if db_path is not None:
        config = cwd / "mastodon_mock.toml"
        config.write_text(f"[database]\npath = {json.dumps(str(Path(db_path).resolve()))}\n")
        store = ["--config", str(config)]
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mastodon_mock", "serve", *store, "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            process_group=0 if own_group else None,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base_url}/health", proc, timeout, [log_path], "mastodon-mock")
    finally:
        if proc.poll() is not None:
            shutil.rmtree(cwd, ignore_errors=True)
    server = MastodonMock(base_url, proc, log_path, cwd)
    atexit.register(server.stop)
    return server
