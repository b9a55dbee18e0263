"""The live line bound of ``llm-faults`` is one number: the code's and RELIABILITY.md's."""

from __future__ import annotations

import re
from pathlib import Path

from pitchcast.chaos.input_faults import HOPS_S, LIVE_DEADLINE_S, live_line_bound

REPO = Path(__file__).resolve().parents[3]


def test_the_live_line_bound_is_two_deadlines_and_the_hops() -> None:
    assert live_line_bound(3.0) == 2 * 3.0 + HOPS_S == 8.0


def test_reliability_states_the_bound_the_scenario_checks() -> None:
    """RELIABILITY.md's bound, and the deadline it names, are the scenario's."""
    text = (REPO / "RELIABILITY.md").read_text(encoding="utf-8")
    found = re.search(r"The live line bound: (\d+(?:\.\d+)?) s at a (\d+(?:\.\d+)?) s live", text)
    assert found is not None
    bound, deadline = map(float, found.groups())
    assert deadline == LIVE_DEADLINE_S
    assert bound == live_line_bound(LIVE_DEADLINE_S)
    assert f"every line within **{bound:g} s of its action**" in text
