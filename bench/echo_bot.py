"""A bare matrix-nio echo bot, the benchmark's lower bound for "a Python bot on nio".

It answers every `!help` with one m.notice that replies to the command, accepts every
invite, and does nothing else: no database, no state requests. With `--store DIR` it has
end-to-end encryption on, as Plenum has (nio's store, key upload, key housekeeping after each
sync): the issue's "bare nio echo bot with E2EE on", the fair baseline for memory. Its sync
filter is shaped like Plenum's (timeline limit 100, no presence/ephemeral).

It does one thing beyond "bare": when a sync's timeline is `limited` it pages back through
/messages to the last event it saw. Synapse caps a sync's timeline at 100 events
(`filter_timeline_limit`), and a bot answering one command after another lets more than
that pile up during the burst: without gap filling it silently skipped 193 of 300 commands
there, which made its burst time meaningless. Plenum fills gaps the same way.

    python bench/echo_bot.py --homeserver URL --user-id @echo:localhost --token T --device-id D [--store DIR]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from nio import AsyncClient, AsyncClientConfig, MessageDirection, RoomMessagesError, RoomMessageText, SyncError

FILTER = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 100}, "ephemeral": {"not_types": ["*"]}},
}
HELP = "Echo bot. Commands: !help – this text."


async def main(args: argparse.Namespace) -> None:
    e2ee = args.store is not None
    if e2ee:
        os.makedirs(args.store, exist_ok=True)  # must exist before the client, or encryption is silently off
    client = AsyncClient(args.homeserver, args.user_id, device_id=args.device_id, store_path=args.store or "",
                         config=AsyncClientConfig(encryption_enabled=e2ee, request_timeout=60, max_timeouts=None))
    client.restore_login(args.user_id, args.device_id, args.token)
    if e2ee and client.should_upload_keys:
        await client.keys_upload()

    async def key_housekeeping() -> None:
        if not e2ee:
            return
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    seen: set[str] = set()  # timeline event ids, to know where a gap ends

    async def fill_gap(room_id: str, token: str) -> list:
        found: list = []
        for _ in range(20):  # at most 2,000 events back
            resp = await client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=100)
            if isinstance(resp, RoomMessagesError):
                print(f"could not fill a gap: {resp}", file=sys.stderr, flush=True)
                break
            for ev in resp.chunk:
                if ev.event_id in seen:
                    return list(reversed(found))
                found.append(ev)
            if not resp.chunk or not resp.end or resp.end == token:
                break
            token = resp.end
        return list(reversed(found))

    async def handle(resp) -> None:
        for room_id in resp.rooms.invite:
            await client.join(room_id)
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await fill_gap(room_id, info.timeline.prev_batch) + events
            for ev in events:
                if ev.event_id in seen:
                    continue
                seen.add(ev.event_id)
                if isinstance(ev, RoomMessageText) and ev.sender != args.user_id and ev.body.startswith("!help"):
                    await client.room_send(room_id, "m.room.message", {
                        "msgtype": "m.notice", "body": HELP,
                        "m.relates_to": {"m.in_reply_to": {"event_id": ev.event_id}},
                    }, ignore_unverified_devices=True)
        await key_housekeeping()

    first = await client.sync(timeout=0, full_state=True, sync_filter=FILTER)
    if isinstance(first, SyncError):
        raise SystemExit(f"first sync failed: {first}")
    for room_id in first.rooms.invite:  # old messages in the first sync are not answered
        await client.join(room_id)
    for info in first.rooms.join.values():
        seen.update(ev.event_id for ev in info.timeline.events)
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
    p.add_argument("--store", help="nio's store directory: end-to-end encryption on")
    asyncio.run(main(p.parse_args()))
