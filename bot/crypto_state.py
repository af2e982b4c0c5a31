"""The bot's encryption state in the database (PostgreSQL only), so that a standby on another machine
starts as the same device: nio's store (olm account, olm and megolm sessions), device.json and the
cross-signing keys are copied into the crypto_files table and written back into data_dir at start.

data_dir stays the working copy nio and bot/crosssign.py use; the database is the truth. `save`
snapshots each file (nio's SQLite store through SQLite's backup API, so a consistent copy even while
nio has it open) and writes the rows whose content changed, in one transaction.

When it is saved, and why that is sound (bot/runner.py):
- after login (device id, token, one-time keys uploaded at login, cross-signing identity);
- after every sync response, *before* the sync position is stored and before the next sync request:
  the homeserver deletes to-device messages (room keys, olm messages) only when a later request
  acknowledges them, so if the active instance dies before the save, the standby syncs from the
  older position and receives the same room keys again; nothing is lost;
- after `after_sync` (one-time key uploads, key queries) and every few seconds while it changed
  (olm sessions advanced by sending room keys), and at shutdown.
What a death between a change and its save can still cost: one-time keys uploaded in that window
whose private halves were not saved (a device that claims one cannot start an olm session with us;
its client retries with another key), and olm sessions that advanced by a send in the last seconds
(the recipient may fail to decrypt that room-key share until a new session is made). Neither loses
a command sent in a room whose key we received: those keys come by sync and are covered above.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from bot.crosssign import KEYS_FILE, PENDING_FILE, STATUS_FILE
from storage.core import CryptoFiles
from storage.db import Database

log = logging.getLogger(__name__)

PLAIN_FILES = ("device.json", KEYS_FILE, PENDING_FILE, STATUS_FILE)
STORE_DIR = "store"


def _snapshot_sqlite(path: Path) -> bytes:
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    mem = sqlite3.connect(":memory:")
    try:
        src.backup(mem)
        return mem.serialize()
    finally:
        src.close()
        mem.close()


def snapshot(data_dir: Path) -> dict[str, bytes]:
    """The encryption state files under data_dir, by relative name."""
    files: dict[str, bytes] = {}
    for name in PLAIN_FILES:
        path = data_dir / name
        if path.exists():
            files[name] = path.read_bytes()
    store = data_dir / STORE_DIR
    if store.is_dir():
        for path in sorted(store.glob("*.db")):
            files[f"{STORE_DIR}/{path.name}"] = _snapshot_sqlite(path)
    return files


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


class CryptoState:
    def __init__(self, db: Database, data_dir: Path) -> None:
        self.files = CryptoFiles(db)
        self.db = db
        self.data_dir = Path(data_dir)
        self._digests: dict[str, str] = {}

    async def restore(self) -> int:
        """Write the stored state into data_dir (replacing what a stale copy there holds); the number
        of files written. With nothing stored yet, the files in data_dir are kept and saved next."""
        stored = await self.files.all()
        if not stored:
            return 0
        store = self.data_dir / STORE_DIR
        if store.is_dir():  # a store of another device, or an older copy of this one, must not survive
            for path in store.iterdir():
                if f"{STORE_DIR}/{path.name}" not in stored and path.is_file():
                    path.unlink()
        for name in PLAIN_FILES:
            if name not in stored and (self.data_dir / name).exists():
                (self.data_dir / name).unlink()
        for name, content in stored.items():
            path = self.data_dir / name
            for suffix in ("-wal", "-shm", "-journal"):  # a stale journal next to a replaced store
                side = path.with_name(path.name + suffix)
                if side.exists():
                    side.unlink()
            _write_private(path, content)
            self._digests[name] = hashlib.sha256(content).hexdigest()
        log.info("encryption state restored from the database (%d files)", len(stored))
        return len(stored)

    async def save(self) -> int:
        """Store the files that changed since the last save; the number written."""
        files = snapshot(self.data_dir)
        changed = {n: c for n, c in files.items() if self._digests.get(n) != hashlib.sha256(c).hexdigest()}
        gone = [n for n in self._digests if n not in files]
        if not changed and not gone:
            return 0
        now = datetime.now(timezone.utc)
        async with self.db.transaction():
            for name, content in changed.items():
                await self.files.put(name, content, now)
            for name in gone:
                await self.files.drop(name)
        for name, content in changed.items():
            self._digests[name] = hashlib.sha256(content).hexdigest()
        for name in gone:
            del self._digests[name]
        return len(changed) + len(gone)
