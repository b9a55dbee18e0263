"""The revoke's steps: each bounded, all bounds from half the session timeout."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from faust.types import TP

from pitchcast.agents.acks.revoke import RevokeBounds, RevokeSteps, revoke_bounds
from pitchcast.metrics import Metrics
from pitchcast.settings import load_settings


def test_revoke_bounds_stay_within_half_the_session_timeout() -> None:
    """The steps of a revoke never add up to more than half the session timeout."""
    for session in (6.0, 10.0, 30.0, 45.0, 300.0):
        bounds = revoke_bounds(load_settings(kafka_session_timeout_s=session))
        assert all(bound > 0 for bound in bounds)
        assert bounds.total_s <= session / 2 + 1e-9
    # The figures DESIGN.md section 3 states for the default 30 s session timeout.
    assert revoke_bounds(load_settings()) == (1.0, 10.0, 3.0, 1.0)
    assert revoke_bounds(load_settings()).total_s == 15.0
    # PITCHCAST_REVOKE_GRACE_S caps the batch agent's wait, never more than its share.
    assert revoke_bounds(load_settings(revoke_grace_s=2.0)).batch_record_s == 2.0
    assert revoke_bounds(load_settings(revoke_grace_s=60.0)).batch_record_s == 10.0


class _Steps:
    """What a revoke's steps act on, each scriptable to hang."""

    def __init__(self, *, busy: bool = False, commit_hangs: bool = False) -> None:
        self.busy = asyncio.Lock()
        self.hold_busy = busy
        self.commit_hangs = commit_hangs
        self.calls: list[Any] = []

    async def settled(self) -> None:
        """The batch agent's settle: its record in progress (held by ``busy``) ends."""
        async with self.busy:
            pass

    async def cancel(self, partitions: set[int], bound_s: float) -> int:
        self.calls.append(("cancel", partitions, bound_s))
        return len(partitions)

    async def commit(self) -> None:
        self.calls.append("commit")
        if self.commit_hangs:
            await asyncio.Event().wait()


def _revoke(steps: _Steps, bounds: RevokeBounds, metrics: Metrics) -> RevokeSteps:
    return RevokeSteps(
        bounds=bounds,
        batches_topic="batches",
        batch_settled=steps.settled,
        cancel_commentary=steps.cancel,
        commit=steps.commit,
        metrics=metrics,
    )


async def test_every_step_runs_in_order_within_its_bound(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing hangs: cancel (for the batches topic's partitions only), then commit."""
    steps, metrics = _Steps(), Metrics()
    revoke = _revoke(steps, RevokeBounds.within(30.0, 10.0), metrics)
    with caplog.at_level(logging.INFO, logger="pitchcast.revoke"):
        await revoke({TP("batches", 1), TP("batches", 3), TP("events", 1)})
    assert steps.calls == [("cancel", {1, 3}, 3.0), "commit"]
    assert metrics.get("revoke_steps_cut") == 0
    revoked = [r for r in caplog.records if r.getMessage() == "pitchcast.revoked"]
    assert len(revoked) == 1 and revoked[0].desks == 2  # type: ignore[attr-defined]


async def test_a_hanging_batch_record_and_a_hanging_commit_are_cut_at_their_bounds() -> None:
    """Issue 18: the batch agent's record that never finishes and a commit that never
    answers are each cut at their bound; the revoke goes on and returns in time."""
    steps, metrics = _Steps(commit_hangs=True), Metrics()
    bounds = RevokeBounds.within(3.0, 10.0)  # 0.1 + 1.0 + 0.3 + 0.1 s
    revoke = _revoke(steps, bounds, metrics)
    await steps.busy.acquire()  # a record in progress that never ends
    loop = asyncio.get_running_loop()
    started = loop.time()
    await revoke({TP("batches", 0)})
    took = loop.time() - started
    assert bounds.batch_record_s + bounds.commit_s <= took < bounds.total_s + 0.3, took
    assert steps.calls == [("cancel", {0}, bounds.cancel_s), "commit"]
    assert metrics.get("revoke_steps_cut", step="batch_record") == 1
    assert metrics.get("revoke_steps_cut", step="commit") == 1


async def test_a_failing_commit_does_not_fail_the_revoke() -> None:
    """A commit that raises (the coordinator moved) costs re-reads, never the revoke."""
    steps, metrics = _Steps(), Metrics()

    async def refuse() -> None:
        raise ConnectionError("coordinator moved")

    revoke = RevokeSteps(
        bounds=RevokeBounds.within(30.0, 10.0),
        batches_topic="batches",
        batch_settled=steps.settled,
        cancel_commentary=steps.cancel,
        commit=refuse,
        metrics=metrics,
    )
    await revoke({TP("batches", 0)})
    assert steps.calls == [("cancel", {0}, 3.0)]
    assert metrics.get("revoke_steps_cut") == 0


async def test_the_logged_time_covers_the_whole_revoke_from_step_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the time step 1 began (the consumer's commit, before faust's own revoke and
    this signal), ``seconds`` is the whole revoke and ``steps_seconds`` steps 2-4; the
    rebalance scenario checks ``seconds`` against the bound."""
    steps, metrics = _Steps(), Metrics()
    loop = asyncio.get_running_loop()
    began = loop.time() - 0.4  # step 1 and faust's own revoke took 0.4 s
    revoke = RevokeSteps(
        bounds=RevokeBounds.within(30.0, 10.0),
        batches_topic="batches",
        batch_settled=steps.settled,
        cancel_commentary=steps.cancel,
        commit=steps.commit,
        metrics=metrics,
        began_at=lambda: began,
    )
    with caplog.at_level(logging.INFO, logger="pitchcast.revoke"):
        await revoke({TP("batches", 0)})
    (logged,) = [r for r in caplog.records if r.getMessage() == "pitchcast.revoked"]
    assert 0.4 <= logged.seconds < 1.0  # type: ignore[attr-defined]
    assert logged.steps_seconds < 0.2  # type: ignore[attr-defined]
