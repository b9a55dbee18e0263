"""Tone against the event, and line length against the prompt's bounds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pitchcast.commentary.prompt import LINE_CHARS, MAX_TEXT_CHARS
from pitchcast.quality.fit import event_class, fitting_tones, length_figures, tone_fit
from pitchcast.schemas.records import Action
from tests.support.commentary_batches import korean_batch

BASE = korean_batch().actions[0]


def act(type_name: str, result: str | None = None, x: float = 60.0) -> Action:
    return replace(BASE, type_name=type_name, result_name=result, start_x=x, start_y=34.0)


@pytest.mark.parametrize(
    ("action", "cls"),
    [
        (act("Goal"), "goal"), (act("Shot", "Goal"), "goal"), (act("Own Goal"), "own_goal"),
        (act("Foul", "Yellow_Card"), "card"), (act("Foul"), "foul"), (act("Error"), "error"),
        (act("Shot", "On Target"), "big_chance"), (act("Shot", "Off Target", x=95), "big_chance"),
        (act("Shot", "Off Target", x=70), "failed_shot"), (act("Goal Post"), "big_chance"),
        (act("Pass", "Successful"), "other"),
    ],
)  # fmt: skip
def test_event_classes(action: Action, cls: str) -> None:
    """Goals, cards, fouls, errors, big chances and failed shots are told apart."""
    assert event_class(action) == cls


def test_fitting_tones_per_persona() -> None:
    """A goal is excited in every voice; ANALYST may be analytical except on a goal."""
    assert fitting_tones(act("Goal"), "ANALYST") == {"excited"}
    assert "analytical" in (fitting_tones(act("Foul", "Yellow_Card"), "ANALYST") or set())
    assert "analytical" not in (fitting_tones(act("Foul", "Yellow_Card"), "CASTER") or set())
    assert "disappointed" in (fitting_tones(act("Shot", "Off Target", x=95), "CASTER") or set())
    assert fitting_tones(act("Pass", "Successful"), "CASTER") is None


def test_misfits_are_counted_with_examples() -> None:
    """A calm goal and a playful card are misfits; a calm pass is not judged."""
    actions = [act("Goal"), act("Foul", "Direct_Red_Card"), act("Pass")]
    figures = tone_fit(actions, ["calm", "playful", "calm"], ["a", "b", "c"], "CASTER")
    assert figures.judged == 2
    assert [(m.event, m.tone) for m in figures.misfits] == [("goal", "calm"), ("card", "playful")]
    assert figures.confusion["other"]["calm"] == 1


def test_lengths_against_the_bounds() -> None:
    """Lines are sorted into shorter, within, longer and over the cap."""
    low, high = LINE_CHARS
    texts = [
        "가" * (low - 1),
        "가" * low,
        "가" * high,
        "가" * (high + 1),
        "가" * (MAX_TEXT_CHARS + 1),
    ]
    figures = length_figures(texts)
    assert (figures.below, figures.within, figures.above, figures.over_cap) == (1, 2, 1, 1)
    assert figures.min == low - 1 and figures.max == MAX_TEXT_CHARS + 1
    assert figures.histogram[low] == 1
