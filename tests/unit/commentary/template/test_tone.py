"""The tone of a line from its situation: zone, score and minute, the story (issue 16, item 3)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pitchcast.commentary.template.tone import read_situation, situation_tone
from pitchcast.schemas.records import Action, MatchInfo, Score
from pitchcast.story import Story, advance_story, new_story

HOME, AWAY = 1, 2
INFO = MatchInfo(game_id=5, home_team_id=HOME, away_team_id=AWAY)


def _action(type_name: str, result: str | None = "Successful", **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": 5, "action_id": 1, "period_id": 1, "time_seconds": 600.0,
        "team_id": HOME, "player_id": 7.0, "result_name": result,
        "start_x": 40.0, "start_y": 34.0, "end_x": 45.0, "end_y": 34.0, "dx": 5.0, "dy": 0.0,
        "type_name": type_name, "player_name_ko": "김민재", "team_name_ko": "울산",
    }  # fmt: skip
    values.update(fields)
    return Action(**values)


def _story(home: int = 0, away: int = 0) -> Story:
    return replace(new_story(INFO), score=Score(home=home, away=away))


def _pressing_story() -> Story:
    """Five minutes of the home team in the final third, the away team in its own half."""
    story = new_story(INFO)
    n = 0
    for minute in range(5):
        for i in range(8):
            team, x = (HOME, 85.0) if i < 6 else (AWAY, 30.0)
            action = _action("Pass", team_id=team, action_id=n, start_x=x,
                             time_seconds=60.0 * minute + i)  # fmt: skip
            story = advance_story(story, action)
            n += 1
    return story


def test_routine_play_in_midfield_is_the_voice_s_own_tone() -> None:
    """A cut in a team's own half is no longer "tense", a lost ball no longer "disappointed"."""
    cut = _action("Interception", start_x=40.0)
    lost = _action("Pass", "Unsuccessful", start_x=50.0, end_x=60.0)
    for action, base in ((cut, "tense"), (lost, "disappointed")):
        assert situation_tone("CASTER", base, action, _story()) == "calm"
        assert situation_tone("FRIEND", base, action, _story()) == "playful"
        assert situation_tone("ANALYST", "analytical", action, _story()) == "analytical"


def test_the_box_raises_the_tone() -> None:
    """A reception in the six-yard box is not calm; defending in one's own box is tense."""
    received = _action("Pass Received", None, start_x=101.0, end_x=101.0)
    assert read_situation(received, _story()).mood == "danger"
    assert situation_tone("CASTER", "calm", received, _story()) == "tense"
    assert situation_tone("FRIEND", "playful", received, _story()) == "excited"
    clearance = _action("Clearance", start_x=8.0, end_x=40.0)
    assert situation_tone("CASTER", "calm", clearance, _story()) == "tense"
    # A pass that ends in the box counts where it arrived.
    into_box = _action("Pass", start_x=75.0, end_x=95.0)
    assert read_situation(into_box, _story()).depth == "box"


def test_a_lost_ball_is_disappointing_only_where_it_cost_a_chance() -> None:
    in_box = _action("Pass", "Unsuccessful", start_x=92.0, end_x=100.0)
    assert situation_tone("CASTER", "disappointed", in_box, _story()) == "disappointed"
    midfield = _action("Duel", "Unsuccessful", start_x=55.0)
    assert situation_tone("CASTER", "disappointed", midfield, _story()) == "calm"


def test_own_goal_is_a_goal() -> None:
    """An own goal is a goal for the other side: excited in every voice."""
    own_goal = _action("Own Goal", None, start_x=10.0)
    for persona, base in (
        ("CASTER", "disappointed"),
        ("ANALYST", "analytical"),
        ("FRIEND", "tense"),
    ):
        assert situation_tone(persona, base, own_goal, _story()) == "excited"
    shot_goal = _action("Shot", "Goal", start_x=95.0)
    assert situation_tone("ANALYST", "analytical", shot_goal, _story()) == "excited"


def test_a_chance_after_pressure_or_in_a_tight_finish_is_big() -> None:
    """The same shot on target from outside the box: tense at 0-0 in the 20th minute,
    excited after the team's pressure, excited at 1-1 in the 85th, tense at 3-0 there."""
    shot = _action("Shot", "On Target", start_x=80.0, time_seconds=1200.0)
    assert situation_tone("CASTER", "tense", shot, _story()) == "tense"
    pressed = replace(shot, action_id=999, time_seconds=290.0)
    assert read_situation(pressed, _pressing_story()).pressing
    assert situation_tone("CASTER", "tense", pressed, _pressing_story()) == "excited"
    late = replace(shot, period_id=2, time_seconds=40 * 60.0)
    assert read_situation(late, _story(1, 1)).tight
    assert situation_tone("CASTER", "tense", late, _story(1, 1)) == "excited"
    assert situation_tone("ANALYST", "analytical", late, _story(1, 1)) == "tense"
    assert not read_situation(late, _story(3, 0)).tight
    assert situation_tone("CASTER", "tense", late, _story(3, 0)) == "tense"
    # The pressing team's routine pass in the final third builds; the other team's does not.
    build = replace(shot, type_name="Pass", result_name="Successful", time_seconds=290.0)
    assert read_situation(build, _pressing_story()).mood == "build"
    other = replace(build, team_id=AWAY)
    assert read_situation(other, _pressing_story()).mood == "routine"


@pytest.mark.parametrize(
    ("action", "mood"),
    [
        (_action("Foul", "Yellow_Card"), "card"),
        (_action("Foul", None), "foul"),
        (_action("Shot", "Off Target", start_x=75.0), "miss"),
        (_action("Shot", "Blocked", start_x=95.0), "miss"),
        (_action("Shot", None, start_x=95.0), "chance"),
        (_action("Goal Post", None, start_x=80.0), "chance"),
        (_action("Error", None), "lost"),
    ],
)
def test_moods(action: Action, mood: str) -> None:
    assert read_situation(action, _story()).mood == mood


def test_fouls_keep_their_tone_and_one_near_its_own_goal_is_tense() -> None:
    midfield = _action("Foul", None, start_x=50.0)
    assert situation_tone("FRIEND", "disappointed", midfield, _story()) == "disappointed"
    near_goal = _action("Foul", None, start_x=20.0)
    assert situation_tone("FRIEND", "disappointed", near_goal, _story()) == "tense"
    assert situation_tone("ANALYST", "analytical", near_goal, _story()) == "analytical"


def test_a_backing_friend_s_tone_follows_the_backed_side() -> None:
    """FRIEND backing the home team: its goal excites, the away team's goal disappoints,
    an own goal by a home player disappoints; a neutral FRIEND is excited at every goal.
    CASTER and ANALYST ignore the backed team."""
    goal = _action("Goal", None, start_x=100.0, end_x=100.0)
    against = replace(goal, team_id=AWAY)
    own_goal = _action("Own Goal", None, start_x=5.0, end_x=5.0)
    assert situation_tone("FRIEND", "excited", goal, _story(), backed=HOME) == "excited"
    assert situation_tone("FRIEND", "excited", against, _story(), backed=HOME) == "disappointed"
    assert situation_tone("FRIEND", "excited", own_goal, _story(), backed=HOME) == "disappointed"
    assert situation_tone("FRIEND", "excited", own_goal, _story(), backed=AWAY) == "excited"
    assert situation_tone("FRIEND", "excited", against, _story()) == "excited"
    for persona in ("CASTER", "ANALYST"):
        assert situation_tone(persona, "excited", against, _story(), backed=HOME) == "excited"
    card = _action("Foul", "Yellow_Card", start_x=50.0)
    assert situation_tone("FRIEND", "tense", card, _story(), backed=HOME) == "disappointed"
    assert situation_tone("FRIEND", "tense", card, _story(), backed=AWAY) == "playful"
