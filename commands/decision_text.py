"""The record of decisions as plain data and as text: a closed poll's standing becomes a Decision,
a Decision becomes a list line, a detail message or a Markdown section for the minutes."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from bot.render import Rich, link, lines, plain
from bot.timeformat import format_date, format_when
from bot.timeparse import zone
from commands.pollcount import Standing
from storage.decisions import Decision, RecordedOption

Say = Callable[..., str]  # ctx.t: (key, n=None, **params) -> text in the room's language


def decision_of(s: Standing, event_id: str | None) -> Decision | None:
    """What the record keeps of a closed poll; None for date polls (they choose a date, decide nothing)."""
    poll = s.poll
    assert poll.closed_at is not None
    common = dict(room_id=poll.room_id, number=0, poll_id=poll.id, question=poll.title, secret=poll.secret,
                  yesno=poll.yesno, closed_at=poll.closed_at, event_id=event_id)
    if poll.kind == "consensus" and s.consensus is not None:
        c = s.consensus
        options = tuple(RecordedOption(poll.number(i), o.label, resistance=c.options[i].total,
                                       acceptance=None if c.options[i].acceptance is None
                                       else round(c.options[i].acceptance, 1))
                        for i, o in enumerate(poll.options))
        outcome = "none" if not c.winners else "ok" if len(c.winners) == 1 else "tie"
        return Decision(kind="consensus", majority=None, quorum=None, options=options, outcome=outcome,
                        winners=tuple(poll.number(i) for i in c.winners), participation=c.voters,
                        valid_votes=None, quorum_met=None, **common)  # type: ignore[arg-type]
    if poll.kind == "choice" and s.choice is not None:
        r = s.choice
        options = tuple(RecordedOption(poll.number(i), o.label, votes=None if poll.secret else r.counts[i])
                        for i, o in enumerate(poll.options))
        if r.winner is not None:
            winners: tuple[int, ...] = (poll.number(r.winner),)
        elif r.reason == "tie":
            winners = tuple(poll.number(i) for i in r.leaders)
        else:
            winners = ()
        return Decision(kind="choice", majority=poll.majority, quorum=poll.quorum, options=options,
                        outcome=r.reason, winners=winners, participation=r.participation,
                        valid_votes=None if poll.secret else r.valid_votes,
                        quorum_met=r.quorum_met if poll.quorum else None, **common)  # type: ignore[arg-type]
    return None


def permalink(room_id: str, event_id: str, via: str) -> str:
    """A matrix.to link to the poll's message; `via` (the bot's server) lets clients reach the room."""
    return f"https://matrix.to/#/{room_id}/{event_id}?via={via}"


def _option(d: Decision, number: int) -> RecordedOption:
    return next(o for o in d.options if o.number == number)


def _named(d: Decision, number: int) -> str:
    return f"{number}. {_option(d, number).label}"


def outcome(t: Say, d: Decision) -> str:
    """The result in a few words, with the counts the record keeps (none for secret ballots)."""
    names = "; ".join(_named(d, n) for n in d.winners)
    if d.kind == "consensus":
        if d.outcome == "none":
            return t("decisions.outcome.consensus_none")
        if d.outcome == "tie":
            return t("decisions.outcome.consensus_tie", options=names)
        best = _option(d, d.winners[0])
        acceptance = "–" if best.acceptance is None else f"{best.acceptance:.0f}"
        points = t("decisions.points", best.resistance or 0)
        return t("decisions.outcome.consensus", option=names, points=points, acceptance=acceptance)
    majority = t("polls.majority." + (d.majority or "simple"))
    if d.outcome == "no_quorum":
        return t("decisions.outcome.no_quorum", quorum=d.quorum or 0)
    if d.yesno:
        key = {"ok": "carried" if d.winners == (1,) else "rejected", "tie": "tie_motion",
               "no_majority": "no_majority_motion"}[d.outcome]
        text = t("decisions.outcome." + key, majority=majority)
        counts = [o.votes for o in d.options]
        if None not in counts:
            text += " " + t("decisions.motion_counts", yes=counts[0], no=counts[1],
                            abstentions=t("decisions.abstentions", counts[2]))
        return text
    if d.outcome == "ok":
        text = t("decisions.outcome.won", option=names)
        votes = _option(d, d.winners[0]).votes
        if votes is not None and d.valid_votes is not None:
            text += " " + t("decisions.of_valid", d.valid_votes, votes=votes)
        return text
    if d.outcome == "tie":
        return t("decisions.outcome.tie", options=names)
    return t("decisions.outcome.no_majority", majority=majority)


def revoked_note(t: Say, d: Decision, lang: str, *, sentence: bool = False) -> str:
    """"aufgehoben durch Beschluss 5" (in a line), "Aufgehoben durch Beschluss 5" (a sentence of its own)."""
    if d.revoked_by is not None:
        note = t("decisions.revoked_by", by=d.revoked_by)
    else:
        assert d.revoked_at is not None
        note = t("decisions.revoked", date=format_date(d.revoked_at.date(), lang))
    return note[:1].upper() + note[1:] if sentence else note


def day(dt: datetime, lang: str, tz: str) -> str:
    return format_date(dt.astimezone(zone(tz)).date(), lang)


def list_line(t: Say, d: Decision, lang: str, tz: str) -> str:
    text = t("decisions.list.item", number=d.number, date=day(d.closed_at, lang, tz), question=d.question,
             outcome=outcome(t, d))
    return text + (" – " + revoked_note(t, d, lang) if d.revoked else "")


def participation(t: Say, d: Decision) -> str:
    if d.kind == "consensus":
        return t("decisions.participation.consensus", d.participation)
    text = t("decisions.participation.choice", d.participation)
    if d.quorum:
        text += " " + t("decisions.quorum_met" if d.quorum_met else "decisions.quorum_missed", quorum=d.quorum)
    return text


def option_lines(t: Say, d: Decision) -> list[str]:
    out = []
    for o in d.options:
        mark = "★ " if o.number in d.winners and d.outcome == "ok" else ""
        if o.resistance is not None:
            acceptance = "–" if o.acceptance is None else f"{o.acceptance:.0f} %"
            detail = t("decisions.option.consensus", points=t("decisions.points", o.resistance), acceptance=acceptance)
        elif o.votes is not None:
            detail = t("decisions.option.votes", o.votes)
        else:
            detail = ""
        out.append(f"{mark}{o.number}. {o.label}" + (f" – {detail}" if detail else ""))
    return out


def kind_line(t: Say, d: Decision) -> str:
    key = "consensus" if d.kind == "consensus" else "secret" if d.secret else "choice"
    text = t("decisions.kind." + key, poll=d.poll_id)
    if d.kind == "choice":
        text += ", " + t("polls.majority." + (d.majority or "simple"))
    return text


def revokes_note(t: Say, numbers: list[int]) -> str:
    """"Hebt Beschluss 2 auf": the earlier decisions this one revoked."""
    return t("decisions.revokes", len(numbers), numbers=", ".join(map(str, numbers)))


def detail(t: Say, d: Decision, lang: str, tz: str, url: str | None, revokes: list[int]) -> Rich:
    parts: list[Rich] = [plain(t("decisions.detail.head", number=d.number, question=d.question)),
                         plain(t("decisions.detail.closed", when=format_when(d.closed_at, lang=lang, tz=tz),
                                 kind=kind_line(t, d))),
                         plain(t("decisions.detail.result", outcome=outcome(t, d)))]
    if d.secret:
        parts.append(plain(t("decisions.detail.secret_note")))
    parts += [plain("  " + line) for line in option_lines(t, d)]
    parts.append(plain(participation(t, d)))
    if d.revoked:
        parts.append(plain(revoked_note(t, d, lang, sentence=True) + "."))
    if revokes:
        parts.append(plain(revokes_note(t, revokes)))
    if url:
        parts.append(plain(t("decisions.detail.link") + " ") + link(url))
    return lines(parts)


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~"})


def md(text: str) -> str:
    """User text for Markdown: no markup, no line breaks, no list that a leading "1." would start."""
    escaped = re.sub(r"^(\d+)\.", r"\1\\.", " ".join(text.split()).translate(_MARKDOWN))
    return re.sub(r"(#+)$", lambda m: "\\#" * len(m.group(1)), escaped)  # no closing sequence of a heading


def markdown(t: Say, decisions: list[Decision], *, room: str, lang: str, tz: str, now: datetime,
             url: Callable[[Decision], str | None], revokes: dict[int, list[int]]) -> str:
    """The record for the minutes: a header, then one section per decision, oldest first."""
    out = [f"# {md(t('decisions.export.title', room=room))}", "",
           md(t("decisions.export.exported", date=day(now, lang, tz), count=t("decisions.count", len(decisions)))),
           ""]
    for d in decisions:
        out += [f"## {md(t('decisions.export.section', number=d.number, question=d.question))}", ""]
        items = [t("decisions.export.closed", when=format_when(d.closed_at, lang=lang, tz=tz), kind=kind_line(t, d)),
                 t("decisions.detail.result", outcome=outcome(t, d)), participation(t, d)]
        if d.revoked:
            items.append(revoked_note(t, d, lang, sentence=True))
        if revokes.get(d.number):
            items.append(revokes_note(t, revokes[d.number]))
        out += [f"- {md(item)}" for item in items]
        out.append(f"- {md(t('decisions.export.options'))}")
        out += [f"    - {md(line)}" for line in option_lines(t, d)]
        link_to = url(d)
        if link_to:
            out.append(f"- {md(t('decisions.detail.link'))} <{link_to}>")
        out.append("")
    return "\n".join(out)
