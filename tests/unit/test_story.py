"""The match story: folded from the log, deterministic, serialisable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from pitchcast.density_rules import TAIL
from pitchcast.schemas.contract import validator_for
from pitchcast.schemas.records import Action, MatchInfo, Score
from pitchcast.story import (
    MOMENTUM_MINUTES,
    advance_story,
    match_minute,
    momentum,
    new_story,
    story_from_dict,
    story_with_match_info,
    told_before,
)
from pitchcast.streams.match_csv import read_actions

DATA = Path(__file__).resolve().parents[2] / "data"
HOME, AWAY = 101, 202
INFO = MatchInfo(game_id=7, home_team_id=HOME, away_team_id=AWAY)


def _action(n: int, type_name: str, *, team: int = HOME, player: float = 9, **kw: object) -> Action:
    base = dict(
        game_id=7, action_id=n, period_id=1, time_seconds=60.0 * n, team_id=team,
        player_id=player, result_name=None, start_x=50.0, start_y=30.0, end_x=60.0,
        end_y=30.0, dx=10.0, dy=0.0, type_name=type_name, player_name_ko=f"선수{int(player)}",
        team_name_ko="홈팀" if team == HOME else "원정팀",
    )  # fmt: skip
    base.update(kw)
    return Action(**base)  # type: ignore[arg-type]


def _fold(*actions: Action) -> object:
    story = new_story(INFO)
    for action in actions:
        story = advance_story(story, action)
    return story


def test_each_team_is_named_by_its_first_named_action() -> None:
    """The story keeps the name each team's actions give it (the moment lines name the
    teams by it when no match info does); an unnamed first action leaves it to the next."""
    story = new_story(None)
    for action in (
        _action(0, "Pass", team=AWAY, team_name_ko=None),
        _action(1, "Pass", team=AWAY, team_name_ko="전북 현대"),
        _action(2, "Pass", team=HOME, team_name_ko="울산 HD"),
        _action(3, "Pass", team=AWAY, team_name_ko="다른 이름"),
    ):
        story = advance_story(story, action)
    assert [(t.team_id, t.name) for t in story.teams] == [(AWAY, "전북 현대"), (HOME, "울산 HD")]
    assert story_from_dict(orjson.loads(orjson.dumps(story))) == story
    validator_for("story").validate(orjson.loads(orjson.dumps(story)))


def test_match_minute_counts_the_minute_being_played() -> None:
    """Minute 1 is the first minute of the first half; the second half starts at 46."""
    assert match_minute(1, 0.0) == 1
    assert match_minute(1, 59.9) == 1
    assert match_minute(1, 60.0) == 2
    assert match_minute(2, 0.0) == 46
    assert match_minute(3, 30.0) == 91
    assert match_minute(1, float("nan")) == 1


def test_goals_and_own_goals_score_for_the_right_side() -> None:
    """A Goal scores for the acting team, an Own Goal for the other one, with scorer and minute."""
    story = _fold(
        _action(1, "Goal", player=9),
        _action(2, "Own Goal", team=HOME, player=4),
        _action(3, "Goal", team=AWAY, player=11),
    )
    assert story.score == Score(1, 2)
    first, own, third = story.goals
    assert (first.team_id, first.player, first.minute, first.score) == (
        HOME,
        "선수9",
        2,
        Score(1, 0),
    )
    assert own.own_goal and own.team_id == AWAY and own.score == Score(1, 1)
    assert third.team_id == AWAY and third.score == Score(1, 2)
    assert story.player("id:9:101").goals == 1
    assert story.player("id:4:101") is None  # an own goal is not the player's goal


def test_match_info_arriving_after_goals_gives_them_to_the_sides_it_names() -> None:
    """A feed that sends its match_start late (after actions without one): the first
    team seen counted as home, so an away goal made it 1-0 for the home side, and the
    match info arriving later kept that score (its lines said the home team led)."""
    story = new_story(None)
    for action in (
        _action(1, "Pass", team=AWAY),
        _action(2, "Goal", team=AWAY, player=11),
        _action(3, "Own Goal", team=HOME, player=4),
        _action(4, "Goal", team=HOME, player=9),
    ):
        story = advance_story(story, action)
    assert story.score == Score(2, 1)  # the away team seen first counts as home
    told = story_with_match_info(story, INFO)
    assert told.score == Score(1, 2)
    assert [g.score for g in told.goals] == [Score(0, 1), Score(0, 2), Score(1, 2)]
    assert [g.team_id for g in told.goals] == [AWAY, AWAY, HOME]
    assert story_with_match_info(told, INFO) == told


def test_shots_on_target_key_passes_cards_fouls_interceptions() -> None:
    """Per-team and per-player tallies move with the events that make them."""
    story = _fold(
        _action(1, "Pass", player=8, result_name="Successful"),
        _action(2, "Pass Received", player=9),
        _action(3, "Shot", player=9, result_name="On Target"),
        _action(4, "Interception", team=AWAY, player=5),
        _action(5, "Foul", team=AWAY, player=5, result_name="Yellow_Card"),
        _action(6, "Pass_Corner", player=7),
    )
    home, away = story.team(HOME), story.team(AWAY)
    assert (home.shots, home.on_target, home.corners) == (1, 1, 1)
    assert away.fouls == 1
    assert story.player("id:8:101").key_passes == 1
    assert story.player("id:9:101").shots == 1
    defender = story.player("id:5:202")
    assert (defender.interceptions, defender.fouls, defender.cards) == (1, 1, 1)
    assert [c.card for c in story.cards] == ["yellow"]
    assert story.player("id:7:101") is None  # a corner taker with nothing notable


def test_a_pass_is_no_key_pass_after_the_other_team_touched_the_ball() -> None:
    """The opponent's touch between pass and shot breaks the link."""
    story = _fold(
        _action(1, "Pass", player=8, result_name="Successful"),
        _action(2, "Duel", team=AWAY, player=5),
        _action(3, "Shot", player=9, result_name="Off Target"),
    )
    assert story.player("id:8:101") is None
    assert story.team(HOME).on_target == 0


def test_momentum_keeps_only_the_recent_minutes_of_the_period() -> None:
    """Buckets older than the window, or of another period, are dropped."""
    early = [_action(i, "Pass", start_x=80.0, time_seconds=0.0) for i in range(3)]
    late = _action(10, "Pass", team=AWAY, start_x=20.0, time_seconds=60.0 * (MOMENTUM_MINUTES + 2))
    story = _fold(*early, late)
    by_team = {m.team_id: m for m in momentum(story)}
    assert by_team[HOME].actions == 0
    assert by_team[AWAY].actions == 1 and by_team[AWAY].final_third_share == 0.0
    second_half = advance_story(story, replace(late, period_id=2, action_id=11))
    assert {(b.period_id, b.team_id) for b in second_half.recent} == {(2, AWAY)}


def test_occurrences_count_earlier_actions_of_the_same_kind() -> None:
    """The template's rotation index: earlier actions with the same (type, result)."""
    story = _fold(_action(1, "Pass", result_name="Successful"), _action(2, "Pass"))
    probe = _action(3, "Pass", result_name="Successful")
    assert story.occurrences(probe) == 1
    assert story.occurrences(_action(4, "Carry")) == 0
    assert story.actions == 2


def test_the_story_keeps_the_last_actions_and_counts_the_shown_ones() -> None:
    """Story.tail: the last TAIL actions with how story density told them; Story.told:
    the shown ones per rotation key (a pass's reception is silent: not counted)."""
    passes = []
    for n in range(1, 2 * TAIL, 2):
        passes += [
            _action(n, "Pass", result_name="Successful", time_seconds=float(n)),
            _action(n + 1, "Pass Received", player=10, time_seconds=n + 0.5),
        ]
    story = _fold(*passes)
    assert len(story.tail) == TAIL
    assert [a.action_id for a, _, _ in story.tail] == [a.action_id for a in passes[-TAIL:]]
    shown_ids = {a.action_id for a, shown, _ in story.tail if shown}
    for action, shown, told_with in story.tail:
        if action.type_name == "Pass Received":  # told with the pass's line
            assert not shown
            assert told_with is None or told_with < action.action_id
    assert shown_ids  # some passes of the build-up are told
    assert told_before(story, passes[1]) == 0  # receptions were never shown
    assert 0 < told_before(story, passes[0]) < TAIL  # a build-up is told every few passes


@pytest.mark.parametrize("name", ["events_metrica_1.csv", "events_metrica_3.csv"])
def test_whole_match_story_is_deterministic_and_round_trips(name: str) -> None:
    """Folding a real match twice gives the same story, and it survives JSON."""
    actions = [Action(**row) for row in read_actions(DATA / name)]

    def fold() -> object:
        story = new_story()
        for action in actions:
            story = advance_story(story, action)
        return story

    story = fold()
    assert story == fold()
    assert story.actions == len(actions)
    assert story_from_dict(orjson.loads(orjson.dumps(story))) == story
    validator_for("story").validate(orjson.loads(orjson.dumps(story)))
    assert len(orjson.dumps(story)) < 16_000  # it rides in every batch record


def test_a_penalty_shoot_out_changes_neither_the_score_nor_the_goals_nor_the_shots() -> None:
    """Kicks of a shoot-out (period 5) decide a tied cup match but are not goals or shots:
    a 1-1 match stays 1-1, the scorers keep their match goals, the teams their shots."""
    level = _fold(
        _action(1, "Goal", player=9),
        _action(2, "Goal", team=AWAY, player=11),
    )
    after = level
    for n, (team, player) in enumerate([(HOME, 9), (AWAY, 11), (HOME, 7)], start=3):
        kick = _action(n, "Penalty Kick", team=team, player=player, period_id=5,
                       time_seconds=30.0 * n, result_name="Goal")  # fmt: skip
        after = advance_story(after, kick)
        after = advance_story(after, replace(kick, action_id=n + 10, type_name="Goal",
                                             result_name=None))  # fmt: skip
    assert after.score == Score(1, 1)
    assert after.goals == level.goals
    assert after.player("id:9:101").goals == 1
    assert [t.shots for t in after.teams] == [t.shots for t in level.teams]


def test_folding_the_same_objects_again_returns_the_story_made_the_first_time() -> None:
    from pitchcast import story as story_module

    start = new_story(INFO)
    action = _action(1, "Pass")
    after = advance_story(start, action)
    assert advance_story(start, action) is after
    # Equal but other objects: folded anew, to an equal story (the memo is by identity).
    twin = replace(action)
    again = advance_story(start, twin)
    assert again is not after and again == after
    # Bounded: filling it drops the oldest half, and a dropped fold is made anew.
    for n in range(story_module._FOLDS_MAX):
        advance_story(start, _action(n + 2, "Pass"))
    assert len(story_module._FOLDS) <= story_module._FOLDS_MAX
    remade = advance_story(start, action)
    assert remade is not after and remade == after


def test_kind_counts_stay_sorted_by_key_and_count_every_fold() -> None:
    from collections import Counter

    from pitchcast.story import _with_kind

    keys = ["Pass|Complete", "Aerial|Won", "Shot|On Target", "Pass|Complete", "Zz", "A", "Zz"]
    kinds: tuple[tuple[str, int], ...] = ()
    for key in keys * 3:
        kinds = _with_kind(kinds, key)
    assert kinds == tuple(sorted(Counter(keys * 3).items()))
