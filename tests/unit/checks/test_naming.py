"""Whether the line of a goal, an own goal or a card names it (checks/naming.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pitchcast.checks.naming import moment_kind, naming_words, unnamed_kind
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.schemas.records import Action

_KINDS = {
    "goal": "goal", "goal_plain": "goal", "shot_goal": "goal", "own_goal": "own_goal",
    "own_goal_plain": "own_goal", "yellow": "yellow", "second_yellow": "sending_off",
    "red": "sending_off", "penalty_goal": "goal", "foul_penalty": "penalty",
    "handball_penalty": "penalty",
}  # fmt: skip


def _action(type_name: str, result: str | None = None, **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": 1, "action_id": 1, "period_id": 1, "time_seconds": 60.0, "team_id": 1,
        "player_id": 7.0, "result_name": result, "start_x": 50.0, "start_y": 34.0,
        "end_x": 50.0, "end_y": 34.0, "dx": 0.0, "dy": 0.0, "type_name": type_name,
        "player_name_ko": "골키", "team_name_ko": "포항 스틸러스",
    }  # fmt: skip
    return Action(**(values | fields))


@pytest.mark.parametrize(
    ("type_name", "result", "kind"),
    [
        ("Goal", None, "goal"), ("Penalty Kick", "Goal", "goal"), ("Own Goal", None, "own_goal"),
        ("Foul", "Yellow_Card", "yellow"), ("Handball_Foul", "Direct_Red_Card", "sending_off"),
        ("Foul", "Second_Yellow_Card", "sending_off"), ("Foul", None, None),
        ("Shot", "On Target", None), ("Pass", "Successful", None),
    ],
)  # fmt: skip
def test_the_key_moments_whose_line_must_name_them(
    type_name: str, result: str | None, kind: str | None
) -> None:
    assert moment_kind(_action(type_name, result)) == kind


def test_a_line_that_does_not_say_what_happened_is_found() -> None:
    """The fake LLM's lines at a penalty goal and a red card (rare_matches.COMEBACK)."""
    goal = _action("Penalty Kick", "Goal", player_name_ko="제카")
    assert unnamed_kind("제카가 공을 다룹니다, 흐름이 이어집니다.", goal) == "goal"
    assert unnamed_kind("제카의 페널티킥, 골망을 흔듭니다!", goal) is None
    red = _action("Foul", "Direct_Red_Card", player_name_ko="홍정운 10")
    assert unnamed_kind("홍정운 10이 반칙을 범합니다, 공을 지켜 내네요.", red) == "sending_off"
    assert unnamed_kind("홍정운 10, 다이렉트 퇴장입니다!", red) is None
    # How an own goal went in is not in the data: "off his body" does not name it.
    own = _action("Own Goal", None, player_name_ko="이순민")
    assert unnamed_kind("이순민 몸 맞고 들어갔어…", own) == "own_goal"
    assert unnamed_kind("이순민의 자책골!", own) is None
    assert unnamed_kind("공이 이순민에게서 자기 골문으로 들어갑니다.", own) is None


def test_a_name_is_no_word_of_the_moment() -> None:
    """골키 (a player) holds 골: masked, the line names no goal."""
    goal = _action("Goal")
    assert unnamed_kind("골키가 공을 다룹니다.", goal, names=["골키"]) == "goal"


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_every_template_line_of_a_key_moment_names_it(kind: str) -> None:
    """Each phrasing of the goal, own-goal and card banks (a backing FRIEND's too)."""
    book = phrasebook()
    words = naming_words()[_KINDS[kind]]
    banks = [*book.kinds[kind].values(), *book.backing.get(kind, {}).values()]
    texts = [phrase.text for bank in banks for slot in bank for phrase in slot]
    assert texts
    assert [t for t in texts if not words.search(t)] == []


def test_a_foul_in_the_fouler_s_own_box_must_say_penalty() -> None:
    """A foul or handball without a card in the fouling team's own penalty area gives
    a penalty kick: a model's `박스 안에서 반칙을 범합니다` there never told the fan
    (the template's lines say 페널티킥). Outside the box, or with a card (its own
    words), a plain foul line names it."""
    in_box = {"start_x": 8.0, "start_y": 30.0}
    foul = _action("Foul", None, player_name_ko="김민재", **in_box)
    assert unnamed_kind("김민재가 박스 안에서 반칙을 범합니다.", foul) == "penalty"
    assert unnamed_kind("김민재의 반칙, 페널티킥이 선언됩니다!", foul) is None
    assert unnamed_kind("김민재 파울, PK야!", foul) is None
    handball = _action("Handball_Foul", None, **in_box)
    assert unnamed_kind("핸드볼 반칙입니다.", handball) == "penalty"
    assert unnamed_kind("반칙을 범합니다.", _action("Foul", None)) is None  # midfield
    assert unnamed_kind("반칙을 범합니다.", _action("Foul", None, start_x=float("nan"))) is None
    carded = _action("Foul", "Yellow_Card", **in_box)
    assert unnamed_kind("반칙으로 경고를 받습니다.", carded) is None
    # moment_kind (eval's key events, the template's mood) is unchanged: goals and cards.
    assert moment_kind(foul) is None
