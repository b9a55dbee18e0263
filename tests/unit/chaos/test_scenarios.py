"""The documents name the fault suite as it is: every scenario in RELIABILITY.md with its
command, and the CHANGELOG's count of scenarios equal to the suite's."""

from __future__ import annotations

import re
from pathlib import Path

from pitchcast.chaos.cluster_faults import IN_CLUSTER_RUN
from pitchcast.chaos.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[3]
# `cluster` is not a scenario of its own: the three cluster scenarios in one match (CI).
NAMED = set(SCENARIOS) - {"cluster"}


def test_reliability_names_every_scenario_in_a_table_row() -> None:
    """Each scenario has a row of its own (its injection, what pitchcast does, its
    premise), and the command that runs any of them by name."""
    text = (REPO / "RELIABILITY.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z-]+)`", text, flags=re.MULTILINE))
    assert NAMED | {"cluster"} <= rows, sorted(NAMED - rows)
    assert "./scripts/chaos NAME --full" in text and "./scripts/test tests/faults -k NAME" in text


def test_the_changelog_counts_the_scenarios_there_are() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    found = re.search(
        r"\((\d+) scenarios against the real broker and Redis: (\d+) on one broker, (\d+) on a"
        r"\s+three-node\s+cluster",
        text,
    )
    assert found is not None
    total, single, cluster = map(int, found.groups())
    assert (total, single, cluster) == (
        len(NAMED),
        len(NAMED) - len(IN_CLUSTER_RUN),
        len(IN_CLUSTER_RUN),
    )
