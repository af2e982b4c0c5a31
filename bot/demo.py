"""`plenum demo`: a local Synapse, a Mastodon test server, the bot, demo users and demo rooms on loopback.

Nothing outside this machine is touched. State (homeserver database, bot data, passwords, the
Mastodon test server's file, account and port) lives in the demo directory, so a second run logs in
to the same rooms and finds the statuses the bot published.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import urllib.parse
from pathlib import Path

from bot.config import parse_config
from bot.devserver import MastodonMock, SynapseServer, _http, start_mastodon_mock, start_synapse

log = logging.getLogger("plenum.demo")

ROOMS = [
    # (key, name, language, role, topic)
    ("ortsgruppe", "Ortsgruppe Musterstadt (Demo)", "de", None, "Plenum, Termine, Abstimmungen, Dienste"),
    ("orga", "Orga-Team (Demo)", "de", "orga", "Beiträge entwerfen und freigeben"),
    ("awareness", "Awareness-Team (Demo)", "de", "awareness", "Anonyme Meldungen kommen hier an"),
    ("english", "Working group (English demo)", "en", None, "The same bot, answering in English"),
]


def _client(base: str, token: str):
    def call(method: str, path: str, body=None):
        return _http(method, base + "/_matrix/client/v3" + path, body, token=token)
    return call


def _send(call, room_id: str, body: str) -> None:
    txn = secrets.token_hex(8)
    call("PUT", f"/rooms/{urllib.parse.quote(room_id)}/send/m.room.message/{txn}", {"msgtype": "m.text", "body": body})


def _ensure_users(synapse: SynapseServer, state: dict) -> dict:
    if "users" not in state:
        users = {}
        for name in ("plenum", "demo", "demo2"):
            password = secrets.token_urlsafe(9)
            reg = synapse.register_user(name, password, admin=False)
            users[name] = {"user_id": reg.user_id, "password": password, "token": reg.access_token}
        state["users"] = users
    return state["users"]


def _ensure_rooms(synapse: SynapseServer, state: dict, users: dict) -> dict:
    if "rooms" in state:
        return state["rooms"]
    demo = _client(synapse.base_url, users["demo"]["token"])
    demo2 = _client(synapse.base_url, users["demo2"]["token"])
    rooms = {}
    for key, name, _lang, _role, topic in ROOMS:
        created = demo("POST", "/createRoom", {
            "name": name, "topic": topic, "preset": "private_chat",
            "invite": [users["plenum"]["user_id"], users["demo2"]["user_id"]],
            # demo2 is a second organiser, so the four-eyes rule can be tried out
            "power_level_content_override": {"users": {users["demo2"]["user_id"]: 50}},
        })
        rooms[key] = created["room_id"]
        demo2("POST", f"/join/{urllib.parse.quote(created['room_id'])}", {})
    state["rooms"] = rooms
    state["configured"] = False
    return rooms


async def _configure_rooms(synapse: SynapseServer, state: dict, users: dict) -> None:
    """Give the demo rooms their roles and languages by typing the commands, as a person would."""
    if state.get("configured"):
        return
    demo = _client(synapse.base_url, users["demo"]["token"])
    for key, _name, lang, role, _topic in ROOMS:
        room_id = state["rooms"][key]
        if lang == "en":
            _send(demo, room_id, "!raum sprache en")
        if role:
            _send(demo, room_id, f"!raum {role}")
        _send(demo, room_id, "!hilfe" if lang == "de" else "!help")
    state["configured"] = True


def _mastodon_token(mock: MastodonMock, state: dict) -> str:
    """The demo group's Mastodon account, created once: its statuses stay in the mock's file."""
    token = state.get("mastodon_token")
    if token:
        try:
            _http("GET", mock.base_url + "/api/v1/accounts/verify_credentials", token=token)
            return token
        except RuntimeError:
            log.warning("the Mastodon test server no longer knows the demo account (its file was removed?): "
                        "starting a new one")
    token = mock.dev_user_token(f"ortsgruppe_{secrets.token_hex(3)}")
    state["mastodon_token"] = token
    return token


def _start_mock(base: Path, state: dict) -> MastodonMock:
    """The Mastodon test server on the port of the first run, with its data in the demo directory, so
    the links the bot posted keep working and !delete finds the statuses after a restart."""
    db_path, log_path = base / "mastodon-mock.db", base / "mastodon-mock.log"
    port = state.get("mastodon_port")
    if port:
        try:
            return start_mastodon_mock(port=port, log_path=log_path, db_path=db_path, own_group=True)
        except RuntimeError as exc:
            if "address already in use" not in str(exc).lower():
                raise
            log.warning("port %d of the Mastodon test server is taken; using another one (links to earlier "
                        "posts point to the old port)", port)
    mock = start_mastodon_mock(log_path=log_path, db_path=db_path, own_group=True)
    state["mastodon_port"] = int(mock.base_url.rsplit(":", 1)[1])
    return mock


def _write_config(base: Path, synapse: SynapseServer, mock: MastodonMock, users: dict, token: str) -> Path:
    path = base / "config.toml"
    path.write_text("\n".join([
        "# written by plenum demo",
        "[matrix]", f'homeserver = "{synapse.base_url}"', f'user_id = "{users["plenum"]["user_id"]}"',
        f'password = "{users["plenum"]["password"]}"',
        "[bot]", 'data_dir = "bot-data"', 'language = "de"', 'timezone = "Europe/Berlin"',
        f'admins = ["{users["demo"]["user_id"]}"]', "approvals_required = 1",
        "[[mastodon]]", 'name = "main"', f'api_base_url = "{mock.base_url}"', f'access_token = "{token}"',
        "poll_seconds = 15", "",
    ]))
    path.chmod(0o600)
    return path


def _banner(synapse: SynapseServer, mock: MastodonMock, users: dict) -> str:
    d = users["demo"]
    d2 = users["demo2"]
    return f"""
================================================================================
 Plenum demo is running. Log in with any Matrix client (e.g. Element Desktop,
 app.element.io, or Fractal) — choose "other homeserver":

   Homeserver:  {synapse.base_url}
   Username:    demo        (full id {d['user_id']})
   Password:    {d['password']}

   Second organiser (to try the four-eyes rule): demo2 / {d2['password']}

 You are already in four rooms with the bot: "Ortsgruppe Musterstadt (Demo)"
 (German: try !hilfe, !termin, !umfrage), "Working group (English demo)"
 (English: try !help), "Orga-Team (Demo)" (organisers' room: try !beitrag) and
 "Awareness-Team (Demo)". Or start a direct chat with {users['plenum']['user_id']}.

 Mastodon test server (posts appear here): {mock.base_url}/api/v1/timelines/public
 Press Ctrl-C to stop everything.
================================================================================
"""


def _save(state_path: Path, state: dict) -> None:
    state_path.write_text(json.dumps(state, indent=2))
    state_path.chmod(0o600)


def run_demo(base: Path, port: int = 8008) -> int:
    """Run until Ctrl-C (SIGINT), SIGTERM or SIGHUP, then stop the bot, then the servers: exit 0.

    The servers run in process groups of their own, so a Ctrl-C in the terminal reaches only this
    process and the bot can still send what it owes before its homeserver goes."""
    base = base.resolve()
    base.mkdir(parents=True, exist_ok=True)
    state_path = base / "demo.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    servers: list = []
    signal.signal(signal.SIGTERM, _interrupt)  # until the bot runs: stop like Ctrl-C, with the servers
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        print("Starting the local homeserver and the Mastodon test server …", flush=True)
        synapse = start_synapse(base / "synapse", port=port, own_group=True)
        servers.append(synapse)
        mock = _start_mock(base, state)
        servers.append(mock)
        users = _ensure_users(synapse, state)
        _ensure_rooms(synapse, state, users)
        token = _mastodon_token(mock, state)
        _save(state_path, state)
        config = parse_config(_write_config(base, synapse, mock, users, token).read_text(), env={}, base_dir=base)
        asyncio.run(_run(config, synapse, mock, users, state, state_path))
    except KeyboardInterrupt:
        pass  # Ctrl-C before the bot was up: nothing half-done to report
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not leave a server
            signal.signal(sig, signal.SIG_IGN)
        for server in reversed(servers):
            server.stop()
    print("Demo stopped.", flush=True)
    return 0


def _interrupt(signum, frame) -> None:  # a signal handler: raise where the main thread is
    raise KeyboardInterrupt


async def _run(config, synapse, mock, users, state, state_path) -> None:
    from bot.runner import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)

    def ready(_app) -> None:
        asyncio.get_running_loop().create_task(after_ready())

    async def after_ready() -> None:
        await _configure_rooms(synapse, state, users)
        _save(state_path, state)
        print(_banner(synapse, mock, users), flush=True)

    await run_bot(config, stop, on_ready=ready)
