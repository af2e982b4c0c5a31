"""The poll repository on a real SQLite file: votes stored once, latest votes, reactions, secret ballots, forgetting."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from commands.tally import latest_per_voter
from tests import backend
from storage.db import Database
from storage.polls import ANONYMOUS, PollRepo, Reaction
from storage.schema import REGISTRY

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
async def repo(tmp_path):
    db = backend.database(tmp_path / "p.db")
    await db.open()
    versions = await db.migrate(REGISTRY)
    assert versions["polls"] == 2
    yield PollRepo(db)
    await db.close()


async def make(repo: PollRepo, **kw):
    args = dict(room_id="!r:test", kind="choice", creator="@a:test", title="Q", created_at=T0,
                options=[("A", None), ("B", None)])
    args.update(kw)
    async with repo.db.transaction():
        return await repo.create(**args)


async def test_migrating_twice_changes_nothing(repo) -> None:
    assert (await repo.db.migrate(REGISTRY))["polls"] == 2


async def test_a_vote_event_is_stored_once(repo) -> None:
    poll = await make(repo)
    async with repo.db.transaction():
        assert await repo.add_vote(poll.id, "$e1", "@b:test", T0, [1])
        assert not await repo.add_vote(poll.id, "$e1", "@b:test", T0, [1])
        assert await repo.add_vote(poll.id, "$e2", "@b:test", T0 + timedelta(seconds=1), [0])
    assert [v.payload for v in await repo.votes(poll.id)] == [[1], [0]]


async def test_latest_vote_counts_one_exactly_at_the_cutoff(repo) -> None:
    poll = await make(repo)
    async with repo.db.transaction():
        await repo.add_vote(poll.id, "$b1", "@b:test", T0 - timedelta(minutes=1), [0])
        await repo.add_vote(poll.id, "$b2", "@b:test", T0, [1])  # at the cutoff: counts
        await repo.add_vote(poll.id, "$b3", "@b:test", T0 + timedelta(milliseconds=1), [0])  # after: ignored
        await repo.add_vote(poll.id, "$c1", "@c:test", T0 + timedelta(milliseconds=1), [1])  # only after
    assert await repo.latest_votes(poll.id, T0) == {"@b:test": [1]}
    assert await repo.latest_votes(poll.id, T0 - timedelta(microseconds=1)) == {"@b:test": [0]}
    assert await repo.latest_votes(poll.id, T0 + timedelta(microseconds=1500)) == {"@b:test": [0], "@c:test": [1]}
    assert await repo.latest_votes(poll.id) == {"@b:test": [0], "@c:test": [1]}


async def test_latest_vote_with_equal_times_is_the_later_stored_one(repo) -> None:
    poll = await make(repo)
    async with repo.db.transaction():
        await repo.add_vote(poll.id, "$z", "@b:test", T0, [0])
        await repo.add_vote(poll.id, "$a", "@b:test", T0, [1])  # same instant, stored later: wins
    assert await repo.latest_votes(poll.id, T0) == {"@b:test": [1]}


async def test_latest_votes_decode_each_distinct_payload_once(repo) -> None:
    poll = await make(repo)
    async with repo.db.transaction():
        for i, ballot in enumerate([[0], [1], [0], [0]]):
            await repo.add_vote(poll.id, f"$e{i}", f"@v{i}:test", T0, ballot)
        await repo.add_vote(poll.id, "$other", "@b:test", T0, [0])
        await repo.add_vote(poll.id, "$x", "@x:test", T0, [1])
    converted = []
    latest = await repo.latest_votes(poll.id, None, lambda p: converted.append(p) or tuple(p))
    assert latest == {"@v0:test": (0,), "@v1:test": (1,), "@v2:test": (0,), "@v3:test": (0,),
                      "@b:test": (0,), "@x:test": (1,)}
    assert sorted(converted) == [[0], [1]]
    assert latest["@v0:test"] is latest["@v3:test"]


async def test_latest_votes_are_latest_per_voter_over_all_votes(repo) -> None:
    """Same voters, same order (of each voter's first counted vote), same payloads, for any cutoff."""
    rng = random.Random(7)
    poll, other = await make(repo), await make(repo)
    async with repo.db.transaction():
        for i in range(400):
            ts = T0 + timedelta(seconds=rng.randrange(40))
            await repo.add_vote(poll.id, f"$e{i}", f"@v{rng.randrange(30)}:test", ts,
                                [rng.randrange(3)] * rng.randrange(1, 3))
            await repo.add_vote(other.id, f"$o{i}", f"@v{rng.randrange(30)}:test", ts, [9])
    votes = await repo.votes(poll.id)
    for until in [None, T0 - timedelta(seconds=1), T0, *(T0 + timedelta(seconds=s, milliseconds=ms)
                                                            for s in (3, 17, 39) for ms in (0, 1))]:
        expected = latest_per_voter(((v.voter, v.ts, v.payload) for v in votes), until=until)
        assert list((await repo.latest_votes(poll.id, until)).items()) == list(expected.items())


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


async def test_polls_of_lists_voted_polls_and_created_ids_and_open_secret_only_open_secret(repo) -> None:
    public, secret, closed = await make(repo, creator="@b:test"), await make(repo, secret=True), \
        await make(repo, secret=True, creator="@b:test")
    async with repo.db.transaction():
        await repo.add_vote(public.id, "$p", "@c:test", T0, [0])
        await repo.close(closed.id, T0)
    voted, created = await repo.polls_of("@c:test")
    assert [p.id for p in voted] == [public.id] and voted[0] == public and created == []
    assert (await repo.polls_of("@b:test"))[1] == await repo.created_by("@b:test") == [public.id, closed.id]
    assert [p.id for p in await repo.open_secret()] == [secret.id]


async def test_an_open_poll_ends_at_its_deadline(repo) -> None:
    until = T0 + timedelta(days=1)
    assert (await make(repo, until=until)).ends_at == until and (await make(repo)).ends_at is None
    async with repo.db.transaction():
        await repo.close(1, T0)
    assert (await repo.get(1)).ends_at == T0
