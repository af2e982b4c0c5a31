"""The poll repository on a real SQLite file: idempotent votes, reactions, secret ballots, forgetting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage.db import Database
from storage.polls import ANONYMOUS, PollRepo, Reaction
from storage.schema import REGISTRY

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
async def repo(tmp_path):
    db = Database(tmp_path / "p.db")
    await db.open()
    versions = await db.migrate(REGISTRY)
    assert versions["polls"] == 1
    yield PollRepo(db)
    await db.close()


async def make(repo: PollRepo, **kw):
    args = dict(room_id="!r:test", kind="choice", creator="@a:test", title="Q", created_at=T0,
                options=[("A", None), ("B", None)])
    args.update(kw)
    async with repo.db.transaction():
        return await repo.create(**args)


async def test_migrating_twice_changes_nothing(repo) -> None:
    assert (await repo.db.migrate(REGISTRY))["polls"] == 1


async def test_a_vote_event_is_stored_once(repo) -> None:
    poll = await make(repo)
    async with repo.db.transaction():
        assert await repo.add_vote(poll.id, "$e1", "@b:test", T0, [1])
        assert not await repo.add_vote(poll.id, "$e1", "@b:test", T0, [1])
        assert await repo.add_vote(poll.id, "$e2", "@b:test", T0 + timedelta(seconds=1), [0])
    assert [v.payload for v in await repo.votes(poll.id)] == [[1], [0]]


async def test_reactions_reconcile_to_what_the_room_shows(repo) -> None:
    poll = await make(repo, kind="meeting", options=[("x", T0 + timedelta(days=2)), ("y", T0 + timedelta(days=3))])
    r1, r2 = Reaction("$r1", "@b:test", 0, "yes", T0), Reaction("$r2", "@b:test", 1, "maybe", T0)
    async with repo.db.transaction():
        assert await repo.add_reaction(poll.id, r1)
        assert await repo.replace_reactions(poll.id, [r2])
        assert not await repo.replace_reactions(poll.id, [r2])
        assert await repo.drop_reaction("$r2") == poll.id
    assert await repo.reactions(poll.id) == []


async def test_secret_ballots_lose_their_tags_at_close(repo) -> None:
    poll = await make(repo, secret=True)
    async with repo.db.transaction():
        assert not await repo.put_secret_ballot(poll.id, "@b:test", [1])
        assert await repo.put_secret_ballot(poll.id, "@b:test", [0])
        assert not await repo.put_secret_ballot(poll.id, "@c:test", [1])
    assert await repo.secret_ballot(poll.id, "@b:test") == [0]
    assert await repo.secret_voters(poll.id, ["@b:test", "@c:test", "@d:test"]) == {"@b:test", "@c:test"}
    rows = await repo.db.fetchall("SELECT * FROM poll_secret_ballots")
    assert all("@" not in str(tuple(r)) for r in rows)  # never a user id, only keyed tags
    async with repo.db.transaction():
        await repo.close(poll.id, T0)
        await repo.seal(poll.id)
    assert sorted(await repo.secret_ballots(poll.id)) == [[0], [1]]
    assert await repo.db.fetchval("SELECT COUNT(*) FROM poll_secret_ballots WHERE tag IS NOT NULL") == 0
    assert await repo.db.fetchval("SELECT secret_key FROM polls WHERE id = ?", (poll.id,)) is None
    assert await repo.secret_voters(poll.id, ["@b:test"]) == set()
    with pytest.raises(ValueError):
        async with repo.db.transaction():
            await repo.put_secret_ballot(poll.id, "@d:test", [1])


async def test_forget_removes_open_and_anonymises_closed(repo) -> None:
    open_poll, closed_poll = await make(repo), await make(repo, creator="@b:test")
    async with repo.db.transaction():
        await repo.add_vote(open_poll.id, "$o", "@b:test", T0, [0])
        await repo.add_vote(closed_poll.id, "$c", "@b:test", T0, [1])
        await repo.close(closed_poll.id, T0)
        removed, anonymised = await repo.forget_voter("@b:test")
    assert removed == [open_poll.id] and anonymised == 1
    assert await repo.votes(open_poll.id) == []
    [vote] = await repo.votes(closed_poll.id)
    assert vote.voter.startswith(ANONYMOUS) and vote.event_id.startswith(ANONYMOUS) and vote.payload == [1]
    assert (await repo.get(closed_poll.id)).creator is None
    assert await repo.polls_of("@b:test") == ([], [])
