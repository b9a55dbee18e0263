"""The pitch geometry shared by the density decision, the story and the template."""

from __future__ import annotations

import math

import pytest

from pitchcast.commentary.template.actions import classify
from pitchcast.pitch import depth, geometry, rotation_key
from pitchcast.schemas.records import Action
from tests.support.commentary_batches import sample_actions


def _action(type_name: str, result: str | None, start: tuple[float, float],
            end: tuple[float, float]) -> Action:  # fmt: skip
    (x, y), (ex, ey) = start, end
    return Action(
        game_id=1, action_id=1, period_id=1, time_seconds=1.0, team_id=1, player_id=7.0,
        result_name=result, start_x=x, start_y=y, end_x=ex, end_y=ey, dx=ex - x, dy=ey - y,
        type_name=type_name, player_name_ko="김민재", team_name_ko="서울",
    )  # fmt: skip


def test_depth_reads_the_pitch_for_the_acting_team() -> None:
    assert depth(100.0, 34.0) == "six"
    assert depth(90.0, 20.0) == "box"
    assert depth(75.0, 5.0) == "final_third"
    assert depth(10.0, 34.0) == "own_box"
    assert depth(40.0, 34.0) == "own_half"


@pytest.mark.parametrize(
    ("type_name", "result", "start", "end", "key"),
    [
        ("Pass", "Successful", (40.0, 34.0), (50.0, 34.0), "Pass|Successful|pass_forward"),
        ("Pass", "Successful", (40.0, 34.0), (40.0, 50.0), "Pass|Successful|pass_side"),
        ("Pass", "Successful", (80.0, 34.0), (95.0, 34.0), "Pass|Successful|pass_box"),
        ("Pass", "Unsuccessful", (40.0, 34.0), (50.0, 34.0), "Pass|Unsuccessful"),
        ("Carry", None, (40.0, 34.0), (50.0, 34.0), "Carry||carry_forward"),
        ("Carry", None, (40.0, 34.0), (42.0, 34.0), "Carry||carry"),
        ("Duel", "Successful", (40.0, 34.0), (40.0, 34.0), "Duel|Successful"),
    ],
)
def test_rotation_key_splits_a_type_as_the_template_does(
    type_name: str, result: str, start: tuple[float, float], end: tuple[float, float], key: str
) -> None:
    assert rotation_key(_action(type_name, result, start, end)) == key


def test_rotation_key_agrees_with_the_template_kind_on_a_whole_match() -> None:
    """Where the key carries a line kind it is the kind the template writes the line in."""
    for action in sample_actions("events_metrica_3.csv"):
        key = rotation_key(action)
        if key.count("|") == 2:
            kind, _ = classify(action.type_name, action.result_name, geometry(action))
            assert key.rsplit("|", 1)[1] == kind


def test_geometry_is_total_on_glitched_coordinates() -> None:
    shape = geometry(_action("Pass", None, (math.nan, math.inf), (-5.0, 200.0)))
    assert (shape.x, shape.y, shape.end_x, shape.end_y) == (52.5, 34.0, 0.0, 68.0)
    assert rotation_key(_action("Pass", None, (math.nan, 1.0), (math.inf, 2.0))).startswith(
        "Pass||"
    )
