"""Fake transport for conversation tests: the real app, dispatcher and database (SQLite, or PostgreSQL with
--db=postgres); only Matrix is faked.

FakeChat refuses every network call made while the calling task holds a database transaction
(issue 13: side effects are outbox rows, performed after commit): it raises NetworkInTransaction,
a BaseException, so no handler's `except Exception` can hide it and the test fails.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.app import App, build_app
from bot.clock import FakeClock
from bot.config import parse_config
from bot.eventsize import MAX_EVENT_BYTES, canonical_json
from bot.incoming import incoming_from_source
from bot.ports import Incoming, RoomInfo, SendRefused
from tests import backend

BOT = "@plenum:test"


def event_bytes(room_id: str, type: str, content: dict[str, Any], sender: str = BOT) -> int:
    """Canonical JSON size of the whole event as a homeserver would store it (a realistic envelope)."""
    event_id = "$" + "e" * 43
    event = {"auth_events": [event_id] * 4, "prev_events": [event_id], "content": content, "depth": 10**6,
             "hashes": {"sha256": "h" * 43}, "origin_server_ts": 1_800_000_000_000, "room_id": room_id,
             "sender": sender, "signatures": {"test": {"ed25519:a_AbCd": "s" * 86}}, "type": type,
             "unsigned": {"age_ts": 1_800_000_000_000}}
    return len(canonical_json(event))


@dataclass
class Sent:
    room_id: str
    type: str
    content: dict[str, Any]
    event_id: str
    txn_id: str

    @property
    def body(self) -> str:
        return self.content.get("body", "")

    @property
    def html(self) -> str:
        return self.content.get("formatted_body", "")

    @property
    def reply_to(self) -> str | None:
        return self.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")

    @property
    def mentions(self) -> list[str]:
        return self.content.get("m.mentions", {}).get("user_ids", [])


@dataclass
class FakeRoom:
    room_id: str
    members: list[str]
    power: dict[str, int] = field(default_factory=dict)
    creators: list[str] = field(default_factory=list)
    name: str = ""
    alias: str | None = None
    join_rule: str = "invite"
    display_names: dict[str, str] = field(default_factory=dict)  # user id -> display name in this room
    state: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: dict[str, Incoming] = field(default_factory=dict)
    invited: list[str] = field(default_factory=list)


class NetworkInTransaction(BaseException):
    """A Matrix call made inside a database transaction (a BaseException: handlers cannot swallow it)."""


class FakeChat:
    """Implements bot.ports.Chat in memory and records everything the bot does."""

    def __init__(self, own_user_id: str = BOT) -> None:
        self.own_user_id = own_user_id
        self.rooms: dict[str, FakeRoom] = {}
        self.sent: list[Sent] = []
        self.actions: list[tuple[str, ...]] = []
        self.txn_seen: dict[str, str] = {}
        self.fail_sends = 0
        # like Synapse: an event over 65,536 bytes is refused (M_TOO_LARGE); refuse_if refuses others for good
        self.refuse_if: Any = None  # (room_id, type, content) -> an errcode to refuse it with, or None
        self.sizes: list[int] = []  # event_bytes of every send attempt
        self.uploads: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self.db: Any = None  # the app's Database (set by start_conversation): network calls check it
        self.fail_effects = 0  # the next N invites/kicks/state changes/uploads/creations fail (and are retried)

    def _network(self, what: str) -> None:
        if self.db is not None and self.db.in_transaction:
            raise NetworkInTransaction(f"{what} called inside a database transaction")

    def _effect(self, what: str) -> None:
        self._network(what)
        if self.fail_effects:
            self.fail_effects -= 1
            raise ConnectionError("homeserver unreachable")

    def add_room(self, room_id: str, members: list[str], **kw: Any) -> FakeRoom:
        room = FakeRoom(room_id, [self.own_user_id, *members], **kw)
        self.rooms[room_id] = room
        return room

    async def room_info(self, room_id: str) -> RoomInfo | None:
        r = self.rooms.get(room_id)
        if r is None:
            return None
        pl = {"users": dict(r.power)}
        return RoomInfo(room_id=r.room_id, name=r.name or r.room_id, alias=r.alias, members=tuple(r.members),
                        power=dict(r.power), users_default=0, creators=tuple(r.creators),
                        join_rule=r.join_rule, is_direct=len(r.members) == 2, power_levels=pl,
                        display_names={u: n for u, n in r.display_names.items() if u in r.members})

    async def is_direct(self, room_id: str) -> bool:
        info = await self.room_info(room_id)
        return bool(info and info.is_direct)

    async def joined_rooms(self) -> list[str]:
        return list(self.rooms)

    async def send(self, room_id: str, type: str, content: dict[str, Any], txn_id: str) -> str:
        self._network("send")
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("homeserver unreachable")
        size = event_bytes(room_id, type, content, self.own_user_id)
        self.sizes.append(size)
        if size > MAX_EVENT_BYTES:
            raise SendRefused("event too large", status=413, errcode="M_TOO_LARGE")
        errcode = self.refuse_if(room_id, type, content) if self.refuse_if is not None else None
        if errcode:
            raise SendRefused("refused", status=413 if errcode == "M_TOO_LARGE" else 403, errcode=errcode)
        if txn_id in self.txn_seen:  # like a homeserver: same transaction id, same event
            return self.txn_seen[txn_id]
        event_id = f"$bot{next(self._ids)}"
        self.txn_seen[txn_id] = event_id
        self.sent.append(Sent(room_id, type, content, event_id, txn_id))
        return event_id

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self._effect("redact")
        self.actions.append(("redact", room_id, event_id))

    async def invite(self, room_id: str, user_id: str) -> None:
        self._effect("invite")
        self.actions.append(("invite", room_id, user_id))
        room = self.rooms.get(room_id)
        if room and user_id not in room.members and user_id not in room.invited:
            room.invited.append(user_id)

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self._effect("kick")
        self.actions.append(("kick", room_id, user_id))
        room = self.rooms.get(room_id)
        for present in (room.members, room.invited) if room else ():
            if user_id in present:
                present.remove(user_id)

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None:
        self._effect("set_power_level")
        self.actions.append(("power", room_id, user_id, str(level)))
        self.rooms[room_id].power[user_id] = level

    async def put_state(self, room_id: str, type: str, content: dict[str, Any], state_key: str = "") -> None:
        """Like a homeserver; a power-levels content also sets the explicit levels (one "power" action
        per user whose level changed)."""
        self._effect("put_state")
        self.actions.append(("state", room_id, type, state_key))
        room = self.rooms[room_id]
        room.state[(type, state_key)] = content
        if type == "m.room.power_levels" and state_key == "":
            users = {u: int(v) for u, v in (content.get("users") or {}).items()}
            for user, level in users.items():
                if room.power.get(user) != level:
                    self.actions.append(("power", room_id, user, str(level)))
            room.power = users

    async def get_state(self, room_id: str, type: str, state_key: str = "") -> dict[str, Any] | None:
        self._network("get_state")
        room = self.rooms.get(room_id)
        if room is None:
            return None
        if type == "m.room.member":
            return ({"membership": "join"} if state_key in room.members else
                    {"membership": "invite"} if state_key in room.invited else None)
        if type == "m.room.power_levels" and state_key == "":
            return {**room.state.get((type, state_key), {}), "users": dict(room.power)}
        found = room.state.get((type, state_key))
        return dict(found) if found is not None else None

    async def direct_room(self, user_id: str, marker: str | None = None) -> str:
        self._network("direct_room")
        room_id = f"!dm-{user_id.strip('@').split(':')[0]}:test"
        if room_id not in self.rooms:
            self.add_room(room_id, [user_id])
        if marker:
            self.rooms[room_id].state[("org.plenum.created", "")] = {"ref": marker}
        self.actions.append(("dm", user_id))
        return room_id

    async def create_room(self, invite: list[str], name: str | None = None, is_direct: bool = False,
                          marker: str | None = None) -> str:
        self._effect("create_room")
        room_id = f"!new{next(self._ids)}:test"
        self.add_room(room_id, list(invite), name=name or "")
        if marker:
            self.rooms[room_id].state[("org.plenum.created", "")] = {"ref": marker}
        self.actions.append(("create_room", room_id, *invite))
        return room_id

    def created_room(self, marker: str) -> str | None:
        return next((r.room_id for r in self.rooms.values()
                     if r.state.get(("org.plenum.created", ""), {}).get("ref") == marker), None)

    async def download(self, media: dict[str, Any]) -> tuple[bytes, str]:
        self._network("download")
        url = media.get("url") or media.get("file", {}).get("url", "")
        return b"\x89PNG fake " + url.encode(), media.get("info", {}).get("mimetype", "image/png")

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        self._effect("upload")
        self.actions.append(("upload", filename, mime))
        uri = f"mxc://test/{len(self.uploads) + 1}"
        self.uploads[uri] = data
        return uri

    async def get_event(self, room_id: str, event_id: str) -> Incoming | None:
        self._network("get_event")
        if room_id not in self.rooms:
            return None
        found = self.rooms[room_id].events.get(event_id)
        for s in self.sent if found is None else ():  # the bot's own messages, as a homeserver has them
            if s.event_id == event_id and s.room_id == room_id:
                return incoming_from_source(room_id, {"type": s.type, "event_id": s.event_id, "sender": self.own_user_id,
                                                      "origin_server_ts": 0, "content": s.content})
        return found

    async def relations(self, room_id: str, event_id: str, rel_type: str) -> list[Incoming]:
        self._network("relations")
        room = self.rooms.get(room_id)
        if room is None:
            return []
        return [e for e in room.events.values()
                if e.content.get("m.relates_to", {}).get("event_id") == event_id
                and e.content.get("m.relates_to", {}).get("rel_type") == rel_type]

    # helpers for assertions
    def replies_to(self, event_id: str) -> list[Sent]:
        return [s for s in self.sent if s.reply_to == event_id]

    def in_room(self, room_id: str) -> list[Sent]:
        return [s for s in self.sent if s.room_id == room_id]


def make_config(tmp: Path, **bot: Any) -> Any:
    admins = bot.pop("admins", ["@admin:test"])
    lines = [
        "[matrix]", 'homeserver = "http://127.0.0.1:1"', f'user_id = "{BOT}"', 'access_token = "t"',
        "[bot]", f'data_dir = "{tmp}"', f"admins = {admins!r}".replace("'", '"'),
    ]
    for k, v in bot.items():
        lines.append(f"{k} = {v!r}".replace("'", '"') if not isinstance(v, bool) else f"{k} = {str(v).lower()}")
    url = backend.database_url(tmp)  # None on SQLite; a PostgreSQL database of this test dir with --db=postgres
    if url is not None:
        lines += ["[database]", f'url = "{url}"']
    lines += ["[[mastodon]]", 'name = "main"', 'api_base_url = "http://127.0.0.1:2"', 'access_token = "m"']
    return parse_config("\n".join(lines), env={})


class Conversation:
    """Drives the real app with typed messages and returns what the bot answered."""

    def __init__(self, app: App, chat: FakeChat, clock: FakeClock) -> None:
        self.app, self.chat, self.clock = app, chat, clock
        self._ids = itertools.count(1)

    def event(self, sender: str, body: str, room: str, *, type: str = "m.room.message", msgtype: str = "m.text",
              content: dict[str, Any] | None = None, reply_to: str | None = None, ts: datetime | None = None,
              mentions: tuple[str, ...] = (), state_key: str | None = None, redacts: str | None = None) -> Incoming:
        content = content if content is not None else {"msgtype": msgtype, "body": body}
        if reply_to:
            content.setdefault("m.relates_to", {"m.in_reply_to": {"event_id": reply_to}})
        ev = Incoming(room_id=room, event_id=f"$ev{next(self._ids)}", sender=sender, ts=ts or self.clock.now(),
                      type=type, content=content, body=body, msgtype=msgtype if type == "m.room.message" else "",
                      reply_to=reply_to, mentions=mentions, state_key=state_key, redacts=redacts)
        if room in self.chat.rooms:
            self.chat.rooms[room].events[ev.event_id] = ev
        return ev

    def matrix_event(self, sender: str, room: str, content: dict[str, Any], *, type: str = "m.room.message",
                     ts: datetime | None = None) -> Incoming:
        """An event as a client would send it, read by the adapter's own parser (bot/incoming.py):
        reply fallbacks, formatted bodies and edits arrive as they do from a homeserver."""
        ev = incoming_from_source(room, {"type": type, "event_id": f"$ev{next(self._ids)}", "sender": sender,
                                         "origin_server_ts": int((ts or self.clock.now()).timestamp() * 1000),
                                         "content": content})
        assert ev is not None
        if room in self.chat.rooms:
            self.chat.rooms[room].events[ev.event_id] = ev
        return ev

    async def send_content(self, sender: str, room: str, content: dict[str, Any], **kw: Any) -> tuple[Incoming, list[Sent]]:
        ev = self.matrix_event(sender, room, content, **kw)
        return ev, await self.deliver(ev)

    async def deliver(self, ev: Incoming) -> list[Sent]:
        before = len(self.chat.sent)
        await self.app.pipeline.handle(ev)
        await self.app.delivery.flush()
        return self.chat.sent[before:]

    async def say(self, sender: str, body: str, room: str, **kw: Any) -> list[Sent]:
        return await self.deliver(self.event(sender, body, room, **kw))

    async def reply(self, sender: str, body: str, room: str, **kw: Any) -> Sent:
        """Send a command and return the single answer to it."""
        ev = self.event(sender, body, room, **kw)
        await self.deliver(ev)
        answers = self.chat.replies_to(ev.event_id)
        assert len(answers) == 1, f"expected one reply to {body!r}, got {[a.body for a in answers]}"
        return answers[0]

    async def advance(self, delta: timedelta) -> list[Sent]:
        """Move time forward and run what fell due."""
        before = len(self.chat.sent)
        self.clock.advance(delta)
        await self.app.scheduler.run_due()
        await self.app.delivery.flush()
        return self.chat.sent[before:]


START = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


async def start_conversation(tmp: Path, chat: FakeChat | None = None, start: datetime = START,
                             publishers: dict | None = None, **bot: Any) -> Conversation:
    chat = chat or FakeChat()
    clock = FakeClock(start)
    app = await build_app(make_config(tmp, **bot), chat, clock, publishers=publishers)
    chat.db = app.db  # from now on a network call inside a transaction fails the test
    for feature in app.features:
        await feature.on_start()
    return Conversation(app, chat, clock)


__all__ = ["BOT", "FakeChat", "NetworkInTransaction", "Conversation", "start_conversation", "make_config", "START", "replace", "timedelta"]
