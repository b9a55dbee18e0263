"""The per-match batcher, driven by direct calls on the sample matches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from pitchcast.schemas.records import Action, Control, MatchInfo
from pitchcast.streams.batching import MatchState, Step, advance, state_from_dict, state_to_dict
from pitchcast.streams.match_csv import read_actions, read_match_info

DATA = Path(__file__).resolve().parents[3] / "data"


def _actions(name: str) -> list[Action]:
    return [Action(**row) for row in read_actions(DATA / name)]


class Log:
    """Feeds records to the batcher the way the agent does: offset and timestamp per record."""

    def __init__(self, **options: float) -> None:
        self.state: MatchState | None = None
        self.offset = 0
        self.steps: list[Step] = []
        self.options = options

    def feed(self, event: Action | Control, *, ts_ms: int = 0, offset: int | None = None) -> Step:
        if offset is None:
            offset = self.offset
            self.offset += 1
        step = advance(self.state, event, offset=offset, timestamp_ms=ts_ms, **self.options)  # type: ignore[arg-type]
        self.state = step.state
        self.steps.append(step)
        return step

    @property
    def batches(self) -> list:
        return [b for s in self.steps for b in s.closed]


def _play(actions: list[Action], info: MatchInfo | None = None) -> Log:
    log = Log()
    log.feed(Control(game_id=actions[0].game_id, control="match_start", match_info=info))
    period = actions[0].period_id
    for action in actions:
        if action.period_id != period:
            log.feed(Control(game_id=action.game_id, control="period_end", period_id=period))
            period = action.period_id
        log.feed(action)
    log.feed(Control(game_id=actions[0].game_id, control="match_end", period_id=period))
    return log


def test_whole_match_forms_full_batches_except_at_period_ends() -> None:
    """Every action of match 1 lands in exactly one batch; only period/match ends are partial."""
    actions = _actions("events_metrica_1.csv")
    log = _play(actions, read_match_info(DATA / "match_info.csv")[1])
    batches = log.batches
    ids = [a.action_id for b in batches for a in b.actions]
    assert sorted(ids) == [a.action_id for a in actions]
    assert len(ids) == len(set(ids)) == 2462
    assert [b.batch_index for b in batches] == list(range(len(batches)))
    partial = [b for b in batches if len(b.actions) != 10]
    assert all(b.close_reason in ("period_end", "match_end") for b in partial)
    # Period 1 has 1222 actions (a 2-action tail); period 2 has 1240 (no tail).
    assert [(b.close_reason, len(b.actions)) for b in partial] == [("period_end", 2)]
    assert batches[-1].score.home == 3 and batches[-1].score.away == 1


def test_running_score_counts_goals_and_own_goals_not_shots() -> None:
    """Goal scores for the acting team, Own Goal for the other; Shot/Goal is not counted twice."""
    actions = _actions("events_metrica_1.csv")
    info = read_match_info(DATA / "match_info.csv")[1]
    log = _play(actions, info)
    goals = sum(a.type_name in ("Goal", "Own Goal") for a in actions)
    final = log.batches[-1].score
    assert final.home + final.away == goals == 4
    assert all(b.score.home + b.score.away <= goals for b in log.batches)


def test_redelivered_offsets_are_dropped() -> None:
    """A record at or below the last folded offset changes nothing."""
    actions = _actions("events_metrica_1.csv")[:5]
    log = Log()
    for a in actions:
        log.feed(a)
    before = state_to_dict(log.state)  # type: ignore[arg-type]
    step = log.feed(actions[2], offset=2)
    assert step.outcome == "redelivery"
    assert state_to_dict(step.state) == before


def test_duplicate_action_ids_are_dropped_late_ones_flagged() -> None:
    """A buffered or batched id is a duplicate; an unseen id below the last batch is late."""
    actions = _actions("events_metrica_1.csv")[:30]
    log = Log()
    for a in actions[:12]:
        if a.action_id != 5:
            log.feed(a)
    assert len(log.batches) == 1 and log.batches[0].last_action_id == 10
    assert log.feed(actions[3]).outcome == "duplicate"
    assert log.feed(actions[11]).outcome == "duplicate"
    late = log.feed(actions[5])
    assert late.outcome == "late" and late.action == actions[5]


def test_out_of_order_actions_are_sorted_within_a_batch() -> None:
    """The batch holds its actions in action_id order whatever the arrival order."""
    actions = _actions("events_metrica_1.csv")[:10]
    log = Log()
    for a in reversed(actions):
        log.feed(a)
    assert [a.action_id for a in log.batches[0].actions] == list(range(10))


def test_idle_tick_flushes_only_when_due() -> None:
    """A tick flushes the open batch only when its time is past the idle timeout."""
    actions = _actions("events_metrica_1.csv")[:3]
    log = Log(idle_timeout_s=30.0)
    for a in actions:
        log.feed(a, ts_ms=1_000_000)
    early = log.feed(Control(game_id=1, control="tick", at=1_000.0 + 10))
    assert early.closed == ()
    due = log.feed(Control(game_id=1, control="tick", at=1_000.0 + 30))
    assert len(due.closed) == 1 and due.closed[0].close_reason == "idle"
    assert log.feed(Control(game_id=1, control="tick", at=2_000.0)).closed == ()


def test_new_period_closes_the_previous_periods_batch() -> None:
    """An action of period 2 closes a partial period-1 batch even without period_end."""
    actions = _actions("events_metrica_1.csv")
    p1_tail = [a for a in actions if a.period_id == 1][-3:]
    p2_head = [a for a in actions if a.period_id == 2][:1]
    log = Log()
    for a in p1_tail + p2_head:
        log.feed(a)
    assert len(log.batches) == 1
    assert log.batches[0].close_reason == "period_end" and len(log.batches[0].actions) == 3


def test_match_end_closes_and_restart_reproduces_batches() -> None:
    """After match_end stragglers are refused; a new match_start replays the same batches."""
    actions = _actions("events_metrica_1.csv")[:25]
    log = _play(actions)
    first_run = log.batches
    assert log.feed(replace(actions[-1], action_id=999)).outcome == "ended"
    log.steps.clear()
    log.feed(Control(game_id=1, control="match_start"))
    for a in actions:
        log.feed(a)
    log.feed(Control(game_id=1, control="match_end"))
    assert [(b.batch_index, b.first_action_id, b.last_action_id) for b in log.batches] == [
        (b.batch_index, b.first_action_id, b.last_action_id) for b in first_run
    ]


def test_state_survives_a_json_round_trip() -> None:
    """The table form of the state decodes to an equal state (crash recovery)."""
    actions = _actions("events_metrica_3.csv")[:27]
    log = _play(actions[:20], read_match_info(DATA / "match_info.csv")[3])
    log.feed(Control(game_id=3, control="match_start"))
    for a in actions[20:27]:
        log.feed(a)
    assert log.state is not None
    restored = state_from_dict(orjson.loads(orjson.dumps(state_to_dict(log.state))))
    assert restored == log.state


@pytest.mark.parametrize("name", ["events_metrica_1.csv", "events_metrica_3.csv"])
def test_gapless_batch_indexes(name: str) -> None:
    """batch_index is gapless and the roster holds the match's player names."""
    actions = _actions(name)
    log = _play(actions)
    assert [b.batch_index for b in log.batches] == list(range(len(log.batches)))
    assert {a.player_name_ko for a in actions} <= set(log.batches[-1].roster)
