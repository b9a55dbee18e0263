"""Idle ticks: which matches get a tick, and how often."""

from __future__ import annotations

from pitchcast.agents.ticks import IdleTicker
from pitchcast.metrics import Metrics
from pitchcast.streams.batching import MatchState


def _ticker(states: list[tuple[bytes, MatchState]]) -> IdleTicker:
    return IdleTicker(
        read_states=lambda: states, events_topic=None, idle_timeout_s=30.0, metrics=Metrics()
    )


def test_only_idle_open_batches_are_due() -> None:
    """A match is due when its open batch is older than the timeout; empty or ended never."""
    idle = MatchState(game_id=1, buffer_ts_ms=1_000_000)
    fresh = MatchState(game_id=2, buffer_ts_ms=1_025_000)
    empty = MatchState(game_id=3)
    ended = MatchState(game_id=4, buffer_ts_ms=1_000_000, ended=True)
    ticker = _ticker([(b"1", idle), (b"2", fresh), (b"3", empty), (b"4", ended)])
    assert ticker.due(now=1_030.0) == [(b"1", 1)]
    assert ticker.due(now=1_029.9) == []
