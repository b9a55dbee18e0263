"""The per-match batcher: a pure state machine, no Kafka.

``advance(state, event, ...)`` takes the state of one match and one record of the
``match-events`` log (an action or a control message, with its offset and timestamp)
and returns the new state plus the records to hand off, in order. Batch membership is
decided in **log order, at arrival**: the log alone decides it, never the clock, so
replaying the log forms the same batches with the same ids.

* An action joins the match's open batch at the next position as soon as it arrives
  (a :class:`~pitchcast.schemas.records.BatchAction` is emitted for it at once, so the
  commentary stage can write its line without waiting for the window). The batch's
  first action also carries the batch's opening: match info and the story so far.
* ``batch_size`` actions close the batch (``full``); ``period_end`` (or an action of a
  new period) and ``match_end`` close a partial one; an idle ``tick`` closes it when no
  action joined since the tick was written (``idle``). A close emits the complete
  :class:`~pitchcast.schemas.records.Batch` (actions in position order, the story at
  its open). When the period's batch was closed already (its last action filled it, or
  an idle tick came first), the period's end emits a
  :class:`~pitchcast.schemas.records.PeriodEnd` for that batch instead, so the end of
  the period is told all the same.
* A record at or below the last offset folded into the state is a redelivery: dropped.
  An ``action_id`` the match already accepted is a duplicate: dropped (whatever its
  content). An unseen older ``action_id`` (a late action) joins the open batch.
* What cannot be real is rejected, never folded in (the agent dead-letters it): an
  action of an earlier period after a later one started, of a period that skips one
  (1 then 3; a shoot-out may follow period 2 or 4), of a team that is neither of the
  match info's two teams, or with an ``action_id`` more than ``max_action_id_jump``
  beyond the previous accepted one (a typo or a corrupted record would otherwise look
  like the match's future, or move the match to a later period). One such record costs
  itself and nothing around it. Periods outside 1..5 never get here (decoding refuses
  them).
* ``match_start`` while the match is open refreshes the match info only (a feed that
  reconnects re-sends it; fields it leaves empty are kept); one that names other teams
  than the match's is rejected (it would make every real action look foreign). After
  ``match_end`` (or on a fresh match) it starts the match over at ``batch_index`` 0, so
  a replayed match reproduces its ids and is deduplicated by the commentary stage.
  Actions after ``match_end`` are rejected as late (a copy of one it accepted is still
  a duplicate).
* A ``period_end`` naming a period already over, or the current one once its end was
  told, is a copy (dropped); one naming a period not yet started is rejected: either
  would end the current period's batch. Actions of a period after its end are told in
  a batch of their own, closed as ``idle`` by the next period: the end is told once.

The same state and record always give the same step; the agent relies on that to send a
closed batch identically until the broker acknowledges it (nothing is acked before).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pitchcast.schemas.records import (
    Action,
    Batch,
    BatchAction,
    BatchOpening,
    CloseReason,
    Control,
    MatchInfo,
    PeriodEnd,
    Score,
    story_from_dict,
)
from pitchcast.schemas.vocabulary import SHOOT_OUT_PERIOD
from pitchcast.story import (
    Story,
    TeamTally,
    fold_story,
    new_story,
    story_with_match_info,
)

__all__ = [
    "STATE_VERSION",
    "Emit",
    "MatchState",
    "Outcome",
    "Step",
    "advance",
    "state_from_dict",
    "state_to_dict",
]

STATE_VERSION = 2

Outcome = Literal[
    "assigned",  # the action joined the open batch
    "batched",  # the action joined the open batch and closed it (full)
    "redelivery",  # offset already folded into the state
    "duplicate",  # action_id already accepted in this match; period_end of a period over
    "rejected",  # implausible: never folded in (see Step.rejection); an action or a match_start
    "ended",  # an action of a match that already ended (no new match_start)
    "control",  # a control message was applied
]

Emit = BatchAction | Batch | PeriodEnd


@dataclass(slots=True)
class MatchState:
    """Everything the batcher remembers about one match."""

    game_id: int
    batch_index: int = 0  # index of the open batch, or of the next one to open
    open: list[Action] = field(default_factory=list)  # the open batch, in log order
    # The story when the open batch opened (None while no batch is open).
    open_story: Story | None = None
    # Kafka offset and timestamp (ms) of the open batch's newest action (idle ticks).
    open_offset: int | None = None
    open_ts_ms: int | None = None
    # Sorted, disjoint [first, last] ranges of every action id accepted in this match.
    seen: list[list[int]] = field(default_factory=list)
    last_offset: int = -1  # highest input offset folded into this state
    last_action_id: int | None = None  # the previous accepted action (plausibility)
    period_id: int = 0  # the latest period an action was accepted in
    story: Story = field(default_factory=Story)  # after every accepted action
    match_info: MatchInfo | None = None
    roster: list[str] = field(default_factory=list)  # player and team names seen
    ended: bool = False
    # The last action of the newest batch when it closed before its period ended (full,
    # or idle) and no batch opened since: a period that ends now ended on it (a
    # PeriodEnd is emitted for that batch).
    closed_on: Action | None = None
    # The latest period whose end was told (its period_end applied): actions of it that
    # come after (stragglers) are told, its end not again.
    period_over: int = 0
    # The events partition the match's records are read from (its ticks are written
    # there: offsets of two partitions cannot be compared). Set by the agent; None in
    # states written before it.
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one ``advance``: the new state and what to hand off, in order."""

    state: MatchState
    outcome: Outcome
    emits: tuple[Emit, ...] = ()
    action: Action | None = None  # the action, for rejected / ended outcomes
    rejection: str | None = None  # why an action was rejected

    @property
    def closed(self) -> tuple[Batch, ...]:
        """The batches this step closed."""
        return tuple(e for e in self.emits if isinstance(e, Batch))


def _is_seen(ranges: list[list[int]], action_id: int) -> bool:
    i = bisect.bisect_right(ranges, [action_id, float("inf")]) - 1
    return i >= 0 and ranges[i][0] <= action_id <= ranges[i][1]


def _add_seen(ranges: list[list[int]], action_id: int) -> None:
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


def _close(state: MatchState, reason: CloseReason, ts_ms: int | None) -> Batch | None:
    if not state.open:
        return None
    actions = tuple(state.open)
    batch = Batch(
        game_id=state.game_id,
        batch_index=state.batch_index,
        period_id=actions[-1].period_id,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason=reason,
        actions=actions,
        score=state.story.score,
        match_info=state.match_info,
        roster=tuple(state.roster),
        closed_by_ts_ms=ts_ms,
        story=state.open_story,
    )
    state.batch_index += 1
    state.open = []
    state.open_story = None
    state.open_offset = None
    state.open_ts_ms = None
    return batch


def _period_end(state: MatchState, reason: CloseReason, ts_ms: int | None) -> PeriodEnd | None:
    """The end of the period for the batch that closed (full or idle) on its last
    action, if the newest batch did and none opened since; told once (forgotten here)."""
    last = state.closed_on
    if last is None:
        return None
    state.closed_on = None
    return PeriodEnd(
        game_id=state.game_id,
        batch_index=state.batch_index - 1,
        close_reason=reason,
        last=last,
        score=state.story.score,
        match_info=state.match_info,
        ended_by_ts_ms=ts_ms,
        teams=state.story.teams,
    )


def _copy(state: MatchState) -> MatchState:
    return replace(
        state,
        open=list(state.open),
        seen=[list(r) for r in state.seen],
        roster=list(state.roster),
    )


# Periods go one at a time (1, 2, then extra time 3, 4); a shoot-out (5) may follow the
# second half directly (competitions without extra time) or extra time.


def _implausible(state: MatchState, action: Action, max_jump: int) -> str | None:
    if action.period_id < state.period_id:
        return (
            f"action_id {action.action_id} of period {action.period_id} arrived after"
            f" period {state.period_id} started"
        )
    skipped = state.period_id and action.period_id > state.period_id + 1
    if skipped and not (action.period_id == SHOOT_OUT_PERIOD and state.period_id in (2, 4)):
        return (
            f"action_id {action.action_id} of period {action.period_id} during period"
            f" {state.period_id}: periods cannot be skipped"
        )
    info = state.match_info
    teams = None if info is None else (info.home_team_id, info.away_team_id)
    if teams is not None and None not in teams and action.team_id not in teams:
        return (
            f"action_id {action.action_id} of team_id {action.team_id}, which plays in"
            f" neither team of the match ({teams[0]}, {teams[1]})"
        )
    if teams is None or None in teams:
        # No match info names both teams: the first two seen are the match's (a third
        # team's goal would be scored for the second one).
        named = [t for t in teams or () if t is not None]
        seen = [*named, *(t.team_id for t in state.story.teams if t.team_id not in named)]
        if len(seen) >= 2 and action.team_id not in seen[:2]:
            return (
                f"action_id {action.action_id} of team_id {action.team_id}, a third team:"
                f" the match has teams {seen[0]} and {seen[1]} (no match_start names them)"
            )
    last = state.last_action_id
    if last is not None and action.action_id - last > max_jump:
        return (
            f"action_id {action.action_id} is {action.action_id - last} beyond the previous"
            f" action_id {last} (more than {max_jump}: not a real action of this match)"
        )
    return None


def _apply_action(
    state: MatchState, action: Action, offset: int, ts_ms: int, batch_size: int, max_jump: int
) -> Step:
    if _is_seen(state.seen, action.action_id):
        return Step(state, "duplicate", action=action)
    if state.ended:
        return Step(state, "ended", action=action)
    reason = _implausible(state, action, max_jump)
    if reason is not None:
        return Step(state, "rejected", action=action, rejection=reason)
    emits: list[Emit] = []
    # An action of a new period closes what is left of the previous one (or, when its
    # last action filled the batch, tells its end after that batch).
    # Stragglers of a period whose end was told already close without telling it again
    # (idle: nothing more came for them).
    if state.open and action.period_id != state.open[-1].period_id:
        over = state.open[-1].period_id == state.period_over
        batch = _close(state, "idle" if over else "period_end", ts_ms)
        if batch is not None:
            emits.append(batch)
    last_closed = state.closed_on
    if last_closed is not None and action.period_id != last_closed.period_id:
        if last_closed.period_id == state.period_over:
            state.closed_on = None
        else:
            mark = _period_end(state, "period_end", ts_ms)
            assert mark is not None
            emits.append(mark)
    opening = None
    if not state.open:
        state.closed_on = None
        state.open_story = state.story
        opening = BatchOpening(
            match_info=state.match_info, story=state.story, roster=tuple(state.roster)
        )
    emits.append(
        BatchAction(
            game_id=state.game_id,
            batch_index=state.batch_index,
            position=len(state.open),
            action=action,
            appended_ts_ms=ts_ms,
            opening=opening,
        )
    )
    state.open.append(action)
    state.open_offset = offset
    state.open_ts_ms = ts_ms
    _add_seen(state.seen, action.action_id)
    state.last_action_id = action.action_id
    state.period_id = max(state.period_id, action.period_id)
    state.story = fold_story(state.story, action)  # once per action: no memo
    for name in (action.player_name_ko, action.team_name_ko):
        if name and name not in state.roster:
            state.roster.append(name)
    if len(state.open) >= batch_size:
        batch = _close(state, "full", ts_ms)
        assert batch is not None
        emits.append(batch)
        state.closed_on = action
        return Step(state, "batched", tuple(emits))
    return Step(state, "assigned", tuple(emits))


def _is_underway(state: MatchState) -> bool:
    return not state.ended and (
        state.batch_index > 0 or bool(state.open) or state.story.actions > 0
    )


def _conflict(known: MatchInfo | None, info: MatchInfo) -> str | None:
    """Why ``info`` cannot describe the match ``known`` describes (other teams), or None."""
    if known is None:
        return None
    for side in ("home_team_id", "away_team_id"):
        before, after = getattr(known, side), getattr(info, side)
        if before is not None and after is not None and before != after:
            return (
                f"match_start of a match under way names {side} {after}, not {before}:"
                " not this match"
            )
    return None


def _merged(known: MatchInfo | None, info: MatchInfo) -> MatchInfo:
    """``info`` with the fields it leaves empty kept from ``known``."""
    if known is None:
        return info
    fields = {name: getattr(info, name) for name in info.__dataclass_fields__}
    for name, value in fields.items():
        if value is None:
            fields[name] = getattr(known, name)
    return MatchInfo(**fields)


def _start(state: MatchState, info: MatchInfo | None) -> MatchState:
    if _is_underway(state):
        # A feed that reconnects re-sends match_start: refresh what it says, nothing else
        # (what it leaves empty stays; _apply_control refused one that names other teams).
        if info is None:
            return state
        info = _merged(state.match_info, info)
        state.match_info = info
        if state.story.home_team_id is None:
            state.story = story_with_match_info(state.story, info)
        for name in (info.home_team_name_ko, info.away_team_name_ko):
            if name and name not in state.roster:
                state.roster.append(name)
        return state
    fresh = MatchState(game_id=state.game_id, last_offset=state.last_offset)
    fresh.match_info = info
    fresh.story = new_story(info)
    if info is not None:
        for name in (info.home_team_name_ko, info.away_team_name_ko):
            if name and name not in fresh.roster:
                fresh.roster.append(name)
    return fresh


def _tick_due(state: MatchState, control: Control, ts_ms: int, idle_timeout_s: float) -> bool:
    if not state.open:
        return False
    if control.after_offset is not None:
        # The tick names the newest action it saw: idle if none joined since.
        return state.open_offset == control.after_offset
    # Ticks of pitchcast 0.1 carry only their time (kept for logs written then).
    idle_ms = idle_timeout_s * 1000.0
    at_ms = (control.at or 0.0) * 1000.0 if control.at is not None else float(ts_ms)
    return state.open_ts_ms is not None and at_ms - state.open_ts_ms >= idle_ms


def _stale_period_end(state: MatchState, control: Control) -> Step | None:
    """A ``period_end`` that names another period than the one being played: of a period
    already over (a copy: dropped), or of one not yet started (rejected). Either would
    close the current period's batch as that period's end. One naming no period, or
    before any action, ends the current period as before."""
    named, current = control.period_id, state.period_id
    if current and current == state.period_over and named in (None, current):
        return Step(state, "duplicate")  # this period's end was told already
    if named is None or not current or named == current:
        return None
    if named < current:
        return Step(state, "duplicate")
    return Step(
        state,
        "rejected",
        rejection=f"period_end of period {named} during period {current}: that period has"
        " not started",
    )


def _apply_control(state: MatchState, control: Control, ts_ms: int, idle_timeout_s: float) -> Step:
    kind = control.control
    if kind == "match_start":
        info = control.match_info
        conflict = (
            None if info is None or not _is_underway(state) else _conflict(state.match_info, info)
        )
        if conflict is not None:
            return Step(state, "rejected", rejection=conflict)
        return Step(_start(state, info), "control")
    if state.ended:
        return Step(state, "control")
    if kind == "period_end":
        stale = _stale_period_end(state, control)
        if stale is not None:
            return stale
    batch: Batch | PeriodEnd | None = None
    if kind == "period_end":
        batch = _close(state, "period_end", ts_ms) or _period_end(state, "period_end", ts_ms)
        state.period_over = state.period_id
    elif kind == "match_end":
        batch = _close(state, "match_end", ts_ms) or _period_end(state, "match_end", ts_ms)
        state = MatchState(
            game_id=state.game_id,
            batch_index=state.batch_index,
            last_offset=state.last_offset,
            seen=state.seen,  # a copy after the end is still a copy (dropped, not late)
            story=state.story,
            ended=True,
        )
    elif _tick_due(state, control, ts_ms, idle_timeout_s):
        batch = _close(state, "idle", ts_ms)
        assert batch is not None
        state.closed_on = batch.actions[-1]
    return Step(state, "control", () if batch is None else (batch,))


def advance(
    state: MatchState | None,
    event: Action | Control,
    *,
    offset: int,
    timestamp_ms: int,
    batch_size: int = 10,
    idle_timeout_s: float = 30.0,
    max_action_id_jump: int = 100_000,
) -> Step:
    """Fold one record of the match's log into its state. Never mutates ``state``."""
    if state is None:
        state = MatchState(game_id=event.game_id)
    if offset <= state.last_offset:
        return Step(state, "redelivery", action=event if isinstance(event, Action) else None)
    work = _copy(state)
    work.last_offset = offset
    if isinstance(event, Action):
        step = _apply_action(work, event, offset, timestamp_ms, batch_size, max_action_id_jump)
        if step.outcome in ("duplicate", "rejected", "ended"):
            # Nothing folded in but the offset: the record is done with.
            return replace(step, state=work)
        return step
    return _apply_control(work, event, timestamp_ms, idle_timeout_s)


def state_to_dict(state: MatchState) -> dict[str, Any]:
    """A JSON-able form of the state (for the changelog-backed table), versioned."""
    return {
        "v": STATE_VERSION,
        "game_id": state.game_id,
        "batch_index": state.batch_index,
        "open": state.open,
        "open_story": state.open_story,
        "open_offset": state.open_offset,
        "open_ts_ms": state.open_ts_ms,
        "seen": state.seen,
        "last_offset": state.last_offset,
        "last_action_id": state.last_action_id,
        "period_id": state.period_id,
        "story": state.story,
        "match_info": state.match_info,
        "roster": state.roster,
        "ended": state.ended,
        "closed_on": state.closed_on,
        "period_over": state.period_over,
        "partition": state.partition,
    }


def state_from_dict(data: dict[str, Any]) -> MatchState:
    """The inverse of :func:`state_to_dict`; states of older versions are migrated."""
    version = data.get("v", 1)
    if version == 1:
        return _from_v1(data)
    if version != STATE_VERSION:
        raise ValueError(
            f"match state version {version} is newer than this pitchcast ({STATE_VERSION})"
        )
    info = data.get("match_info")
    open_story = data.get("open_story")
    closed_on = data.get("closed_on")  # absent in states written before it
    return MatchState(
        game_id=data["game_id"],
        batch_index=data["batch_index"],
        open=[Action(**a) for a in data["open"]],
        open_story=None if open_story is None else story_from_dict(open_story),
        open_offset=data["open_offset"],
        open_ts_ms=data["open_ts_ms"],
        seen=[list(r) for r in data["seen"]],
        last_offset=data["last_offset"],
        last_action_id=data["last_action_id"],
        period_id=data["period_id"],
        story=story_from_dict(data["story"]),
        match_info=None if info is None else MatchInfo(**info),
        roster=list(data["roster"]),
        ended=data["ended"],
        closed_on=None if closed_on is None else Action(**closed_on),
        period_over=data.get("period_over", 0),  # absent in states written before it
        partition=data.get("partition"),
    )


def _from_v1(data: dict[str, Any]) -> MatchState:
    """pitchcast 0.1's state: id-ordered buffer, ``batched`` ranges, score and teams only.

    The story starts from the score and the teams it knew (goals before the upgrade have
    no scorer); the open buffer stays the open batch, in its id order.
    """
    info_data = data.get("match_info")
    info = None if info_data is None else MatchInfo(**info_data)
    buffer = [Action(**a) for a in data.get("buffer", [])]
    seen = [list(r) for r in data.get("batched", [])]
    for action in buffer:
        _add_seen(seen, action.action_id)
    story = replace(
        new_story(info),
        score=Score(**data.get("score", {})),
        teams=tuple(TeamTally(team_id) for team_id in data.get("teams", [])),
    )
    ids = [a.action_id for a in buffer]
    closed_upto = data.get("closed_upto", -1)
    last_action_id = max([*ids, closed_upto]) if ids or closed_upto >= 0 else None
    return MatchState(
        game_id=data["game_id"],
        batch_index=data.get("batch_index", 0),
        open=buffer,
        open_story=story if buffer else None,
        open_offset=None,
        open_ts_ms=data.get("buffer_ts_ms"),
        seen=seen,
        last_offset=data.get("last_offset", -1),
        last_action_id=last_action_id,
        period_id=buffer[-1].period_id if buffer else 0,
        story=story,
        match_info=info,
        roster=list(data.get("roster", [])),
        ended=bool(data.get("ended", False)),
    )
