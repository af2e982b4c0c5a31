"""The Matrix adapter, the only module that imports nio: login, the exactly-once sync loop, invites, Chat.

Sync position is ours (kv "sync_token"), stored only after a batch was handled; the
timeline limit is raised and `limited` gaps are filled from /messages, so neither a crash
nor a burst loses a command. The first sync after start asks for full state, because nio
keeps no room state across restarts.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from nio import (AsyncClient, AsyncClientConfig, DownloadError, JoinError, LoginError, MegolmEvent,
                 MessageDirection, RoomGetEventError, RoomGetStateEventError, RoomMessagesError,
                 RoomPreset, RoomSendError, SyncError, UploadFilterResponse, WhoamiError)
from nio.api import RelationshipType
from nio.crypto.attachments import decrypt_attachment
from nio.store import DefaultStore

from bot.config import Config
from bot.crosssign import CrossSignError, Homeserver, ensure_cross_signed, write_status
from bot.incoming import incoming_from_source, strip_reply_fallback  # noqa: F401 - re-exported
from bot.ports import Incoming, RoomInfo, SendRefused

log = logging.getLogger(__name__)

LEGACY_ROOM_VERSIONS = {str(v) for v in range(1, 12)}
# refusals that a resend cannot change (401 and 429 can: a new token, time; 5xx is the server's trouble)
PERMANENT_ERRCODES = {"M_TOO_LARGE", "M_FORBIDDEN", "M_BAD_JSON", "M_NOT_JSON", "M_INVALID_PARAM"}
PERMANENT_STATUSES = {400, 403, 404}  # only with a Matrix errcode: a proxy's 404 page while Synapse restarts is not
GAP_PAGES = 10  # at most 1,000 events are fetched back to fill one limited timeline
CREATED_TYPE = "org.plenum.created"  # state event naming the outbox row that created a room (see created_room)
STATE_TYPES = ("m.room.create", "m.room.power_levels", "m.room.join_rules", CREATED_TYPE)


class MatrixError(Exception):
    """A homeserver call failed; the message carries no token."""


def _check(resp: Any, what: str) -> None:
    """Raise for a nio error response: SendRefused if repeating cannot help (Delivery gives up and
    reports it at once), else MatrixError (retried with back-off)."""
    if not type(resp).__name__.endswith("Error"):
        return
    errcode = getattr(resp, "status_code", None)
    status = getattr(getattr(resp, "transport_response", None), "status", None)
    if errcode in PERMANENT_ERRCODES or status in PERMANENT_STATUSES:
        raise SendRefused(f"{what} refused: {status or ''} {errcode or ''}", status=status, errcode=errcode)
    raise MatrixError(f"{what} failed: {errcode or ''} {getattr(resp, 'message', '')}")


class _Store(DefaultStore):
    """nio's encryption store, without a write after every sync.

    nio saves the set of rooms that became encrypted in a sync even when the set is empty,
    a transaction in the store's own SQLite file each time: about a fifth of the bot's CPU
    per command in the benchmark (bench/).
    """

    def save_encrypted_rooms(self, rooms):  # type: ignore[no-untyped-def]
        if rooms:
            super().save_encrypted_rooms(rooms)


def _ts(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000, tz=timezone.utc)


def to_incoming(room_id: str, event: Any) -> Incoming | None:
    """nio event -> plain Incoming (bot/incoming.py reads it); None for what the bot cannot read
    (undecryptable, malformed). A decrypted event's source holds the cleartext, with nio's copy of
    the relation from the encrypted envelope."""
    if isinstance(event, MegolmEvent):
        log.warning("could not decrypt event %s in %s", event.event_id, room_id)
        return None
    source = dict(getattr(event, "source", None) or {})
    source.setdefault("event_id", getattr(event, "event_id", None))
    source.setdefault("sender", getattr(event, "sender", None))
    if source.get("origin_server_ts") is None:
        source["origin_server_ts"] = getattr(event, "server_timestamp", None)
    return incoming_from_source(room_id, source)


class MatrixAdapter:
    """Implements bot.ports.Chat over a matrix-nio AsyncClient."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = Path(config.bot.data_dir)
        self.own_user_id = config.matrix.user_id
        self.client: AsyncClient | None = None
        self._state: dict[str, dict[str, dict[str, Any]]] = {}  # room -> type -> content/sender
        self._filter_salt = secrets.token_hex(4)
        self._filter_id: str | None = None  # the sync filter, uploaded once per process
        self._just_joined: set[str] = set()  # joined on invitation, not yet in a sync's rooms
        # room -> id of the newest timeline event of the previous sync: a gap ends there. Since chat that is
        # no command is not recorded as handled (issue 15), is_handled alone would page back to the cutoff.
        self._newest: dict[str, str] = {}

    # ------------------------------------------------------------------ login
    async def login(self) -> None:
        store = self.data_dir / "store"
        store.mkdir(parents=True, exist_ok=True)  # must exist before the client, or E2EE is silently off
        device_file = self.data_dir / "device.json"
        saved = json.loads(device_file.read_text()) if device_file.exists() else {}
        m = self.config.matrix
        cfg = AsyncClientConfig(encryption_enabled=True, store=_Store, store_sync_tokens=False,
                                request_timeout=60, max_timeouts=None)
        client = AsyncClient(m.homeserver, m.user_id, device_id=saved.get("device_id"), store_path=str(store),
                             config=cfg)
        if m.access_token is not None:
            client.access_token = m.access_token.get_secret_value()
            who = await client.whoami()
            if isinstance(who, WhoamiError):
                await client.close()
                raise MatrixError(f"access token rejected: {who.errcode or who.message}")
            client.restore_login(m.user_id, who.device_id or saved.get("device_id") or "PLENUM",
                                 m.access_token.get_secret_value())
            self._save_device(device_file, client.device_id, None)
        elif saved.get("access_token") and saved.get("user_id") == m.user_id:
            client.restore_login(m.user_id, saved["device_id"], saved["access_token"])
        else:
            resp = await client.login(m.password.get_secret_value(), device_name=m.device_name)  # type: ignore[union-attr]
            if isinstance(resp, LoginError):
                await client.close()
                raise MatrixError(f"login failed: {resp.message}")
            self._save_device(device_file, resp.device_id, resp.access_token)
        self.client = client
        if client.should_upload_keys:
            await client.keys_upload()
        log.info("logged in as %s, device %s", m.user_id, client.device_id)
        if m.cross_signing:
            await self._cross_sign()

    async def _cross_sign(self) -> None:
        """Sign this device with the bot's own cross-signing identity (bot/crosssign.py); never fatal."""
        assert self.client is not None
        m = self.config.matrix
        password = m.password.get_secret_value() if m.password is not None else None
        try:
            async with Homeserver(m.homeserver, m.user_id, self.client.access_token, password) as hs:
                await ensure_cross_signed(hs, self.data_dir, self.client.device_id)
        except (CrossSignError, aiohttp.ClientError, OSError, ValueError, KeyError, asyncio.TimeoutError) as exc:
            log.warning("cross-signing failed, the bot keeps working with an unverified device: %s", exc)
            write_status(self.data_dir, "failed", f"cross-signing failed at the last start: {exc}")

    def _save_device(self, path: Path, device_id: str, token: str | None) -> None:
        data = {"user_id": self.own_user_id, "device_id": device_id}
        if token:
            data["access_token"] = token
        path.write_text(json.dumps(data))
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    # ------------------------------------------------------------------ sync loop
    def sync_filter(self) -> dict[str, Any]:
        return {
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": 100, "not_types": [f"plenum.unused.{self._filter_salt}"]},
                "state": {"lazy_load_members": False},
                "ephemeral": {"not_types": ["*"]},
            },
        }

    async def _uploaded_filter(self) -> str | dict[str, Any]:
        """The filter's id on the homeserver (uploaded on first use), else the filter itself."""
        assert self.client is not None
        if self._filter_id is None:
            f = self.sync_filter()
            resp = await self.client.upload_filter(presence=f["presence"], account_data=f["account_data"],
                                                   room=f["room"])
            if not isinstance(resp, UploadFilterResponse):
                log.warning("could not upload the sync filter; sending it with every sync")
                return f
            self._filter_id = resp.filter_id
        return self._filter_id

    async def sync_once(self, since: str | None, full_state: bool, timeout_ms: int) -> Any:
        assert self.client is not None
        resp = await self.client.sync(timeout=timeout_ms, since=since, full_state=full_state,
                                      sync_filter=await self._uploaded_filter())
        if isinstance(resp, SyncError):
            raise MatrixError(f"sync failed: {resp.status_code or ''} {resp.message}")
        return resp

    async def collect(self, resp: Any, is_handled, cutoff: datetime | None
                      ) -> tuple[dict[str, list[Incoming]], list[tuple[str, datetime]]]:
        """Per-room events of a sync response in order, and rooms the bot just joined.

        A `limited` timeline is filled from /messages back to the last handled event or to
        `cutoff` (shortly before the previous sync); None means "first sync ever: no history".
        """
        batch: dict[str, list[Incoming]] = {}
        joined: list[tuple[str, datetime]] = []
        for room_id, info in resp.rooms.join.items():
            events: list[Incoming] = []
            for ev in list(info.state):
                self._track_state(room_id, ev)
            for ev in info.timeline.events:
                self._track_state(room_id, ev)
            # a room the bot has just joined has no gap worth filling: older events predate it
            just_joined = any(self._own_join(ev) for ev in info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch and cutoff is not None and not just_joined:
                events.extend(await self._fill_gap(room_id, info.timeline.prev_batch, is_handled, cutoff))
            for ev in info.timeline.events:
                inc = to_incoming(room_id, ev)
                if inc is not None:
                    events.append(inc)
            newest = getattr(info.timeline.events[-1], "event_id", None) if info.timeline.events else None
            if newest:
                self._newest[room_id] = newest
            for ev in [*info.state, *info.timeline.events]:
                if self._own_join(ev):
                    joined.append((room_id, _ts(ev.source.get("origin_server_ts"))))
            if events:
                batch[room_id] = events
        return batch, joined

    def _own_join(self, ev: Any) -> bool:
        src = getattr(ev, "source", None) or {}
        return (src.get("type") == "m.room.member" and src.get("state_key") == self.own_user_id
                and (src.get("content") or {}).get("membership") == "join")

    async def _fill_gap(self, room_id: str, prev_batch: str, is_handled, cutoff: datetime) -> list[Incoming]:
        """Events the limited timeline left out, oldest first; stops at the previous sync's newest event, at
        what we handled already, or at the cutoff."""
        assert self.client is not None
        seen_last = self._newest.get(room_id)
        found: list[Incoming] = []
        token: str | None = prev_batch
        for _ in range(GAP_PAGES):
            resp = await self.client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=100)
            if isinstance(resp, RoomMessagesError):
                log.warning("could not fill a gap in %s: %s", room_id, resp.message)
                break
            stop = False
            for ev in resp.chunk:
                if seen_last is not None and getattr(ev, "event_id", None) == seen_last:
                    stop = True
                    break
                inc = to_incoming(room_id, ev)
                if inc is None:
                    continue
                if inc.ts < cutoff or await is_handled(inc.event_id):
                    stop = True
                    break
                found.append(inc)
            if stop or not resp.chunk or not resp.end or resp.end == token:
                break
            token = resp.end
        if found:
            log.info("filled a gap of %d events in %s", len(found), room_id)
        return list(reversed(found))

    async def after_sync(self) -> None:
        """Key housekeeping that sync_forever would do."""
        c = self.client
        assert c is not None
        try:
            await c.send_to_device_messages()
            if c.should_upload_keys:
                await c.keys_upload()
            if c.should_query_keys:
                await c.keys_query()
            if c.should_claim_keys:
                await c.keys_claim(c.get_users_for_key_claiming())
        except Exception:  # noqa: BLE001 - encryption housekeeping must not stop the bot
            log.warning("encryption key housekeeping failed", exc_info=True)

    def _track_state(self, room_id: str, ev: Any) -> None:
        src = getattr(ev, "source", None) or {}
        if src.get("type") in STATE_TYPES and src.get("state_key") == "":
            self._state.setdefault(room_id, {})[src["type"]] = {"content": src.get("content") or {},
                                                                 "sender": src.get("sender")}

    def invites(self, resp: Any) -> list[tuple[str, str | None, bool]]:
        """(room_id, inviter, is_direct) for each pending invite."""
        out = []
        for room_id, info in resp.rooms.invite.items():
            inviter, direct = None, False
            for ev in info.invite_state:
                src = getattr(ev, "source", {}) or {}
                if src.get("type") == "m.room.member" and src.get("state_key") == self.own_user_id:
                    inviter = src.get("sender")
                    # nio pops "content" out of the source of invite events; it keeps it as .content
                    content = getattr(ev, "content", None) or src.get("content") or {}
                    direct = bool(content.get("is_direct"))
            if inviter is None:
                inviter = getattr(info.invite_state[0], "sender", None) if info.invite_state else None
            out.append((room_id, inviter, direct))
        return out

    async def join(self, room_id: str) -> bool:
        assert self.client is not None
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            return False
        self._just_joined.add(room_id)  # nio lists the room only after the next sync brings it
        return True

    async def decline(self, room_id: str) -> None:
        assert self.client is not None
        self._just_joined.discard(room_id)
        await self.client.room_leave(room_id)

    # ------------------------------------------------------------------ Chat port
    async def room_info(self, room_id: str) -> RoomInfo | None:
        room = self.client.rooms.get(room_id) if self.client else None
        if room is None:
            return None
        state = self._state.get(room_id, {})
        create = state.get("m.room.create", {})
        creators: tuple[str, ...] = ()
        if create and str(create["content"].get("room_version", "1")) not in LEGACY_ROOM_VERSIONS:
            extra = create["content"].get("additional_creators") or []
            creators = tuple([create["sender"], *[c for c in extra if isinstance(c, str)]])
        pl_raw = state.get("m.room.power_levels", {}).get("content", {})
        pl = room.power_levels
        members = tuple(u for u in room.users if u not in room.invited_users)  # joined only
        return RoomInfo(room_id=room_id, name=room.display_name, alias=room.canonical_alias, members=members,
                        power=dict(pl.users), users_default=pl.defaults.users_default, creators=creators,
                        join_rule=room.join_rule or "invite",
                        # CONTRACT.md: a room with the bot and one person; a named room is a group room
                        is_direct=(len(members) == 2 and self.own_user_id in members and not room.invited_users
                                   and not room.name),
                        power_levels=dict(pl_raw),
                        display_names={u: room.users[u].display_name for u in members
                                       if room.users[u].display_name})

    async def is_direct(self, room_id: str) -> bool:
        """room_info's is_direct in O(1): with nobody invited, the members are room.users (room_info copies
        them and the power levels: 150 us per message in a room of 500)."""
        room = self.client.rooms.get(room_id) if self.client else None
        return (room is not None and not room.invited_users and len(room.users) == 2
                and self.own_user_id in room.users and not room.name)

    async def joined_rooms(self) -> list[str]:
        if self.client is None:
            return []
        self._just_joined -= set(self.client.rooms)
        return [*self.client.rooms, *sorted(self._just_joined)]

    async def send(self, room_id: str, type: str, content: dict[str, Any], txn_id: str) -> str:
        assert self.client is not None
        resp = await self.client.room_send(room_id, type, content, tx_id=txn_id, ignore_unverified_devices=True)
        if isinstance(resp, RoomSendError):
            transport = getattr(resp, "transport_response", None)
            status = getattr(transport, "status", None)
            matrix_answer = isinstance(resp.status_code, str) and resp.status_code.startswith("M_")
            if resp.status_code in PERMANENT_ERRCODES or status == 413 or (
                    status in PERMANENT_STATUSES and matrix_answer):
                raise SendRefused(f"send refused: {status or ''} {resp.status_code or ''}", status=status,
                                  errcode=resp.status_code)
            raise MatrixError(f"send failed: {resp.status_code or ''} {resp.message}")
        return resp.event_id

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        assert self.client is not None
        await self.client.room_redact(room_id, event_id, reason=reason)

    async def invite(self, room_id: str, user_id: str) -> None:
        assert self.client is not None
        _check(await self.client.room_invite(room_id, user_id), "invite")

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        assert self.client is not None
        _check(await self.client.room_kick(room_id, user_id, reason=reason), "kick")

    async def put_state(self, room_id: str, type: str, content: dict[str, Any], state_key: str = "") -> None:
        assert self.client is not None
        _check(await self.client.room_put_state(room_id, type, content, state_key=state_key), "state change")
        if type in STATE_TYPES and state_key == "":
            self._state.setdefault(room_id, {})[type] = {"content": content, "sender": self.own_user_id}

    async def get_state(self, room_id: str, type: str, state_key: str = "") -> dict[str, Any] | None:
        """Read from the homeserver, not nio's cache: Delivery decides on it (see bot/effects.py)."""
        assert self.client is not None
        resp = await self.client.room_get_state_event(room_id, type, state_key)
        if isinstance(resp, RoomGetStateEventError):
            if resp.status_code == "M_NOT_FOUND":
                return None
            _check(resp, "state read")
        return dict(getattr(resp, "content", {}) or {})

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None:
        current = await self.get_state(room_id, "m.room.power_levels") or {}
        users = dict(current.get("users") or {})
        users[user_id] = level
        current["users"] = users
        await self.put_state(room_id, "m.room.power_levels", current)

    async def create_room(self, invite: list[str], name: str | None = None, is_direct: bool = False,
                          marker: str | None = None) -> str:
        assert self.client is not None
        state = [{"type": CREATED_TYPE, "state_key": "", "content": {"ref": marker}}] if marker else []
        resp = await self.client.room_create(name=name, invite=list(invite), is_direct=is_direct,
                                             preset=RoomPreset.trusted_private_chat if is_direct else
                                             RoomPreset.private_chat, initial_state=state)
        _check(resp, "room creation")
        return resp.room_id

    def created_room(self, marker: str) -> str | None:
        """A room the bot created with this marker, as the syncs so far showed it (no network call)."""
        for room_id, state in self._state.items():
            if (state.get(CREATED_TYPE) or {}).get("content", {}).get("ref") == marker:
                return room_id
        return None

    async def direct_room(self, user_id: str, marker: str | None = None) -> str:
        return await self.create_room([user_id], is_direct=True, marker=marker)

    async def download(self, media: dict[str, Any]) -> tuple[bytes, str]:
        assert self.client is not None
        file = media.get("file")
        url = file["url"] if isinstance(file, dict) else media.get("url")
        resp = await self.client.download(mxc=url)
        if isinstance(resp, DownloadError):
            raise MatrixError(f"download failed: {resp.message}")
        data = resp.body
        if isinstance(file, dict):
            data = decrypt_attachment(data, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
        mime = (media.get("info") or {}).get("mimetype") or resp.content_type
        return data, mime

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        assert self.client is not None
        resp, _keys = await self.client.upload(lambda *_: io.BytesIO(data), content_type=mime, filename=filename,
                                               filesize=len(data))
        uri = getattr(resp, "content_uri", None)
        if not uri:
            _check(resp, "upload")
            raise MatrixError("upload failed: no content uri")
        return uri

    async def get_event(self, room_id: str, event_id: str) -> Incoming | None:
        assert self.client is not None
        resp = await self.client.room_get_event(room_id, event_id)
        if isinstance(resp, RoomGetEventError):
            return None
        event = resp.event
        if isinstance(event, MegolmEvent):
            try:
                event = self.client.decrypt_event(event)
            except Exception:  # noqa: BLE001
                return None
        return to_incoming(room_id, event)

    async def relations(self, room_id: str, event_id: str, rel_type: str) -> list[Incoming]:
        assert self.client is not None
        out = []
        async for ev in self.client.room_get_event_relations(room_id, event_id, RelationshipType(rel_type)):
            if isinstance(ev, MegolmEvent):
                try:
                    ev = self.client.decrypt_event(ev)
                except Exception:  # noqa: BLE001
                    continue
            inc = to_incoming(room_id, ev)
            if inc is not None:
                out.append(inc)
        out.sort(key=lambda e: e.ts)
        return out
