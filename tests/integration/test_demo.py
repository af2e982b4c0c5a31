"""`plenum demo` end to end: a person logs in with the printed password and gets answers in both languages."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from nio import AsyncClient, LoginResponse, RoomMessageNotice

from bot.devserver import _http, free_port
from tests.integration.conftest import wait_for
from tests.integration.test_bot import reply_target, send

ROOT = Path(__file__).resolve().parents[2]


def start_demo(tmp_path: Path, port: int, until: str = "Press Ctrl-C", name: str = "demo.out"
               ) -> tuple[subprocess.Popen, str]:
    """Start `plenum demo` in a session of its own (as a terminal would: Ctrl-C goes to its whole
    process group) and wait until its output shows `until`."""
    out = tmp_path / name
    proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--data", str(tmp_path / "demo"),
                             "--port", str(port)], cwd=ROOT, stdout=out.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace") if out.exists() else ""
        if until in text:
            return proc, text
        assert proc.poll() is None, text
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("demo did not start:\n" + out.read_text(errors="replace"))


def ctrl_c(proc: subprocess.Popen, out: Path) -> str:
    """Press Ctrl-C in the demo's terminal: SIGINT to its process group. It must end by itself, exit 0,
    without a traceback."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    text = out.read_text(errors="replace")
    assert code == 0, text
    assert "Traceback" not in text and "Demo stopped." in text, text
    return text


async def test_demo_answers_hilfe_in_german_and_help_in_english(tmp_path):
    port = free_port()
    proc, banner = start_demo(tmp_path, port)
    try:
        password = re.search(r"Password:\s+(\S+)", banner).group(1)
        homeserver = re.search(r"Homeserver:\s+(\S+)", banner).group(1)
        assert homeserver == f"http://127.0.0.1:{port}"
        client = AsyncClient(homeserver, "demo")
        assert isinstance(await client.login(password), LoginResponse)
        await client.sync(timeout=0)
        rooms = {room.display_name: room_id for room_id, room in client.rooms.items()}
        german, english = rooms["Ortsgruppe Musterstadt (Demo)"], rooms["Working group (English demo)"]
        for room, command, expected in ((german, "!hilfe", "Das kann ich"), (english, "!help", "Here is what I can do")):
            cmd = await send(client, room, command)
            answer = await wait_for(client, lambda r, e: isinstance(e, RoomMessageNotice) and reply_target(e) == cmd,
                                    timeout=30)
            assert expected in answer.body
        await client.close()
    finally:
        text = ctrl_c(proc, tmp_path / "demo.out")
    assert "ready: 4 rooms" in text, text  # the four demo rooms, joined in the very first sync
    assert "Timed out" not in text and "still pending" not in text, text  # the bot stopped before its servers


def mastodon_of(tmp_path: Path) -> tuple[str, str]:
    config = tomllib.loads((tmp_path / "demo" / "config.toml").read_text())
    return config["mastodon"][0]["api_base_url"], config["mastodon"][0]["access_token"]


def test_demo_restart_keeps_rooms_and_the_mastodon_test_server(tmp_path):
    port = free_port()
    proc, _ = start_demo(tmp_path, port, name="first.out")
    base, token = mastodon_of(tmp_path)
    status = _http("POST", base + "/api/v1/statuses", {"status": "Plenum am Dienstag"}, token=token)
    ctrl_c(proc, tmp_path / "first.out")
    proc, _ = start_demo(tmp_path, port, name="second.out")
    try:
        assert mastodon_of(tmp_path) == (base, token)  # same port, same account
        again = _http("GET", f"{base}/api/v1/statuses/{status['id']}", token=token)
        assert again["url"] == status["url"]  # a published status is still there: !delete can find it
    finally:
        text = ctrl_c(proc, tmp_path / "second.out")
    assert "ready: 4 rooms" in text and "joined" not in text, text
    assert left_behind(tmp_path) == []


def left_behind(tmp_path: Path) -> list[str]:
    """Processes still running from this demo directory (the servers run in process groups of their own)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(tmp_path / "demo") in text:
            found.append(text)
    return found


def test_ctrl_c_while_starting_ends_cleanly(tmp_path):
    proc, _ = start_demo(tmp_path, free_port(), until="Starting the local homeserver", name="early.out")
    time.sleep(0.5)  # Synapse is starting
    ctrl_c(proc, tmp_path / "early.out")
    assert left_behind(tmp_path) == []  # Synapse, interrupted while it started, is stopped too
