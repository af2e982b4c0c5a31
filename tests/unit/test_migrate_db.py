"""`plenum migrate-db`: a SQLite installation copied into PostgreSQL keeps working there; counts are checked.

Needs PostgreSQL whatever --db says (tests/backend.py: pgserver, or a clear failure in CI)."""
from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import build_app
from bot.clock import FakeClock
from bot.config import DatabaseConfig, SecretStr
from bot.crypto_state import CryptoState
from storage.pg import PgDatabase
from tests import backend
from tests.conversation.conftest import ALICE, BOB, CAROL, ORGA, ROOM
from tests.fakes import Conversation, FakeChat, make_config, start_conversation


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=120)


def chat() -> FakeChat:
    c = FakeChat()
    c.add_room(ROOM, [ALICE, BOB, CAROL, ORGA], power={ORGA: 50}, name="Ortsgruppe")
    return c


def fake_crypto_files(data_dir: Path) -> None:
    (data_dir / "device.json").write_text('{"user_id": "@plenum:test", "device_id": "DEV1"}')
    (data_dir / "cross_signing.json").write_text('{"master": "m"}')
    (data_dir / "store").mkdir()
    store = sqlite3.connect(data_dir / "store" / "@plenum:test_DEV1.db")
    store.execute("CREATE TABLE accounts (pickle TEXT)")
    store.execute("INSERT INTO accounts VALUES ('olm-account-pickle')")
    store.commit()
    store.close()


async def test_an_installation_moves_to_postgresql_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "NAME", "sqlite")  # the source is a SQLite installation whatever --db says
    data = tmp_path / "data"
    conv = await start_conversation(data, chat())
    await conv.reply(ALICE, "!termin Plenum | Mo 30.11. 18 Uhr | Di 1.12. 19:00", ROOM)
    await conv.reply(ALICE, "!umfrage Beamer?", ROOM)
    await conv.reply(BOB, "!abstimmen 1 2=vielleicht", ROOM)
    await conv.reply(CAROL, "!abstimmen 2 ja", ROOM)
    await conv.reply(ALICE, "!schliessen 2", ROOM)
    await conv.app.db.close()
    fake_crypto_files(data)
    source = sqlite3.connect(data / "plenum.db")
    tables = [r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                           " AND name NOT LIKE 'sqlite_%' AND name != 'schema_version'")]
    expected = {t: source.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    source.close()
    assert expected["polls"] == 2 and expected["outbox"] >= 5 and expected["handled_events"] == 5

    url = backend.url_for(tmp_path / "target")
    result = run_cli("migrate-db", "--from", f"sqlite:{data / 'plenum.db'}", "--to", url)
    assert result.returncode == 0, result.stderr
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if not line.startswith("ok"))
    assert {t: int(printed[t]) for t in tables} == expected
    assert printed["(encryption state files)"] == "3"

    # the copy is used by a bot on PostgreSQL: old polls, old handled marks, the sequence goes on
    config = make_config(data)
    config = dataclasses.replace(config, database=DatabaseConfig(url=SecretStr(url)))
    app = await build_app(config, chat(), FakeClock(conv.clock.now()))
    assert isinstance(app.db, PgDatabase)
    for feature in app.features:
        await feature.on_start()
    moved = Conversation(app, app.chat, app.clock)  # type: ignore[arg-type]
    moved._ids = conv._ids
    answer = await moved.reply(CAROL, "!ergebnis 1", ROOM)
    assert answer.body.startswith("Zwischenstand von #1 (noch offen):") and "🤔 @bob:test" in answer.body
    answer = await moved.reply(ALICE, "!umfrage Noch eine?", ROOM)
    assert "#3" in answer.body  # the identity sequence continues after the copied ids
    assert await app.pipeline.handled.seen("$ev1")  # the marks came along: no command is answered twice
    # the encryption state is in the database and comes back into an empty data_dir
    fresh = tmp_path / "standby-data"
    assert await CryptoState(app.db, fresh).restore() == 3
    assert (fresh / "device.json").read_text() == (data / "device.json").read_text()
    store = sqlite3.connect(fresh / "store" / "@plenum:test_DEV1.db")
    assert store.execute("SELECT pickle FROM accounts").fetchone() == ("olm-account-pickle",)
    store.close()
    await app.db.close()

    # a second copy into the now used database is refused, and nothing changes there
    result = run_cli("migrate-db", "--from", f"sqlite:{data / 'plenum.db'}", "--to", url)
    assert result.returncode == 1 and "not empty" in result.stderr
    check = PgDatabase(url)
    await check.open()
    assert await check.fetchval("SELECT COUNT(*) FROM polls") == 3
    await check.close()


async def test_bad_arguments_are_named(tmp_path):
    result = run_cli("migrate-db", "--from", str(tmp_path / "plenum.db"), "--to", "postgresql://x@h/db")
    assert result.returncode == 2 and "sqlite:PATH" in result.stderr
    result = run_cli("migrate-db", "--from", f"sqlite:{tmp_path / 'missing.db'}", "--to", "postgresql://x@h/db")
    assert result.returncode == 2 and "no SQLite database" in result.stderr
