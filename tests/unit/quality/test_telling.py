"""Shown lines per minute, key events told, moments told twice (issue 16, item 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pitchcast.quality.run import Line
from pitchcast.quality.telling import coverage, key_kinds, pace, same_moment, told_twice
from pitchcast.schemas.records import Action

HOME, AWAY = 1, 2


@dataclass(frozen=True, slots=True)
class _DensityLine(Line):
    """A line as the density setting (s14/density) records it."""

    shown: bool = True
    told_with: int | None = None


def _action(n: int, type_name: str, result: str | None = None, **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": 1, "action_id": n, "period_id": 1, "time_seconds": float(n),
        "team_id": HOME, "player_id": 7.0, "result_name": result,
        "start_x": 50.0, "start_y": 34.0, "end_x": 60.0, "end_y": 34.0, "dx": 10.0, "dy": 0.0,
        "type_name": type_name, "player_name_ko": "P", "team_name_ko": "T",
    }  # fmt: skip
    values.update(fields)
    return Action(**values)


def _line(action: Action, index: int | None = None, **density: Any) -> Line:
    index = action.action_id if index is None else index
    args = ("CASTER", index, 0, 0, action, "calm", f"line {index}", "template", 10, 0, 0.0)
    if density:
        return _DensityLine(*args, None, action.time_seconds, **density)
    return Line(*args, None, action.time_seconds)


def test_pace_counts_shown_lines_per_minute_of_play() -> None:
    """Three minutes of play; the middle one holds four lines, one of them not shown."""
    actions = [_action(n, "Pass", "Successful", time_seconds=t) for n, t in
               enumerate([10.0, 70.0, 80.0, 90.0, 100.0, 150.0])]  # fmt: skip
    lines = [_line(a) for a in actions]
    lines[2] = _line(actions[2], shown=False, told_with=1)
    figures = pace(lines)
    assert (figures.shown, figures.minutes) == (5, 3)
    assert figures.lines_per_minute == 5 / 3
    assert (figures.worst_minute, figures.worst_minute_at) == (3, 1)


def test_key_events_are_told_when_shown_or_told_with_a_shown_line() -> None:
    corner = _action(0, "Pass_Corner", "Successful")
    shot = _action(1, "Shot", "Goal")
    goal = _action(2, "Goal")
    card = _action(3, "Foul", "Yellow_Card")
    penalty = _action(4, "Penalty Kick", "Off Target")
    lines = [
        _line(corner),
        _line(shot),
        _line(goal, shown=False, told_with=1),  # told with the shot: told
        _line(card, shown=False, told_with=4),  # told with a line not shown: missed
        _line(penalty, shown=False),  # told with nothing: missed
    ]
    figures = coverage(lines)
    assert (figures.key_events, figures.told) == (5, 3)
    assert figures.by_kind["goal"] == {"events": 2, "told": 2}
    assert figures.by_kind["card"] == {"events": 1, "told": 0}
    assert figures.by_kind["penalty"] == {"events": 1, "told": 0}
    assert figures.by_kind["shot"] == {"events": 2, "told": 1}
    assert [m["action_id"] for m in figures.missed] == [3, 4]
    assert coverage([_line(corner)]).share == 1.0


def test_key_kinds() -> None:
    assert key_kinds(_action(0, "Pass", "Successful")) == ()
    assert key_kinds(_action(0, "Own Goal")) == ("goal",)
    assert key_kinds(_action(0, "Foul")) == ()
    assert key_kinds(_action(0, "Penalty Kick", "Goal")) == ("shot", "goal", "penalty")


def test_one_moment_is_two_consecutive_actions_of_both_teams() -> None:
    lost = _action(0, "Pass", "Unsuccessful")
    cut = _action(1, "Interception", team_id=AWAY)
    assert same_moment(lost, cut) == "turnover"
    duel = _action(0, "Duel", "Unsuccessful")
    assert same_moment(duel, _action(1, "Duel", "Successful", team_id=AWAY)) == "duel"
    assert same_moment(duel, _action(1, "Tackle", "Successful", team_id=AWAY)) == "duel"
    # One team, a later action, or a pass that arrived: not one moment.
    assert same_moment(lost, _action(1, "Interception")) is None
    assert same_moment(lost, _action(1, "Interception", team_id=AWAY, time_seconds=5.0)) is None
    assert same_moment(_action(0, "Pass", "Successful"), cut) is None


def test_told_twice_counts_consecutive_shown_lines_of_one_moment() -> None:
    actions = [
        _action(0, "Pass", "Unsuccessful"),
        _action(1, "Interception", team_id=AWAY),
        _action(2, "Duel", "Unsuccessful", team_id=AWAY, time_seconds=20.0),
        _action(3, "Duel", "Successful", time_seconds=20.0),
    ]
    every = [_line(a) for a in actions]
    figures = told_twice(every, actions)
    assert figures["count"] == 2
    assert figures["by_moment"] == {"turnover": 1, "duel": 1}
    assert figures["examples"][0]["lines"] == ["line 0", "line 1"]
    # Told once: the second side of each moment not shown.
    once = [every[0], _line(actions[1], shown=False, told_with=0), every[2],
            _line(actions[3], shown=False, told_with=2)]  # fmt: skip
    assert told_twice(once, actions)["count"] == 0


def test_a_tackle_and_the_duel_it_won_are_one_moment_across_the_winner_s_touches() -> None:
    """Sample match 3, 35': Player 18's tackle, his recovery and carry, then Player 4's
    lost duel at the same second: the log puts the loser's row after the winner's next
    touches, so '태클 들어갔다, 성공!' and '부딪혔는데 Player 4가 튕겨 나갔어' were two
    consecutive lines of one moment that told_twice never compared."""
    actions = [
        _action(0, "Tackle", "Successful", team_id=AWAY, time_seconds=20.0),
        _action(1, "Recovery", team_id=AWAY, time_seconds=20.0),
        _action(2, "Carry", team_id=AWAY, time_seconds=20.0),
        _action(3, "Duel", "Unsuccessful", time_seconds=20.2),
    ]
    lines = [_line(actions[0]), _line(actions[1], shown=False, told_with=0),
             _line(actions[2], shown=False, told_with=0), _line(actions[3])]  # fmt: skip
    figures = told_twice(lines, actions)
    assert figures["by_moment"] == {"duel": 1}, figures
    # Beyond the density rules' reach (3 actions back) it is another moment.
    far = [*actions[:3], _action(3, "Pass", team_id=AWAY), _action(4, "Duel", "Unsuccessful")]
    lines = [_line(far[0]), *(_line(a, shown=False, told_with=0) for a in far[1:4]), _line(far[4])]
    assert told_twice(lines, far)["count"] == 0
