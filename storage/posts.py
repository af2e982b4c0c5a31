"""Fediverse announcements: posts with their images, approvals and thread parts; accounts and relayed mentions.

A post is a row first. Its thread parts are stored when the preview is made, so what
goes out is exactly what was shown; each part's status id is recorded the moment
Mastodon confirms it, so a restart never sends a recorded part again. The text of
relayed mentions is never stored, only their ids (to relay each once).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, from_ms, to_ms

MIGRATIONS = [
    (
        # state: draft | scheduled | publishing | published | failed | missed | cancelled | deleting | deleted
        # origin: command (!post) | mirror (announcements room)
        "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL,"
        " source_room TEXT NOT NULL, source_event TEXT NOT NULL, author TEXT NOT NULL, account TEXT NOT NULL,"
        " text TEXT NOT NULL, cw TEXT, visibility TEXT NOT NULL, language TEXT, at INTEGER,"
        " state TEXT NOT NULL DEFAULT 'draft', revision INTEGER NOT NULL DEFAULT 0, due_at INTEGER,"
        " retry_round INTEGER NOT NULL DEFAULT 0, note TEXT, url TEXT, origin TEXT NOT NULL DEFAULT 'command',"
        " created_at INTEGER NOT NULL, published_at INTEGER)",
        "CREATE INDEX posts_room ON posts (room_id, state)",
        "CREATE INDEX posts_source ON posts (source_room, source_event)",
        "CREATE TABLE post_images (post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,"
        " k INTEGER NOT NULL, event_id TEXT NOT NULL, content TEXT, alt TEXT, media_id TEXT,"
        " PRIMARY KEY (post_id, k))",
        "CREATE INDEX post_images_event ON post_images (event_id)",
        "CREATE TABLE post_approvals (post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,"
        " user_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (post_id, user_id))",
        "CREATE TABLE post_parts (post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, text TEXT NOT NULL, status_id TEXT, url TEXT, first_attempt_at INTEGER,"
        " ambiguous_since INTEGER, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (post_id, idx))",
        "CREATE TABLE post_accounts (name TEXT PRIMARY KEY, since_id TEXT, disabled TEXT)",
        "CREATE TABLE post_mentions (account TEXT NOT NULL, mention_id TEXT NOT NULL,"
        " PRIMARY KEY (account, mention_id))",
        "CREATE TABLE post_mirror_rooms (room_id TEXT PRIMARY KEY, direct INTEGER NOT NULL DEFAULT 0)",
    ),
]

UNPUBLISHED = ("draft", "scheduled", "missed", "failed")  # states in which a post may still change


@dataclass(frozen=True)
class Post:
    id: int
    room_id: str  # where it is discussed: previews, approvals, links, errors
    source_room: str
    source_event: str  # the !post message or the mirrored message
    author: str
    account: str
    text: str
    cw: str | None
    visibility: str
    language: str | None
    at: datetime | None  # the requested time; None = as soon as approved
    state: str
    revision: int  # counts edits; part of the idempotency key
    due_at: datetime | None  # next publication attempt
    retry_round: int
    note: str | None  # why it failed or waits
    url: str | None  # the first status of the thread
    origin: str
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class Image:
    post_id: int
    k: int  # 1-based, in the order attached
    event_id: str
    content: dict[str, Any] | None  # the m.image content (url or encrypted file); cleared after publication
    alt: str | None
    media_id: str | None


@dataclass(frozen=True)
class Part:
    post_id: int
    idx: int  # 0-based position in the thread
    text: str
    status_id: str | None
    url: str | None
    first_attempt_at: datetime | None
    ambiguous_since: datetime | None  # first error after which the status may exist unseen
    deleted: bool

    @property
    def sent(self) -> bool:
        """Mastodon confirmed it (it may have been deleted since)."""
        return self.status_id is not None

    @property
    def online(self) -> bool:
        return self.sent and not self.deleted


_POST_COLS = ("id, room_id, source_room, source_event, author, account, text, cw, visibility, language, at,"
              " state, revision, due_at, retry_round, note, url, origin, created_at, published_at")


def _post(r: Any) -> Post:
    return Post(r["id"], r["room_id"], r["source_room"], r["source_event"], r["author"], r["account"], r["text"],
                r["cw"], r["visibility"], r["language"], from_ms(r["at"]), r["state"], r["revision"],
                from_ms(r["due_at"]), r["retry_round"], r["note"], r["url"], r["origin"],
                from_ms(r["created_at"]), from_ms(r["published_at"]))  # type: ignore[arg-type]


class Posts:
    """The post aggregate: the post row, its images, approvals and thread parts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ posts
    async def create(self, *, room_id: str, source_room: str, source_event: str, author: str, account: str,
                     text: str, cw: str | None, visibility: str, language: str | None, at: datetime | None,
                     origin: str, now: datetime) -> int:
        return await self.db.execute(
            "INSERT INTO posts (room_id, source_room, source_event, author, account, text, cw, visibility,"
            " language, at, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (room_id, source_room, source_event, author, account, text, cw, visibility, language, to_ms(at),
             origin, to_ms(now)),
        )

    async def get(self, post_id: int) -> Post | None:
        row = await self.db.fetchone(f"SELECT {_POST_COLS} FROM posts WHERE id = ?", (post_id,))
        return _post(row) if row else None

    async def by_source(self, room_id: str, event_id: str) -> Post | None:
        row = await self.db.fetchone(
            f"SELECT {_POST_COLS} FROM posts WHERE source_room = ? AND source_event = ? ORDER BY id DESC LIMIT 1",
            (room_id, event_id),
        )
        return _post(row) if row else None

    async def in_room(self, room_id: str, states: Sequence[str]) -> list[Post]:
        marks = ", ".join("?" for _ in states)
        rows = await self.db.fetchall(
            f"SELECT {_POST_COLS} FROM posts WHERE room_id = ? AND state IN ({marks}) ORDER BY id",
            (room_id, *states),
        )
        return [_post(r) for r in rows]

    async def with_state(self, state: str) -> list[Post]:
        rows = await self.db.fetchall(f"SELECT {_POST_COLS} FROM posts WHERE state = ? ORDER BY id", (state,))
        return [_post(r) for r in rows]

    async def rooms_for_account(self, account: str) -> list[str]:
        """Rooms where posts for this account were discussed, most recent first."""
        rows = await self.db.fetchall(
            "SELECT room_id, MAX(id) AS last FROM posts WHERE account = ? GROUP BY room_id ORDER BY last DESC",
            (account,),
        )
        return [r["room_id"] for r in rows]

    async def update_content(self, post_id: int, *, text: str, cw: str | None, visibility: str,
                             language: str | None, at: datetime | None, account: str) -> None:
        """An edit: new content, a new revision (new idempotency keys), back to draft."""
        await self.db.execute(
            "UPDATE posts SET text = ?, cw = ?, visibility = ?, language = ?, at = ?, account = ?,"
            " revision = revision + 1, state = 'draft', due_at = NULL, retry_round = 0, note = NULL WHERE id = ?",
            (text, cw, visibility, language, to_ms(at), account, post_id),
        )

    async def touch_revision(self, post_id: int) -> None:
        await self.db.execute("UPDATE posts SET revision = revision + 1 WHERE id = ?", (post_id,))

    async def set_state(self, post_id: int, state: str, *, note: str | None = None,
                        due_at: datetime | None = None, retry_round: int | None = None) -> None:
        await self.db.execute(
            "UPDATE posts SET state = ?, note = ?, due_at = ?, retry_round = COALESCE(?, retry_round) WHERE id = ?",
            (state, note, to_ms(due_at), retry_round, post_id),
        )

    async def set_published(self, post_id: int, url: str, at: datetime) -> None:
        await self.db.execute(
            "UPDATE posts SET state = 'published', url = ?, published_at = ?, note = NULL, due_at = NULL"
            " WHERE id = ?",
            (url, to_ms(at), post_id),
        )
        await self.db.execute("UPDATE post_images SET content = NULL WHERE post_id = ?", (post_id,))

    # ------------------------------------------------------------------ images
    async def images(self, post_id: int) -> list[Image]:
        rows = await self.db.fetchall(
            "SELECT post_id, k, event_id, content, alt, media_id FROM post_images WHERE post_id = ? ORDER BY k",
            (post_id,),
        )
        return [Image(r["post_id"], r["k"], r["event_id"], json.loads(r["content"]) if r["content"] else None,
                      r["alt"], r["media_id"]) for r in rows]

    async def add_image(self, post_id: int, event_id: str, content: dict[str, Any]) -> int:
        k = (await self.db.fetchval("SELECT MAX(k) FROM post_images WHERE post_id = ?", (post_id,)) or 0) + 1
        await self.db.execute(
            "INSERT INTO post_images (post_id, k, event_id, content) VALUES (?, ?, ?, ?)",
            (post_id, k, event_id, json.dumps(content)),
        )
        return k

    async def set_alt(self, post_id: int, k: int, alt: str) -> bool:
        """New alt text; an uploaded media id is dropped, so the new text is uploaded with it."""
        return await self.db.execute_rowcount(
            "UPDATE post_images SET alt = ?, media_id = NULL WHERE post_id = ? AND k = ?", (alt, post_id, k)
        ) == 1

    async def set_media_id(self, post_id: int, k: int, media_id: str) -> None:
        await self.db.execute("UPDATE post_images SET media_id = ? WHERE post_id = ? AND k = ?",
                              (media_id, post_id, k))

    async def posts_with_image_event(self, event_id: str) -> list[int]:
        rows = await self.db.fetchall("SELECT DISTINCT post_id FROM post_images WHERE event_id = ?", (event_id,))
        return [r["post_id"] for r in rows]

    async def remove_image_event(self, post_id: int, event_id: str) -> None:
        """Drop the image(s) from that event and renumber the rest from 1."""
        await self.db.execute("DELETE FROM post_images WHERE post_id = ? AND event_id = ?", (post_id, event_id))
        rows = await self.db.fetchall("SELECT k FROM post_images WHERE post_id = ? ORDER BY k", (post_id,))
        for new_k, r in enumerate(rows, start=1):
            if r["k"] != new_k:
                await self.db.execute("UPDATE post_images SET k = ? WHERE post_id = ? AND k = ?",
                                      (new_k, post_id, r["k"]))

    # ------------------------------------------------------------------ approvals
    async def approve(self, post_id: int, user_id: str, at: datetime) -> bool:
        """False if this person approved already."""
        return await self.db.execute_rowcount(
            "INSERT OR IGNORE INTO post_approvals (post_id, user_id, at) VALUES (?, ?, ?)",
            (post_id, user_id, to_ms(at)),
        ) == 1

    async def approvers(self, post_id: int) -> list[str]:
        rows = await self.db.fetchall("SELECT user_id FROM post_approvals WHERE post_id = ? ORDER BY at",
                                      (post_id,))
        return [r["user_id"] for r in rows]

    async def clear_approvals(self, post_id: int) -> int:
        return await self.db.execute_rowcount("DELETE FROM post_approvals WHERE post_id = ?", (post_id,))

    # ------------------------------------------------------------------ thread parts
    async def set_parts(self, post_id: int, texts: Sequence[str]) -> None:
        await self.db.execute("DELETE FROM post_parts WHERE post_id = ?", (post_id,))
        await self.db.executemany("INSERT INTO post_parts (post_id, idx, text) VALUES (?, ?, ?)",
                                  [(post_id, i, t) for i, t in enumerate(texts)])

    async def parts(self, post_id: int) -> list[Part]:
        rows = await self.db.fetchall(
            "SELECT post_id, idx, text, status_id, url, first_attempt_at, ambiguous_since, deleted FROM post_parts"
            " WHERE post_id = ? ORDER BY idx",
            (post_id,),
        )
        return [Part(r["post_id"], r["idx"], r["text"], r["status_id"], r["url"], from_ms(r["first_attempt_at"]),
                     from_ms(r["ambiguous_since"]), bool(r["deleted"])) for r in rows]

    async def sent_parts(self, post_id: int, *, online: bool = False) -> list[Part]:
        """The parts Mastodon confirmed, in order; online: only those not deleted since."""
        return [p for p in await self.parts(post_id) if (p.online if online else p.sent)]

    async def attempt_part(self, post_id: int, idx: int, at: datetime) -> None:
        await self.db.execute(
            "UPDATE post_parts SET first_attempt_at = COALESCE(first_attempt_at, ?) WHERE post_id = ? AND idx = ?",
            (to_ms(at), post_id, idx),
        )

    async def mark_ambiguous(self, post_id: int, idx: int, since: datetime) -> None:
        await self.db.execute(
            "UPDATE post_parts SET ambiguous_since = COALESCE(ambiguous_since, ?) WHERE post_id = ? AND idx = ?",
            (to_ms(since), post_id, idx),
        )

    async def record_part(self, post_id: int, idx: int, status_id: str, url: str) -> None:
        await self.db.execute("UPDATE post_parts SET status_id = ?, url = ? WHERE post_id = ? AND idx = ?",
                              (status_id, url, post_id, idx))

    async def mark_part_deleted(self, post_id: int, idx: int) -> None:
        await self.db.execute("UPDATE post_parts SET deleted = 1 WHERE post_id = ? AND idx = ?", (post_id, idx))

    async def reset_attempts(self, post_id: int) -> None:
        """A fresh decision to publish (re-approval): the ambiguity clock starts again."""
        await self.db.execute(
            "UPDATE post_parts SET first_attempt_at = NULL, ambiguous_since = NULL WHERE post_id = ?"
            " AND status_id IS NULL",
            (post_id,),
        )

    # ------------------------------------------------------------------ privacy
    async def authored_by(self, user_id: str) -> list[Post]:
        rows = await self.db.fetchall(f"SELECT {_POST_COLS} FROM posts WHERE author = ? ORDER BY id", (user_id,))
        return [_post(r) for r in rows]

    async def approved_by(self, user_id: str) -> list[int]:
        rows = await self.db.fetchall("SELECT post_id FROM post_approvals WHERE user_id = ? ORDER BY post_id",
                                      (user_id,))
        return [r["post_id"] for r in rows]

    async def withdraw_approval(self, post_id: int, user_id: str) -> None:
        await self.db.execute("DELETE FROM post_approvals WHERE post_id = ? AND user_id = ?", (post_id, user_id))

    async def anonymise(self, user_id: str, placeholder: str) -> int:
        # the !post message and attached images are events the homeserver resolves to their sender
        await self.db.execute("UPDATE post_images SET event_id = '' WHERE post_id IN"
                              " (SELECT id FROM posts WHERE author = ?)", (user_id,))
        await self.db.execute("UPDATE posts SET source_event = '' WHERE author = ?", (user_id,))
        n = await self.db.execute_rowcount("UPDATE posts SET author = ? WHERE author = ?", (placeholder, user_id))
        n += await self.db.execute_rowcount("UPDATE post_approvals SET user_id = ? WHERE user_id = ?",
                                            (placeholder, user_id))
        return n


class Accounts:
    """Per Mastodon account: the notification position, whether it is disabled, relayed mentions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def since_id(self, name: str) -> tuple[bool, str | None]:
        """(polled before, last seen id); an account polled with no mentions yet has ''."""
        row = await self.db.fetchone("SELECT since_id FROM post_accounts WHERE name = ?", (name,))
        if row is None or row["since_id"] is None:
            return False, None
        return True, row["since_id"] or None

    async def set_since_id(self, name: str, since_id: str) -> None:
        await self.db.execute(
            "INSERT INTO post_accounts (name, since_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET"
            " since_id = excluded.since_id",
            (name, since_id),
        )

    async def disabled(self, name: str) -> str | None:
        return await self.db.fetchval("SELECT disabled FROM post_accounts WHERE name = ?", (name,))

    async def disable(self, name: str, reason: str) -> bool:
        """True if it was enabled until now."""
        was = await self.disabled(name)
        await self.db.execute(
            "INSERT INTO post_accounts (name, disabled) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET"
            " disabled = excluded.disabled",
            (name, reason),
        )
        return was is None

    async def enable_all(self) -> int:
        return await self.db.execute_rowcount("UPDATE post_accounts SET disabled = NULL WHERE disabled IS NOT NULL")

    async def relay_once(self, name: str, mention_id: str) -> bool:
        """True the first time this mention is seen."""
        return await self.db.execute_rowcount(
            "INSERT OR IGNORE INTO post_mentions (account, mention_id) VALUES (?, ?)", (name, mention_id)
        ) == 1


class MirrorRooms:
    """Announcements rooms whose messages go out without approval (set by an admin)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def mirrored(self, room_id: str) -> tuple[bool, str | None]:
        """(True, account) if messages of this room may become posts: an announcements room (its argument is the
        account, None for the default) that is not a safe space. Asked for every message in every room, so one
        primary-key lookup."""
        row = await self.db.fetchone(
            "SELECT arg FROM room_roles WHERE room_id = ? AND role = 'announcements' AND NOT EXISTS"
            " (SELECT 1 FROM room_roles WHERE room_id = ? AND role = 'safespace')",
            (room_id, room_id),
        )
        return (True, row["arg"]) if row is not None else (False, None)

    async def direct(self, room_id: str) -> bool:
        return bool(await self.db.fetchval("SELECT direct FROM post_mirror_rooms WHERE room_id = ?", (room_id,)))

    async def set_direct(self, room_id: str, direct: bool) -> None:
        await self.db.execute(
            "INSERT INTO post_mirror_rooms (room_id, direct) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " direct = excluded.direct",
            (room_id, int(direct)),
        )
