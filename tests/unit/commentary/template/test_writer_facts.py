"""Facts the template writer states about rare events of matches unlike the samples."""

from __future__ import annotations

from typing import Any

import pytest

from pitchcast.commentary.template import write_template_commentary
from pitchcast.schemas.records import Action, Batch, Score
from pitchcast.settings import PERSONAS, Persona


def _action(action_id: int, game_id: int, **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": game_id, "action_id": action_id, "period_id": 1,
        "time_seconds": 600.0 + action_id, "team_id": 1, "player_id": 7.0,
        "result_name": None, "start_x": 60.0, "start_y": 30.0, "end_x": 60.0, "end_y": 30.0,
        "dx": 0.0, "dy": 0.0, "type_name": "Pass", "player_name_ko": "김인성",
        "team_name_ko": "포항 스틸러스",
    }  # fmt: skip
    values.update(fields)
    return Action(**values)


def _batch(actions: list[Action], score: Score) -> Batch:
    return Batch(
        game_id=actions[0].game_id, batch_index=0, period_id=1,
        first_action_id=actions[0].action_id, last_action_id=actions[-1].action_id,
        close_reason="full", actions=tuple(actions), score=score, match_info=None,
    )  # fmt: skip


def _goal_lines(persona: Persona, shot_x: float) -> set[str]:
    """The Goal row's line over many games (each rotates the phrasings): a shot from
    ``shot_x`` that scores, then its Goal row where the ball crossed the line."""
    lines = set()
    for game_id in range(60):
        end = {"end_x": 105.0, "end_y": 33.0}
        shot = _action(
            0, game_id, type_name="Shot", result_name="Goal", start_x=shot_x, start_y=30.0,
            dx=105.0 - shot_x, dy=3.0, **end,
        )  # fmt: skip
        goal = _action(1, game_id, type_name="Goal", start_x=105.0, start_y=33.0, **end)
        items = write_template_commentary(_batch([shot, goal], Score(1, 0)), persona)
        lines.add(items[1].description)
    return lines


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_goal_is_placed_where_its_shot_was_taken(persona: Persona) -> None:
    """The Goal row sits where the ball crossed the line (data/PROVENANCE.md: at the
    shot's end point): a goal from 13 m out is not finished in the goal area."""
    lines = _goal_lines(persona, 92.0)
    assert not [t for t in lines if "골 에어리어" in t or "골문 바로 앞" in t or "골대 코앞" in t]
    if persona == "ANALYST":
        assert any("상대 박스" in t for t in lines)  # the shot's own zone is still told
    close = _goal_lines(persona, 101.0)  # from 4 m: the goal area is right
    if persona == "ANALYST":
        assert any("골 에어리어" in t for t in close)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("type_name", ["Foul", "Handball_Foul"])
def test_a_foul_in_the_fouler_s_own_box_is_told_as_a_penalty(
    persona: Persona, type_name: str
) -> None:
    """The rare 0-0 and comeback matches: '설영우의 핸드볼 반칙. 자기 박스 중앙에서 상대에게
    공을 내줍니다.' and '주심이 경기를 멈춥니다. 이순민의 반칙!', then the penalty kick:
    the fan learned of the penalty only when it was taken. A foul (or handball, no card)
    in the fouling team's own box says 페널티킥 or PK; one in midfield does not have to."""
    texts = set()
    for game_id in range(30):
        foul = _action(0, game_id, type_name=type_name, start_x=8.0, start_y=34.0, end_x=8.0,
                       end_y=34.0)  # fmt: skip
        texts.add(write_template_commentary(_batch([foul], Score(0, 0)), persona)[0].description)
    assert len(texts) >= 3
    untold = [t for t in texts if "페널티킥" not in t and "PK" not in t]
    assert untold == []
