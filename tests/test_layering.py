"""The architecture stays true: commands/ and storage/ never import nio or mastodon; SQL stays in storage/."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"nio", "mastodon"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_commands_and_storage_do_not_import_nio_or_mastodon():
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & FORBIDDEN)
        for d in ("commands", "storage") for p in (ROOT / d).rglob("*.py")
        if imported_modules(p) & FORBIDDEN
    }
    assert offenders == {}


def test_only_the_adapters_import_nio_or_mastodon():
    allowed = {"bot/matrix_adapter.py": "nio", "bot/mastodon_adapter.py": "mastodon"}
    for p in (ROOT / "bot").rglob("*.py"):
        rel = str(p.relative_to(ROOT))
        used = imported_modules(p) & FORBIDDEN
        assert used <= ({allowed[rel]} if rel in allowed else set()), (rel, used)


def test_commands_contain_no_sql():
    for p in (ROOT / "commands").rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE"):
            assert keyword not in text, (str(p.relative_to(ROOT)), keyword)
