"""failures(): why `pitchcast eval` exits 1, for the told measures (issue 16, item 7); the
moment lines (kick-off, half-time...) judged like the others."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.quality.report import MOMENT_REPEAT_LINES, evaluate, failures
from pitchcast.quality.run import MatchRun, play_match, write_match
from pitchcast.settings import Persona
from pitchcast.streams.match_csv import read_match_info
from tests.support.rare_matches import CUP, write_rare_match


def _figures(*, told: int, twice: int, density: str | None) -> dict[str, Any]:
    persona = {
        "grounding": {"errors": 0},
        "particles": {"errors": 0},
        "wording": {"unsupported": 0, "mistakes": 0},
        "register": {"slips": 0},
        "repetition": {"top_share": 0.01, "shortest_gap_lines": 40},
        "key_events": {"events": 5, "told": told},
        "told_twice": {"count": twice},
    }
    figures: dict[str, Any] = {"personas": {"CASTER": persona}}
    if density is not None:
        figures["density"] = density
    return figures


def test_a_key_event_not_told_fails_at_any_density() -> None:
    assert failures(_figures(told=5, twice=0, density="story")) == []
    assert failures(_figures(told=4, twice=0, density="every")) == ["CASTER: 1 key events not told"]


def test_a_moment_told_twice_fails_only_below_every_density() -> None:
    """At `every` each side of a duel has its line by definition; `story` tells it once."""
    assert failures(_figures(told=5, twice=3, density="every")) == []
    assert failures(_figures(told=5, twice=3, density=None)) == []  # before densities
    assert failures(_figures(told=5, twice=3, density="story")) == ["CASTER: 3 moments told twice"]


def _cup_run(
    tmp_path: Path, personas: tuple[Persona, ...] = ("CASTER",), density: str = "story"
) -> MatchRun:
    path = write_rare_match(tmp_path / "cup", CUP)
    info = read_match_info(path.parent / "match_info.csv")[CUP.game_id]
    played = play_match(path, info)
    backend = TemplateBackend(density)  # type: ignore[arg-type]
    service = CommentaryService(backend, backend, RedisStore(enabled=False))
    return asyncio.run(
        write_match(played, service, list(personas), mode="live", density=density)  # type: ignore[arg-type]
    )


def _plant(run: MatchRun, kind: str, text: str) -> MatchRun:
    """``run`` with the first CASTER moment line of ``kind`` saying ``text``."""
    moments = list(run.moments["CASTER"])
    at = next(i for i, m in enumerate(moments) if m.moment == kind)
    moments[at] = dataclasses.replace(moments[at], text=text)
    return dataclasses.replace(run, moments={"CASTER": moments})


# (moment, planted line, the figure that must count it)
_FAULTS = [
    ("kick_off", "광주FC과 강원 FC의 경기, 킥오프입니다!", ("particles", "errors")),
    ("half_time", "전반 종료, 광주FC 1, 강원 FC 0입니다.", ("grounding", "claim_errors")),
    ("second_half_end", "후반 종료, 강원 FC 2, 광주FC 1입니다.", ("grounding", "claim_errors")),
    ("half_time", "후반전이 끝났습니다. 광주FC 0, 강원 FC 0입니다.", ("grounding", "claim_errors")),
    ("extra_first_half", "연장 후반 킥오프입니다.", ("grounding", "claim_errors")),
    ("kick_off", "함성 속에 경기가 시작됩니다.", ("wording", "unsupported")),
    ("full_time", "경기 끝났어!", ("register", "slips")),
    ("kick_off", "킥오프, 허율이 공을 잡습니다.", ("grounding", "ungrounded_names")),
]


def test_the_moment_lines_of_a_match_are_judged_right(tmp_path: Path) -> None:
    """The template's own moment lines of a cup match (extra time, a shoot-out) pass
    every check, and eval lists them."""
    run = _cup_run(tmp_path)
    fig = evaluate(run)["personas"]["CASTER"]
    assert len(fig["moments"]) == 10
    assert fig["grounding"]["errors"] == 0, fig["grounding"]
    assert fig["particles"]["errors"] == 0 and fig["wording"]["unsupported"] == 0
    assert fig["register"]["slips"] == 0, fig["register"]
    assert fig["grounding"]["claims_checked"] >= 8  # each period end's score is read


@pytest.mark.parametrize(("kind", "text", "counted"), _FAULTS)
def test_a_fault_in_a_moment_line_fails_eval(
    tmp_path: Path, kind: str, text: str, counted: tuple[str, str]
) -> None:
    """A wrong particle, score or period, a claim the data cannot support, a line out of
    register or a name not yet on the pitch: in a moment line as in any other."""
    run = _cup_run(tmp_path)
    if kind == "full_time":  # the cup ends on its shoot-out: plant in its end line
        kind = "shoot_out_end"
    figures = evaluate(_plant(run, kind, text))
    figures["density"] = "story"
    section, key = counted
    assert figures["personas"]["CASTER"][section][key] == 1, figures["personas"]["CASTER"][section]
    assert failures(figures), text


def test_a_goal_told_without_saying_so_fails_eval(tmp_path: Path) -> None:
    """A shown line of a goal that says nothing of it (the fake LLM's '허율이 공을
    다룹니다') is a key event told in name only: counted and a failure."""
    run = _cup_run(tmp_path)
    lines = list(run.lines["CASTER"])
    at = next(i for i, ln in enumerate(lines) if ln.action.type_name == "Goal")
    lines[at] = dataclasses.replace(lines[at], text="허율이 공을 다룹니다, 흐름이 이어집니다.")
    clean = evaluate(run)["personas"]["CASTER"]["key_events"]
    assert clean["unnamed"] == 0
    figures = evaluate(dataclasses.replace(run, lines={"CASTER": lines}))
    key = figures["personas"]["CASTER"]["key_events"]
    assert key["unnamed"] == 1 and key["examples_unnamed"][0]["kind"] == "goal"
    assert "CASTER: 1 goals or cards told without saying so" in failures(figures)


@pytest.mark.parametrize("density", ["story", "key"])
def test_no_moment_line_repeats_a_sentence_nearby(tmp_path: Path, density: str) -> None:
    """The cup's two extra-time ends, three lines apart at `key`: FRIEND said both as
    "연장 … 끝! 지금 광주FC 1, 강원 FC 1 스코어야." (eval listed both, passed)."""
    run = _cup_run(tmp_path, ("CASTER", "ANALYST", "FRIEND"), density)
    figures = evaluate(run)
    figures["density"] = density
    for persona, fig in figures["personas"].items():
        assert fig["moment_repeats"]["count"] == 0, (persona, fig["moment_repeats"])
    assert failures(figures) == []


def test_a_moment_line_that_repeats_a_nearby_sentence_fails_eval(tmp_path: Path) -> None:
    run = _cup_run(tmp_path)
    first = next(m for m in run.moments["CASTER"] if m.moment == "period_end")
    planted = _plant(run, "extra_second_half", first.text)  # a shape 1-2 lines later
    figures = evaluate(planted)
    figures["density"] = "story"
    repeats = figures["personas"]["CASTER"]["moment_repeats"]
    assert repeats["count"] == 1, repeats
    assert repeats["within_lines"] == MOMENT_REPEAT_LINES
    assert f"CASTER: 1 moment lines repeat a sentence within {MOMENT_REPEAT_LINES} lines" in (
        failures(figures)
    )
