"""Lines of the match's flow: kick-off, the start of a later period, half-time, the end
of a period and full time, from what the control messages did to the batches.

The batcher turns the controls into batch boundaries (``match_start`` starts batch 0
with a fresh story, ``period_end`` and ``match_end`` close a batch with that reason, an
action of a new period opens a batch), so the commentary stage reads them back from its
hand-off records, deterministically (a restarted owner finds the same moments):

* before the first action of a batch whose opening story is empty: kick-off (or, when
  that action is of a later period, that period's start), unless that action comes
  more than two minutes into its period (the feed joined it under way);
* before the first action of a batch that starts a later period (the story's recent
  play is all from earlier periods): the start of that period (the second half, the
  first or second half of extra time, the shoot-out);
* after the last action of a batch closed by ``period_end``: half-time (period 1), the
  end of the second half (period 2), of an extra-time period (3, 4) or of the
  shoot-out (5, its score untold: the kicks are not counted); by ``match_end``: full
  time.

The sentences are in the phrasebook (``moment_*`` sections), in every persona; they
state the teams and the score, nothing else. A FRIEND who backs a team of the match
(``PITCHCAST_FRIEND_SUPPORTS``, :mod:`.backing`) ends a period from its team's side
(``[backing_moment.*]``: ahead, level or behind; excited, tense or disappointed). Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final, Literal

from pitchcast.commentary.korean import attach_particle
from pitchcast.commentary.template.actions import clean
from pitchcast.commentary.template.backing import BackedSide, backed_side
from pitchcast.commentary.template.phrasebook import (
    BACKING_PERSONA,
    MOMENT_TEAM_SLOTS,
    Phrase,
    phrasebook,
)
from pitchcast.schemas.records import (
    Action,
    Batch,
    CommentaryItem,
    MatchInfo,
    PeriodEnd,
    Score,
    Story,
    TeamTally,
    Tone,
)
from pitchcast.schemas.vocabulary import SHOOT_OUT_PERIOD
from pitchcast.story import team_seen

__all__ = [
    "MOMENT_LINE_INDEX",
    "Moment",
    "MomentKind",
    "moment_after",
    "moment_before",
    "write_moment",
]

MomentKind = Literal[
    "kick_off",
    "second_half",
    "extra_first_half",
    "extra_second_half",
    "shoot_out",
    "half_time",
    "second_half_end",
    "period_end",
    "shoot_out_end",
    "full_time",
]
# The start of each later period: the second half, extra time's two halves, the shoot-out.
_STARTS: Final[dict[int, MomentKind]] = {
    2: "second_half", 3: "extra_first_half", 4: "extra_second_half", 5: "shoot_out",
}  # fmt: skip
# The end of a period closed by period_end (3 and 4: an extra-time period).
_ENDS: Final[dict[int, MomentKind]] = {
    1: "half_time", 2: "second_half_end", 5: "shoot_out_end",
}  # fmt: skip

# Moments a match may have more than once: the end of extra time's first and second half.
_RECURRING: Final[frozenset[str]] = frozenset({"period_end"})

# The line index of a moment line on commentary-lines (its batch's commentary_id): past
# every action position, one per place (before the batch's first action, after its last).
MOMENT_LINE_INDEX: Final = {"before": 100, "after": 101}
# A period's first action later than this into it: the feed joined the period under
# way, and "kick-off" or "the second half starts" would be a start it never saw (each
# period of the sample matches opens at 0.0 s, with the kick-off pass).
START_REACH_S: Final = 120.0
_NAME_MAX_CHARS: Final = 20


@dataclass(frozen=True, slots=True)
class Moment:
    """A moment of the match's flow and the action it stands beside."""

    kind: MomentKind
    place: Literal["before", "after"]
    action: Action
    score: Score
    # The match's teams as known at the moment, named by their actions: the teams a
    # line names when no match info does.
    teams: tuple[TeamTally, ...] = ()

    @property
    def line_index(self) -> int:
        return MOMENT_LINE_INDEX[self.place]


def moment_before(first: Action, story: Story | None) -> Moment | None:
    """The moment before a batch's first action (``story``: the story at the batch's
    open), if it starts the match or a period, and the feed saw that start (the
    period's first action within :data:`START_REACH_S` of it)."""
    if story is None or not first.time_seconds <= START_REACH_S:  # NaN: no start seen
        return None
    if story.actions == 0:
        # A feed that joins at a later period (the first half never came) saw no kick-off.
        kind = _STARTS.get(first.period_id, "kick_off")
        return Moment(kind, "before", first, story.score, team_seen(story.teams, first))
    periods = [bucket.period_id for bucket in story.recent]
    if periods and max(periods) < first.period_id:
        kind = _STARTS.get(first.period_id, "second_half")
        return Moment(kind, "before", first, story.score, team_seen(story.teams, first))
    return None


def moment_after(batch: Batch | PeriodEnd) -> Moment | None:
    """The moment after a closed batch's last action, if its close ended a period (or,
    for a :class:`PeriodEnd`, after the batch that had closed on the period's last
    action)."""
    if isinstance(batch, PeriodEnd):
        last, period_id, teams = batch.last, batch.last.period_id, batch.teams
    elif batch.actions:
        last, period_id = batch.actions[-1], batch.period_id
        teams = batch.story.teams if batch.story is not None else ()
        for action in batch.actions:
            teams = team_seen(teams, action)
    else:
        return None
    if batch.close_reason == "match_end":
        # A match that ends on its shoot-out ends with it (the score is level: "full
        # time at 1-1" would read as undecided).
        kind: MomentKind = "shoot_out_end" if period_id == SHOOT_OUT_PERIOD else "full_time"
        return Moment(kind, "after", last, batch.score, teams)
    if batch.close_reason == "period_end":
        # The feed sends period_end before match_end, and period_end closes the last
        # batch: the end of the second half is what a fan is told at the whistle (it is
        # true whether or not extra time follows; match_end finds no batch to close).
        kind = _ENDS.get(period_id, "period_end")
        return Moment(kind, "after", last, batch.score, teams)
    return None


# The period a moment starts or ends, as a broadcast names it (second half, extra time,
# the shoot-out): ``{피리어드}`` of the moment sentences.
_PERIOD_NAMES: Final[dict[int, str]] = {
    1: "전반전", 2: "후반전", 3: "연장 전반", 4: "연장 후반", 5: "승부차기",
}  # fmt: skip


def period_name(period_id: int) -> str:
    """``후반전``, ``연장 전반``, ``승부차기``...; ``6피리어드`` for a period past them."""
    return _PERIOD_NAMES.get(period_id, f"{min(max(period_id, 0), 99)}피리어드")


def _team_names(info: MatchInfo | None, teams: tuple[TeamTally, ...]) -> tuple[str, str]:
    """(home, away) names, "" where unknown: the match info's, else the name the team's
    actions gave it. Without match info the first team seen is home, as the story's
    score counts it (story._home_id)."""
    home_id = info.home_team_id if info is not None else None
    away_id = info.away_team_id if info is not None else None
    if home_id is None and teams:
        home_id = teams[0].team_id
    if away_id is None:
        away_id = next((t.team_id for t in teams if t.team_id != home_id), None)
    named = {t.team_id: t.name for t in teams if t.name}
    names = []
    for team_id, given in (
        (home_id, (info.home_team_name_ko, info.home_team_name) if info else ()),
        (away_id, (info.away_team_name_ko, info.away_team_name) if info else ()),
    ):
        candidates = (*given, named.get(team_id) if team_id is not None else None)
        names.append(next((c for n in candidates if (c := clean(n, _NAME_MAX_CHARS))), ""))
    return names[0], names[1]


def _bank(phrases: tuple[Phrase, ...], *, named: bool) -> tuple[Phrase, ...]:
    """The phrasings to tell a moment with: those that name the teams when both names
    are known (the phrasebook's other ones when it has none), else those without a
    team or score (the loader makes sure each bank has one: a score without its
    teams does not say who leads)."""
    with_teams = tuple(p for p in phrases if p.fields & MOMENT_TEAM_SLOTS)
    if named:
        return with_teams or phrases
    return tuple(p for p in phrases if not p.fields & MOMENT_TEAM_SLOTS)


class _Value(str):
    """A slot value whose format spec is a particle (as the writer's slots)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return attach_particle(str(self), spec) if spec else str(self)


_BACKED_TONES: Final[dict[str, Tone]] = {
    "ahead": "excited", "level": "tense", "behind": "disappointed",
}  # fmt: skip


def _backed(
    moment: Moment, persona: str, info: MatchInfo | None, supports: str
) -> tuple[BackedSide, tuple[Phrase, ...], str] | None:
    """(side, sentences, state) of a backing FRIEND at a moment that has them, else None."""
    if persona != BACKING_PERSONA or not supports:
        return None
    side = backed_side(supports, info)
    states = phrasebook().backing_moments.get(moment.kind)
    if side is None or not states:
        return None
    ours, theirs = moment.score.home, moment.score.away
    if side == "away":
        ours, theirs = theirs, ours
    state = "ahead" if ours > theirs else "behind" if ours < theirs else "level"
    return side, states[state], state


def write_moment(
    moment: Moment, persona: str, info: MatchInfo | None, supports: str = ""
) -> CommentaryItem:
    """The line of ``moment`` in ``persona``: a phrasing of its bank chosen by a stable
    hash of the match, persona, kind and period (the same line after a restart);
    ``supports``: the team a FRIEND backs (its own lines at the end of a period)."""
    action = moment.action
    if moment.kind in _RECURRING:
        # Told more than once a match (extra time's two halves), a few lines apart:
        # consecutive periods take consecutive sentences of the bank.
        seed = f"{action.game_id}:{persona}:{moment.kind}"
        turn = action.period_id
    else:
        seed, turn = f"{action.game_id}:{persona}:{moment.kind}:{action.period_id}", 0
    digest = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=8).digest()) + turn
    home, away = _team_names(info, moment.teams)
    values = {
        "홈팀": _Value(home),
        "원정팀": _Value(away),
        "홈득점": _Value(str(moment.score.home)),
        "원정득점": _Value(str(moment.score.away)),
        "피리어드": _Value(period_name(action.period_id)),
    }
    tone: Tone = "calm"
    backed = _backed(moment, persona, info, supports) if home and away else None
    if backed is None:
        bank = _bank(
            phrasebook().story[f"moment_{moment.kind}"][persona], named=bool(home and away)
        )
    else:
        side, bank, state = backed
        tone = _BACKED_TONES[state]
        ours, theirs = (home, away) if side == "home" else (away, home)
        goals = (moment.score.home, moment.score.away)
        mine, other = goals if side == "home" else goals[::-1]
        values |= {
            "우리팀": _Value(ours),
            "상대팀": _Value(theirs),
            "우리득점": _Value(str(mine)),
            "상대득점": _Value(str(other)),
        }
    phrase = bank[digest % len(bank)]
    return CommentaryItem(
        action_id=action.action_id,
        time_seconds=action.time_seconds,
        tone=tone,
        description=phrase.text.format_map(values),
    )
