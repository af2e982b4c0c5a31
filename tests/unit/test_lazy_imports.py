"""Issue 15, item 3: what a host does not use is not imported (or loaded) until first needed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, json, sys, tempfile
from pathlib import Path
from bot.config import parse_config
from bot.runner import make_publishers
import bot.app

config = parse_config('''
[matrix]
homeserver = "http://127.0.0.1:1"
user_id = "@plenum:test"
access_token = "t"
[bot]
data_dir = "%s"
''', env={})
assert make_publishers(config) == {}

async def build():
    from tests.fakes import FakeChat
    from bot.clock import SystemClock
    app = await bot.app.build_app(config, FakeChat(), SystemClock())
    await app.db.close()

asyncio.run(build())
from datetime import datetime, timezone
from bot.timeformat import format_when  # showing a date needs no Babel either
format_when(datetime.now(timezone.utc), lang="de", tz="Europe/Berlin")
modules = sorted(sys.modules)
import babel.localedata
print(json.dumps({"modules": modules, "locales": sorted(babel.localedata._cache)}))
"""


def probe(tmp_path) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE % tmp_path], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_bot_without_mastodon_accounts_never_imports_mastodon_or_the_lazy_extras(tmp_path):
    found = probe(tmp_path)
    tops = {m.split(".")[0] for m in found["modules"]}
    for lazy in ("mastodon", "requests", "dateparser", "icalendar", "regex", "pydantic", "apscheduler", "babel"):
        assert lazy not in tops, f"{lazy} imported by building the app"
    assert found["locales"] == []  # no Babel (nor its 5.7 MB of locale data), also after a date was shown
