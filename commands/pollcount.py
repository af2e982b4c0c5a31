"""The standing of a poll: stored votes turned into a tally (commands.tally), for any kind of poll."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from commands.pollrules import majority_rule, merge_date_answers
from commands.tally import ChoiceResult, ConsensusResult, MeetingResult, tally_choice, tally_consensus, tally_meeting
from storage.polls import Poll, PollRepo


@dataclass(frozen=True)
class Standing:
    poll: Poll
    ballots: int  # members who answered / ballots cast
    voters: tuple[str, ...] = ()  # who answered, in the order they first did (empty for secret polls)
    meeting: MeetingResult | None = None
    choice: ChoiceResult | None = None
    consensus: ConsensusResult | None = None
    chosen: dict[str, list[int]] = field(default_factory=dict)  # public decision polls: who chose what,
    # in the order of `voters`; equal ballots are one shared list (read it, never change it)


async def standing(repo: PollRepo, poll: Poll) -> Standing:
    n = len(poll.options)
    cutoff = poll.ends_at
    if poll.kind == "meeting":
        votes = [(v.voter, v.ts, {int(k): a for k, a in v.payload.items()}) for v in await repo.votes(poll.id)]
        reactions = [(r.voter, r.ts, r.idx, r.answer) for r in await repo.reactions(poll.id)]
        answers = merge_date_answers(votes, reactions, until=cutoff)
        result = tally_meeting(n, answers)
        return Standing(poll, len(answers), tuple(answers), meeting=result)
    if poll.kind == "consensus":
        ratings = await repo.latest_votes(poll.id, cutoff, lambda p: {int(k): int(x) for k, x in p.items()})
        return Standing(poll, len(ratings), tuple(ratings), consensus=tally_consensus(n, ratings))
    share, at_least = majority_rule(poll.majority)
    ballots: dict[Any, list[int]]
    if poll.secret:
        ballots = dict(enumerate(await repo.secret_ballots(poll.id)))
    else:
        ballots = await repo.latest_votes(poll.id, cutoff, list)
    result = tally_choice(n, ballots, max_choices=poll.max_choices, quorum=poll.quorum, majority=share,
                          at_least=at_least, abstain_option=n - 1 if poll.yesno else None)
    if poll.secret:
        return Standing(poll, len(ballots), choice=result)
    return Standing(poll, len(ballots), tuple(ballots), choice=result, chosen=ballots)


def choosers(n_options: int, chosen: dict[str, list[int]], limit: int) -> list[tuple[list[str], int]]:
    """Per option: the first `limit` voters (in `chosen`'s order) whose ballot names it, and how many do.

    Equal ballots are looked at once, and the voters are read only until every option has all
    the names asked for (not once per option)."""
    alike = Counter(map(tuple, chosen.values()))
    named = {ballot: [idx for idx in range(n_options) if idx in ballot] for ballot in alike}
    total = [0] * n_options
    for ballot, count in alike.items():
        for idx in named[ballot]:
            total[idx] += count
    names: list[list[str]] = [[] for _ in range(n_options)]
    missing = sum(min(t, limit) for t in total)
    for voter, ballot in chosen.items():
        for idx in named[tuple(ballot)]:
            if len(names[idx]) < limit:
                names[idx].append(voter)
                missing -= 1
        if not missing:
            break
    return list(zip(names, total))
