#!/usr/bin/env python3
"""Set-up and entry point on a fresh machine with only python3.

    python3 dev.py demo     # own virtualenv, install, local homeserver + Mastodon test server + bot
    python3 dev.py test     # own virtualenv, install, the whole test suite (what CI runs), then the
                            # storage and conversation tests again on PostgreSQL (pgserver)
    python3 dev.py bench    # the benchmark table (bench/README.md)
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def ensure_env() -> None:
    """Create .venv and install the project with its test extras, again only when pyproject changes."""
    if sys.version_info < (3, 11):
        sys.exit(f"Plenum needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PY.exists():
        print("creating virtual environment in .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".plenum-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    print("installing Plenum and its dependencies (first run takes a minute) …", flush=True)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "bench"}:
        print(__doc__)
        return 2
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return subprocess.call([str(BIN / "plenum"), "demo", *rest], cwd=ROOT)
    if command == "bench":
        return subprocess.call([str(PY), str(ROOT / "bench" / "run.py"), *rest], cwd=ROOT)
    rc = pytest(rest)
    if rc == 0 and not rest:
        # the whole suite ran on SQLite; the storage and conversation tests run again on PostgreSQL
        # (pgserver, started by the tests; with CI set, a server that cannot be started fails them)
        print("again on PostgreSQL: tests/unit tests/conversation tests/security --db=postgres", flush=True)
        rc = pytest(["--db=postgres", "tests/unit", "tests/conversation", "tests/security"])
    return rc


def pytest(args: list[str]) -> int:
    rc = subprocess.call([str(PY), "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", *args], cwd=ROOT)
    if rc == 5:  # pytest found no tests: that is a failure, never green
        print("no tests were collected: failing", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
