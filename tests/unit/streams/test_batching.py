"""The per-match batcher, driven by direct calls on the sample matches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from pitchcast.schemas.records import Action, Batch, BatchAction, Control, MatchInfo, PeriodEnd
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


def test_duplicate_action_ids_are_dropped_whatever_their_content() -> None:
    """An id the match already accepted is a duplicate, open or closed, changed content or not."""
    actions = _actions("events_metrica_1.csv")[:30]
    log = Log()
    for a in actions[:12]:
        log.feed(a)
    assert len(log.batches) == 1 and log.batches[0].last_action_id == 9
    assert log.feed(actions[3]).outcome == "duplicate"
    assert log.feed(replace(actions[11], type_name="Shot", start_x=90.0)).outcome == "duplicate"
    assert log.state is not None and [a.action_id for a in log.state.open] == [10, 11]


def test_a_late_older_action_joins_the_open_batch() -> None:
    """An unseen id below the last closed batch is not dead-lettered: it joins the open batch."""
    actions = _actions("events_metrica_1.csv")[:15]
    log = Log()
    for a in actions:
        if a.action_id != 5:
            log.feed(a)
    late = log.feed(actions[5])
    assert late.outcome == "assigned"
    assert log.state is not None
    assert [a.action_id for a in log.state.open] == [11, 12, 13, 14, 5]
    (emit,) = late.emits
    assert isinstance(emit, BatchAction)
    assert (emit.batch_index, emit.position, emit.action) == (1, 4, actions[5])


def test_membership_is_log_order_and_each_action_is_handed_off_at_once() -> None:
    """Actions keep their arrival order; each yields a BatchAction before the batch closes."""
    actions = _actions("events_metrica_1.csv")[:10]
    log = Log()
    arrival = list(reversed(actions))
    for a in arrival:
        log.feed(a)
    (batch,) = log.batches
    assert [a.action_id for a in batch.actions] == [a.action_id for a in arrival]
    assert (batch.first_action_id, batch.last_action_id) == (9, 0)
    handed = [e for s in log.steps for e in s.emits if isinstance(e, BatchAction)]
    assert [(e.position, e.action) for e in handed] == list(enumerate(arrival))
    assert handed[0].opening is not None and all(e.opening is None for e in handed[1:])
    # The close comes right after the action that filled the batch, in the same step.
    assert isinstance(log.steps[-1].emits[-1], Batch)


def test_a_far_future_action_id_costs_only_itself() -> None:
    """Issue 7.1: one copy of a real action with its id raised by 5,000,000 is rejected."""
    actions = _actions("events_metrica_1.csv")
    third = len(actions) // 3
    outlier = replace(actions[third], action_id=actions[third].action_id + 5_000_000)
    log = Log()
    log.feed(Control(game_id=1, control="match_start"))
    rejected = []
    for i, a in enumerate(actions):
        if i == third:
            rejected.append(log.feed(outlier))
        log.feed(a)
    log.feed(Control(game_id=1, control="match_end"))
    assert [s.outcome for s in rejected] == ["rejected"]
    assert "5000001 beyond" in (rejected[0].rejection or "")
    ids = [a.action_id for b in log.batches for a in b.actions]
    assert sorted(ids) == [a.action_id for a in actions]


def test_a_feed_whose_ids_really_jump_keeps_working() -> None:
    """Ids with big but plausible gaps (feeds with sparse ids) all join batches."""
    actions = [
        replace(a, action_id=1_000_000 + a.action_id * 5_000)
        for a in _actions("events_metrica_1.csv")[:40]
    ]
    log = Log()
    for a in actions:
        assert log.feed(a).outcome in ("assigned", "batched")
    assert len(log.batches) == 4


def test_an_earlier_period_after_a_later_one_started_is_rejected() -> None:
    """A period-1 action after period 2 started cannot be real; the match goes on."""
    actions = _actions("events_metrica_1.csv")
    p1 = [a for a in actions if a.period_id == 1]
    p2 = [a for a in actions if a.period_id == 2]
    log = Log()
    for a in p1[-3:] + p2[:3]:
        log.feed(a)
    step = log.feed(replace(p1[0], action_id=p2[2].action_id + 1))
    assert step.outcome == "rejected" and "period 1" in (step.rejection or "")
    assert log.feed(p2[3]).outcome == "assigned"


def test_a_skipped_period_is_rejected_and_costs_only_itself() -> None:
    """A period-3 action during period 1 (a corrupted period) does not end the half."""
    actions = _actions("events_metrica_1.csv")
    p1 = [a for a in actions if a.period_id == 1]
    log = Log()
    for a in p1[:5]:
        log.feed(a)
    step = log.feed(replace(p1[5], action_id=50_000, period_id=3))
    assert step.outcome == "rejected" and "cannot be skipped" in (step.rejection or "")
    assert [log.feed(a).outcome for a in p1[5:10]] == ["assigned"] * 4 + ["batched"]


def test_a_shoot_out_may_follow_the_second_half() -> None:
    """Competitions without extra time go from period 2 straight to the shoot-out (5)."""
    actions = _actions("events_metrica_1.csv")
    p2 = [a for a in actions if a.period_id == 2]
    log = Log()
    log.feed(p2[0])
    assert log.feed(replace(p2[1], period_id=5)).outcome == "assigned"


def test_an_action_of_a_team_not_in_the_match_is_rejected() -> None:
    """With the match info's two teams known, a third team's action cannot be real."""
    actions = _actions("events_metrica_1.csv")
    info = read_match_info(DATA / "match_info.csv")[1]
    log = Log()
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    log.feed(actions[0])
    step = log.feed(replace(actions[1], action_id=50_000, team_id=2**62))
    assert step.outcome == "rejected" and "neither team" in (step.rejection or "")
    assert log.feed(actions[1]).outcome == "assigned"


def test_without_match_info_a_third_team_s_action_is_rejected() -> None:
    """No match_start (or one without team ids): the first two teams seen are the
    match's. A third team's action was taken and its goal scored for the second team:
    the full-time line said 홈팀 1, 원정팀 2 after one goal of each of three teams."""
    actions = _actions("events_metrica_1.csv")
    first = actions[0]
    other = next(a for a in actions if a.team_id != first.team_id)
    log = Log()
    log.feed(first)
    step = log.feed(replace(actions[1], action_id=1, team_id=99, type_name="Goal"))
    assert step.outcome == "assigned", "the second team seen is the match's other team"
    third = replace(actions[2], action_id=2, team_id=77, type_name="Goal", result_name=None)
    step = log.feed(third)
    assert step.outcome == "rejected"
    assert "team_id 77" in (step.rejection or "") and "third team" in (step.rejection or "")
    assert step.state.story.score.home + step.state.story.score.away == 1
    assert log.feed(replace(other, action_id=3, team_id=first.team_id)).outcome == "assigned"
    info = MatchInfo(game_id=1, home_team_id=None, away_team_id=None)
    log = Log()
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    log.feed(first)
    log.feed(replace(actions[1], action_id=1, team_id=99))
    assert log.feed(replace(actions[2], action_id=2, team_id=77)).outcome == "rejected"


def test_a_late_match_start_gives_the_goals_so_far_to_the_sides_it_names() -> None:
    """Actions before any match_start, the away team's first (it counted as home), its
    goal, then the match_start: the batch closed after it scores the goal for away."""
    actions = _actions("events_metrica_1.csv")  # team 12 (away) plays first
    info = read_match_info(DATA / "match_info.csv")[1]
    assert actions[0].team_id == info.away_team_id
    log = Log()
    log.feed(actions[0])
    log.feed(replace(actions[1], type_name="Goal", result_name=None))
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    for action in actions[2:10]:
        log.feed(action)
    (batch,) = log.batches
    assert (batch.score.home, batch.score.away) == (0, 1)


def test_a_match_start_naming_other_teams_mid_match_is_rejected() -> None:
    """A match_start of another match on this game id would make every real action
    foreign: rejected, the match info kept."""
    actions = _actions("events_metrica_1.csv")
    info = read_match_info(DATA / "match_info.csv")[1]
    log = Log()
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    log.feed(actions[0])
    other = replace(info, home_team_id=900, away_team_id=901, home_team_name_ko="다른 팀")
    step = log.feed(Control(game_id=1, control="match_start", match_info=other))
    assert step.outcome == "rejected" and "not this match" in (step.rejection or "")
    assert step.state.match_info == info and step.state.last_offset == 2
    assert log.feed(actions[1]).outcome == "assigned"


def test_a_match_start_refresh_keeps_what_it_leaves_empty() -> None:
    """A re-sent match_start with fewer fields (or none) never blanks the match info."""
    actions = _actions("events_metrica_1.csv")
    info = read_match_info(DATA / "match_info.csv")[1]
    log = Log()
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    log.feed(actions[0])
    log.feed(Control(game_id=1, control="match_start", match_info=MatchInfo(game_id=1)))
    assert log.state is not None and log.state.match_info == info
    log.feed(
        Control(game_id=1, control="match_start", match_info=MatchInfo(game_id=1, venue="문수"))
    )
    assert log.state.match_info == replace(info, venue="문수")


def test_repeated_match_start_mid_match_only_refreshes_the_match_info() -> None:
    """Issue 7.3: a feed that reconnects and re-sends match_start keeps the batch indexes."""
    actions = _actions("events_metrica_1.csv")
    info = read_match_info(DATA / "match_info.csv")[1]
    log = Log()
    log.feed(Control(game_id=1, control="match_start", match_info=info))
    third = len(actions) // 3
    for i, a in enumerate(actions):
        if i == third:
            log.feed(Control(game_id=1, control="match_start", match_info=info))
        log.feed(a)
    log.feed(Control(game_id=1, control="match_end"))
    batches = log.batches
    assert [b.batch_index for b in batches] == list(range(len(batches)))
    ids = sorted(a.action_id for b in batches for a in b.actions)
    assert ids == [a.action_id for a in actions]


def test_idle_tick_flushes_only_if_no_action_joined_since() -> None:
    """A tick names the newest action it saw; the batcher flushes only if nothing came after."""
    actions = _actions("events_metrica_1.csv")[:4]
    log = Log(idle_timeout_s=30.0)
    for a in actions[:3]:
        log.feed(a, ts_ms=1_000_000)
    assert log.state is not None
    seen = log.state.open_offset
    log.feed(actions[3], ts_ms=1_001_000)
    stale = log.feed(Control(game_id=1, control="tick", at=5_000.0, after_offset=seen))
    assert stale.closed == ()
    newest = log.state.open_offset
    due = log.feed(Control(game_id=1, control="tick", at=5_000.0, after_offset=newest))
    assert len(due.closed) == 1 and due.closed[0].close_reason == "idle"
    assert log.feed(Control(game_id=1, control="tick", at=9_000.0, after_offset=3)).closed == ()


def test_old_ticks_without_an_offset_use_their_time() -> None:
    """Ticks written by pitchcast 0.1 (time only) still flush when past the timeout."""
    actions = _actions("events_metrica_1.csv")[:3]
    log = Log(idle_timeout_s=30.0)
    for a in actions:
        log.feed(a, ts_ms=1_000_000)
    assert log.feed(Control(game_id=1, control="tick", at=1_000.0 + 10)).closed == ()
    due = log.feed(Control(game_id=1, control="tick", at=1_000.0 + 30))
    assert len(due.closed) == 1 and due.closed[0].close_reason == "idle"


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


def _ends(log: Log) -> list[PeriodEnd]:
    return [e for s in log.steps for e in s.emits if isinstance(e, PeriodEnd)]


def test_a_period_whose_last_action_filled_its_batch_still_ends() -> None:
    """20 actions in period 1: the second batch closes full on the last one, so period_end
    finds no open batch; it emits a PeriodEnd for that batch (told once: match_end after
    it, and a second period_end, emit nothing). Sample match 1's second half is such a
    period (1,240 actions)."""
    actions = [a for a in _actions("events_metrica_1.csv") if a.period_id == 1][:20]
    log = Log()
    for a in actions:
        log.feed(a, ts_ms=5)
    assert [b.close_reason for b in log.batches] == ["full", "full"]
    step = log.feed(Control(game_id=1, control="period_end", period_id=1), ts_ms=9)
    (end,) = step.emits
    assert isinstance(end, PeriodEnd)
    assert (end.batch_index, end.close_reason, end.last, end.ended_by_ts_ms) == (
        1, "period_end", actions[-1], 9,
    )  # fmt: skip
    assert end.score == log.batches[-1].score
    assert log.feed(Control(game_id=1, control="period_end", period_id=1)).emits == ()
    assert log.feed(Control(game_id=1, control="match_end", period_id=1)).emits == ()
    assert len(_ends(log)) == 1


def test_a_match_end_after_a_full_batch_ends_it_as_full_time() -> None:
    """No period_end before match_end: the PeriodEnd says match_end (told as full time)."""
    actions = _actions("events_metrica_1.csv")[:10]
    log = Log()
    for a in actions:
        log.feed(a)
    (end,) = log.feed(Control(game_id=1, control="match_end", period_id=1)).emits
    assert isinstance(end, PeriodEnd) and end.close_reason == "match_end"


def test_the_next_periods_first_action_ends_a_period_whose_batch_closed_full() -> None:
    """No period_end at all: the second half's first action emits the first half's end,
    then opens its own batch."""
    actions = _actions("events_metrica_1.csv")
    first_half = [a for a in actions if a.period_id == 1][:10]
    kick_off = next(a for a in actions if a.period_id == 2)
    log = Log()
    for a in first_half:
        log.feed(a)
    step = log.feed(kick_off)
    assert [type(e) for e in step.emits] == [PeriodEnd, BatchAction]
    assert step.emits[0].last == first_half[-1]  # type: ignore[union-attr]
    assert step.emits[1].opening is not None  # type: ignore[union-attr]


def test_a_period_whose_batch_an_idle_tick_closed_still_ends() -> None:
    """An idle tick closed the batch before the whistle: period_end tells its end."""
    actions = _actions("events_metrica_1.csv")[:3]
    log = Log(idle_timeout_s=30.0)
    for a in actions:
        log.feed(a, ts_ms=1_000_000)
    assert log.state is not None
    newest = log.state.open_offset
    due = log.feed(Control(game_id=1, control="tick", at=5_000.0, after_offset=newest))
    assert [b.close_reason for b in due.closed] == ["idle"]
    (end,) = log.feed(Control(game_id=1, control="period_end", period_id=1)).emits
    assert isinstance(end, PeriodEnd) and end.batch_index == 0 and end.last == actions[-1]


def test_a_period_end_that_closes_a_batch_emits_no_period_end_record() -> None:
    """A partial batch at the whistle is closed by it (close_reason period_end), and an
    action after a full batch opens the next one: neither needs a PeriodEnd."""
    actions = [a for a in _actions("events_metrica_1.csv") if a.period_id == 1][:13]
    log = Log()
    for a in actions:
        log.feed(a)
    (batch,) = log.feed(Control(game_id=1, control="period_end", period_id=1)).emits
    assert isinstance(batch, Batch) and batch.close_reason == "period_end"
    assert _ends(log) == []


def test_a_state_waiting_for_its_period_end_survives_a_restart() -> None:
    """The batch closed on the last action is in the table form: a worker that restarts
    between the full close and the whistle still tells the end; a state written before
    the field existed loads without it."""
    actions = _actions("events_metrica_1.csv")[:10]
    log = Log()
    for a in actions:
        log.feed(a)
    assert log.state is not None and log.state.closed_on == actions[-1]
    table = orjson.loads(orjson.dumps(state_to_dict(log.state)))
    restored = state_from_dict(table)
    assert restored == log.state
    step = advance(
        restored, Control(game_id=1, control="period_end", period_id=1),
        offset=99, timestamp_ms=0,
    )  # fmt: skip
    assert [type(e) for e in step.emits] == [PeriodEnd]
    del table["closed_on"]
    assert state_from_dict(table).closed_on is None


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


def test_a_state_written_by_pitchcast_0_1_still_loads() -> None:
    """Issue 7.8: a stored v1 state (id-ordered buffer, batched ranges) migrates and goes on."""
    v1 = {
        "game_id": 1,
        "batch_index": 3,
        "buffer": [orjson.loads(orjson.dumps(a)) for a in _actions("events_metrica_1.csv")[30:33]],
        "buffer_ts_ms": 1_700_000_000_000,
        "closed_upto": 29,
        "batched": [[0, 29]],
        "last_offset": 34,
        "score": {"home": 1, "away": 0},
        "match_info": None,
        "roster": ["Player19", "Away"],
        "teams": [12, 11],
        "ended": False,
    }
    state = state_from_dict(v1)
    assert state.batch_index == 3 and [a.action_id for a in state.open] == [30, 31, 32]
    assert state.story.score.home == 1 and state.last_action_id == 32
    log = Log()
    log.state, log.offset = state, 35
    assert log.feed(_actions("events_metrica_1.csv")[5]).outcome == "duplicate"
    for a in _actions("events_metrica_1.csv")[33:40]:
        log.feed(a)
    (batch,) = log.batches
    assert batch.batch_index == 3 and [a.action_id for a in batch.actions] == list(range(30, 40))
    again = state_from_dict(orjson.loads(orjson.dumps(state_to_dict(log.state))))  # type: ignore[arg-type]
    assert again == log.state


def test_a_state_of_a_newer_version_is_refused_clearly() -> None:
    """A state written by a newer pitchcast is not guessed at."""
    with pytest.raises(ValueError, match="newer than this pitchcast"):
        state_from_dict({"v": 99, "game_id": 1})


def test_a_copy_of_an_earlier_periods_end_leaves_the_later_period_alone() -> None:
    """period_end of period 1 again, after the second half started (a feed that re-sends
    its controls): it closed the second half's open batch with close_reason period_end,
    which the commentary tells as the end of the second half ('후반전 종료') at minute 46.
    It is a copy of a period already over: dropped, like an action id already accepted."""
    actions = _actions("events_metrica_1.csv")
    first_half = [a for a in actions if a.period_id == 1][-3:]
    second_half = [a for a in actions if a.period_id == 2][:4]
    log = Log()
    for a in first_half:
        log.feed(a)
    (closed,) = log.feed(Control(game_id=1, control="period_end", period_id=1)).emits
    assert isinstance(closed, Batch) and closed.period_id == 1
    for a in second_half[:2]:
        log.feed(a)
    copy = log.feed(Control(game_id=1, control="period_end", period_id=1))
    assert (copy.outcome, copy.emits) == ("duplicate", ())
    for a in second_half[2:]:
        log.feed(a)
    assert log.state is not None and len(log.state.open) == 4  # one batch, still open
    assert len(log.batches) == 1


def test_the_end_of_a_period_not_yet_played_is_refused() -> None:
    """period_end of period 2 during the first half would close its batch as half-time
    one period early (and period 3's as the end of extra time): rejected with its reason,
    the open batch left as it was."""
    actions = [a for a in _actions("events_metrica_1.csv") if a.period_id == 1][:3]
    log = Log()
    for a in actions:
        log.feed(a)
    for period in (2, 3):
        step = log.feed(Control(game_id=1, control="period_end", period_id=period))
        assert (step.outcome, step.emits) == ("rejected", ())
        assert step.rejection is not None and f"period_end of period {period}" in step.rejection
    assert log.state is not None and len(log.state.open) == 3
    # A period_end that names no period keeps the old rule (it ends the current one).
    (batch,) = log.feed(Control(game_id=1, control="period_end")).emits
    assert isinstance(batch, Batch) and batch.close_reason == "period_end"


def test_a_copy_of_an_action_after_match_end_is_a_duplicate_not_late() -> None:
    """The same action again after match_end (a feed that re-sends, a copy delayed) was
    dead-lettered as LateAction, while the same copy a record earlier was dropped as a
    duplicate. The match still knows its ids: a copy is dropped (whatever its content);
    only an id it never accepted is late. A new match_start forgets them (a replay)."""
    actions = _actions("events_metrica_1.csv")[:12]
    log = _play(actions)
    assert log.feed(actions[3]).outcome == "duplicate"
    assert log.feed(replace(actions[-1], type_name="Goal")).outcome == "duplicate"
    assert log.feed(replace(actions[-1], action_id=999)).outcome == "ended"
    assert log.state is not None and log.state.ended
    restored = state_from_dict(orjson.loads(orjson.dumps(state_to_dict(log.state))))
    assert advance(restored, actions[3], offset=99, timestamp_ms=0).outcome == "duplicate"
    log.feed(Control(game_id=1, control="match_start"))
    assert log.feed(actions[0]).outcome == "assigned"


def _period_ends_told(log: Log) -> list[int]:
    """The period of each end the commentary tells (a batch closed by period_end, or a
    PeriodEnd), in order."""
    told = []
    for step in log.steps:
        for emit in step.emits:
            if isinstance(emit, Batch) and emit.close_reason == "period_end":
                told.append(emit.period_id)
            elif isinstance(emit, PeriodEnd):
                told.append(emit.last.period_id)
    return told


@pytest.mark.parametrize("late", [1, 10, 13])
def test_actions_after_their_periods_end_are_told_without_a_second_end(late: int) -> None:
    """Actions of the first half after its period_end (a feed's stragglers) open a batch
    of their own; the second half's first action closed it as period_end, so half-time
    was told twice ('전반전이 끝났습니다' after the stragglers again; after a full batch
    of them, a PeriodEnd). They are told, the half's end once; a copy of the period_end
    after them is a copy."""
    actions = _actions("events_metrica_1.csv")
    first_half = [a for a in actions if a.period_id == 1]
    on_time, stragglers = first_half[:5], first_half[5 : 5 + late]
    second_half = [a for a in actions if a.period_id == 2][:3]
    log = Log()
    for a in on_time:
        log.feed(a)
    log.feed(Control(game_id=1, control="period_end", period_id=1))
    for a in stragglers:
        assert log.feed(a).outcome in ("assigned", "batched")
    copy = log.feed(Control(game_id=1, control="period_end", period_id=1))
    assert (copy.outcome, copy.emits) == ("duplicate", ())
    for a in second_half:
        log.feed(a)
    log.feed(Control(game_id=1, control="period_end", period_id=2))
    assert _period_ends_told(log) == [1, 2]
    told = [a.action_id for b in log.batches for a in b.actions]
    assert told == [a.action_id for a in on_time + stragglers + second_half]
