"""The standing of a poll: stored votes turned into a tally (commands.tally), for any kind of poll."""
from __future__ import annotations

from dataclasses import dataclass, field

from commands.pollrules import majority_rule, merge_date_answers
from commands.tally import (ChoiceResult, ConsensusResult, MeetingResult, latest_per_voter, tally_choice,
                            tally_consensus, tally_meeting)
from storage.polls import Poll, PollRepo


@dataclass(frozen=True)
class Standing:
    poll: Poll
    ballots: int  # members who answered / ballots cast
    voters: tuple[str, ...] = ()  # who answered, in order of their latest answer (empty for secret polls)
    meeting: MeetingResult | None = None
    choice: ChoiceResult | None = None
    consensus: ConsensusResult | None = None
    chosen: dict[str, list[int]] = field(default_factory=dict)  # public decision polls: who chose what


def _cutoff(poll: Poll):
    return poll.ends_at or poll.until


async def standing(repo: PollRepo, poll: Poll) -> Standing:
    n = len(poll.options)
    cutoff = _cutoff(poll)
    if poll.kind == "meeting":
        votes = [(v.voter, v.ts, {int(k): a for k, a in v.payload.items()}) for v in await repo.votes(poll.id)]
        reactions = [(r.voter, r.ts, r.idx, r.answer) for r in await repo.reactions(poll.id)]
        answers = merge_date_answers(votes, reactions, until=cutoff)
        result = tally_meeting(n, answers)
        return Standing(poll, len(answers), tuple(answers), meeting=result)
    if poll.kind == "consensus":
        latest = latest_per_voter(((v.voter, v.ts, v.payload) for v in await repo.votes(poll.id)), until=cutoff)
        ratings = {voter: {int(k): int(x) for k, x in p.items()} for voter, p in latest.items()}
        return Standing(poll, len(ratings), tuple(ratings), consensus=tally_consensus(n, ratings))
    share, at_least = majority_rule(poll.majority)
    if poll.secret:
        ballots = {i: list(b) for i, b in enumerate(await repo.secret_ballots(poll.id))}
        voters: tuple[str, ...] = ()
    else:
        ballots = {voter: list(b) for voter, b in latest_per_voter(
            ((v.voter, v.ts, v.payload) for v in await repo.votes(poll.id)), until=cutoff).items()}
        voters = tuple(ballots)  # type: ignore[arg-type]
    result = tally_choice(n, ballots, max_choices=poll.max_choices, quorum=poll.quorum, majority=share,
                          at_least=at_least, abstain_option=n - 1 if poll.yesno else None)
    return Standing(poll, len(ballots), voters, choice=result,
                    chosen={} if poll.secret else {v: b for v, b in ballots.items()})  # type: ignore[misc]
