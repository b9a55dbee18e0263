"""Idle ticks: write a ``tick`` control into an idle match's own partition.

The batcher never looks at the clock. When no action of a match with an open batch
arrived for ``idle_timeout_s``, this timer writes ``{"control": "tick", "at": now}``
keyed by the match, and the batcher flushes when it reads a tick dated past the
timeout. Replaying the log therefore reproduces the same idle flushes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pitchcast.agents.output import send_acked
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.records import Control
from pitchcast.streams.batching import MatchState

__all__ = ["IdleTicker"]

log = logging.getLogger("pitchcast.ticks")


class IdleTicker:
    """Finds idle open batches in the local state and writes ticks for them."""

    def __init__(
        self,
        *,
        read_states: Callable[[], list[tuple[bytes, MatchState]]],
        events_topic: Any,
        idle_timeout_s: float,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._read_states = read_states
        self._topic = events_topic
        self._idle_timeout_s = idle_timeout_s
        self._metrics = metrics
        self._clock = clock
        self._last_tick: dict[bytes, float] = {}

    def due(self, now: float) -> list[tuple[bytes, int]]:
        """(key, game_id) of every match whose open batch has been idle long enough."""
        due: list[tuple[bytes, int]] = []
        for key, state in self._read_states():
            if state.ended or state.buffer_ts_ms is None:
                continue
            idle_s = now - state.buffer_ts_ms / 1000.0
            # One tick per half timeout at most, while the batcher has not read it yet.
            recent = now - self._last_tick.get(key, 0.0) < self._idle_timeout_s / 2
            if idle_s >= self._idle_timeout_s and not recent:
                due.append((key, state.game_id))
        return due

    async def tick(self) -> int:
        """Write the ticks that are due; returns how many."""
        now = self._clock()
        sent = 0
        for key, game_id in self.due(now):
            tick = Control(game_id=game_id, control="tick", at=now)
            await send_acked(self._topic, key=key, value=encode(tick))
            self._last_tick[key] = now
            sent += 1
        if sent:
            self._metrics.add("ticks_sent", sent)
        return sent
