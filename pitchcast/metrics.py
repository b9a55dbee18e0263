"""Counters of what the pipeline did, readable at ``/pitchcast/stats/`` and in logs."""

from __future__ import annotations

from collections import Counter

__all__ = ["Metrics"]


class Metrics:
    """Named integer counters (actions, batches, dead letters by kind, ...)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        self._counts[name] += n

    def get(self, name: str) -> int:
        return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))
