"""What a fan reads: shown lines per minute, key events told, moments told twice.

The ``commentary`` record keeps one item per action; with a density below ``every`` an
item may be *not shown* (``shown: false``) and name the action it was told with
(``told_with``). A line without ``shown`` is shown (records and runs before densities).
Every measure here counts shown lines only:

**Pace.** Shown lines per minute of play: the lines over the minutes the match clock
ran (periods back to back, as :attr:`.run.Line.clock_s`), and the busiest minute.

**Key events.** Every shot (``Shot``, ``Shot_Freekick``, ``Penalty Kick``), goal
(``Goal``, ``Own Goal``), card (a foul with a card), penalty (``Penalty Kick``) and
corner (``Pass_Corner``) must be told: its own line is shown, or it was told with an
action whose line is shown. Coverage is told / key events, per kind.

**Told twice.** One moment told in two consecutive shown lines: the two sides of one
duel (``Duel``, ``Tackle``, ``Take-On``, ``Aerial Clearance`` of both teams), or a
turnover (a team's failed pass, cross, set piece, duel or dribble and the other team's
interception, recovery, tackle, block, clearance or won duel), the two actions
at most :data:`MOMENT_ACTIONS` apart in the log (the actions between them silent), of
the two teams, in one period, at most :data:`MOMENT_SECONDS` apart. At ``every``
density each such moment is told twice by construction; ``story`` tells it once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from pitchcast.checks.naming import CARD_MOMENTS, GOAL_MOMENTS, moment_kind
from pitchcast.quality.run import Line, line_minute
from pitchcast.schemas.records import Action
from pitchcast.schemas.vocabulary import SHOT_TYPES

__all__ = [
    "KEY_KINDS",
    "MOMENT_ACTIONS",
    "MOMENT_SECONDS",
    "Coverage",
    "Pace",
    "coverage",
    "is_shown",
    "key_kinds",
    "pace",
    "same_moment",
    "told_twice",
]

KEY_KINDS: Final = ("shot", "goal", "card", "penalty", "corner")
MOMENT_SECONDS: Final = 2.0
# How far apart in the log two actions of one moment may be: the density rules' reach
# (density_rules._REACH_ACTIONS), so a moment they could tell once is judged.
MOMENT_ACTIONS: Final = 3
_EXAMPLES = 8
_DUELS: Final = frozenset({"Duel", "Tackle", "Take-On", "Aerial Clearance"})
_LOSES_BALL: Final = frozenset(
    {
        "Pass", "Cross", "Pass_Freekick", "Pass_Corner", "Throw-In", "Goal Kick", "Duel",
        "Take-On", "Carry", "Tackle",
    }
)  # fmt: skip
_WINS_BALL: Final = frozenset(
    {"Interception", "Recovery", "Tackle", "Block", "Clearance", "Duel", "Aerial Clearance"}
)


def is_shown(line: Line) -> bool:
    """A line a fan reads: ``shown`` is not False (absent: shown)."""
    return getattr(line, "shown", True) is not False


def _told_with(line: Line) -> int | None:
    value = getattr(line, "told_with", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def key_kinds(action: Action) -> tuple[str, ...]:
    """The key-event kinds of ``action`` (empty for routine play)."""
    kind, moment = action.type_name, moment_kind(action)
    kinds = []
    if kind in SHOT_TYPES:
        kinds.append("shot")
    if moment in GOAL_MOMENTS:
        kinds.append("goal")
    if moment in CARD_MOMENTS:
        kinds.append("card")
    if kind == "Penalty Kick":
        kinds.append("penalty")
    if kind == "Pass_Corner":
        kinds.append("corner")
    return tuple(kinds)


@dataclass(frozen=True, slots=True)
class Pace:
    shown: int
    minutes: int
    lines_per_minute: float | None
    worst_minute: int
    worst_minute_at: int | None  # the minute of play (0-based, periods back to back)


def pace(lines: Sequence[Line]) -> Pace:
    """Shown lines per minute of play, and the busiest minute."""
    per_minute = Counter(int(line.clock_s // 60) for line in lines if is_shown(line))
    minutes = int(max(line.clock_s for line in lines) // 60) + 1 if lines else 0
    shown = sum(per_minute.values())
    worst_at, worst = per_minute.most_common(1)[0] if per_minute else (None, 0)
    return Pace(shown, minutes, shown / minutes if minutes else None, worst, worst_at)


@dataclass(slots=True)
class Coverage:
    key_events: int = 0
    told: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    missed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.told / self.key_events if self.key_events else None


def coverage(lines: Sequence[Line]) -> Coverage:
    """Key events whose line is shown or told with a shown line."""
    shown_actions = {line.action.action_id for line in lines if is_shown(line)}
    out = Coverage(by_kind={kind: {"events": 0, "told": 0} for kind in KEY_KINDS})
    for line in lines:
        kinds = key_kinds(line.action)
        if not kinds:
            continue
        told = is_shown(line) or _told_with(line) in shown_actions
        out.key_events += 1
        out.told += told
        for kind in kinds:
            out.by_kind[kind]["events"] += 1
            out.by_kind[kind]["told"] += told
        if not told and len(out.missed) < _EXAMPLES:
            action = line.action
            out.missed.append(
                {
                    "action_id": action.action_id,
                    "minute": line_minute(line),
                    "action": f"{action.type_name} {action.result_name or ''}".strip(),
                    "told_with": _told_with(line),
                }
            )
    return out


def same_moment(first: Action, second: Action) -> str | None:
    """``duel`` or ``turnover`` when two consecutive actions are one moment, else None."""
    if first.team_id == second.team_id or first.period_id != second.period_id:
        return None
    if abs(second.time_seconds - first.time_seconds) > MOMENT_SECONDS:
        return None
    if first.type_name in _DUELS and second.type_name in _DUELS:
        return "duel"
    lost = first.type_name in _LOSES_BALL and first.result_name == "Unsuccessful"
    won = second.type_name in _WINS_BALL and second.result_name in (None, "Successful")
    return "turnover" if lost and won else None


def told_twice(lines: Sequence[Line], actions: Sequence[Action]) -> dict[str, Any]:
    """Moments told in two consecutive shown lines: two actions of the log at most
    :data:`MOMENT_ACTIONS` apart (the log may put the winner's next touches between the
    two sides of a duel: a tackle, his recovery and carry, then the loser's row)."""
    position = {a.action_id: i for i, a in enumerate(actions)}
    shown = [line for line in sorted(lines, key=lambda ln: ln.index) if is_shown(line)]
    kinds: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for first, second in pairwise(shown):
        a, b = position.get(first.action.action_id), position.get(second.action.action_id)
        if a is None or b is None or not 0 < b - a <= MOMENT_ACTIONS:
            continue
        moment = same_moment(first.action, second.action)
        if moment is None:
            continue
        kinds[moment] += 1
        if len(examples) < _EXAMPLES:
            examples.append({"moment": moment, "lines": [first.text, second.text]})
    return {"count": sum(kinds.values()), "by_moment": dict(kinds), "examples": examples}
