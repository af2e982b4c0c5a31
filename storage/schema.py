"""The migration registry: every component's ordered steps (see Database.migrate)."""
from __future__ import annotations

from storage import core
from storage import decisions
from storage import duties
from storage import polls
from storage import posts
from storage import safespace
from storage.db import Registry

REGISTRY: Registry = {
    "core": core.MIGRATIONS,  # steps are numbered by position: only ever append (storage/db.py migrate)
    "duties": duties.MIGRATIONS,
    "safespace": safespace.MIGRATIONS,
    "posts": posts.MIGRATIONS,
    "polls": polls.MIGRATIONS,
    "decisions": decisions.MIGRATIONS,  # the record of closed polls (no foreign key: polls own theirs)
}
