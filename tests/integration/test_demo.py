"""`plenum demo` end to end: a person logs in with the printed password and gets answers in both languages."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from nio import AsyncClient, LoginResponse, RoomMessageNotice

from bot.devserver import free_port
from tests.integration.conftest import wait_for
from tests.integration.test_bot import reply_target, send

ROOT = Path(__file__).resolve().parents[2]


def start_demo(tmp_path: Path, port: int) -> tuple[subprocess.Popen, str]:
    out = tmp_path / "demo.out"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--data", str(tmp_path / "demo"),
                             "--port", str(port)], cwd=ROOT, stdout=out.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace") if out.exists() else ""
        if "Press Ctrl-C" in text:
            return proc, text
        assert proc.poll() is None, text
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("demo did not start:\n" + out.read_text(errors="replace"))


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
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
