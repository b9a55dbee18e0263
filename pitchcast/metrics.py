"""Counters of what the pipeline did, readable at ``/pitchcast/stats/`` and in logs.

Interim form: named counters with optional labels, gauges and observations. (The
Prometheus-backed module with declared families replaces it.)
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque

__all__ = ["Metrics"]


def _name(name: str, labels: dict[str, object]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


class Metrics:
    """Named counters (actions, batches, dead letters by kind, ...), gauges, observations."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._gauges: dict[str, float] = {}
        self._observed: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=2000))

    def add(self, name: str, n: float = 1, **labels: object) -> None:
        self._counts[_name(name, labels)] += n  # type: ignore[assignment]
        if labels:  # the family's total too
            self._counts[name] += n  # type: ignore[assignment]

    def set(self, name: str, value: float, **labels: object) -> None:
        self._gauges[_name(name, labels)] = value

    def observe(self, name: str, value: float, **labels: object) -> None:
        self._observed[_name(name, labels)].append(value)

    def get(self, name: str, **labels: object) -> float:
        key = _name(name, labels)
        return self._counts.get(key) or self._gauges.get(key, 0)

    def observations(self, name: str, **labels: object) -> list[float]:
        return list(self._observed.get(_name(name, labels), ()))

    def snapshot(self) -> dict[str, float]:
        return dict(sorted({**self._counts, **self._gauges}.items()))
