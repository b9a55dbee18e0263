"""Idle ticks: write a ``tick`` control into an idle match's own partition (the one its
records are read from, which a feed not partitioned by murmur2 makes another than its
key's).

The batcher never looks at a clock. This timer watches the local match states: when a
match's open batch has not changed (its newest action's offset stayed the same) for
``idle_timeout_s`` of this worker's clock, it writes ``{"control": "tick",
"after_offset": <that offset>}`` keyed by the match. The batcher closes the open batch
when it reads a tick whose ``after_offset`` is still its newest action (no action joined
in between), so the decision is the log's alone and a replay reproduces it. Only one
clock is read, the worker's own, and only to decide when to write a tick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.records import Control
from pitchcast.streams.batching import MatchState
from pitchcast.streams.sending import send_acked

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
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._read_states = read_states
        self._topic = events_topic
        self._idle_timeout_s = idle_timeout_s
        self._metrics = metrics
        self._clock = clock
        self._wall_clock = wall_clock
        # key -> (newest open offset seen, when it was first seen, when last ticked)
        self._watch: dict[bytes, tuple[int | None, float, float | None]] = {}
        # key -> the events partition the match's records come from (None: the key's)
        self._partitions: dict[bytes, int | None] = {}

    def due(self, now: float | None = None) -> list[tuple[bytes, int, int | None]]:
        """(key, game_id, after_offset) of every match whose open batch sat idle long enough."""
        now = self._clock() if now is None else now
        due: list[tuple[bytes, int, int | None]] = []
        live: set[bytes] = set()
        for key, state in self._read_states():
            if state.ended or not state.open:
                continue
            live.add(key)
            self._partitions[key] = state.partition
            offset = state.open_offset
            seen, since, ticked = self._watch.get(key, (None, now, None))
            if seen != offset or key not in self._watch:
                self._watch[key] = (offset, now, None)  # changed: start counting again
                continue
            # Ticks repeat every half timeout while the batcher has not closed the batch.
            recent = ticked is not None and now - ticked < self._idle_timeout_s / 2
            if now - since >= self._idle_timeout_s and not recent:
                due.append((key, state.game_id, offset))
        for key in set(self._watch) - live:
            del self._watch[key]
            self._partitions.pop(key, None)
        return due

    async def tick(self) -> int:
        """Write the ticks that are due; returns how many."""
        now = self._clock()
        sent = 0
        for key, game_id, offset in self.due(now):
            tick = Control(
                game_id=game_id, control="tick", at=self._wall_clock(), after_offset=offset
            )
            try:
                # Into the partition the match is read from: the batcher compares its
                # offset with the match's own.
                await send_acked(
                    self._topic, key=key, value=encode(tick), partition=self._partitions.get(key)
                )
            except Exception as exc:  # a timer that raises stops the worker: try next time
                log.warning(
                    "pitchcast.ticks.send_failed",
                    extra={"game_id": game_id, "error_kind": type(exc).__name__},
                )
                continue
            seen, since, _ = self._watch[key]
            self._watch[key] = (seen, since, now)
            sent += 1
        if sent:
            self._metrics.add("ticks_sent", sent)
        return sent
