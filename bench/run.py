#!/usr/bin/env python3
"""Plenum's benchmark: one command, its own Synapse on loopback, a table of numbers.

    .venv/bin/python bench/run.py            # one full run (5 to 8 minutes on 2 cores)
    .venv/bin/python bench/run.py --runs 3   # three runs, medians (what the issue asks for)
    .venv/bin/python bench/run.py --quick    # small sample counts, a smoke test (about 1 minute)

See bench/README.md for what each number means. Progress goes to stderr, the table to
stdout, every raw number to bench/.work/results-<time>.json.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def _ensure_interpreter() -> None:
    """Re-run under the project's virtualenv if this Python lacks nio or Synapse."""
    try:
        import nio  # noqa: F401
        import synapse  # noqa: F401
    except ImportError:
        venv = ROOT / ".venv"
        if (venv / "bin" / "python").exists() and Path(sys.prefix).resolve() != venv.resolve():
            os.execv(str(venv / "bin" / "python"), [str(venv / "bin" / "python"), __file__, *sys.argv[1:]])
        raise SystemExit("bench needs matrix-nio and matrix-synapse: pip install -e '.[test]' (see README)")


_ensure_interpreter()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402
from typing import Any  # noqa: E402

from bot.devserver import async_register_user, start_synapse  # noqa: E402
from harness import (  # noqa: E402
    BotProc,
    Seen,
    Watcher,
    cpu_seconds,
    create_room,
    is_notice_from,
    join,
    log,
    make_client,
    ratio,
    reply_target,
    room_history,
    rss_mb,
    send_text,
    summary,
    wait_quiet,
)

REMINDER_VERSION = "0.4.0"
VENVS = BENCH / ".venvs"
WORK = BENCH / ".work"


@dataclass(frozen=True)
class Settings:
    samples: int = 200  # round trips per kind (floor, each bot command)
    warmup: int = 3  # untimed cycles first
    gap: float = 0.05  # seconds between two timed commands
    burst_users: int = 30
    burst_each: int = 10
    rooms: int = 500  # joined rooms for the memory reading
    rooms_samples: int = 50  # !help round trips with that many rooms
    timer_jobs: int = 1000
    chatter_messages: int = 20_000  # non-command messages, in-process, spread over `rooms` rooms (500 if 0)
    chatter_wire: int = 100  # non-command messages sent to each bot over the homeserver
    votes: int = 10_000
    members: int = 50
    storage_repeat: int = 20
    reminder: bool = True
    profile: bool = False


QUICK = Settings(samples=20, warmup=2, burst_users=10, burst_each=3, rooms=50, rooms_samples=10, timer_jobs=200,
                 chatter_messages=5000, chatter_wire=20, votes=1000, storage_repeat=5)


# ------------------------------------------------------------------------------ installs
def _venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def _make_venv(name: str, packages: list[str]) -> tuple[Path | None, str]:
    py = _venv_python(name)
    log(f"creating {py.parent.parent} and installing {' '.join(packages)}")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(py.parent.parent)], check=True,
                       capture_output=True, text=True)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
                           capture_output=True, text=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return None, f"could not create the {name} venv: {exc}"
    if r.returncode != 0:
        tail = " ".join(line for line in r.stderr.splitlines() if "is ignored" not in line)[-400:]
        return None, f"pip install {' '.join(packages)} failed: {tail}"
    return py, ""


def ensure_reminder() -> tuple[Path | None, str]:
    """matrix-reminder-bot from PyPI in its own venv (bench/.venvs/reminder). Needs no libolm:
    it requires matrix-nio[e2e], whose 0.26 uses vodozemac (a wheel)."""
    py = _venv_python("reminder")
    if py.exists():
        r = subprocess.run([str(py), "-c", "import matrix_reminder_bot, importlib.metadata as m;"
                            "print(m.version('matrix-reminder-bot'))"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == REMINDER_VERSION:
            return py, ""
    return _make_venv("reminder", [f"matrix-reminder-bot=={REMINDER_VERSION}"])


def ensure_py_spy() -> Path | None:
    exe = VENVS / "tools" / "bin" / "py-spy"
    if exe.exists():
        return exe
    py, note = _make_venv("tools", ["py-spy", "pyinstrument"])
    if py is None:
        log(note)
        return None
    return exe


def inproc(what: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run bench/inproc.py in a fresh interpreter; its last stdout line is JSON."""
    try:
        r = subprocess.run([sys.executable, str(BENCH / "inproc.py"), what, *args], cwd=ROOT,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"notes": [f"{what}: timed out after {timeout:.0f} s"]}
    lines = r.stdout.strip().splitlines()
    try:
        out = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {"notes": [f"{what}: no result (exit {r.returncode}): {r.stderr.strip()[-500:]}"]}
    if "error" in out:
        return {"notes": [f"{what}: failed: {out['error'][:300]}"]}
    return out


# ------------------------------------------------------------------------------ one run
class Run:
    """One benchmark run against a fresh Synapse; fills self.r (metric -> number) and self.notes."""

    def __init__(self, s: Settings, workdir: Path, reminder_py: Path | None, db_command: str) -> None:
        self.s, self.workdir, self.reminder_py, self.db_command = s, workdir, reminder_py, db_command
        self.r: dict[str, Any] = {}
        self.notes: list[str] = []
        self.bots: dict[str, BotProc] = {}
        self.clients: list[Any] = []
        self.watchers: list[Watcher] = []
        self.synapse = None
        self.plenum_rooms = 1  # rooms Plenum is in: its round-trip room, then the burst room

    # -------------------------------------------------------------- setup
    async def register(self, name: str):
        return await async_register_user(self.synapse.base_url, self.synapse.shared_secret, name, f"pw-{name}-bench")

    def client(self, user):
        c = make_client(self.synapse.base_url, user)
        self.clients.append(c)
        return c

    async def watch(self, client) -> Watcher:
        w = Watcher(client)
        await w.start()
        self.watchers.append(w)
        return w

    async def start_plenum(self, user, admins: list[str]) -> None:
        d = self.workdir / "plenum"
        d.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f'"{a}"' for a in admins)
        (d / "config.toml").write_text("\n".join([
            "[matrix]", f'homeserver = "{self.synapse.base_url}"', f'user_id = "{user.user_id}"',
            f'password = "{user.password}"',
            "[bot]", f'data_dir = "{d / "data"}"', 'language = "en"', f"admins = [{quoted}]",
            "rate_limit = 1000000  # the benchmark sends hundreds of commands a minute from one member",
        ]) + "\n")
        bot = BotProc("plenum", [sys.executable, "-m", "bot", "run", "--config", str(d / "config.toml"),
                                 "--log-level", "INFO"], d / "bot.log", "ready:")
        await asyncio.to_thread(bot.start)
        self.bots["plenum"] = bot

    async def start_echo(self, user) -> None:
        bot = BotProc("echo", [sys.executable, str(BENCH / "echo_bot.py"), "--homeserver", self.synapse.base_url,
                               "--user-id", user.user_id, "--token", user.access_token,
                               "--device-id", user.device_id, "--store", str(self.workdir / "echo" / "store")],
                      self.workdir / "echo" / "bot.log", "ready")
        await asyncio.to_thread(bot.start)
        self.bots["echo"] = bot

    async def start_reminder(self, user) -> None:
        d = self.workdir / "reminder"
        d.mkdir(parents=True, exist_ok=True)
        config = {  # JSON is YAML
            "command_prefix": "!",
            "matrix": {"user_id": user.user_id, "user_password": user.password, "device_id": "REMINDERBENCH",
                       "device_name": "reminder-bench", "homeserver_url": self.synapse.base_url},
            "storage": {"database": f"sqlite://{d / 'reminders.db'}", "store_path": str(d / "store")},
            "reminders": {"timezone": "Europe/Berlin"},
            "allowlist": {"enabled": False, "regexes": []},
            "blocklist": {"enabled": False, "regexes": []},
            # its _get_cfg treats a falsy default as "required": spell every logging key out
            "logging": {"level": "INFO", "console_logging": {"enabled": True},
                        "file_logging": {"enabled": False, "filepath": str(d / "file.log")}},
        }
        (d / "config.yaml").write_text(json.dumps(config, indent=1))
        bot = BotProc("reminder", [str(self.reminder_py), "-m", "matrix_reminder_bot.main", str(d / "config.yaml")],
                      d / "bot.log", "Startup complete", cwd=d)
        await asyncio.to_thread(bot.start)
        self.bots["reminder"] = bot

    @staticmethod
    async def joined(w: Watcher, room_id: str, user_id: str, since: int, timeout: float = 60) -> None:
        def pred(x: Seen) -> bool:
            ev = x.event
            return (x.room_id == room_id and getattr(ev, "state_key", None) == user_id
                    and getattr(ev, "membership", None) == "join")
        await w.wait_event(pred, since, timeout)

    # -------------------------------------------------------------- timing
    async def round_trip(self, w: Watcher, sender, room_id: str, body: str, bot_id: str | None,
                         references: bool = True, timeout: float = 30) -> float | None:
        """ms from just before the send until the member's sync carries the answer (or, with
        bot_id None, the message itself)."""
        idx = w.mark()
        t0 = time.perf_counter()
        event_id = await send_text(sender, room_id, body)

        def pred(x: Seen) -> bool:
            if x.room_id != room_id:
                return False
            if bot_id is None:
                return x.event.event_id == event_id
            return is_notice_from(x.event, bot_id) and (not references or reply_target(x.event) == event_id)
        try:
            seen = await w.wait_event(pred, idx, timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return None
        return (seen.t - t0) * 1000

    async def help_series(self, label: str, mw: Watcher, member, room: str, bot_id: str) -> None:
        """`rooms_samples` !help round trips, with Plenum's and Synapse's CPU per command."""
        pid, spid = self.bots["plenum"].pid, self.synapse.proc.pid
        await wait_quiet(pid, timeout=60)
        c0, s0 = cpu_seconds(pid), cpu_seconds(spid)
        values = []
        for _ in range(self.s.rooms_samples):
            ms = await self.round_trip(mw, member, room, "!help", bot_id)
            if ms is not None:
                values.append(ms)
            await asyncio.sleep(self.s.gap)
        n = self.s.rooms_samples
        self.r.update(summary(values, f"plenum.{label}"))
        self.r[f"plenum.{label}.cpu_ms_per_cmd"] = (cpu_seconds(pid) - c0) * 1000 / n
        self.r[f"plenum.{label}.synapse_cpu_ms"] = (cpu_seconds(spid) - s0) * 1000 / n

    # -------------------------------------------------------------- phases
    async def main(self) -> None:
        s = self.s
        log(f"starting Synapse in {self.workdir / 'synapse'}")
        self.synapse = await asyncio.to_thread(start_synapse, self.workdir / "synapse")
        self.r["synapse.startup_s"] = self.synapse.startup_seconds
        names = ["member", "sender", "observer", "plenum", "echo", "reminder"]
        users = {n: await self.register(n) for n in names}
        burst_regs = await asyncio.gather(*(self.register(f"user{i:02d}") for i in range(s.burst_users)))
        log("starting the bots")
        await self.start_plenum(users["plenum"], [users["member"].user_id, users["observer"].user_id])
        await self.start_echo(users["echo"])
        if self.reminder_py is not None:
            try:
                await self.start_reminder(users["reminder"])
            except RuntimeError as exc:
                self.notes.append(f"matrix-reminder-bot did not start: {str(exc)[:300]}")
        member, sender, observer = (self.client(users[n]) for n in ("member", "sender", "observer"))
        burst_clients = [self.client(u) for u in burst_regs]
        mw = await self.watch(member)

        ids = {n: users[n].user_id for n in ("plenum", "echo", "reminder")}
        rooms: dict[str, str] = {}
        mark = mw.mark()
        rooms["floor"] = await create_room(member, [sender.user_id], "floor")
        await join(sender, rooms["floor"])
        for name in self.bots:
            rooms[name] = await create_room(member, [ids[name]], f"bench {name}")
        for name in list(self.bots):
            try:
                await self.joined(mw, rooms[name], ids[name], mark)
            except (TimeoutError, asyncio.TimeoutError):
                self.notes.append(f"{name} did not join its room")
                self.bots.pop(name).stop()

        # what each timed kind sends, and what answers it
        kinds: dict[str, tuple[Any, str, str, str | None, bool]] = {
            "floor": (sender, rooms["floor"], "floor", None, True)}
        if "plenum" in self.bots:
            kinds["plenum.help"] = (member, rooms["plenum"], "!help", ids["plenum"], True)
            kinds["plenum.db"] = (member, rooms["plenum"], self.db_command, ids["plenum"], True)
        if "echo" in self.bots:
            kinds["echo.help"] = (member, rooms["echo"], "!help", ids["echo"], True)
        if "reminder" in self.bots:  # its answers do not reference the command: the next notice counts
            kinds["reminder.help"] = (member, rooms["reminder"], "!help", ids["reminder"], False)

        log(f"warm-up ({s.warmup} cycles)")
        for _ in range(s.warmup):
            for kind, (who, room, body, bot_id, refs) in list(kinds.items()):
                if await self.round_trip(mw, who, room, body, bot_id, refs, timeout=60) is None:
                    self.notes.append(f"{kind}: no answer during warm-up; left out")
                    kinds.pop(kind)
                await asyncio.sleep(s.gap)
        for name, bot in self.bots.items():
            await wait_quiet(bot.pid, timeout=20)
            self.r[f"{name}.rss_idle"] = rss_mb(bot.pid)

        # ---------------------------------------------------------- round trips, interleaved
        log(f"round trips: {s.samples} cycles of {', '.join(kinds)}")
        samples: dict[str, list[float]] = {k: [] for k in kinds}
        timeouts: Counter = Counter()
        cpu0 = {n: cpu_seconds(b.pid) for n, b in self.bots.items()}
        spy = self.start_profile("round-trips") if s.profile else None
        order = list(kinds)
        for i in range(s.samples):
            k = i % len(order)
            for kind in order[k:] + order[:k]:  # rotate, so no kind always follows the same one
                who, room, body, bot_id, refs = kinds[kind]
                ms = await self.round_trip(mw, who, room, body if kind != "floor" else f"floor {i}", bot_id, refs)
                if ms is None:
                    timeouts[kind] += 1
                else:
                    samples[kind].append(ms)
                await asyncio.sleep(s.gap)
        self.stop_profile(spy)
        cpu1 = {n: cpu_seconds(b.pid) for n, b in self.bots.items()}
        for kind, values in samples.items():
            self.r.update(summary(values, kind))
            self.r[f"{kind}.n"] = len(values)
            if timeouts[kind]:
                self.notes.append(f"{kind}: {timeouts[kind]} of {s.samples} got no answer within 30 s")
        commands = {"plenum": 2 * s.samples, "echo": s.samples, "reminder": s.samples}
        for name in self.bots:
            self.r[f"{name}.cpu_ms_per_cmd"] = (cpu1[name] - cpu0[name]) * 1000 / commands[name]

        # ---------------------------------------------------------- chatter over the wire
        await self.chatter_wire(mw, member, rooms, ids)

        # ---------------------------------------------------------- burst
        await self.bursts(observer, burst_clients, ids)
        if "plenum" in self.bots:
            await wait_quiet(self.bots["plenum"].pid, timeout=30)
            self.r["plenum.rss_after_burst"] = rss_mb(self.bots["plenum"].pid)

        # ---------------------------------------------------------- many rooms
        if "plenum" in self.bots and s.rooms:
            await self.many_rooms(observer, ids["plenum"], mw, member, rooms["plenum"])

        for name, bot in self.bots.items():
            text = bot.log_text()
            errors = text.count("Traceback") + text.count(" ERROR ")
            if errors:
                self.notes.append(f"{name}: {errors} error lines in {bot.log_path}")

    async def chatter_wire(self, mw: Watcher, member, rooms: dict[str, str], ids: dict[str, str]) -> None:
        """The member talks in each bot's room (no command): each bot's CPU per such message, and any answer.
        Each message reaches the bots in a sync of its own, so this is a whole sync cycle per message; the
        echo bot's figure is what nio itself costs for that."""
        n = self.s.chatter_wire
        names = [x for x in ("plenum", "echo", "reminder") if x in self.bots]
        if not n or not names:
            return
        log(f"chatter: {n} messages that are no command into each bot's room")
        for name in names:
            await wait_quiet(self.bots[name].pid, timeout=20)
        idx = mw.mark()
        c0 = {x: cpu_seconds(self.bots[x].pid) for x in names}
        texts = ["Hallo zusammen, wer bringt Kuchen mit?", "I can do the flyers on Saturday", "👍",
                 "Treffen wir uns um 18 Uhr am Markt?", "!weather Berlin"]
        for i in range(n):
            for name in names:
                await send_text(member, rooms[name], texts[i % len(texts)])
                await asyncio.sleep(self.s.gap / 2)
        await asyncio.sleep(1.0)
        for name in names:
            await wait_quiet(self.bots[name].pid, timeout=30)
            self.r[f"{name}.chatter_cpu_ms"] = (cpu_seconds(self.bots[name].pid) - c0[name]) * 1000 / n
            answered = sum(1 for x in mw.events[idx:]
                           if x.room_id == rooms[name] and is_notice_from(x.event, ids[name]))
            if answered:
                self.notes.append(f"chatter: {name} answered {answered} of {n} messages that were no command")

    async def bursts(self, observer, users: list[Any], ids: dict[str, str]) -> None:
        s = self.s
        rooms: dict[str, str] = {}
        targets = [("plain", None)] + [(n, ids[n]) for n in ("plenum", "echo") if n in self.bots]
        for name, bot_id in targets:
            invite = [u.user_id for u in users] + ([bot_id] if bot_id else [])
            rooms[name] = await create_room(observer, invite, f"burst {name}")
        sem = asyncio.Semaphore(8)

        async def join_all(u) -> None:
            for room in rooms.values():
                async with sem:
                    await join(u, room)
        await asyncio.gather(*(join_all(u) for u in users))
        ow = await self.watch(observer)  # its first sync already holds the joins
        for name, bot_id in list(targets):
            if bot_id is None:
                continue
            deadline = time.monotonic() + 60  # the join may be in the observer's first sync: ask the server
            while time.monotonic() < deadline:
                resp = await observer.joined_members(rooms[name])
                if bot_id in {m.user_id for m in getattr(resp, "members", [])}:
                    break
                await asyncio.sleep(0.2)
            else:
                self.notes.append(f"burst: {name} did not join its room")
                targets.remove((name, bot_id))
        self.plenum_rooms += 1 if ("plenum", ids["plenum"]) in targets else 0
        n = len(users) * s.burst_each
        for name, bot_id in targets:
            log(f"burst: {len(users)} users x {s.burst_each} {'messages' if bot_id is None else 'commands'} "
                f"({name})")
            await asyncio.sleep(1.0)
            room = rooms[name]

            def body(j: int, k: int) -> str:
                if name == "plain":
                    return f"plain message {j}.{k}"
                if name == "plenum":
                    return "!help" if k % 2 == 0 else self.db_command
                return "!help"
            pid = self.bots[name].pid if name in self.bots else None
            cpu0 = cpu_seconds(pid) if pid else 0.0
            syn0 = cpu_seconds(self.synapse.proc.pid)
            idx = ow.mark()
            sent: list[str] = []
            first_seen: dict[str, float] = {}
            pos = [idx]

            def scan() -> bool:
                while pos[0] < len(ow.events):
                    x = ow.events[pos[0]]
                    pos[0] += 1
                    if x.room_id != room:
                        continue
                    key = x.event.event_id if bot_id is None else (
                        reply_target(x.event) if is_notice_from(x.event, bot_id) else None)
                    if key and key not in first_seen:
                        first_seen[key] = x.t
                return len(sent) == n and all(e in first_seen for e in sent)

            async def one(u, j: int) -> None:
                for k in range(s.burst_each):
                    sent.append(await send_text(u, room, body(j, k)))
            t0 = time.perf_counter()
            await asyncio.gather(*(one(u, j) for j, u in enumerate(users)))
            t_sent = time.perf_counter() - t0
            done = await ow.wait_until(scan, timeout=max(60.0, n * 0.5))
            scan()
            got = [first_seen[e] for e in sent if e in first_seen]
            key = f"burst.{name}"
            self.r[f"{key}.send_s"] = t_sent
            self.r[f"{key}.s"] = (max(got) - t0) if done and got else None
            self.r[f"{key}.synapse_cpu_ms"] = (cpu_seconds(self.synapse.proc.pid) - syn0) * 1000 / n
            if pid:
                self.r[f"{key}.cpu_ms_per_cmd"] = (cpu_seconds(pid) - cpu0) * 1000 / n
            if not done:
                self.notes.append(f"burst {name}: only {len(got)} of {n} seen within the timeout")
            await asyncio.sleep(2.0)  # late duplicates would show up here
            history = await room_history(observer, room)
            if bot_id is None:
                present = {e.event_id for e in history}
                self.r[f"{key}.missing"] = sum(1 for e in sent if e not in present)
            else:
                answers = Counter(reply_target(e) for e in history if is_notice_from(e, bot_id))
                self.r[f"{key}.missing"] = sum(1 for e in sent if answers[e] == 0)
                self.r[f"{key}.duplicates"] = sum(1 for e in sent if answers[e] > 1)
            if ow.limited:
                self.notes.append(f"burst: the observer's sync was limited {ow.limited} times "
                                  "(timings may be late; counts come from /messages)")

    async def many_rooms(self, owner, bot_id: str, mw: Watcher, member, plenum_room: str) -> None:
        s = self.s
        pid = self.bots["plenum"].pid
        ow = next(w for w in self.watchers if w.client is owner)
        already = self.plenum_rooms
        want = max(0, s.rooms - already)
        log(f"many rooms: {s.rooms_samples} !help round trips before, in {already} rooms")
        await self.help_series("help_few", mw, member, plenum_room, bot_id)
        log(f"many rooms: creating {want} rooms so that Plenum is in {s.rooms}")
        idx = ow.mark()
        created: list[str] = []
        sem = asyncio.Semaphore(4)
        t0 = time.perf_counter()

        async def make(i: int) -> None:
            async with sem:
                created.append(await create_room(owner, [bot_id], f"room {i}"))
        await asyncio.gather(*(make(i) for i in range(want)))
        self.r["rooms.create_s"] = time.perf_counter() - t0
        joined: set[str] = set()
        pos = [idx]

        def scan() -> bool:
            while pos[0] < len(ow.events):
                x = ow.events[pos[0]]
                pos[0] += 1
                if getattr(x.event, "state_key", None) == bot_id and getattr(x.event, "membership", None) == "join":
                    joined.add(x.room_id)
            return all(r in joined for r in created)
        ok = await ow.wait_until(scan, timeout=max(120.0, want * 2.0))
        self.r["rooms.join_all_s"] = time.perf_counter() - t0
        if not ok:
            self.notes.append(f"many rooms: Plenum joined {len(joined & set(created))} of {want}")
        self.r["rooms.joined"] = already + len(joined & set(created))
        await wait_quiet(pid, timeout=60)
        self.r["plenum.rss_rooms"] = rss_mb(pid)
        log(f"many rooms: {s.rooms_samples} !help round trips")
        await self.help_series("help_rooms", mw, member, plenum_room, bot_id)

    # -------------------------------------------------------------- profiling
    def start_profile(self, label: str) -> tuple[subprocess.Popen, Path] | None:
        exe = ensure_py_spy()
        if exe is None or "plenum" not in self.bots:
            self.notes.append("profile: py-spy not available")
            return None
        out = WORK / f"profile-plenum-{label}.txt"
        proc = subprocess.Popen([str(exe), "record", "--pid", str(self.bots["plenum"].pid), "--format", "raw",
                                 "--rate", "1000", "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return proc, out

    def stop_profile(self, spy: tuple[subprocess.Popen, Path] | None) -> None:
        if spy is None:
            return
        proc, out = spy
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        self.notes.append(f"profile: py-spy samples of Plenum during the round trips in {out} "
                          f"(summary: python bench/profile_summary.py {out})")

    async def close(self) -> None:
        for w in self.watchers:
            await w.stop()
        for c in self.clients:
            await c.close()
        for bot in self.bots.values():
            await asyncio.to_thread(bot.stop)
        if self.synapse is not None:
            self.synapse.stop()


async def one_run(s: Settings, n: int, reminder_py: Path | None, db_command: str) -> tuple[dict, list[str]]:
    workdir = WORK / f"run{n}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    run = Run(s, workdir, reminder_py, db_command)
    run.r["load.start"] = os.getloadavg()[0]
    t0 = time.monotonic()
    try:
        await run.main()
    finally:
        await run.close()
    log("timers (in-process)")
    timers = inproc("timers", "--jobs", str(s.timer_jobs))
    log("chatter (in-process)")
    chatter = inproc("chatter", "--rooms", str(s.rooms or 500), "--messages", str(s.chatter_messages))
    log("storage (in-process)")
    storage = inproc("storage", "--votes", str(s.votes), "--members", str(s.members),
                     "--repeat", str(s.storage_repeat))
    notes = run.notes + timers.pop("notes", []) + chatter.pop("notes", []) + storage.pop("notes", [])
    run.r.update(timers)
    run.r.update(chatter)
    run.r.update(storage)
    run.r["load.end"] = os.getloadavg()[0]
    run.r["run.s"] = time.monotonic() - t0
    derive(run.r)
    return run.r, notes


def derive(r: dict[str, Any]) -> None:
    """Ratios from the same run."""
    floor2 = 2 * r["floor.p50"] if r.get("floor.p50") else None
    r["floor.x2"] = floor2
    for kind in ("plenum.help", "plenum.db"):
        r[f"{kind}.p50_vs_floor"] = ratio(r.get(f"{kind}.p50"), floor2)
        r[f"{kind}.p99_vs_floor"] = ratio(r.get(f"{kind}.p99"), floor2)
    for peer in ("reminder", "echo"):
        r[f"plenum_vs_{peer}.p50"] = ratio(r.get("plenum.help.p50"), r.get(f"{peer}.help.p50"))
        r[f"plenum_vs_{peer}.p99"] = ratio(r.get("plenum.help.p99"), r.get(f"{peer}.help.p99"))
    r["plenum_vs_echo.rss"] = ratio(r.get("plenum.rss_idle"), r.get("echo.rss_idle"))
    r["burst.plenum_vs_plain"] = ratio(r.get("burst.plenum.s"), r.get("burst.plain.s"))
    r["burst.plenum_vs_echo"] = ratio(r.get("burst.plenum.s"), r.get("burst.echo.s"))


# ------------------------------------------------------------------------------ the table
Row = tuple[str, list[str], str, str]  # label, metric keys, format, target


def rows(s: Settings, db_command: str) -> list[tuple[str, list[Row]]]:
    lat = "{:.1f}"
    n_burst = s.burst_users * s.burst_each
    return [
        ("Latency, ms (p50 / p95 / p99)", [
            ("floor: one message, sender -> other client's sync", ["floor.p50", "floor.p95", "floor.p99"], lat, ""),
            ("2 x floor p50 (a command and its answer)", ["floor.x2"], lat, ""),
            ("Plenum !help round trip", ["plenum.help.p50", "plenum.help.p95", "plenum.help.p99"], lat, ""),
            (f"Plenum {db_command} round trip (reads the DB)", ["plenum.db.p50", "plenum.db.p95", "plenum.db.p99"],
             lat, ""),
            ("echo bot (bare nio) !help", ["echo.help.p50", "echo.help.p95", "echo.help.p99"], lat, ""),
            ("matrix-reminder-bot !help", ["reminder.help.p50", "reminder.help.p95", "reminder.help.p99"], lat, ""),
            (f"Plenum !help, {s.rooms_samples} more, bot in 2 rooms", ["plenum.help_few.p50", "plenum.help_few.p95",
                                                                    "plenum.help_few.p99"], lat, ""),
            (f"Plenum !help, {s.rooms_samples} more, bot in {s.rooms} rooms",
             ["plenum.help_rooms.p50", "plenum.help_rooms.p95", "plenum.help_rooms.p99"], lat, ""),
        ]),
        ("Ratios (same run)", [
            ("Plenum !help p50 / (2 x floor p50)", ["plenum.help.p50_vs_floor"], "{:.2f}", "<= 1.10"),
            ("Plenum !help p99 / (2 x floor p50)", ["plenum.help.p99_vs_floor"], "{:.2f}", "<= 1.50"),
            (f"Plenum {db_command} p50 / (2 x floor p50)", ["plenum.db.p50_vs_floor"], "{:.2f}", "<= 1.10"),
            (f"Plenum {db_command} p99 / (2 x floor p50)", ["plenum.db.p99_vs_floor"], "{:.2f}", "<= 1.50"),
            ("Plenum !help p50 / matrix-reminder-bot p50", ["plenum_vs_reminder.p50"], "{:.2f}", "<= 0.85"),
            ("Plenum !help p50 / echo bot p50", ["plenum_vs_echo.p50"], "{:.2f}", "<= 1.05"),
            ("Plenum !help p99 / echo bot p99", ["plenum_vs_echo.p99"], "{:.2f}", "(info)"),
        ]),
        ("CPU per command, ms (from /proc utime+stime)", [
            ("Plenum, round trips (!help and " + db_command + ")", ["plenum.cpu_ms_per_cmd"], "{:.1f}", "<= 3"),
            ("echo bot, round trips", ["echo.cpu_ms_per_cmd"], "{:.1f}", "(info)"),
            ("matrix-reminder-bot, round trips", ["reminder.cpu_ms_per_cmd"], "{:.1f}", "(info)"),
            ("Plenum, burst", ["burst.plenum.cpu_ms_per_cmd"], "{:.1f}", "(info)"),
            ("Plenum / Synapse per !help, bot in 2 rooms", ["plenum.help_few.cpu_ms_per_cmd",
                                                            "plenum.help_few.synapse_cpu_ms"], "{:.1f}", "(info)"),
            (f"Plenum / Synapse per !help, bot in {s.rooms} rooms", ["plenum.help_rooms.cpu_ms_per_cmd",
                                                                    "plenum.help_rooms.synapse_cpu_ms"], "{:.1f}",
             "(info)"),
            ("Synapse per plain message / Plenum command / echo command, burst",
             ["burst.plain.synapse_cpu_ms", "burst.plenum.synapse_cpu_ms", "burst.echo.synapse_cpu_ms"],
             "{:.1f}", "(info)"),
        ]),
        ("Memory, RSS MiB", [
            ("Plenum idle", ["plenum.rss_idle"], "{:.1f}", "<= 60"),
            ("Plenum idle / echo bot idle (both with E2EE on)", ["plenum_vs_echo.rss"], "{:.2f}", "<= 1.15"),
            ("Plenum after the burst", ["plenum.rss_after_burst"], "{:.1f}", "(info)"),
            ("Plenum in N rooms (N = joined rooms)", ["plenum.rss_rooms", "rooms.joined"], "{:.1f}", "<= 120 @500"),
            ("echo bot idle / matrix-reminder-bot idle", ["echo.rss_idle", "reminder.rss_idle"], "{:.1f}", "(info)"),
        ]),
        (f"Burst: {s.burst_users} users x {s.burst_each} into one room, s until all {n_burst} seen", [
            ("homeserver alone: plain messages", ["burst.plain.s"], "{:.2f}", ""),
            ("Plenum: commands until all answers seen", ["burst.plenum.s"], "{:.2f}", ""),
            ("echo bot: !help until all answers seen", ["burst.echo.s"], "{:.2f}", ""),
            ("Plenum / homeserver alone", ["burst.plenum_vs_plain"], "{:.2f}", "<= 1.20"),
            ("Plenum / echo bot", ["burst.plenum_vs_echo"], "{:.2f}", "(info)"),
            ("Plenum unanswered / answered twice", ["burst.plenum.missing", "burst.plenum.duplicates"], "{:.0f}",
             "0 / 0"),
            ("echo bot unanswered / answered twice", ["burst.echo.missing", "burst.echo.duplicates"], "{:.0f}",
             "(info)"),
        ]),
        (f"Chat that is no command: {s.chatter_messages} messages in {s.rooms or 500} rooms, in-process", [
            ("messages per second ingested (nio parse + pipeline, one core)", ["chatter.rate"], "{:.0f}", "(info)"),
            ("  the same with one command in 100 among them", ["chatter.mixed_rate"], "{:.0f}", "(info)"),
            ("CPU per message, us: nio parse / pipeline / both", ["chatter.parse_us", "chatter.pipeline_us",
                                                                  "chatter.cpu_us"], "{:.0f}", "<= 500"),
            ("handled_events rows / row changes for them", ["chatter.rows", "chatter.writes"], "{:.0f}", "0 / 0"),
            ("over the wire (a sync each): CPU ms per message, Plenum / echo / reminder",
             ["plenum.chatter_cpu_ms", "echo.chatter_cpu_ms", "reminder.chatter_cpu_ms"], "{:.2f}", "(info)"),
        ]),
        (f"Timers: {s.timer_jobs} jobs due at one instant, ms late (p50 / p99 / max)", [
            ("job ran", ["timers.run.p50", "timers.run.p99", "timers.run.max"], "{:.0f}", "p99 <= 1000"),
            ("its message handed to the homeserver", ["timers.sent.p50", "timers.sent.p99", "timers.sent.max"],
             "{:.0f}", ""),
        ]),
        ("Storage, in-process on SQLite, ms", [
            (f"!results on a poll with {s.votes} votes (p50 / max)", ["storage.results.p50", "storage.results.max"],
             "{:.1f}", "<= 20"),
            ("  size of that answer, bytes (Matrix refuses events over 65536)", ["storage.results.bytes"], "{:.0f}",
             "< 65536"),
            (f"!vote with {s.votes} votes present (p50)", ["storage.vote.p50"], "{:.1f}", "(info)"),
            (f"!duty join, {s.members} members (p50 / max)", ["storage.duty.join.p50", "storage.duty.join.max"],
             "{:.1f}", "(info)"),
            ("!duty plan, 26 turns: first / p50 of repeats", ["storage.duty.first", "storage.duty.p50"], "{:.1f}",
             "(info)"),
            ("!duty leave (reassigns that member's turns)", ["storage.duty.leave"], "{:.1f}", "(info)"),
        ]),
        ("Machine", [
            ("load average (1 min) at start / end of the run", ["load.start", "load.end"], "{:.2f}", ""),
            ("run time, s", ["run.s"], "{:.0f}", ""),
        ]),
    ]


def median(values: list[Any]) -> float | None:
    xs = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(xs) if xs else None


def render(results: list[dict[str, Any]], s: Settings, db_command: str) -> str:
    out = []
    many = len(results) > 1
    head = "median of %d runs" % len(results) if many else "value"
    width = 66
    out.append(f"{'':{width}}  {head:<24} {'per run (first value)':<24} target")
    for title, section in rows(s, db_command):
        out.append("")
        out.append(title)
        for label, keys, fmt, target in section:
            vals = [median([r.get(k) for r in results]) for k in keys]
            if all(v is None for v in vals):
                text = "-"
            else:
                text = " / ".join("-" if v is None else fmt.format(v) for v in vals)
            per_run = ""
            if many:
                per_run = ", ".join("-" if r.get(keys[0]) is None else fmt.format(r[keys[0]]) for r in results)
            out.append(f"  {label:<{width - 2}}  {text:<24} {per_run:<24} {target}")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description="Plenum benchmark: latency, CPU, memory, bursts, timers, storage.")
    p.add_argument("--runs", type=int, default=1, help="repeat the whole run; the table shows medians")
    p.add_argument("--quick", action="store_true", help="small sample counts: a smoke test")
    p.add_argument("--samples", type=int, help="round trips per kind (default 200, quick 20)")
    p.add_argument("--rooms", type=int, help="joined rooms for the memory reading (default 500, quick 50)")
    p.add_argument("--burst", metavar="USERSxEACH", help="burst size, e.g. 30x10 (default; quick 10x3)")
    p.add_argument("--no-reminder", action="store_true", help="leave matrix-reminder-bot out")
    p.add_argument("--profile", action="store_true",
                   help="record Plenum with py-spy during the round trips (installs it into bench/.venvs/tools)")
    args = p.parse_args()
    s = QUICK if args.quick else Settings()
    if args.samples:
        s = replace(s, samples=args.samples)
    if args.rooms is not None:
        s = replace(s, rooms=args.rooms)
    if args.burst:
        users, each = (int(x) for x in args.burst.lower().split("x"))
        s = replace(s, burst_users=users, burst_each=each)
    s = replace(s, reminder=not args.no_reminder, profile=args.profile)

    WORK.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    reminder_py = None
    if s.reminder:
        reminder_py, note = ensure_reminder()
        if note:
            notes.append("matrix-reminder-bot left out: " + note)
    commands = inproc("commands").get("commands")
    if commands is None:
        notes.append("could not list Plenum's commands (does the app build?); using !room")
    db_command = "!polls" if commands and "polls" in commands else "!room"

    results = []
    for n in range(1, args.runs + 1):
        log(f"=== run {n} of {args.runs}{' (quick)' if args.quick else ''}")
        r, run_notes = asyncio.run(one_run(s, n, reminder_py, db_command))
        results.append(r)
        notes += [f"run {n}: {x}" for x in run_notes]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dump = WORK / f"results-{stamp}.json"
    dump.write_text(json.dumps({"settings": asdict(s), "db_command": db_command, "runs": results,
                                "notes": notes, "nproc": os.cpu_count()}, indent=1, default=str))
    load = os.getloadavg()
    print(f"Plenum benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average now "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min), "
          f"{args.runs} run(s){', quick' if args.quick else ''}, {s.samples} samples per kind")
    print(render(results, s, db_command))
    if notes:
        print("\nNotes:")
        for note in notes:
            print(f"  - {note}")
    print(f"\nraw numbers: {dump}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
