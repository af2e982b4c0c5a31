"""What organisers see of a post: the preview (exactly the thread that will go out) and the queue, worded
through a Say (ctx.rich, or bot.voice.Voice.speaker for messages that are not answers to a command)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.errors import UserError
from bot.render import Rich, bullets, lines, plain
from bot.timeformat import format_weekday_date, format_when
from bot.voice import Say
from commands.post_rules import GROUPS, list_group, missing_alt, split_note
from storage.posts import Image, Part, Post

EXCERPT = 60


def state_named(err: UserError, name: Callable[[str], object]) -> UserError:
    """Errors from the drafting rules name a post's state by its key; name(key) says it in the room's language."""
    if isinstance(err.params.get("state"), str):
        err.params["state"] = name("post.state." + err.params["state"])
    return err


def say_error(say: Say, err: UserError) -> Rich:
    """A UserError from the drafting rules, said outside a command (the announcements room)."""
    return say(err.key, **state_named(err, say).params)


def reason_text(say: Say, note: str | None) -> Rich:
    """Why a post waits or failed (its note), in the room's language; Mastodon's own message as it is."""
    code, detail = split_note(note or "error")
    return plain(detail) if detail else say("post.reason." + code)


def when_text(say: Say, at: datetime | None, lang: str, tz: str) -> Rich:
    if at is None:
        return say("post.when.asap")
    return say("post.when.at", when=format_when(at, lang=lang, tz=tz))


def preview(say: Say, post: Post, images: Sequence[Image], parts: Sequence[Part], approvers: Sequence[str],
            required: int, *, lang: str, tz: str) -> Rich:
    """The answer to !post: #N, where and how it goes out, then every part exactly as it will be posted."""
    out: list[Rich] = [say("post.preview.header", id=post.id, account=post.account,
                           visibility=say("post.visibility." + post.visibility), language=post.language or "–",
                           when=when_text(say, post.at, lang, tz))]
    if post.cw:
        out.append(say("post.preview.cw", cw=post.cw))
    for image in images:
        if (image.alt or "").strip():
            out.append(say("post.preview.image", k=image.k, alt=image.alt))
        else:
            out.append(say("post.preview.image_no_alt", k=image.k, id=post.id))
    for part in parts:
        if len(parts) > 1:
            out.append(say("post.preview.part", i=part.idx + 1, total=len(parts)))
        else:
            out.append(say("post.preview.single"))
        out.append(plain(part.text) if part.text.strip() else say("post.preview.no_text"))
    out.append(status_line(say, post, images, approvers, required, lang=lang, tz=tz))
    return lines(out)


def status_line(say: Say, post: Post, images: Sequence[Image], approvers: Sequence[str], required: int, *,
                lang: str, tz: str) -> Rich:
    if post.state == "draft":
        missing = missing_alt([i.alt for i in images])
        if missing:
            return say("post.status.needs_alt", len(missing), images=", ".join(map(str, missing)), id=post.id)
        still = max(0, required - len(approvers))
        if still == 0:  # approved, but `at:` passed long ago: needs a new time
            return say("post.status.at_passed", id=post.id)
        return say("post.status.needs_approval", still, id=post.id)
    if post.state == "scheduled":
        if post.at is None and post.retry_round == 0:
            return say("post.status.now")
        return say("post.status.scheduled", when=when_text(say, post.due_at or post.at, lang, tz))
    return say("post.state." + post.state)


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def queue(say: Say, posts: Sequence[Post], approvals: dict[int, int], alts: dict[int, list[int]], required: int,
          now: datetime, *, lang: str, tz: str) -> Rich:
    """!posts: drafts, waiting, scheduled, failed and published posts of this room."""
    grouped: dict[str, list[Rich]] = {g: [] for g in GROUPS}
    for post in posts:
        group = list_group(post.state, post.due_at, now, retrying=post.retry_round > 0 or post.note is not None)
        if group is None:
            continue
        grouped[group].append(say("post.list.item", id=post.id, account=post.account, text=excerpt(post.text),
                                  detail=_detail(say, post, group, approvals.get(post.id, 0),
                                                 alts.get(post.id, []), required, lang, tz)))
    out: list[Rich] = []
    for group in GROUPS:
        if grouped[group]:
            out += [say("post.list." + group, len(grouped[group])), bullets(grouped[group])]
    return lines(out) if out else say("post.list.empty")


def _detail(say: Say, post: Post, group: str, approvals: int, missing: list[int], required: int, lang: str,
            tz: str) -> Rich:
    if group == "draft":
        if missing:
            return say("post.detail.needs_alt", images=", ".join(map(str, missing)))
        return say("post.detail.approvals", got=approvals, required=required)
    if group == "waiting":
        if post.note:
            return say("post.detail.retrying", reason=reason_text(say, post.note),
                       when=format_weekday_date(post.due_at, lang, tz) if post.due_at else "–")
        return say("post.detail." + ("deleting" if post.state == "deleting" else "publishing"))
    if group == "scheduled":
        return say("post.detail.scheduled", when=format_weekday_date(post.due_at or post.at or now_or(post), lang, tz))
    if group == "published":
        when = format_weekday_date(post.published_at, lang, tz) if post.published_at else "–"
        return say("post.detail.published", when=when, url=post.url or "")
    if post.state == "missed":
        return say("post.detail.missed", when=format_weekday_date(post.due_at or post.at or now_or(post), lang, tz))
    return say("post.detail.failed", reason=reason_text(say, post.note) if post.note else "–")


def now_or(post: Post) -> datetime:
    return post.created_at
