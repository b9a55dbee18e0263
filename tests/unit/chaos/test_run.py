"""A scenario run's own checks that need no service: the commit check's decisions.

The group's positions come from the broker in a real run (``harness.commit_lag``); here
they are given, so the test shows what the run does with them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pitchcast.chaos import run as run_module
from pitchcast.chaos.run import Run


async def test_commits_below_the_end_fail_even_with_no_worker_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose last worker is gone is still checked: commits stuck below the end
    offsets fail (they used to be skipped), read once without waiting."""
    asked: list[str] = []

    async def positions(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
        asked.append(topic)
        return {0: (3, 5)} if topic.endswith("-events") else {0: (7, 7)}

    monkeypatch.setattr(run_module, "commit_lag", positions)
    run = Run("unit", profile="ci", kafka="127.0.0.1:1", workdir=tmp_path)
    assert run.live_workers == []
    await run._check_commits(timeout_s=30.0)
    assert run.figures.problems == [
        "uncommitted offsets: commits stuck below the end {'events[0]': '3 of 5'}"
    ]
    assert asked == [run.topics["events"], run.topics["batches"]]  # once: nothing to wait for


async def test_commits_at_the_end_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def positions(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
        return {0: (5, 5), 1: (2, 2)}

    monkeypatch.setattr(run_module, "commit_lag", positions)
    run = Run("unit", profile="ci", kafka="127.0.0.1:1", workdir=tmp_path)
    await run._check_commits()
    assert run.figures.ok, run.figures.problems
