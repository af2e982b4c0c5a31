"""A bare matrix-nio echo bot, the benchmark's lower bound for "a Python bot on nio".

It answers every `!help` with one m.notice that replies to the command, accepts every
invite, and does nothing else: no database, no state requests, no encryption. Its sync
filter has no presence/ephemeral, like Plenum's, and a timeline limit of 1000: it answers
one command after another, so during a burst more than 100 commands pile up between two of
its syncs, and a smaller limit would silently skip some (it fills no gaps).

    python bench/echo_bot.py --homeserver URL --user-id @echo:localhost --token T --device-id D
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from nio import AsyncClient, AsyncClientConfig, RoomMessageText, SyncError

FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 1000}, "ephemeral": {"not_types": ["*"]}},
}
HELP = "Echo bot. Commands: !help – this text."


async def main(args: argparse.Namespace) -> None:
    client = AsyncClient(args.homeserver, args.user_id, device_id=args.device_id,
                         config=AsyncClientConfig(encryption_enabled=False, request_timeout=60, max_timeouts=None))
    client.restore_login(args.user_id, args.device_id, args.token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def handle(resp) -> None:
        for room_id in resp.rooms.invite:
            await client.join(room_id)
        for room_id, info in resp.rooms.join.items():
            for ev in info.timeline.events:
                if isinstance(ev, RoomMessageText) and ev.sender != args.user_id and ev.body.startswith("!help"):
                    await client.room_send(room_id, "m.room.message", {
                        "msgtype": "m.notice", "body": HELP,
                        "m.relates_to": {"m.in_reply_to": {"event_id": ev.event_id}},
                    })

    first = await client.sync(timeout=0, full_state=True, sync_filter=FILTER)
    if isinstance(first, SyncError):
        raise SystemExit(f"first sync failed: {first}")
    for room_id in first.rooms.invite:  # old messages in the first sync are not answered
        await client.join(room_id)
    print("ready", flush=True)
    try:
        while not stop.is_set():
            sync = asyncio.create_task(client.sync(timeout=30000, sync_filter=FILTER))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({sync, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if sync not in done:
                sync.cancel()
                break
            try:
                resp = sync.result()
            except Exception as exc:  # noqa: BLE001 - keep going, like a real bot
                print(f"sync failed: {exc!r}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)
                continue
            if isinstance(resp, SyncError):
                print(f"sync failed: {resp}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)
                continue
            await handle(resp)
    finally:
        await client.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--homeserver", required=True)
    p.add_argument("--user-id", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--device-id", required=True)
    asyncio.run(main(p.parse_args()))
