"""failures(): why `pitchcast eval` exits 1, for the told measures (issue 16, item 7)."""

from __future__ import annotations

from typing import Any

from pitchcast.quality.report import failures


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
