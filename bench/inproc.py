"""In-process parts of the benchmark: the real app on a real SQLite file, Matrix faked (tests/fakes.py).

    python bench/inproc.py commands              which commands the app registers (JSON list)
    python bench/inproc.py timers  [--jobs N]    N scheduled items due at the same instant: lateness
    python bench/inproc.py chatter [--rooms N] [--messages M] [--room-members K]
                                                 people talking in N rooms: ingest rate, CPU per message
    python bench/inproc.py storage [--votes N] [--members M] [--repeat R] [--db sqlite|postgres]
                                                 !results on a poll with N votes; !duty plan with M members
                                                 (--db postgres: on PostgreSQL from pgserver, tests/backend.py)

Each prints one JSON object as its last stdout line (run.py reads it); notes say what was skipped.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import pct  # noqa: E402


def _quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for name in ("apscheduler", "bot", "commands", "storage"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def registered_commands(tmp: Path) -> list[str]:
    from tests.fakes import start_conversation

    conv = await start_conversation(tmp)
    try:
        return sorted({" ".join(words) for cmd in conv.app.dispatcher.registry.commands for words in cmd.names})
    finally:
        await conv.app.db.close()


# ------------------------------------------------------------------------------ timers
async def timers(tmp: Path, n_jobs: int, lead: float) -> dict[str, Any]:
    """n_jobs jobs due at one instant T (now + lead s), each posting a message; real clock.

    Lateness of a job = when its handler ran − T; delivery lateness = when its message
    reached the (fake) homeserver − T."""
    from bot.app import build_app
    from bot.clock import SystemClock
    from bot.render import plain
    from bot.scheduler import JobHandler
    from tests.fakes import FakeChat, make_config

    ran: list[float] = []
    delivered: list[float] = []
    room = "!bench:test"

    class TimedChat(FakeChat):
        async def send(self, room_id: str, type: str, content: dict[str, Any], txn_id: str) -> str:
            event_id = await super().send(room_id, type, content, txn_id)
            delivered.append(time.time())
            return event_id

    chat = TimedChat()
    chat.add_room(room, ["@alice:test"])
    app = await build_app(make_config(tmp), chat, SystemClock())

    async def run(job) -> None:
        ran.append(time.time())
        await app.messenger.send(job.payload["room"], plain(f"Reminder {job.key}"))

    app.scheduler.register("bench.reminder", JobHandler(run=run))
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=lead + 1)
    t_schedule = time.perf_counter()
    async with app.db.transaction():
        for i in range(n_jobs):
            await app.scheduler.schedule("bench.reminder", f"bench:{i}", due, {"room": room})
    schedule_s = time.perf_counter() - t_schedule
    await app.start()
    t_due = due.timestamp()
    deadline = time.time() + lead + 120
    while len(delivered) < n_jobs and time.time() < deadline:
        await asyncio.sleep(0.05)
    await app.stop()
    run_late = [(t - t_due) * 1000 for t in ran]
    del_late = [(t - t_due) * 1000 for t in delivered]
    return {
        "timers.jobs": n_jobs,
        "timers.ran": len(ran),
        "timers.delivered": len(delivered),
        "timers.schedule_ms_per_job": schedule_s * 1000 / n_jobs,
        "timers.run.p50": pct(run_late, 50), "timers.run.p99": pct(run_late, 99),
        "timers.run.max": max(run_late) if run_late else None,
        "timers.sent.p50": pct(del_late, 50), "timers.sent.p99": pct(del_late, 99),
        "timers.sent.max": max(del_late) if del_late else None,
        "notes": [] if len(delivered) == n_jobs else [f"timers: only {len(delivered)}/{n_jobs} delivered"],
    }


# ------------------------------------------------------------------------------ chatter
CHATTER = ["Hallo zusammen, wer bringt Kuchen mit?", "I can do the flyers on Saturday",
           "> <@a:test> noch jemand?\n\nich!", "👍", "Treffen wir uns um 18 Uhr am Markt?", "!weather Berlin"]


def _chat_source(i: int, room: str, sender: str, ts: int) -> dict[str, Any]:
    return {"type": "m.room.message", "event_id": f"$chat{i}", "sender": sender, "origin_server_ts": ts,
            "room_id": room, "content": {"msgtype": "m.text", "body": CHATTER[i % len(CHATTER)]}, "unsigned": {}}


async def chatter(tmp: Path, n_rooms: int, n_messages: int, members: int, mixed_pass: bool = True) -> dict[str, Any]:
    """People talking in n_rooms rooms the bot is in (no command among it): how many such messages per
    second the bot's own code ingests, and its CPU per message. Two parts, timed apart: nio turning the
    event's JSON into an event object (as in a sync response, without the response's schema check and
    without decryption) plus the adapter's to_incoming, and the pipeline (bot/pipeline.py) on the real app
    with its SQLite file. Commands still go through the whole path; one in 100 messages is one (!help)."""
    from nio import Event as NioEvent

    from bot.matrix_adapter import to_incoming
    from tests.fakes import FakeChat, start_conversation

    chat = FakeChat()
    rooms = [f"!chat{r}:test" for r in range(n_rooms)]
    people = [f"@person{k}:test" for k in range(members)]
    for r in rooms:
        chat.add_room(r, people, power={people[0]: 50}, name=f"group {r}")
    conv = await start_conversation(tmp, chat, rate_limit=1_000_000)
    try:
        await conv.app.delivery.flush()
        await conv.app.db.fetchval("SELECT COUNT(*) FROM handled_events")
        ts = int(conv.clock.now().timestamp() * 1000)

        def sources(prefix: str, command_every: int) -> list[dict[str, Any]]:
            out = [_chat_source(i, rooms[i % n_rooms], people[i % members], ts) for i in range(n_messages)]
            for i, src in enumerate(out):
                src["event_id"] = f"${prefix}{i}"
                if command_every and i % command_every == 0:
                    src["content"]["body"] = "!help"
            return out

        async def ingest(events: list) -> tuple[float, float, int]:
            """One sync per 500 messages, each room's in order (as MatrixAdapter.collect hands them over)."""
            recorded = 0
            c0, w0 = time.process_time(), time.perf_counter()
            for start in range(0, len(events), 500):
                batch: dict[str, list] = {}
                for ev in events[start:start + 500]:
                    batch.setdefault(ev.room_id, []).append(ev)
                recorded += await conv.app.pipeline.handle_batch(batch) or 0  # None before issue 15
            return time.process_time() - c0, time.perf_counter() - w0, recorded

        plain_src = sources("chat", 0)
        c0, w0 = time.process_time(), time.perf_counter()
        plain = [to_incoming(s["room_id"], NioEvent.parse_event(s)) for s in plain_src]
        parse_cpu, parse_wall = time.process_time() - c0, time.perf_counter() - w0
        changes0 = conv.app.db.writer.total_changes
        rows0 = await conv.app.db.fetchval("SELECT COUNT(*) FROM handled_events")
        chat_cpu, chat_wall, _ = await ingest(plain)  # people talking, no command among them
        chat_rows = await conv.app.db.fetchval("SELECT COUNT(*) FROM handled_events") - rows0
        writes = conv.app.db.writer.total_changes - changes0
        mixed = [to_incoming(s["room_id"], NioEvent.parse_event(s)) for s in sources("mix", 100)] if mixed_pass else []
        commands = sum(1 for ev in mixed if ev.body == "!help")
        pipe_cpu, pipe_wall, recorded = await ingest(mixed)  # one in 100 is a command (!help)
        await conv.app.delivery.flush()
        n_plain = len(plain)
        return {
            "chatter.rooms": n_rooms, "chatter.messages": n_messages, "chatter.commands": commands,
            "chatter.recorded": recorded, "chatter.rows": chat_rows, "chatter.writes": writes,
            "chatter.parse_us": parse_cpu * 1e6 / n_messages,
            "chatter.pipeline_us": chat_cpu * 1e6 / n_plain,
            "chatter.cpu_us": (parse_cpu / n_messages + chat_cpu / n_plain) * 1e6,
            "chatter.rate": n_plain / (parse_wall * n_plain / n_messages + chat_wall),
            "chatter.mixed_rate": n_messages / (parse_wall + pipe_wall) if mixed else None,  # parsing costs the same
            "chatter.mixed_pipeline_us": pipe_cpu * 1e6 / n_messages,
            "notes": [f"chatter: {n_messages} messages in {n_rooms} rooms of {members} members: {chat_rows} "
                      f"handled_events rows and {writes} row changes for them; then {n_messages} with {commands} "
                      f"commands among them: {recorded} recorded"],
        }
    finally:
        await conv.app.db.close()


# ------------------------------------------------------------------------------ storage
ORGA = "@orga:test"
PLAN_COUNT = 26  # the most !duty plan shows
ROOM = "!bench:test"


def _known(conv, text: str) -> bool:
    cmd, _ = conv.app.dispatcher.registry.lookup(text.lstrip("!").split())
    return cmd is not None


async def _time_reply(conv, sender: str, body: str, repeat: int) -> tuple[list[float], str]:
    samples, last = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        answer = await conv.reply(sender, body, ROOM)
        samples.append((time.perf_counter() - t0) * 1000)
        last = answer.body
    return samples, last


async def poll_results(tmp: Path, n_votes: int, repeat: int) -> dict[str, Any]:
    from tests.fakes import FakeChat, start_conversation

    if n_votes <= 0:
        return {"notes": []}
    voters = [f"@voter{i}:test" for i in range(n_votes)]
    chat = FakeChat()
    chat.add_room(ROOM, [ORGA, *voters], power={ORGA: 100}, name="Bench")
    conv = await start_conversation(tmp, chat, rate_limit=1_000_000)
    try:
        missing = [c for c in ("poll", "vote", "results") if not _known(conv, c)]
        if missing:
            return {"notes": [f"storage: !results skipped: command(s) {', '.join('!' + m for m in missing)} "
                              "not registered yet (commands/polls.py)"]}
        created = await conv.reply(ORGA, "!poll Benchmark question? | yes | no | abstain", ROOM)
        m = re.search(r"#\s*(\d+)", created.body) or re.search(r"\b(\d+)\b", created.body)
        number = m.group(1) if m else "1"
        # Setup, not timed: cast the votes through the real command path, but without re-rendering
        # the poll message after each one (that is O(votes) per vote, O(votes^2) in all; the
        # cost of one vote at full size is timed below) and delivering in batches.
        feature = next((f for f in conv.app.features if f.name == "polls"), None)
        patched = feature is not None and hasattr(feature, "refresh")
        if patched:
            async def no_refresh(poll) -> None:
                return None
            feature.refresh = no_refresh
        t0 = time.perf_counter()
        for i, voter in enumerate(voters):
            await conv.app.pipeline.handle(conv.event(voter, f"!vote {number} {1 + i % 3}", ROOM))
            if i % 500 == 499:
                await conv.app.delivery.flush()
        await conv.app.delivery.flush()
        setup_s = time.perf_counter() - t0
        if patched:
            del feature.refresh
        samples, body = await _time_reply(conv, ORGA, f"!results {number}", repeat)
        size = len(json.dumps(conv.chat.sent[-1].content, ensure_ascii=False).encode())
        votes_again = []
        for i, voter in enumerate(voters[:repeat]):  # a changed vote, with all the others present
            t0 = time.perf_counter()
            await conv.say(voter, f"!vote {number} {1 + (i + 1) % 3}", ROOM)
            votes_again.append((time.perf_counter() - t0) * 1000)
        head = body.strip().splitlines()[0][:100] if body.strip() else ""
        counted = str(n_votes) in body.replace(".", "").replace(",", "")
        notes = [f"storage: !results {number} answered {size} bytes of content: {head!r}"
                 + ("" if counted else f" (the total {n_votes} is not in the answer: check it)")]
        if size > 65_000:
            notes.append(f"storage: the !results answer ({size} bytes) is over Matrix's 64 KiB event limit: "
                         "a homeserver would refuse it")
        return {
            "storage.results.votes": n_votes,
            "storage.results.p50": pct(samples, 50), "storage.results.max": max(samples),
            "storage.results.bytes": size,
            "storage.vote.p50": pct(votes_again, 50),
            "storage.vote.setup_ms": setup_s * 1000 / n_votes,
            "notes": notes,
        }
    except Exception as exc:  # noqa: BLE001 - a feature in progress must not stop the benchmark
        return {"notes": [f"storage: !results failed: {type(exc).__name__}: {str(exc)[:200]}"]}
    finally:
        await conv.app.db.close()


async def duty_plan(tmp: Path, n_members: int, repeat: int) -> dict[str, Any]:
    from tests.fakes import FakeChat, start_conversation

    members = [f"@member{i}:test" for i in range(n_members)]
    chat = FakeChat()
    chat.add_room(ROOM, [ORGA, *members], power={ORGA: 100}, name="Bench")
    conv = await start_conversation(tmp, chat, rate_limit=1_000_000)
    try:
        missing = [c for c in ("duty create", "duty join", "duty plan") if not _known(conv, c)]
        if missing:
            return {"notes": [f"storage: duty planning skipped: command(s) {', '.join('!' + m for m in missing)} "
                              "not registered yet (commands/duties.py)"]}
        await conv.reply(ORGA, "!duty create Minutes | every Tuesday 18:00", ROOM)
        joins = []
        for member in members:  # each join plans the new member's next turn
            t0 = time.perf_counter()
            await conv.reply(member, "!duty join Minutes", ROOM)
            joins.append((time.perf_counter() - t0) * 1000)
        first, _ = await _time_reply(conv, ORGA, f"!duty plan Minutes {PLAN_COUNT}", 1)
        again, body = await _time_reply(conv, ORGA, f"!duty plan Minutes {PLAN_COUNT}", repeat)
        t0 = time.perf_counter()  # leaving reassigns that member's future turns
        await conv.reply(members[0], "!duty leave Minutes", ROOM)
        leave = (time.perf_counter() - t0) * 1000
        planned = sum(1 for line in body.splitlines() if ":test" in line)
        return {
            "storage.duty.members": n_members,
            "storage.duty.join.p50": pct(joins, 50), "storage.duty.join.max": max(joins),
            "storage.duty.first": first[0], "storage.duty.p50": pct(again, 50), "storage.duty.leave": leave,
            "notes": [f"storage: !duty plan Minutes {PLAN_COUNT} listed {planned} assigned turns"],
        }
    except Exception as exc:  # noqa: BLE001
        return {"notes": [f"storage: duty planning failed: {type(exc).__name__}: {str(exc)[:200]}"]}
    finally:
        await conv.app.db.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    _quiet_logs()
    with tempfile.TemporaryDirectory(prefix="plenum-bench-") as tmp:
        tmp_path = Path(tmp)
        if args.what == "commands":
            return {"commands": await registered_commands(tmp_path)}
        if args.what == "timers":
            return await timers(tmp_path, args.jobs, args.lead)
        if args.what == "chatter":
            return await chatter(tmp_path, args.rooms, args.messages, args.room_members, not args.chatter_only)
        (tmp_path / "polls").mkdir()
        (tmp_path / "duties").mkdir()
        out = await poll_results(tmp_path / "polls", args.votes, args.repeat)
        duty = await duty_plan(tmp_path / "duties", args.members, args.repeat)
        notes = out.pop("notes") + duty.pop("notes")
        return {**out, **duty, "notes": notes}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["commands", "timers", "chatter", "storage"])
    p.add_argument("--rooms", type=int, default=500)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--room-members", type=int, default=20)
    p.add_argument("--chatter-only", action="store_true", help="leave out the pass with commands (for callgrind)")
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--lead", type=float, default=3.0, help="seconds between scheduling and the due time")
    p.add_argument("--votes", type=int, default=10_000)
    p.add_argument("--members", type=int, default=50)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parsed = p.parse_args()
    from tests import backend

    backend.NAME = parsed.db
    try:
        result = asyncio.run(main(parsed))
    except Exception as exc:  # noqa: BLE001 - e.g. a feature being written right now does not import
        import traceback

        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    backend.stop()
    os._exit(0)  # an app that failed half-way may leave a non-daemon thread (e.g. a checkpoint) behind
