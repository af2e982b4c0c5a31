"""Summarise a py-spy raw (collapsed-stack) profile: where the process spent its busy CPU samples.

    python bench/profile_summary.py bench/.work/profile-plenum-round-trips.txt [--top 40]

py-spy here also samples threads that only wait (the event loop in epoll, idle worker
threads of a thread pool in queue.get); those samples are dropped as idle. Prints the functions with
the most samples of their own ("self") and the most inclusive ones (every stack a function
appears in, counted once), for all code: nio, aiohttp, peewee (nio's store) and Plenum alike.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
from collections import Counter
from pathlib import Path


def _idle_lines() -> set[str]:
    """Leaf frames that are waiting, not working: a pool thread blocked in its queue's get()."""
    idle = set()
    spec = importlib.util.find_spec("concurrent.futures.thread")
    if spec and spec.origin:
        for no, line in enumerate(Path(spec.origin).read_text().splitlines(), 1):
            if "work_queue.get(block=True)" in line:
                idle.add(f"futures/thread.py:{no}")
    return idle


IDLE_LEAF = re.compile(r"^(\w+\.)?select \(.*selectors\.py:\d+\)$")


def short(frame: str) -> str:
    """`func (/long/path/pkg/mod.py:12)` -> `func (pkg/mod.py)`."""
    m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    name, path = m.groups()
    parts = Path(path).parts
    where = "/".join(parts[-2:]) if len(parts) >= 2 else path
    return f"{name} ({where})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args()
    idle_lines = _idle_lines()
    self_count: Counter = Counter()
    incl: Counter = Counter()
    total = idle = 0
    for line in Path(args.path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        leaf = frames[-1]
        if IDLE_LEAF.match(leaf) or any(f"{x})" in leaf for x in idle_lines):
            idle += n
            continue
        total += n
        self_count[short(leaf)] += n
        for f in {short(f) for f in frames}:
            incl[f] += n
    print(f"{total} busy samples ({idle} idle samples dropped)")
    print(f"\nself, top {args.top}:")
    for f, n in self_count.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f}")
    print(f"\ninclusive, top {args.top}:")
    for f, n in incl.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
