"""Stated scores, minutes and counts against the match story."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pitchcast.checks.claims import LineFacts, check_claims, check_period
from pitchcast.schemas.records import Action
from pitchcast.story import Story, advance_story, new_story
from tests.support.commentary_batches import korean_match_info

INFO = korean_match_info()
HOME, AWAY = INFO.home_team_id or 0, INFO.away_team_id or 0
NAMES = {"home_names": ("울산 HD", "Ulsan HD"), "away_names": ("전북 현대", "Jeonbuk")}


def act(
    type_name: str,
    result: str | None = None,
    *,
    team: int = HOME,
    player: str = "손흥민",
    minute: float = 10.5,
    period: int = 1,
    x: float = 60.0,
    action_id: int = 1,
) -> Action:
    return Action(
        game_id=INFO.game_id, action_id=action_id, period_id=period,
        time_seconds=minute * 60, team_id=team, player_id=float(hash(player) % 97),
        result_name=result, start_x=x, start_y=34.0, end_x=x, end_y=34.0, dx=0.0, dy=0.0,
        type_name=type_name, player_name_ko=player,
        team_name_ko="울산 HD" if team == HOME else "전북 현대",
    )  # fmt: skip


def facts_after(history: list[Action], action: Action) -> LineFacts:
    story: Story = new_story(INFO)
    for earlier in history:
        story = advance_story(story, earlier)
    return LineFacts(action, story, advance_story(story, action), **NAMES)


def problems(text: str, facts: LineFacts) -> list[str]:
    return [e.kind for e in check_claims(text, facts).errors]


def test_the_score_after_a_goal_is_right_and_the_old_one_wrong() -> None:
    """At a Goal row the stated score must be the score after it, home first by name."""
    facts = facts_after([act("Goal", action_id=0)], act("Goal", action_id=1))
    assert problems("골! 스코어 울산 HD 2 : 0 전북 현대.", facts) == []
    assert problems("골! 스코어 울산 HD 1 : 0 전북 현대.", facts) == ["score"]
    assert problems("골! 스코어 전북 현대 2 : 0 울산 HD.", facts) == ["score"]


def test_an_unordered_score_may_come_either_way() -> None:
    """Without a team name next to it, 0-1 and 1-0 both match a 1-0 score."""
    facts = facts_after([act("Goal", action_id=0)], act("Pass", "Successful", action_id=1))
    assert problems("전북 현대가 0-1로 끌려갑니다.", facts) == []
    assert problems("울산 HD가 1대 0으로 앞섭니다.", facts) == []
    assert problems("2-0 리드입니다.", facts) == ["score"]


def test_a_scoring_shot_may_state_the_score_before_or_after() -> None:
    """The Shot row of a goal comes before its Goal row: either score is accepted."""
    facts = facts_after([], act("Shot", "Goal", x=95.0))
    assert problems("들어갑니다! 1-0!", facts) == []
    assert problems("들어갑니다! 0-0!", facts) == []
    assert problems("들어갑니다! 2-0!", facts) == ["score"]


def test_tactical_idioms_are_not_scores() -> None:
    """1대1 경합, 2대1 패스 are football words; minute ranges are not scores either."""
    facts = facts_after([], act("Duel", "Successful"))
    result = check_claims("1대1 경합에서 이깁니다. 2대1 패스! 10-15분 사이", facts)
    assert result.errors == [] and result.checked == 0


def test_formations_and_clock_times_are_not_scores() -> None:
    """4-4-2 and 4-2-3-1 are formations; 2:00 is a time of day."""
    result = check_claims(
        "4-4-2에서 4-2-3-1로 바꿉니다. 오후 2:00 킥오프", facts_after([], act("Pass"))
    )
    assert result.errors == [] and result.checked == 0


def test_an_ambiguous_n_dae_n_is_listed_not_judged() -> None:
    """3대2 with no score word and no idiom after it is unparsed."""
    result = check_claims("3대2 장면이 나옵니다", facts_after([], act("Pass", "Successful")))
    assert result.errors == [] and [u.stated for u in result.unparsed] == ["3대2"]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("전반 11분, 패스.", True), ("전반 12분, 패스.", True), ("전반 10분, 패스.", True),
        ("전반 13분, 패스.", False), ("후반 11분, 패스.", False), ("11분에 패스.", True),
        ("30분에 패스.", False),
    ],
)  # fmt: skip
def test_minutes_match_the_action_within_one(text: str, ok: bool) -> None:
    """Minute 11 (10:30 played) may be said as 10, 11 or 12, and only in the first half."""
    facts = facts_after([], act("Pass", "Successful", minute=10.5))
    assert (problems(text, facts) == []) is ok


def test_second_half_minutes_are_read_both_ways() -> None:
    """At 57' (11:30 into the second half) 후반 57분 and 후반 12분 are both right."""
    facts = facts_after([], act("Pass", "Successful", minute=11.5, period=2))
    assert problems("후반 57분, 패스.", facts) == []
    assert problems("후반 12분, 패스.", facts) == []
    assert problems("후반 70분, 패스.", facts) == ["minute"]
    assert problems("전반 12분, 패스.", facts) == ["minute"]


def test_a_second_half_minute_past_45_may_be_its_added_time() -> None:
    """Korean reports count the second half from its start, into added time: 후반 48분
    is the 93rd minute (45+3), as 후반 45+3분 is. At 92:30 both were read as 48 and
    failed a right line; 후반 93분 (the match minute) stays right."""
    facts = facts_after([], act("Pass", "Successful", minute=47.5, period=2))
    assert problems("후반 48분, 패스.", facts) == []
    assert problems("후반 45+3분, 패스.", facts) == []
    assert problems("후반 93분, 패스.", facts) == []
    assert problems("후반 52분, 패스.", facts) == ["minute"]


def test_stoppage_time_adds_up() -> None:
    """At 47:10 of the first half, 전반 45+3분 is the 48th minute."""
    facts = facts_after([], act("Pass", "Successful", minute=47.2))
    assert problems("전반 45+3분, 패스.", facts) == []
    assert problems("전반 45+9분, 패스.", facts) == ["minute"]


def test_durations_are_not_minutes() -> None:
    """12분 만에, 10분 동안 and 남은 5분 say how long, not when."""
    result = check_claims("12분 만에 골, 10분 동안 밀렸고 남은 5분", facts_after([], act("Pass")))
    assert result.errors == [] and result.unparsed == []


def test_goal_counts_at_a_goal() -> None:
    """A player's second goal: 두 번째 골 and 오늘 2골 are right, 세 번째 골 is wrong."""
    facts = facts_after([act("Goal", action_id=0)], act("Goal", action_id=1))
    assert problems("손흥민의 두 번째 골! 오늘 2골!", facts) == []
    assert problems("손흥민의 세 번째 골!", facts) == ["count"]


def test_a_count_at_another_kind_of_action_is_unparsed() -> None:
    """두 번째 골을 노립니다 at a pass is a wish, not a count: listed, not judged."""
    result = check_claims("두 번째 골을 노립니다", facts_after([], act("Pass", "Successful")))
    assert result.errors == [] and [u.kind for u in result.unparsed] == ["count"]


def test_a_second_yellow_is_a_second_card_by_definition() -> None:
    """두 번째 경고 and 경고 두 장 fit a Second_Yellow_Card even without the first in the log."""
    facts = facts_after([], act("Foul", "Second_Yellow_Card"))
    assert problems("손흥민, 두 번째 경고로 퇴장! 경고 두 장이야!", facts) == []
    assert problems("세 번째 경고!", facts) == ["count"]


def test_a_red_card_is_no_caution_in_the_count_of_cautions() -> None:
    """경고 is a yellow card: after a team's yellow and a direct red, its next yellow is
    its second caution (s20: the checker counted the red and called the writer's right
    '두 번째 경고' wrong in extra time)."""
    history = [
        act("Foul", "Yellow_Card", player="남궁민수", action_id=0),
        act("Foul", "Direct_Red_Card", player="홍철", minute=61, period=2, action_id=1),
    ]
    facts = facts_after(history, act("Foul", "Yellow_Card", player="기성용", minute=106, period=3))
    assert problems("기성용에게 경고. 울산 HD의 오늘 두 번째 경고입니다.", facts) == []
    assert problems("울산 HD의 오늘 세 번째 경고입니다.", facts) == ["count"]
    second = act("Foul", "Second_Yellow_Card", player="Kim", minute=116, period=4, action_id=3)
    facts = facts_after([*history, facts.action], second)
    assert problems("경고 누적 퇴장! 이 경기 세 번째 경고를 받죠.", facts) == []
    assert problems("경고 누적 퇴장! 이 경기 네 번째 경고를 받죠.", facts) == ["count"]


def test_goal_differences_are_checked_everywhere() -> None:
    """At 2-0 a 2골 차 is right and 격차를 1골로 is wrong."""
    history = [act("Goal", action_id=0), act("Goal", action_id=1)]
    facts = facts_after(history, act("Pass", "Successful", action_id=2))
    assert problems("울산 HD가 2골 차로 앞서 있습니다.", facts) == []
    assert problems("격차를 1골로 좁힙니다.", facts) == ["count"]


def test_shot_counts_at_a_shot() -> None:
    """The team's second shot may be called 두 번째 슈팅."""
    facts = facts_after([act("Shot", "Off Target", action_id=0)], act("Shot", "Blocked"))
    assert problems("두 번째 슈팅도 막힙니다.", facts) == []
    assert problems("다섯 번째 슈팅!", facts) == ["count"]


def test_numbers_inside_names_are_not_read() -> None:
    """Player 10's 10 is a name, not a minute or a score."""
    facts = facts_after([], act("Pass", "Successful", player="Player 10"))
    facts = replace(facts, other_names=("Player 10",))
    assert check_claims("Player 10 1-0", facts).checked == 1
    assert check_claims("Player 10분에", facts).checked == 0


def test_a_minute_may_recall_an_earlier_goal_or_card_but_not_an_invented_one() -> None:
    """'전반 2분에 이어' names the first goal's minute: true; a minute of nothing is not."""
    first = act("Goal", minute=1.5, action_id=0)
    booked = act("Foul", "Yellow_Card", team=AWAY, player="홍정호", minute=30.2, action_id=1)
    facts = facts_after([first, booked], act("Goal", minute=17.5, period=2, action_id=2))
    assert problems("후반 63분, 전반 2분에 이어 또 골입니다!", facts) == []
    assert problems("후반 63분, 전반 31분에 경고를 받은 선수 앞에서 골!", facts) == []
    assert problems("후반 63분, 전반 20분에 이어 또 골입니다!", facts) == ["minute"]


def test_a_score_told_team_by_team_is_checked() -> None:
    """The moment lines' way, ``<home> 2, <away> 1``: each number is the named team's."""
    facts = facts_after([act("Goal", action_id=0)], act("Pass", "Successful", action_id=1))
    assert problems("전반 종료, 울산 HD 1, 전북 현대 0입니다.", facts) == []
    assert problems("지금까지 전북 현대 0, 울산 HD 1입니다.", facts) == []
    assert problems("전반 종료, 울산 HD 0, 전북 현대 1입니다.", facts) == ["score"]
    assert problems("전반 종료, 울산 HD 2, 전북 현대 0입니다.", facts) == ["score"]


def test_a_moment_line_names_its_own_period() -> None:
    """check_period: 전반전 at the end of the second half is wrong; 전반적으로 is no period,
    and a minute (후반 12분) is the minute rule's."""
    second = facts_after([], act("Pass", "Successful", period=2, minute=47.0))
    assert [e.kind for e in check_period("후반전이 끝났습니다.", second).errors] == []
    assert [e.kind for e in check_period("후반 종료, 전반적으로 팽팽했죠.", second).errors] == []
    assert [e.stated for e in check_period("전반전이 끝났습니다.", second).errors] == ["전반"]
    extra = facts_after([], act("Pass", "Successful", period=3, minute=2.0))
    assert check_period("연장 전반 킥오프입니다.", extra).errors == []
    assert [e.stated for e in check_period("연장 후반 킥오프입니다.", extra).errors] == [
        "연장 후반"
    ]
    shoot_out = facts_after([], act("Penalty Kick", "Goal", period=5, minute=1.0))
    assert check_period("승부차기가 끝났습니다.", shoot_out).errors == []


def test_a_period_as_a_time_is_not_this_moment() -> None:
    """A backing FRIEND at half-time looks ahead (후반에 뒤집자): not judged."""
    first = facts_after([], act("Pass", "Successful", period=1, minute=46.0))
    check = check_period("하프타임, 1대 2라니. 후반에 뒤집자!", first)
    assert check.errors == [] and [u.stated for u in check.unparsed] == ["후반"]


def test_a_side_is_short_handed_only_while_the_dismissals_differ() -> None:
    """수적 열세 after a red card is right at 10 v 11 and wrong at 10 v 10 (the other side
    had a player sent off already: a second yellow)."""
    red = act("Foul", "Direct_Red_Card", team=HOME, player="보야니치", minute=80.0, period=2)
    alone = facts_after([], red)
    assert (
        problems("보야니치의 파울, 다이렉트 퇴장입니다! 울산 HD는 수적 열세에 놓입니다!", alone)
        == []
    )
    second = act("Foul", "Second_Yellow_Card", team=AWAY, player="아길라르", minute=56.0, period=2)
    level = facts_after([replace(second, action_id=0)], red)
    text = "보야니치의 파울, 다이렉트 퇴장입니다! 울산 HD는 수적 열세에 놓입니다!"
    assert problems(text, level) == ["players"]
    assert problems("울산 HD도 한 명이 빠집니다.", level) == []


def test_a_foul_in_its_own_box_gives_a_penalty_not_a_free_kick() -> None:
    """A foul or a handball in the offender's own penalty area: 프리킥 is wrong there."""
    in_box = facts_after([], act("Foul", x=12.0))
    text = "자기 박스 중앙에서 이순민이 파울로 흐름을 끊습니다. 상대에게 프리킥이 주어지죠."
    assert problems(text, in_box) == ["restart"]
    assert problems("자기 박스 중앙에서 이순민의 파울이 나옵니다.", in_box) == []
    hand = facts_after([], act("Handball_Foul", x=4.0))
    assert problems("설영우의 핸드볼 반칙. 상대에게 프리킥을 내줍니다.", hand) == ["restart"]
    outside = facts_after([], act("Foul", x=30.0))
    assert problems(text, outside) == []
