"""Which side FRIEND backs (PITCHCAST_FRIEND_SUPPORTS) and the tone of a fan of it."""

from __future__ import annotations

import pytest

from pitchcast.commentary.template.backing import (
    backed_side,
    backed_team_id,
    backed_tone,
    side_of,
)
from pitchcast.schemas.records import Action, MatchInfo

INFO = MatchInfo(
    game_id=9,
    home_team_id=4220,
    away_team_id=4221,
    home_team_name="FC Seoul",
    home_team_name_ko="FC서울",
    away_team_name="Ulsan HD FC",
    away_team_name_ko="울산 HD FC",
)


@pytest.mark.parametrize(
    ("supports", "side"),
    [
        ("4220", "home"),
        ("FC서울", "home"),
        ("fc 서울", "home"),  # no case, no spaces
        ("FC Seoul", "home"),
        ("4221", "away"),
        ("울산HDFC", "away"),
        ("ulsan hd fc", "away"),
    ],
)
def test_a_team_is_named_by_its_id_or_either_name(supports: str, side: str) -> None:
    assert backed_side(supports, INFO) == side
    assert backed_team_id(supports, INFO) == (4220 if side == "home" else 4221)


@pytest.mark.parametrize("supports", ["", "전북 현대", "4222", "서울"])
def test_a_team_not_in_the_match_means_neutral(supports: str) -> None:
    """Another team (or a part of a name) backs nobody in this match; nothing fails."""
    assert backed_side(supports, INFO) is None
    assert backed_team_id(supports, INFO) is None


def test_no_match_info_or_two_teams_of_one_name_mean_neutral() -> None:
    assert backed_side("FC서울", None) is None
    twins = MatchInfo(game_id=9, home_team_id=1, away_team_id=2, home_team_name_ko="A",
                      away_team_name_ko="A")  # fmt: skip
    assert backed_side("A", twins) is None
    assert backed_side("2", twins) == "away"  # the id still tells them apart
    one_id = MatchInfo(game_id=9, home_team_id=1, away_team_id=1)
    assert backed_side("1", one_id) is None


def test_side_of_an_action() -> None:
    action = Action(game_id=9, action_id=1, period_id=1, time_seconds=1.0, team_id=4221,
                    player_id=7.0, result_name=None, start_x=50.0, start_y=34.0, end_x=50.0,
                    end_y=34.0, dx=0.0, dy=0.0, type_name="Pass", player_name_ko="A",
                    team_name_ko="B")  # fmt: skip
    assert side_of(action, 4221) == "ours"
    assert side_of(action, 4220) == "theirs"


def test_a_goal_delights_its_side_and_disappoints_the_other() -> None:
    assert backed_tone("ours", "goal", "box") == "excited"
    assert backed_tone("theirs", "goal", "box") == "disappointed"
    # An own goal is a goal for the other side.
    assert backed_tone("ours", "goal", "own_box", own_goal=True) == "disappointed"
    assert backed_tone("theirs", "goal", "own_box", own_goal=True) == "excited"


def test_cards_misses_and_chances_follow_the_backed_side() -> None:
    assert backed_tone("ours", "card", "opp_half") == "disappointed"
    assert backed_tone("theirs", "card", "opp_half") == "playful"
    assert backed_tone("ours", "miss", "final_third") == "disappointed"
    assert backed_tone("theirs", "miss", "final_third") == "playful"
    assert backed_tone("ours", "chance", "box") == "excited"
    assert backed_tone("theirs", "chance", "box") == "tense"


def test_play_in_a_box_is_good_news_for_the_attacking_side() -> None:
    """Danger in the opponent's box excites; defending in one's own box is a threat."""
    assert backed_tone("ours", "danger", "box") == "excited"
    assert backed_tone("theirs", "danger", "box") == "tense"
    assert backed_tone("ours", "danger", "own_box") == "tense"
    assert backed_tone("theirs", "danger", "own_box") == "excited"
    # A foul near the fouling side's own goal: a set piece near that goal.
    assert backed_tone("ours", "foul", "own_third") == "tense"
    assert backed_tone("theirs", "foul", "own_third") == "excited"
    assert backed_tone("ours", "routine", "own_half") == "playful"
