"""The running bot: login, the sync loop with our own position, the invite policy, clean shutdown."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.app import App, build_app
from bot.clock import SystemClock
from bot.config import Config, database_url
from bot.crypto_state import CryptoState
from bot.matrix_adapter import MatrixAdapter, MatrixError
from bot.ports import Publisher
from storage.db import Database, database_for
from storage.safespace import reports_with_route

log = logging.getLogger(__name__)

# A sync that brought nothing for the bot (its own echoes, state, people talking: no event was
# recorded) need not move the stored position at once: after a crash the same events are
# fetched again and ignored again, so chatter costs no database write at all.
# It is stored at least this often, so a restart does not page through much history.
POSITION_MAX_AGE = timedelta(minutes=1)


def make_publishers(config: Config) -> dict[str, Publisher]:
    """One Mastodon publisher per configured account."""
    if not config.mastodon:
        return {}
    from bot.mastodon_adapter import MastodonPublisher

    return {
        a.name: MastodonPublisher(a.name, a.api_base_url, a.access_token.get_secret_value())  # type: ignore[union-attr]
        for a in config.mastodon
    }


async def invite_allowed(app: App, inviter: str | None, direct: bool) -> bool:
    """CONTRACT.md: a direct chat from anyone who shares a room with the bot; other rooms only from an
    admin or from an organiser whom a group room vouches for (Permissions.vouched: power in a direct
    chat or in a room of one's own counts for nothing)."""
    if inviter is None:
        return False
    perms = app.dispatcher.perms
    if perms.is_admin(inviter):
        return True
    if direct:
        for room_id in await app.chat.joined_rooms():
            info = await app.chat.room_info(room_id)
            if info is not None and inviter in info.members:
                return True
        return False
    return await perms.vouched(inviter)


async def handle_invites(app: App, adapter: MatrixAdapter, resp) -> bool:
    """Join or decline each pending invite; True if there was any."""
    invites = adapter.invites(resp)
    for room_id, inviter, direct in invites:
        if await invite_allowed(app, inviter, direct):
            if await adapter.join(room_id):
                # who opens a direct chat with the bot (e.g. to report) is nobody's business
                log.log(logging.DEBUG if direct else logging.INFO, "joined %s on invitation by %s", room_id,
                        "a member" if direct else inviter)
                # the join time comes with the join event in the next sync (MatrixAdapter.collect)
                if direct and inviter:
                    async with app.db.transaction():
                        await app.dms.remember(inviter, room_id)
                        await app.anchors.mark_direct(room_id)
        else:
            log.info("declined invite to %s from %s", room_id, inviter)
            await adapter.decline(room_id)
    return bool(invites)


class SteppedDown(Exception):
    """The active lock was lost: this instance stopped working so that the standby can take over."""


CRYPTO_SAVE_EVERY = 5.0  # seconds between checks of the encryption state for changes (PostgreSQL)


async def open_database(config: Config, stop: asyncio.Event) -> tuple[Database | None, CryptoState | None]:
    """SQLite: opened later by build_app. PostgreSQL: open it, wait until this instance is the active one
    (the other waits as standby), then write the stored encryption state into data_dir. (None, None) if
    stop was set while waiting."""
    url = database_url(config)
    if not url:
        return None, None
    db = database_for(url, config.bot.data_dir)
    await db.open()
    if not await db.wait_for_lead(stop):  # type: ignore[attr-defined]
        await db.close()
        return None, None
    log.info("active: this instance holds the lock")
    from storage.schema import REGISTRY

    await db.migrate(REGISTRY)  # the crypto_files table may be new
    crypto = CryptoState(db, config.bot.data_dir)
    await crypto.restore()
    if not (config.bot.data_dir / "safespace.key").exists() and await reports_with_route(db):
        log.error("data_dir/safespace.key is missing on this machine: earlier reporters cannot be answered from"
                  " here; copy it from the machine that took the reports (it is kept out of the database)")
    return db, crypto


async def _save_crypto_regularly(crypto: CryptoState, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=CRYPTO_SAVE_EVERY)
        except asyncio.TimeoutError:
            pass
        try:
            await crypto.save()
        except Exception:  # noqa: BLE001 - the next round or the sync loop saves again
            log.warning("could not save the encryption state", exc_info=True)


async def run_bot(config: Config, stop: asyncio.Event, *, publishers: dict[str, Publisher] | None = None,
                  on_ready: Callable[[App], None] | None = None) -> None:
    """Run until `stop` is set; the command in flight is finished, then everything closes.

    With PostgreSQL this first waits to be the active instance, and raises SteppedDown when the lock is
    lost (the database session died): syncing stops at once, nothing more is written."""
    db, crypto = await open_database(config, stop)
    if database_url(config) and db is None:
        return  # stopped while standby
    lost = getattr(db, "lost", None)
    if lost is not None:  # the lock's session died: stop syncing at once (the command in flight cannot commit)
        lost_watch = asyncio.create_task(lost.wait())
        lost_watch.add_done_callback(lambda _t: stop.set() if lost.is_set() else None)
    try:
        await _run_active(config, stop, db, crypto, publishers, on_ready)
    finally:
        if lost is not None:
            lost_watch.cancel()
    if lost is not None and lost.is_set():
        raise SteppedDown("lost the active lock; the standby takes over")


async def _run_active(config: Config, stop: asyncio.Event, db: Database | None, crypto: CryptoState | None,
                      publishers: dict[str, Publisher] | None, on_ready: Callable[[App], None] | None) -> None:
    if not config.bot.admins:
        log.warning("no [bot] admins configured: the bot joins group rooms only when an organiser of a room "
                    "it is in already invites it, and the organisers, awareness and announcements roles are founded "
                    "only by an organiser whom a second organiser with standing in another room vouches for")
    adapter = MatrixAdapter(config)
    await adapter.login()
    if crypto is not None:
        await crypto.save()  # device id, token, keys uploaded at login, cross-signing identity
    app = await build_app(config, adapter, SystemClock(),
                          publishers if publishers is not None else make_publishers(config), db=db)
    saver = asyncio.create_task(_save_crypto_regularly(crypto, stop)) if crypto is not None else None
    since = await app.kv.get("sync_token")
    stored = await app.kv.get("last_sync_at")
    last_sync = datetime.fromisoformat(stored) if stored and since else None
    first, backoff, db_backoff = True, 1.0, 1.0
    stored_at = last_sync
    try:
        while not stop.is_set():
            sync = asyncio.create_task(adapter.sync_once(since, full_state=first, timeout_ms=0 if first else 30000))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({sync, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if sync not in done:
                sync.cancel()
                break
            try:
                resp = sync.result()
            except Exception as exc:  # noqa: BLE001 - homeserver down, aiohttp errors: the loop must go on
                log.warning("sync failed (%s); retrying in %.0f s", type(exc).__name__, backoff,
                            exc_info=not isinstance(exc, (MatrixError, OSError, asyncio.TimeoutError)))
                await asyncio.sleep(backoff)
                backoff = min(60.0, backoff * 2)
                continue
            backoff = 1.0
            if crypto is not None:  # before the position is stored: see bot/crypto_state.py
                await crypto.save()
            invited = await handle_invites(app, adapter, resp)
            cutoff = last_sync - timedelta(minutes=5) if last_sync else None
            batch, joined = await adapter.collect(resp, app.pipeline.handled.seen, cutoff)
            try:
                for room_id, ts in joined:
                    await app.pipeline.room_joined(room_id, ts)
                recorded = await app.pipeline.handle_batch(batch)
            except Exception:  # noqa: BLE001 - the database is out (Pipeline.handle parks everything else)
                log.error("the database failed while handling a sync; fetching the same events again in %.0f s",
                          db_backoff, exc_info=True)
                await asyncio.sleep(db_backoff)
                db_backoff = min(60.0, db_backoff * 2)
                continue  # `since` is unchanged: nothing handled so far is done twice (handled marks)
            db_backoff = 1.0
            last_sync = app.clock.now()
            stale = stored_at is None or last_sync - stored_at >= POSITION_MAX_AGE
            if first or invited or joined or recorded or stale:
                async with app.db.transaction():
                    await app.kv.set("sync_token", resp.next_batch)
                    await app.kv.set("last_sync_at", last_sync.isoformat())
                stored_at = last_sync
            since = resp.next_batch
            await adapter.after_sync()
            if crypto is not None:
                await crypto.save()
            if first:
                first = False
                await app.start()
                log.info("ready: %d rooms", len(await adapter.joined_rooms()))
                if on_ready is not None:
                    on_ready(app)
    finally:
        if saver is not None:
            saver.cancel()
        if crypto is not None and not getattr(app.db, "lost", asyncio.Event()).is_set():
            try:
                await crypto.save()
            except Exception:  # noqa: BLE001 - saved at the last sync already
                log.warning("could not save the encryption state at shutdown", exc_info=True)
        await app.stop()
        await adapter.close()
        log.info("stopped")
