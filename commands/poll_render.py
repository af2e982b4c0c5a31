"""How polls look: the tables that are edited in place, results whose first line names the winner,
the native MSC3381 events. Built only from bot.render parts; names in tables and results are plain
text that never pings (`person`), only `pill` does (nudges, a fixed meeting's attendees)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.eventsize import CONTENT_BUDGET, fits
from bot.feature import Ctx
from bot.numbers import format_fixed, format_number
from bot.render import Rich, bold, fmt, join, lines, plain, table
from bot.timeformat import format_weekday_date, format_when
from commands.pollcount import Standing, choosers
from commands.pollrules import KEYCAPS
from storage.polls import ANONYMOUS, Poll

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"


def pill(ctx: Ctx, user_id: str) -> Rich:
    """user_id as a pill labelled with their name in the room; it notifies (m.mentions)."""
    return ctx.names.mention(user_id)


def person(ctx: Ctx, user_id: str) -> Rich:
    """The name as plain text: no link, notifies nobody."""
    if user_id.startswith(ANONYMOUS):
        return plain(ctx.t("polls.anonymous"))
    return ctx.names.plain(user_id)


MAX_NAMES = 30  # per cell; a big poll must still fit into one Matrix event (64 KiB)


def people(ctx: Ctx, user_ids: Any, total: int | None = None) -> Rich:
    """The first MAX_NAMES of user_ids, and how many more there are (of `total`, default: all user_ids)."""
    ids = list(user_ids)
    total = len(ids) if total is None else total
    shown = join([person(ctx, u) for u in ids[:MAX_NAMES]])
    if total > MAX_NAMES:
        shown = shown + plain(" " + ctx.t("polls.more_people", count=total - MAX_NAMES))
    return shown


def option_text(ctx: Ctx, poll: Poll, idx: int) -> str:
    opt = poll.options[idx]
    return format_weekday_date(opt.at, ctx.lang, ctx.tz, ctx.now) if opt.at else opt.label  # far dates: with year


def numbered(ctx: Ctx, poll: Poll, idx: int) -> str:
    return f"{poll.number(idx)}. {option_text(ctx, poll, idx)}"


def date_answers(poll: Poll, answers: Mapping[int, str]) -> dict[str, str]:
    """A date poll answer {option index: "yes" | "maybe"} as the numbers said yes and maybe to ("–": none)."""
    return {kind: ", ".join(str(poll.number(i)) for i, a in sorted(answers.items()) if a == kind) or "–"
            for kind in ("yes", "maybe")}


def _state(ctx: Ctx, poll: Poll) -> str:
    if not poll.is_open:
        return ctx.t("polls.state.closed")
    if poll.until:
        return ctx.t("polls.state.until", when=format_when(poll.until, lang=ctx.lang, tz=ctx.tz))
    return ctx.t("polls.state.open")


def header(ctx: Ctx, poll: Poll) -> Rich:
    key = "polls.header.secret" if poll.secret else "polls.header." + poll.kind
    return fmt("{head} – {state}", head=bold(ctx.t(key, id=poll.id, title=poll.title)), state=_state(ctx, poll))


# --------------------------------------------------------------------------- date polls
def meeting_table(ctx: Ctx, poll: Poll, s: Standing) -> Rich:
    assert s.meeting is not None
    rows = []
    best = set(s.meeting.best) if not poll.is_open else set()
    for idx, opt in enumerate(s.meeting.options):
        who = []
        if opt.yes:
            who.append(fmt("✅ {names}", names=people(ctx, opt.yes)))
        if opt.maybe:
            who.append(fmt("🤔 {names}", names=people(ctx, opt.maybe)))
        mark = "★ " if idx in best else ""
        rows.append([f"{mark}{poll.number(idx)}", option_text(ctx, poll, idx), str(len(opt.yes)),
                     str(len(opt.maybe)), join(who, " · ")])
    return table([ctx.t("polls.col.number"), ctx.t("polls.col.date"), "✅", "🤔", ctx.t("polls.col.who")], rows)


def meeting_message(ctx: Ctx, s: Standing) -> Rich:
    poll = s.poll
    parts = [header(ctx, poll), meeting_table(ctx, poll, s), plain(ctx.t("polls.answered", s.ballots))]
    if poll.is_open:
        parts.append(plain(ctx.t("polls.meeting.how", id=poll.id)))
        if len(poll.options) > len(KEYCAPS):
            parts.append(plain(ctx.t("polls.meeting.how_more", first=len(KEYCAPS) + 1, id=poll.id)))
    return lines(parts)


def maybe_message(ctx: Ctx, poll: Poll) -> Rich:
    return plain(ctx.t("polls.meeting.maybe", id=poll.id, title=poll.title))


def meeting_first_line(ctx: Ctx, s: Standing) -> Rich:
    assert s.meeting is not None
    poll, best = s.poll, s.meeting.best
    if not best:
        return plain(ctx.t("polls.meeting.none", id=poll.id, title=poll.title))
    yes, maybe = s.meeting.options[best[0]].counts[:2]
    if len(best) == 1:
        return plain(ctx.t("polls.meeting.best", id=poll.id, title=poll.title, option=numbered(ctx, poll, best[0]),
                           yes=yes, maybe=maybe))
    options = "; ".join(numbered(ctx, poll, i) for i in best)
    return plain(ctx.t("polls.meeting.best_tie", id=poll.id, title=poll.title, options=options, yes=yes, maybe=maybe))


# --------------------------------------------------------------------------- decisions
def choice_table(ctx: Ctx, s: Standing) -> Rich:
    assert s.choice is not None
    poll = s.poll
    who = choosers(len(poll.options), s.chosen, MAX_NAMES)
    rows = []
    for idx, opt in enumerate(poll.options):
        row: list[Any] = [str(poll.number(idx)), opt.label, str(s.choice.counts[idx])]
        if not poll.secret:
            row.append(people(ctx, *who[idx]))
        rows.append(row)
    heads = [ctx.t("polls.col.number"), ctx.t("polls.col.option"), ctx.t("polls.col.votes")]
    if not poll.secret:
        heads.append(ctx.t("polls.col.who"))
    return table(heads, rows)


def rules_line(ctx: Ctx, poll: Poll) -> str:
    quorum = ctx.t("polls.rules.quorum", poll.quorum) if poll.quorum else ctx.t("polls.rules.no_quorum")
    return ctx.t("polls.rules", majority=ctx.t("polls.majority." + poll.majority), quorum=quorum,
                 choices=ctx.t("polls.rules.choices", poll.max_choices))


def choice_message(ctx: Ctx, s: Standing) -> Rich:
    """The status notice of a decision poll, edited as votes arrive; secret polls show only the count."""
    poll = s.poll
    parts: list[Any] = [header(ctx, poll), plain(rules_line(ctx, poll))]
    if poll.secret and poll.is_open:
        parts.append(plain(ctx.t("polls.ballots", s.ballots)))
        parts.append(plain(ctx.t("polls.poll.how_secret", id=poll.id)))
        return lines(parts)
    parts += [choice_table(ctx, s), plain(ctx.t("polls.ballots", s.ballots))]
    if poll.is_open:
        parts.append(plain(ctx.t("polls.poll.how", id=poll.id)))
        if poll.max_choices > 1:
            parts.append(plain(ctx.t("polls.poll.how_multi", id=poll.id, max=poll.max_choices)))
    return lines(parts)


def choice_first_line(ctx: Ctx, s: Standing) -> Rich:
    r, poll = s.choice, s.poll
    assert r is not None
    base = {"id": poll.id, "title": poll.title, "majority": ctx.t("polls.majority." + poll.majority),
            "quorum": ctx.t("polls.count.votes", poll.quorum or 0), "ballots": r.participation,
            "valid": r.valid_votes}
    if poll.yesno:
        base.update(yes=r.counts[0], no=r.counts[1], abstain=ctx.t("polls.count.abstentions", r.counts[2]))
    if r.winner is not None:
        if poll.yesno:
            return plain(ctx.t("polls.poll.carried" if r.winner == 0 else "polls.poll.rejected", **base))
        return plain(ctx.t("polls.poll.won", r.valid_votes, option=numbered(ctx, poll, r.winner),
                           votes=r.counts[r.winner], **base))
    if r.reason == "tie":
        key = "polls.poll.tie_motion" if poll.yesno else "polls.poll.tie"
        return plain(ctx.t(key, options="; ".join(numbered(ctx, poll, i) for i in r.leaders), **base))
    return plain(ctx.t("polls.poll." + r.reason, **base))


def validity_line(ctx: Ctx, s: Standing) -> str:
    r, poll = s.choice, s.poll
    assert r is not None
    params = {"ballots": r.participation, "quorum": poll.quorum or 0, "valid": r.valid_votes,
              "abstentions": r.abstentions, "invalid": r.invalid,
              "majority": ctx.t("polls.majority." + poll.majority)}
    counted = {**params, "abstentions": ctx.t("polls.count.abstentions", r.abstentions),
               "valid": ctx.t("polls.count.valid", r.valid_votes)}
    return ctx.t("polls.validity." + r.reason, **params) + " " + ctx.t("polls.participation", **counted)


# --------------------------------------------------------------------------- consensing
def consensus_table(ctx: Ctx, s: Standing) -> Rich:
    r, poll = s.consensus, s.poll
    assert r is not None
    rows = []
    winners = set(r.winners) if not poll.is_open else set()
    for idx, opt in enumerate(r.options):
        avg = "–" if opt.average is None else format_fixed(opt.average, ctx.lang)
        acc = "–" if opt.acceptance is None else format_number(opt.acceptance, ctx.lang, 0) + " %"
        flag = ctx.t("polls.consensus.flag") if opt.not_better_than_passive and s.ballots else ""
        mark = "★ " if idx in winners else ""
        rows.append([f"{mark}{idx}", poll.options[idx].label, str(opt.total), avg, acc, flag])
    return table([ctx.t("polls.col.number"), ctx.t("polls.col.option"), ctx.t("polls.col.resistance"), "Ø",
                  ctx.t("polls.col.acceptance"), ""], rows)


def consensus_message(ctx: Ctx, s: Standing) -> Rich:
    poll = s.poll
    rated = fmt("{count} {who}", count=ctx.t("polls.rated", s.ballots), who=people(ctx, s.voters)) \
        if s.ballots else plain(ctx.t("polls.rated_none"))
    parts: list[Any] = [header(ctx, poll), consensus_table(ctx, s), rated]
    if poll.is_open:
        parts.append(plain(ctx.t("polls.consensus.how", id=poll.id,
                                 example=" ".join(f"{i}=…" for i in range(len(poll.options))))))
    return lines(parts)


def consensus_first_line(ctx: Ctx, s: Standing) -> Rich:
    r, poll = s.consensus, s.poll
    assert r is not None
    if not r.winners:
        return plain(ctx.t("polls.consensus.none", id=poll.id, title=poll.title))
    best = r.options[r.winners[0]]
    if len(r.winners) == 1:
        return plain(ctx.t("polls.consensus.winner", id=poll.id, title=poll.title,
                           option=numbered(ctx, poll, r.winners[0]), total=ctx.t("polls.count.points", best.total),
                           acceptance=format_number(best.acceptance, ctx.lang, 0)))
    options = "; ".join(numbered(ctx, poll, i) for i in r.winners)
    return plain(ctx.t("polls.consensus.tie", id=poll.id, title=poll.title, options=options,
                       total=ctx.t("polls.count.points", best.total)))


# --------------------------------------------------------------------------- any poll
def message(ctx: Ctx, s: Standing) -> Rich:
    """The poll's own message (table or status), as first sent and as edited."""
    if s.poll.kind == "meeting":
        return meeting_message(ctx, s)
    if s.poll.kind == "consensus":
        return consensus_message(ctx, s)
    return choice_message(ctx, s)


def first_line(ctx: Ctx, s: Standing) -> Rich:
    if s.poll.kind == "meeting":
        return meeting_first_line(ctx, s)
    if s.poll.kind == "consensus":
        return consensus_first_line(ctx, s)
    return choice_first_line(ctx, s)


def result(ctx: Ctx, s: Standing, *, fixing: bool = False) -> Rich:
    """The close message (and !results of a closed poll): the first line names the winner or says there is none.

    `fixing`: the date is being fixed right now (no hint how to fix it, unless the best dates tie)."""
    poll = s.poll
    parts: list[Any] = [first_line(ctx, s)]
    if poll.kind == "choice":
        parts.append(plain(validity_line(ctx, s)))
        parts.append(choice_table(ctx, s))
    elif poll.kind == "meeting":
        parts.append(meeting_table(ctx, poll, s))
        if s.meeting and s.meeting.best and not (fixing and len(s.meeting.best) == 1):
            parts.append(plain(ctx.t("polls.meeting.fix_hint", id=poll.id, option=poll.number(s.meeting.best[0]))))
    else:
        parts.append(consensus_table(ctx, s))
        if s.consensus and any(o.not_better_than_passive for o in s.consensus.options) and s.ballots:
            parts.append(plain(ctx.t("polls.consensus.flag_note")))
    return lines(parts)


def standings(ctx: Ctx, s: Standing) -> Rich:
    """!results: the final result of a closed poll, else the current standing (secret: only the count)."""
    if not s.poll.is_open:
        return lines([result(ctx, s), plain(ctx.t("polls.state.closed_note", id=s.poll.id))])
    if s.poll.secret:
        return lines([header(ctx, s.poll), plain(ctx.t("polls.ballots", s.ballots)),
                      plain(ctx.t("polls.secret_hidden"))])
    return lines([plain(ctx.t("polls.interim", id=s.poll.id)), message(ctx, s)])


def list_line(ctx: Ctx, s: Standing) -> Rich:
    poll = s.poll
    until = ctx.t("polls.list.until", when=format_when(poll.until, lang=ctx.lang, tz=ctx.tz)) if poll.until else ""
    return plain(ctx.t("polls.list.item", id=poll.id, kind=ctx.t("polls.kind." + poll.kind), title=poll.title,
                       answers=ctx.t("polls.answers", s.ballots), until=until))


# --------------------------------------------------------------------------- native events (MSC3381)
def native_start(poll: Poll, budget: int = CONTENT_BUDGET) -> dict[str, Any]:
    """Element's shape (NOTES.md), plus a plain body for clients that show unknown events' text.

    Every text is in it three times (answers, fallback, body); where that does not fit into one
    event, question and answers are cut to the same length (the table message has them whole)."""
    question = plain(poll.title).text
    labels = [plain(o.label).text for o in poll.options]
    content = _native_start(poll, question, labels)
    if fits(content, budget):
        return content
    lo, hi = 1, max(len(question), *map(len, labels))
    while lo < hi:  # the longest cut that fits
        mid = (lo + hi + 1) // 2
        if fits(_native_start(poll, _clip(question, mid), [_clip(t, mid) for t in labels]), budget):
            lo = mid
        else:
            hi = mid - 1
    return _native_start(poll, _clip(question, lo), [_clip(t, lo) for t in labels])


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _native_start(poll: Poll, question: str, labels: list[str]) -> dict[str, Any]:
    answers = [{"id": str(poll.number(o.idx)), TEXT: label} for o, label in zip(poll.options, labels)]
    fallback = "\n".join([question, *[f"{a['id']}. {a[TEXT]}" for a in answers]])
    return {
        TEXT: fallback,
        "body": fallback,
        "m.mentions": {},
        POLL_START: {
            "question": {TEXT: question, "body": question, "msgtype": "m.text"},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": poll.max_choices,
            "answers": answers,
        },
    }


def native_end(start_event_id: str, text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id},
        POLL_END: {},
        TEXT: text,
        "body": text,
        "m.mentions": {},
    }
