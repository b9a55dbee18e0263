"""The per-match batcher: a pure state machine, no Kafka.

``advance(state, event, ...)`` takes the state of one match and one record of the
``match-events`` log (an action or a control message, with its offset and timestamp)
and returns the new state plus what to emit. Batch boundaries are a function of the
log alone, never of the clock, so replaying the log forms the same batches:

* the next ``batch_size`` actions in ``action_id`` order form a batch (``full``);
* ``period_end`` (or an action of a new period) and ``match_end`` flush a partial batch;
* a ``tick`` whose time is at least ``idle_timeout_s`` after the timestamp of the last
  buffered action flushes it (``idle``); ticks are written into the log by pitchcast;
* a record at or below the last offset folded into the state is a redelivery: dropped;
* an ``action_id`` already batched or buffered is a duplicate: dropped;
* an unseen ``action_id`` at or below the last closed batch's highest id is late;
* ``match_end`` closes the match: the state shrinks to what detects redeliveries and
  stragglers; a new ``match_start`` starts again at ``batch_index`` 0, so a replayed
  match reproduces its batches and their commentary ids.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Literal

from pitchcast.schemas.records import Action, Batch, CloseReason, Control, MatchInfo, Score

__all__ = ["MatchState", "Outcome", "Step", "advance", "state_from_dict", "state_to_dict"]

Outcome = Literal[
    "buffered",  # the action joined the open batch
    "batched",  # the action closed a batch (full)
    "redelivery",  # offset already folded into the state
    "duplicate",  # action_id already batched or buffered
    "late",  # unseen action_id older than the last closed batch
    "ended",  # an action of a match that already ended (no new match_start)
    "control",  # a control message was applied
]


@dataclass(slots=True)
class MatchState:
    """Everything the batcher remembers about one match."""

    game_id: int
    batch_index: int = 0  # index of the next batch to close
    buffer: list[Action] = field(default_factory=list)
    # Kafka timestamp (ms) of the newest buffered action: the idle clock reads the log.
    buffer_ts_ms: int | None = None
    closed_upto: int = -1  # highest action_id of any closed batch
    # Sorted, disjoint [first, last] ranges of action ids already batched.
    batched: list[list[int]] = field(default_factory=list)
    last_offset: int = -1  # highest input offset folded into this state
    score: Score = field(default_factory=Score)
    match_info: MatchInfo | None = None
    roster: list[str] = field(default_factory=list)
    # Team ids in order of first appearance: home/away when match info is missing.
    teams: list[int] = field(default_factory=list)
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one ``advance``: the new state and what to emit, in order."""

    state: MatchState
    outcome: Outcome
    closed: tuple[Batch, ...] = ()
    action: Action | None = None  # the action, for late / ended outcomes (dead letters)


def _is_batched(ranges: list[list[int]], action_id: int) -> bool:
    i = bisect.bisect_right(ranges, [action_id, float("inf")]) - 1
    return i >= 0 and ranges[i][0] <= action_id <= ranges[i][1]


def _add_batched(ranges: list[list[int]], ids: list[int]) -> None:
    for action_id in ids:
        i = bisect.bisect_right(ranges, [action_id, float("inf")])
        # Merge with the range on the left and/or right when adjacent.
        left = ranges[i - 1] if i > 0 else None
        right = ranges[i] if i < len(ranges) else None
        if left is not None and left[1] >= action_id - 1:
            left[1] = max(left[1], action_id)
            if right is not None and right[0] <= left[1] + 1:
                left[1] = max(left[1], right[1])
                del ranges[i]
        elif right is not None and right[0] <= action_id + 1:
            right[0] = min(right[0], action_id)
        else:
            ranges.insert(i, [action_id, action_id])


def _score_goal(state: MatchState, action: Action) -> None:
    if action.type_name not in ("Goal", "Own Goal"):
        return
    info = state.match_info
    if info is not None and info.home_team_id is not None:
        home_id = info.home_team_id
    else:  # without match info, the first team seen counts as home
        home_id = state.teams[0] if state.teams else action.team_id
    acting_is_home = action.team_id == home_id
    # A Goal scores for the acting team, an Own Goal for the other one.
    home_scores = acting_is_home if action.type_name == "Goal" else not acting_is_home
    home, away = state.score.home, state.score.away
    state.score = Score(home=home + 1, away=away) if home_scores else Score(home, away + 1)


def _close(state: MatchState, reason: CloseReason, ts_ms: int | None) -> Batch | None:
    if not state.buffer:
        return None
    actions = sorted(state.buffer, key=lambda a: a.action_id)
    batch = Batch(
        game_id=state.game_id,
        batch_index=state.batch_index,
        period_id=actions[-1].period_id,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason=reason,
        actions=tuple(actions),
        score=state.score,
        match_info=state.match_info,
        roster=tuple(state.roster),
        closed_by_ts_ms=ts_ms,
    )
    _add_batched(state.batched, [a.action_id for a in actions])
    state.closed_upto = max(state.closed_upto, actions[-1].action_id)
    state.batch_index += 1
    state.buffer = []
    state.buffer_ts_ms = None
    return batch


def _copy(state: MatchState) -> MatchState:
    return MatchState(
        game_id=state.game_id,
        batch_index=state.batch_index,
        buffer=list(state.buffer),
        buffer_ts_ms=state.buffer_ts_ms,
        closed_upto=state.closed_upto,
        batched=[list(r) for r in state.batched],
        last_offset=state.last_offset,
        score=state.score,
        match_info=state.match_info,
        roster=list(state.roster),
        teams=list(state.teams),
        ended=state.ended,
    )


def _apply_action(state: MatchState, action: Action, ts_ms: int, batch_size: int) -> Step:
    if state.ended:
        return Step(state, "ended", action=action)
    action_id = action.action_id
    if any(a.action_id == action_id for a in state.buffer) or _is_batched(state.batched, action_id):
        return Step(state, "duplicate", action=action)
    if action_id <= state.closed_upto:
        return Step(state, "late", action=action)
    closed: list[Batch] = []
    # An action of a new period closes what is left of the previous one.
    if state.buffer and action.period_id != state.buffer[-1].period_id:
        batch = _close(state, "period_end", ts_ms)
        if batch is not None:
            closed.append(batch)
    state.buffer.append(action)
    state.buffer_ts_ms = ts_ms
    if action.team_id not in state.teams:
        state.teams.append(action.team_id)
    for name in (action.player_name_ko, action.team_name_ko):
        if name and name not in state.roster:
            state.roster.append(name)
    _score_goal(state, action)
    if len(state.buffer) >= batch_size:
        batch = _close(state, "full", ts_ms)
        assert batch is not None
        closed.append(batch)
        return Step(state, "batched", tuple(closed))
    return Step(state, "buffered", tuple(closed))


def _apply_control(state: MatchState, control: Control, ts_ms: int, idle_timeout_s: float) -> Step:
    closed: list[Batch] = []
    kind = control.control
    if kind == "match_start":
        # Whatever an unfinished earlier run left open is flushed, then the match restarts.
        batch = None if state.ended else _close(state, "match_end", ts_ms)
        if batch is not None:
            closed.append(batch)
        fresh = MatchState(game_id=state.game_id, last_offset=state.last_offset)
        fresh.match_info = control.match_info
        info = control.match_info
        if info is not None:
            for name in (info.home_team_name_ko, info.away_team_name_ko):
                if name and name not in fresh.roster:
                    fresh.roster.append(name)
        return Step(fresh, "control", tuple(closed))
    if state.ended:
        return Step(state, "control")
    if kind == "period_end":
        batch = _close(state, "period_end", ts_ms)
    elif kind == "match_end":
        batch = _close(state, "match_end", ts_ms)
        state = MatchState(
            game_id=state.game_id,
            batch_index=state.batch_index,
            closed_upto=state.closed_upto,
            last_offset=state.last_offset,
            ended=True,
        )
    else:  # tick
        idle_ms = idle_timeout_s * 1000.0
        tick_ms = (control.at or 0.0) * 1000.0
        due = state.buffer_ts_ms is not None and tick_ms - state.buffer_ts_ms >= idle_ms
        batch = _close(state, "idle", ts_ms) if due else None
    if batch is not None:
        closed.append(batch)
    return Step(state, "control", tuple(closed))


def advance(
    state: MatchState | None,
    event: Action | Control,
    *,
    offset: int,
    timestamp_ms: int,
    batch_size: int = 10,
    idle_timeout_s: float = 30.0,
) -> Step:
    """Fold one record of the match's log into its state. Never mutates ``state``."""
    if state is None:
        state = MatchState(game_id=event.game_id)
    if offset <= state.last_offset:
        return Step(state, "redelivery", action=event if isinstance(event, Action) else None)
    work = _copy(state)
    work.last_offset = offset
    if isinstance(event, Action):
        return _apply_action(work, event, timestamp_ms, batch_size)
    return _apply_control(work, event, timestamp_ms, idle_timeout_s)


def state_to_dict(state: MatchState) -> dict[str, Any]:
    """A JSON-able form of the state (for the changelog-backed table)."""
    return {
        "game_id": state.game_id,
        "batch_index": state.batch_index,
        "buffer": state.buffer,
        "buffer_ts_ms": state.buffer_ts_ms,
        "closed_upto": state.closed_upto,
        "batched": state.batched,
        "last_offset": state.last_offset,
        "score": state.score,
        "match_info": state.match_info,
        "roster": state.roster,
        "teams": state.teams,
        "ended": state.ended,
    }


def state_from_dict(data: dict[str, Any]) -> MatchState:
    """The inverse of :func:`state_to_dict`."""
    info = data.get("match_info")
    return MatchState(
        game_id=data["game_id"],
        batch_index=data["batch_index"],
        buffer=[Action(**a) for a in data["buffer"]],
        buffer_ts_ms=data["buffer_ts_ms"],
        closed_upto=data["closed_upto"],
        batched=[list(r) for r in data["batched"]],
        last_offset=data["last_offset"],
        score=Score(**data["score"]),
        match_info=None if info is None else MatchInfo(**info),
        roster=list(data["roster"]),
        teams=list(data["teams"]),
        ended=data["ended"],
    )
