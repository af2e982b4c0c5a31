"""The record of decisions on a real SQLite file: numbers per room, one decision per poll, folded search."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from tests import backend
from storage.db import Database
from storage.decisions import Decision, DecisionRepo, RecordedOption, fold, search_text
from storage.schema import REGISTRY

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
BASE = Decision(room_id="!r:test", number=0, poll_id=1, kind="choice", question="Sommerfest 2027", secret=False,
                yesno=True, majority="simple", quorum=None,
                options=(RecordedOption(1, "Ja", votes=3), RecordedOption(2, "Nein", votes=1),
                         RecordedOption(3, "Enthaltung", votes=0)),
                outcome="ok", winners=(1,), participation=4, valid_votes=4, quorum_met=None, closed_at=T0,
                event_id="$e")


@pytest.fixture
async def repo(tmp_path):
    db = backend.database(tmp_path / "d.db")
    await db.open()
    assert (await db.migrate(REGISTRY))["decisions"] == 1
    yield DecisionRepo(db)
    await db.close()


async def record(repo: DecisionRepo, d: Decision) -> int | None:
    async with repo.db.transaction():
        return await repo.record(d)


def test_fold_lowers_and_spells_out_umlauts_and_sharp_s() -> None:
    assert fold("Straße") == "strasse" and fold("STRASSE") == "strasse"
    assert fold("Grünkohl  Öl Ähre") == "gruenkohl oel aehre"
    assert "grunkohl" in search_text("Grünkohl", []) and "gruenkohl" in search_text("Grünkohl", [])


async def test_numbers_count_per_room_and_a_poll_is_recorded_once(repo) -> None:
    assert await record(repo, BASE) == 1
    assert await record(repo, replace(BASE, poll_id=2)) == 2
    assert await record(repo, replace(BASE, poll_id=3, room_id="!other:test")) == 1
    assert await record(repo, replace(BASE, poll_id=2, question="again")) is None
    stored = await repo.get("!r:test", 2)
    assert stored is not None and stored.question == "Sommerfest 2027" and stored.options == BASE.options
    assert stored.winners == (1,) and stored.closed_at == T0 and not stored.revoked


async def test_search_needs_every_word_and_treats_like_wildcards_literally(repo) -> None:
    await record(repo, BASE)
    await record(repo, replace(BASE, poll_id=2, question="Straße 100% sperren",
                               options=(RecordedOption(1, "Für_alle"),)))
    assert [d.number for d in (await repo.search("!r:test", ["sommerfest"]))[0]] == [1]
    assert [d.number for d in (await repo.search("!r:test", ["STRASSE", "100%"]))[0]] == [2]
    assert (await repo.search("!r:test", ["für_alle"]))[1] == 1
    assert (await repo.search("!r:test", ["fur%alle"]))[1] == 0
    assert (await repo.search("!r:test", ["_"]))[1] == 1  # the underscore of "Für_alle", not any character
    found, total = await repo.search("!r:test", [], limit=1)
    assert [d.number for d in found] == [2] and total == 2
    assert [d.number for d in (await repo.search("!r:test", [], newest_first=False))[0]] == [1, 2]


async def test_revoking_twice_is_refused(repo) -> None:
    await record(repo, BASE)
    async with repo.db.transaction():
        assert await repo.revoke("!r:test", 1, None, T0)
        assert not await repo.revoke("!r:test", 1, 2, T0)
    stored = await repo.get("!r:test", 1)
    assert stored is not None and stored.revoked and stored.revoked_by is None and stored.revoked_at == T0
