"""The batch agent notices offsets that faust never handed to it."""

from __future__ import annotations

from typing import Any

from pitchcast.agents.batching import BatchAgent
from pitchcast.metrics import Metrics
from pitchcast.settings import load_settings


def _agent() -> tuple[BatchAgent, Metrics]:
    metrics = Metrics()
    unused: Any = None
    agent = BatchAgent(
        settings=load_settings(),
        state_table={},
        batches_topic=unused,
        dead_letters=unused,
        metrics=metrics,
    )
    return agent, metrics


def test_a_jump_in_offsets_is_counted_and_logged(caplog: Any) -> None:
    """Offsets 0, 1, 2, 5 on one partition: one gap of two records, logged as an error."""
    agent, metrics = _agent()
    for offset in (0, 1, 2, 5, 6):
        agent._watch_offsets(0, offset)
    agent._watch_offsets(1, 40)  # another partition starts where it starts
    assert metrics.get("offset_gaps") == 1
    assert metrics.get("offset_gap_records") == 2
    assert "pitchcast.offset_gap partition=0 skipped offsets 3..4" in caplog.text


def test_redeliveries_and_reassignments_are_not_gaps() -> None:
    """Going back (a seek to the committed offset) or a new assignment is no gap."""
    agent, metrics = _agent()
    for offset in (10, 11, 12, 8, 9, 10, 11, 12, 13):
        agent._watch_offsets(0, offset)
    agent.forget_partitions({0})
    agent._watch_offsets(0, 500)
    assert metrics.get("offset_gaps") == 0
