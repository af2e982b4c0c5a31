"""PostgreSQL against a real Synapse: kill -9 during a burst, and an active/standby pair where the active
one dies mid-burst and the standby, on a data_dir of its own, answers the rest: every command once.

These tests need PostgreSQL whatever --db says (tests/backend.py: pgserver, or a clear failure in CI)."""
from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime

from nio import AsyncClient, RoomMessageNotice

from tests import backend
from tests.integration.botharness import bot_factory  # noqa: F401 - fixture
from tests.integration.conftest import wait_for
from tests.integration.test_bot import FILTER, collect_replies, make_room, reply_target, send

TAKEOVER_LIMIT = 15.0  # seconds from the active one's death to the standby's "ready" (issue 14)


async def burst_room(bot, matrix_user, **room_kw):
    users = [await matrix_user(n, e2e=room_kw.get("encrypted", False)) for n in ("anna", "ben", "cem")]
    room = await make_room(users[0], bot.user_id, invite=[u.user_id for u in users[1:]], **room_kw)
    for u in users[1:]:
        await u.join(room)
    for u in users:
        await u.sync(timeout=0, sync_filter=FILTER)
    return users, room


async def burst(client: AsyncClient, room: str, n: int, sent: set[str], **kw) -> None:
    for i in range(n):
        sent.add(await send(client, room, "!raum" if i % 2 else "!hilfe raum", **kw))


def log_time(line_pattern: str, text: str) -> float:
    """The timestamp (epoch seconds) of the first log line matching the pattern."""
    for line in text.splitlines():
        if re.search(line_pattern, line):
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise AssertionError(f"no log line matches {line_pattern!r}:\n{text[-2000:]}")


async def test_kill_during_burst_on_postgresql_answers_each_exactly_once(bot_factory, matrix_user, tmp_path):
    users = [await matrix_user(n) for n in ("anna", "ben", "cem")]
    bot = bot_factory(admins=[users[0].user_id], database_url=backend.url_for(tmp_path / "pg"))
    room = await make_room(users[0], bot.user_id, invite=[u.user_id for u in users[1:]])
    for u in users[1:]:
        await u.join(room)
    await users[0].sync(timeout=0, sync_filter=FILTER)
    sent: set[str] = set()
    tasks = [asyncio.create_task(burst(u, room, 10, sent)) for u in users]
    await asyncio.sleep(0.4)
    bot.kill()
    await asyncio.gather(*tasks)
    bot.start()
    counts = await collect_replies(users[0], room, sent, bot.user_id, timeout=120, settle=3)
    assert len(sent) == 30
    assert set(counts) == sent, f"unanswered: {len(sent - set(counts))}"
    assert all(v == 1 for v in counts.values()), {k: v for k, v in counts.items() if v != 1}
    assert bot.log_text().count("active: this instance holds the lock") == 2  # both runs were on PostgreSQL
    assert bot.stop() == 0 and "stepped down" not in bot.log_text()  # SIGTERM is a clean stop, not a lost lock


async def test_standby_takes_over_mid_burst_and_answers_every_command_once(bot_factory, matrix_user, tmp_path):
    alice = await matrix_user("alice", e2e=True)
    active = bot_factory(admins=[alice.user_id], database_url=backend.url_for(tmp_path / "pg"))
    standby = bot_factory(admins=[alice.user_id], twin_of=active, start=False)
    standby.start(until="standby: another instance is active")
    assert not (standby.workdir / "data" / "device.json").exists()  # it has nothing of its own yet

    users = [alice, await matrix_user("ben"), await matrix_user("cem")]
    watcher = await matrix_user("dora")  # sees the active one's first answer, so the kill lands mid-burst
    room = await make_room(alice, active.user_id, invite=[u.user_id for u in [*users[1:], watcher]])
    for u in [*users[1:], watcher]:
        await u.join(room)
    await alice.sync(timeout=0, sync_filter=FILTER)
    await watcher.sync(timeout=0, sync_filter=FILTER)
    secret_room = await make_room(alice, active.user_id, encrypted=True)  # its keys are with the active one
    await alice.sync(timeout=0, sync_filter=FILTER)
    await alice.keys_query()
    first = await send(alice, secret_room, "!hilfe", ignore_unverified_devices=True)  # the room key goes to the active one
    answer = await wait_for(alice, lambda r, e: r == secret_room and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == first, timeout=30)
    assert answer.decrypted

    sent: set[str] = set()
    tasks = [asyncio.create_task(burst(u, room, 10, sent)) for u in users]
    before = await collect_replies(watcher, room, sent, active.user_id, timeout=30, settle=0, at_least=1)
    killed_at = time.time()
    active.kill()
    assert not all(t.done() for t in tasks), "the burst was over before the kill"
    await asyncio.gather(*tasks)
    assert 1 <= sum(before.values()) < 30
    counts = await collect_replies(alice, room, sent, active.user_id, timeout=120, settle=3)
    assert len(sent) == 30
    assert set(counts) == sent, f"unanswered: {len(sent - set(counts))}"
    assert all(v == 1 for v in counts.values()), {k: v for k, v in counts.items() if v != 1}

    log = standby.log_text()
    took = log_time(r"ready:", log) - killed_at
    assert took < TAKEOVER_LIMIT, f"the standby took {took:.1f} s"
    assert "taking over" in log and "encryption state restored from the database" in log
    # the same device with the active one's keys: a command in the same megolm session (no new key share)
    # is decrypted and answered
    cmd = await send(alice, secret_room, "!hilfe", ignore_unverified_devices=True)
    answer = await wait_for(alice, lambda r, e: r == secret_room and isinstance(e, RoomMessageNotice)
                            and reply_target(e) == cmd, timeout=30)
    assert answer.decrypted and "Das kann ich" in answer.body
    print(f"takeover: {took:.1f} s from kill -9 to the standby's ready; {sum(before.values())} of 30 answered before")


async def test_the_active_one_steps_down_when_its_session_is_gone(bot_factory, matrix_user, tmp_path):
    """The database ends the active one's session (as it does for a machine cut off, after the keepalives):
    it stops and exits with status 3, the standby takes over and answers; nothing is answered twice."""
    import asyncpg

    from storage.pg import LOCK_KEY

    alice = await matrix_user("alice")
    url = backend.url_for(tmp_path / "pg")
    active = bot_factory(admins=[alice.user_id], database_url=url)
    standby = bot_factory(admins=[alice.user_id], twin_of=active, start=False)
    standby.start(until="standby: another instance is active")
    room = await make_room(alice, active.user_id)
    await alice.sync(timeout=0, sync_filter=FILTER)
    before = {await send(alice, room, "!raum")}
    assert set(await collect_replies(alice, room, before, active.user_id, timeout=30, settle=0)) == before

    admin = await asyncpg.connect(url)
    holder = await admin.fetchval("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
                                  LOCK_KEY & 0xFFFFFFFF)
    assert await admin.fetchval("SELECT application_name FROM pg_stat_activity WHERE pid = $1", holder) == "plenum"
    await admin.execute("SELECT pg_terminate_backend($1)", holder)
    await admin.close()
    code = await asyncio.to_thread(active.proc.wait, 30)
    assert code == 3 and "stepped down" in active.log_text()
    after = {await send(alice, room, "!raum") for _ in range(3)}
    # all of them are watched, so the wait runs to its timeout: long enough for the takeover and the answers
    counts = await collect_replies(alice, room, before | after, active.user_id, timeout=25, settle=3)
    assert set(counts) == after and set(counts.values()) == {1}  # the earlier one is not answered again
    assert "taking over" in standby.log_text()
