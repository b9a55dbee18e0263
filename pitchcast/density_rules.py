"""What is told when: per action of a batch, whether it gets a shown line (density).

Three densities (setting ``PITCHCAST_DENSITY``):

* ``every``: one shown line per action (pitchcast 0.2's behaviour);
* ``story`` (the default): one line per *moment*. A pass is told and its reception is
  silent (the pass line does not wait for it, so it names no receiver); a duel is told
  once (the second side's row is silent); a turnover is told once (the interception,
  recovery, won duel, clearance or block right after the other team's failed ball is
  silent, and so is a failed pass right after the same player won the ball); a foul
  and its free kick
  once; a ball going out after the same team's failed pass is silent. Routine
  receptions, recoveries, carries, clearances and restarts are silent unless where they
  happen makes them matter (the final third or the box; a ball won in the other half,
  where a counter starts);
* ``key``: shots, goals, cards, penalties, corners, free-kick shots, big chances (a
  completed pass or cross into the six-yard box) only. Kick-off, half-time and
  full-time lines come from the control messages, not from actions.

Decisions are *causal* and deterministic: an action's decision depends only on itself
and the :data:`TAIL` actions of the match before it, with their decisions (never on what
comes later, so a live line is never held back waiting for the next action, and never on
the clock or on which worker decides, so a restarted owner decides the same). The
actions before a batch's first come from the match story (``Story.tail``, folded by
:func:`pitchcast.story.advance_story` with :func:`decide_next`), so a duel or a turnover
split by a batch boundary is told once too.

``told_with`` is the id of the shown action whose line tells the silent one's moment,
or ``None`` when no shown line tells it (``key`` density, or a routine action left out).
It names a shown action of the same batch or, for a moment split by the batch
boundary, of the batch before. Pure: no I/O. :mod:`pitchcast.commentary.density` adds
the commentary items' side (``told_in``, ``silent_items``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pitchcast.pitch import depth
from pitchcast.schemas.records import Action, Story
from pitchcast.schemas.vocabulary import CARD_RESULTS, SHOT_TYPES

__all__ = [
    "DENSITIES",
    "TAIL",
    "Density",
    "Told",
    "decide",
    "decide_next",
    "depth",
    "is_key",
    "shown_rows",
]

Density = Literal["every", "story", "key"]
DENSITIES: tuple[Density, ...] = ("every", "story", "key")


@dataclass(frozen=True, slots=True)
class Told:
    """How one action is told: with a line of its own, or silent (and with which line)."""

    shown: bool
    told_with: int | None = None


SHOWN: Final = Told(True)

# How many actions before an action its decision sees (the reach of the rules below:
# a build-up of three passes with their receptions and carries).
TAIL: Final = 8

# How far back a silent action looks for the action it belongs to: at most this many
# earlier actions of its batch, at most this many seconds earlier (same period).
_REACH_ACTIONS: Final = 3
_REACH_S: Final = 5.0

# A build-up is told at least every this many passes.
_QUIET_PASSES: Final = 3

_GOALS: Final = frozenset({"Goal", "Own Goal"})
_KEY_TYPES: Final = SHOT_TYPES | _GOALS | {"Pass_Corner", "Goal Post", "Goal Miss"}
_PASSES: Final = frozenset(
    {"Pass", "Cross", "Throw-In", "Goal Kick", "Pass_Freekick", "Pass_Corner"}
)
_RECEPTIONS: Final = frozenset({"Pass Received", "Ball Received"})
_WINS: Final = frozenset({"Interception", "Recovery", "Tackle"})
# One challenge between two players: a duel row may be the other side of any of these.
_CHALLENGES: Final = frozenset({"Duel", "Tackle", "Take-On"})
_FOULS: Final = frozenset({"Foul", "Handball_Foul", "Foul_Throw"})
_KEEPER_AFTER_SHOT: Final = frozenset({"Catch", "Parry", "Deflection"})
# Defending actions that end the other team's failed ball (a turnover told once).
_CLEARS: Final = frozenset({"Block", "Clearance", "Aerial Clearance"})
# Routine actions: silent unless where they happen makes them matter.
_ROUTINE: Final = frozenset(
    {
        "Carry", "Clearance", "Aerial Clearance", "Intervention", "Defensive Line Support",
        "Hit", "Pause", "Deflection", "Out", "Throw-In", "Goal Kick",
    }
)  # fmt: skip
_ATTACK: Final = frozenset({"final_third", "box", "six"})
_BOX: Final = frozenset({"box", "six"})
_OWN_BOX: Final = frozenset({"own_box"})
_UNSUCCESSFUL: Final = "Unsuccessful"


def _where(action: Action, end: bool = False) -> str:
    x, y = (action.end_x, action.end_y) if end else (action.start_x, action.start_y)
    if not (isinstance(x, int | float) and isinstance(y, int | float)):
        return "own_half"
    if not (math.isfinite(x) and math.isfinite(y)):
        return "own_half"
    return depth(float(x), float(y))


def _same_player(a: Action, b: Action) -> bool:
    if a.team_id != b.team_id:
        return False
    if a.player_id is not None and b.player_id is not None:
        return a.player_id == b.player_id
    # A glitch left out an id: the name decides; no name at all is not the same player.
    return bool(a.player_name_ko) and a.player_name_ko == b.player_name_ko


def _seconds(action: Action) -> float:
    t = action.time_seconds
    return t if isinstance(t, int | float) and math.isfinite(t) else 0.0


def is_key(action: Action) -> bool:
    """A key event: told at every density (``key`` tells only these)."""
    if action.type_name in _KEY_TYPES or (action.result_name or "") in CARD_RESULTS:
        return True
    if action.type_name in _FOULS and _where(action) in _OWN_BOX:
        return True  # a foul in the fouling team's own box: a penalty
    # A big chance: a completed pass or cross into the six-yard box.
    return (
        action.type_name in _PASSES
        and action.result_name != _UNSUCCESSFUL
        and _where(action, end=True) == "six"
    )


def decide(
    actions: Sequence[Action], density: Density, story: Story | None = None
) -> tuple[Told, ...]:
    """How each action of a batch (in position order, or the batch so far) is told;
    ``story`` is the match story when the batch opened (its tail: the actions before)."""
    if density == "every":
        return tuple(SHOWN for _ in actions)
    if density == "key":
        return tuple(SHOWN if is_key(a) else Told(False) for a in actions)
    history: list[tuple[Action, Told]] = list(_tail(story))
    told: list[Told] = []
    for action in actions:
        decision = decide_next(history, action)
        told.append(decision)
        history = [*history[-(TAIL - 1) :], (action, decision)]
    return tuple(told)


def _tail(story: Story | None) -> list[tuple[Action, Told]]:
    if story is None:
        return []
    return [(a, Told(shown, told_with)) for a, shown, told_with in story.tail][-TAIL:]


def decide_next(history: Sequence[tuple[Action, Told]], action: Action) -> Told:
    """How ``action`` is told at ``story`` density after ``history`` (the match's
    actions just before it with their decisions, oldest first; the last :data:`TAIL`
    count)."""
    window = list(history[-TAIL:])
    actions = [a for a, _ in window] + [action]
    told = [t for _, t in window]
    position = len(window)
    anchor = _anchor(actions, position)
    if anchor is None:
        anchor = _build_up(actions, told, position)
    if anchor is None:
        anchor = _played_on(actions, told, position)
    if anchor is None:
        return SHOWN if _shown_alone(action) else Told(False)
    # The moment is told by the anchor's line, or by the line that tells the anchor.
    found = told[anchor]
    return Told(False, actions[anchor].action_id if found.shown else found.told_with)


def shown_rows(
    actions: Sequence[Action], density: Density, story: Story | None = None
) -> list[int]:
    """The 1-based rows of ``actions`` that get a shown line."""
    return [row for row, t in enumerate(decide(actions, density, story), start=1) if t.shown]


def _earlier(actions: Sequence[Action], position: int) -> list[int]:
    """Positions of the actions a silent one may belong to: nearest first."""
    action = actions[position]
    out = []
    for back in range(1, _REACH_ACTIONS + 1):
        p = position - back
        if p < 0:
            break
        other = actions[p]
        if other.period_id != action.period_id:
            break
        if abs(_seconds(action) - _seconds(other)) > _REACH_S:
            break
        out.append(p)
    return out


def _lost_to(other: Action, action: Action) -> bool:
    """``other`` is the other team's failed action right before ``action``."""
    return other.team_id != action.team_id and other.result_name == _UNSUCCESSFUL


def _anchor(actions: Sequence[Action], position: int) -> int | None:
    """The earlier action whose moment this one completes, or None (its own moment)."""
    action = actions[position]
    if is_key(action):
        return None
    kind = action.type_name
    earlier = _earlier(actions, position)
    for p in earlier:
        other = actions[p]
        if kind in _RECEPTIONS:
            # The pass it receives: the team's last pass-like action, not a failed one.
            if other.team_id == action.team_id and other.type_name in _PASSES:
                return p if other.result_name != _UNSUCCESSFUL else None
            if other.team_id == action.team_id and other.type_name in _RECEPTIONS:
                return None  # another reception came first: this one stands alone
        elif kind == "Duel":
            # The other side of the same duel (told once), or of the tackle or dribble
            # that won or lost it (the log may put the winner's next touches between).
            if other.type_name in _CHALLENGES and other.team_id != action.team_id:
                return p
            if _lost_to(other, action) and action.result_name != _UNSUCCESSFUL:
                return p  # a duel won off the other team's failed ball: one turnover
        elif kind in _CLEARS:
            if _lost_to(other, action):
                return p  # the other team's failed ball cleared or blocked: one turnover
            if (
                kind == "Block"
                and other.type_name in SHOT_TYPES
                and other.team_id != action.team_id
            ):
                return p  # the block of a shot: the shot line tells it
        elif kind in _WINS:
            # The ball won right after the other team lost it: one turnover.
            if other.team_id != action.team_id and (
                other.result_name == _UNSUCCESSFUL or other.type_name == "Duel"
            ):
                return p
            if _same_player(other, action) and other.type_name in ("Duel", "Tackle"):
                return p  # the duel or tackle he just won
        elif kind in ("Pass", "Cross") and action.result_name == _UNSUCCESSFUL:
            # Lost again at once by the player who had just won it: one turnover.
            if _same_player(other, action) and other.type_name in _WINS:
                return p
            if other.team_id == action.team_id and other.type_name not in _RECEPTIONS | {"Carry"}:
                return None
        elif kind == "Pass_Freekick":
            if other.type_name in _FOULS and other.team_id != action.team_id:
                return p  # the free kick of a foul told just before
        elif kind in _KEEPER_AFTER_SHOT:
            if other.type_name in SHOT_TYPES and other.team_id != action.team_id:
                return p  # the save or block of a shot: the shot line tells it
        elif kind == "Out":
            if other.team_id == action.team_id and other.result_name == _UNSUCCESSFUL:
                return p  # the failed pass or cross went out
        elif kind == "Carry" and _same_player(other, action) and _where(action, True) not in _BOX:
            return p  # the carry of the player who just got the ball
    return None


def _build_up(actions: Sequence[Action], told: Sequence[Told], position: int) -> int | None:
    """A routine pass of a team's possession (a completed pass that neither starts nor
    ends in the box) is silent when one of the team's last passes in this
    possession was told: that line tells the build-up."""
    action = actions[position]
    if action.type_name != "Pass" or action.result_name == _UNSUCCESSFUL:
        return None
    if _where(action) in _BOX or _where(action, end=True) in _BOX:
        return None
    passes = 0
    for p in range(position - 1, -1, -1):
        other = actions[p]
        if other.team_id != action.team_id or other.period_id != action.period_id:
            return None  # the possession started in this batch without a told pass
        if other.type_name in _PASSES:
            if told[p].shown:
                return p
            passes += 1
            if passes >= _QUIET_PASSES:
                return None
    return None


def _played_on(actions: Sequence[Action], told: Sequence[Told], position: int) -> int | None:
    """A completed pass (not into or out of the box) by a player whose own ball-winning or
    first touch was just told: one moment ("he wins it and plays on")."""
    action = actions[position]
    if action.type_name != "Pass" or action.result_name == _UNSUCCESSFUL:
        return None
    if _where(action) in _BOX or _where(action, end=True) in _BOX:
        return None
    for p in _earlier(actions, position):
        other = actions[p]
        if not _same_player(other, action):
            continue
        if told[p].shown and other.type_name in _WINS | _RECEPTIONS | {"Duel"}:
            return p
    return None


def _shown_alone(action: Action) -> bool:
    """An action that starts its own moment: told unless routine where it happened."""
    kind = action.type_name
    start = _where(action)
    if kind in _RECEPTIONS:
        return start in _ATTACK
    if kind == "Recovery":
        return start in _ATTACK or start == "opp_half"  # a ball won high: a counter
    if kind == "Carry":
        return _where(action, end=True) in _BOX
    if kind in _ROUTINE:
        return start in _ATTACK or start in _OWN_BOX
    return True
