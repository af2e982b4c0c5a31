"""The migration registry: every component's ordered steps (see Database.migrate)."""
from __future__ import annotations

from storage import core
from storage import decisions
from storage import duties
from storage import duty_swaps
from storage import polls
from storage import posts
from storage import roles
from storage import safespace
from storage.db import Registry

REGISTRY: Registry = {
    # the anchor roles constrain core's room_roles; handled_events.outcome came after them
    "core": [*core.MIGRATIONS, *roles.MIGRATIONS, *core.OUTCOME_MIGRATIONS],
    "duties": [*duties.MIGRATIONS, *duty_swaps.MIGRATIONS],  # swap offers refer to duties
    "safespace": safespace.MIGRATIONS,
    "posts": posts.MIGRATIONS,
    "polls": polls.MIGRATIONS,
    "decisions": decisions.MIGRATIONS,  # the record of closed polls (no foreign key: polls own theirs)
}
