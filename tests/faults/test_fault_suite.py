"""The fault suite at CI sizes: each scenario against the real broker and Redis.

The same scenarios run at full size with ``scripts/chaos all --full`` (RELIABILITY.md).
Each test prints the scenario's figures (``pytest -s`` shows them) and fails with them
when a promise is broken (``pitchcast/chaos/check.py``): an action lost or commented
twice, a batch index missing, a ``commentary_id`` or line id with two contents, a dead
letter missing, duplicated or with another reason, a record without its fallback
reason, a late line, a commit below the end offset, a secret in any output; or when the
scenario's fault did not reach the worker (its premise).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pitchcast.chaos.cluster_faults import IN_CLUSTER_RUN
from pitchcast.chaos.scenarios import SCENARIOS, Setup

pytestmark = pytest.mark.integration

# (scenario, LLM mode) at CI size; the full suite runs every scenario in every mode it has.
CI_RUNS = [
    ("sigkill", "live"),
    ("rebalance", "live"),
    ("changelog-stall", "live"),
    ("broker-stop", "live"),
    ("redis", "live"),
    ("kill-before-publish", "live"),
    ("kill-before-publish", "batch"),
    ("llm-faults", "batch"),
    ("malformed", "live"),
    ("lost-ack", "live"),
    ("dlq-fail", "live"),
    ("skip", "live"),
    ("idle", "live"),
    ("exactly-once", "live"),
    ("cluster", "live"),  # leader-kill, broker-pause, controller-kill in one match
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("scenario", "mode"), CI_RUNS, ids=[f"{s}-{m}" for s, m in CI_RUNS])
async def test_fault_scenario(
    scenario: str, mode: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The scenario keeps every promise; its figures are printed either way."""
    figures = await SCENARIOS[scenario](Setup("ci", kafka_bootstrap, tmp_path, mode=mode))
    print(figures.render())
    assert figures.ok, figures.render()
    assert figures.lost == 0


def test_every_scenario_runs_in_ci() -> None:
    """No scenario is left out of the reduced suite."""
    assert {s for s, _ in CI_RUNS} | set(IN_CLUSTER_RUN) == set(SCENARIOS)
