"""Every figure pitchcast keeps: one table of declared families, one API, two views.

Each family is declared once in :data:`FAMILIES` (name, kind, help, label names, and
buckets for histograms). Modules write through :class:`Metrics`::

    metrics.add("dead_letters", reason="SchemaViolation")      # counter (or gauge +/-)
    metrics.set("redis_up", 1)                                 # gauge
    metrics.observe("llm_request_seconds", 2.4, persona="CASTER", mode="batch")
    metrics.get("dead_letters")                                # 1.0: summed over labels

An undeclared name, a missing or unknown label, or a write of the wrong kind raises
:class:`MetricError`, so a typo fails the test that reaches it instead of making a
series nobody reads. The same values are read two ways:

* Prometheus: :class:`Metrics` is a ``prometheus_client`` collector; the worker
  registers it in the registry that faust's Prometheus sensor serves at ``/metrics``
  (:mod:`pitchcast.web`). Names are ``pitchcast_<name>``; counters get ``_total``.
* JSON at ``/pitchcast/stats/`` and in the shutdown log line: :meth:`Metrics.snapshot`,
  a flat ``{"name": total, "name{label=value}": value}`` dict (tests and benches).

Values live in plain dicts (one event loop writes them), not in ``prometheus_client``
objects, so several apps in one process (tests) never collide in a global registry.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from pitchcast.exceptions import MetricError

__all__ = [
    "BREAKER_STATE_CODES",
    "FAMILIES",
    "PREFIX",
    "Family",
    "MetricError",
    "Metrics",
]

Kind = Literal["counter", "gauge", "histogram"]
PREFIX = "pitchcast_"

#: Seconds, from a fast cache hit to a batch that ran to its 25 s deadline and beyond.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0,
)  # fmt: skip

#: ``breaker_state`` gauge values.
BREAKER_STATE_CODES: dict[str, float] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


@dataclass(frozen=True, slots=True)
class Family:
    """One declared metric family."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = LATENCY_BUCKETS


def _c(name: str, help: str, labels: str = "") -> Family:
    return Family(name, "counter", help, tuple(labels.split()))


def _g(name: str, help: str, labels: str = "") -> Family:
    return Family(name, "gauge", help, tuple(labels.split()))


def _h(name: str, help: str, labels: str = "", buckets: tuple[float, ...] = LATENCY_BUCKETS):
    return Family(name, "histogram", help, tuple(labels.split()), buckets)


# One line per family: _c counter, _g gauge, _h histogram; labels space-separated.
# fmt: off
FAMILIES: tuple[Family, ...] = (
    # --- input and batching (batch agent) ---
    _c("events_in", "Records read from the events topic (action, a control, invalid)", "kind"),
    _c("action_anomalies", "Actions kept with a remark (clamped, unknown type/result)", "kind"),
    _c("duplicates_dropped", "Records dropped as already seen (redelivery, action_id)", "kind"),
    _c(
        "handoff_records_out",
        "Records sent to the hand-off topic (batch, batch_action, period_end)",
        "kind",
    ),
    _c("batches_closed", "Batches closed, by close reason", "reason"),
    _c("dead_letters", "Dead letters written, by reason (error kind)", "reason"),
    _c("offset_gaps", "Jumps in the offsets faust handed to the batch or commentary agent"),
    _c("offset_gap_records", "Records inside offset gaps (skipped, refilled)", "state"),
    _c("ticks_sent", "Idle ticks written to the events topic"),
    _c("send_retries", "Kafka sends retried with the same bytes (no ack yet)", "topic"),
    _c("sends_acked_late", "Kafka sends acked over 1 s after the first try", "topic"),
    _c("worker_stops", "Failures that stopped the worker without acking", "reason"),
    _g("consumer_lag", "The group's uncommitted records (broker end - committed offset)",
       "topic partition"),
    _c("lag_reads", "Reads of the group's lag from the broker, by outcome (ok, error)", "outcome"),
    # --- commentary and lines (commentary agent) ---
    _c("commentary_published", "Commentary records published, by source", "persona source"),
    _c("commentary_already_published", "Commentary not published again (Redis marker)"),
    _h("commentary_latency_seconds", "Batch closed (broker time) to commentary acked", "persona"),
    _c("lines_published", "Lines published to the lines topic", "persona source"),
    _c("line_callback_errors", "Failed attempts to hand a line on (it is handed on again)"),
    _h("line_lag_seconds", "Action broker timestamp to its line published", "persona mode"),
    _c("lines_restored", "Lines reused from the Redis line store (restart, rebalance)", "persona"),
    _c("lines_claimed_elsewhere", "Lines another owner had already written", "persona"),
    _c(
        "handoff_duplicates",
        "Hand-off records already done or held here (published, dead-lettered, or a copy"
        " of a batch in progress)",
    ),
    _c(
        "handoff_mismatches",
        "Hand-off actions that differ from those held for their batch position",
    ),
    _c("desks_revoked", "Matches whose commentary work a rebalance cancelled"),
    _c("recovery_reseeks", "Changelog partitions read again: consumed, never replayed"),
    _c("revoke_steps_cut", "Revoke steps cut at their bound (agents/acks/revoke.py)", "step"),
    # --- the LLM stage (commentary service) ---
    _c("llm_requests", "Calls of the primary backend, by outcome", "endpoint outcome"),
    _h("llm_time_to_first_line_seconds", "LLM call start to its first line", "persona mode"),
    _h("llm_request_seconds", "LLM call start to the complete answer", "persona mode"),
    _c("llm_tokens", "Tokens (prompt_cached, prompt_uncached, completion)", "kind"),
    _g("llm_in_flight", "LLM calls in flight in this worker"),
    _c("llm_warmups", "Warm-up requests sent on match_start"),
    _c(
        "fallbacks",
        "Requests the template wrote lines of (a batch; a live burst once per reason)",
        "reason source",
    ),
    _c("lines_refused", "LLM lines refused for wording the data cannot support", "check"),
    _c("live_burst_repeats", "Lines of a live burst that repeated an earlier line of it "
       "(sentence shape or opening) and were rewritten by the template", "persona kind"),
    _c("live_conversation_restarts", "Live batch conversations started again after the "
       "server refused one as longer than its context (max_model_len)", "persona"),
    _g("breaker_state", "Circuit breaker: 0 closed, 1 half open, 2 open", "endpoint"),
    _c("breaker_opened", "Times the circuit breaker opened", "endpoint"),
    _c("lock_waits", "Batches that waited for another worker's lock"),
    # --- Redis ---
    _c("cache_lookups", "Answer cache lookups (hit, miss)", "result"),
    _c("redis_outages", "Redis outages (however many calls failed in each)"),
    _g("redis_up", "1 while Redis answers, 0 during an outage"),
    _c("redis_errors", "Failed Redis calls, by operation", "operation"),
    _c("redis_calls_skipped", "Redis calls not sent during an outage (between probes)"),
)
# fmt: on


@dataclass(slots=True)
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, float]]:
        counts = self.counts or [0] * (len(self.buckets) + 1)
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
            running += n
            out.append(("+Inf" if bound == math.inf else repr(float(bound)), float(running)))
        return out


LabelKey = tuple[str, ...]


class Metrics:
    """The figures of one worker (or one test). See the module docstring."""

    def __init__(self, families: tuple[Family, ...] = FAMILIES) -> None:
        self._families = {f.name: f for f in families}
        if len(self._families) != len(families):
            raise MetricError("a family is declared twice")
        self._values: dict[str, dict[LabelKey, float]] = {}
        self._histograms: dict[str, dict[LabelKey, _Histogram]] = {}
        self._tracked: dict[str, dict[LabelKey, Callable[[], float]]] = {}

    # --- writing -------------------------------------------------------------

    def add(self, name: str, n: float = 1, **labels: object) -> None:
        """Add ``n`` to a counter (``n >= 0``) or to a gauge (either sign)."""
        family = self._family(name, "counter", "gauge")
        if family.kind == "counter" and n < 0:
            raise MetricError(f"counter {name} cannot go down (n={n})")
        series = self._values.setdefault(name, {})
        key = self._key(family, labels)
        series[key] = series.get(key, 0.0) + n

    def set(self, name: str, value: float, **labels: object) -> None:
        """Set a gauge."""
        family = self._family(name, "gauge")
        self._values.setdefault(name, {})[self._key(family, labels)] = float(value)

    def track(self, name: str, read: Callable[[], float], **labels: object) -> None:
        """A gauge whose value is ``read()`` at every scrape (breaker state, Redis up)."""
        family = self._family(name, "gauge")
        self._tracked.setdefault(name, {})[self._key(family, labels)] = read

    def observe(self, name: str, value: float, **labels: object) -> None:
        """Record one observation in a histogram."""
        family = self._family(name, "histogram")
        series = self._histograms.setdefault(name, {})
        key = self._key(family, labels)
        if key not in series:
            series[key] = _Histogram(family.buckets)
        series[key].observe(float(value))

    # --- reading -------------------------------------------------------------

    def get(self, name: str, **labels: object) -> float:
        """A counter's or gauge's value; with fewer labels than declared, the sum over
        the series that match. For a histogram, the number of observations."""
        family = self._family(name, "counter", "gauge", "histogram")
        unknown = set(labels) - set(family.labels)
        if unknown:
            raise MetricError(f"{name} has no label {sorted(unknown)}")
        wanted = {family.labels.index(k): str(v) for k, v in labels.items()}
        total = 0.0
        for key, value in self._series(family):
            if all(key[i] == v for i, v in wanted.items()):
                total += value.count if isinstance(value, _Histogram) else value
        return total

    def snapshot(self) -> dict[str, float]:
        """Every series as ``name{label=value,...}``, plus ``name`` = the total of a
        labelled counter; histograms as ``name_count`` and ``name_sum``."""
        out: dict[str, float] = {}
        for family in self._families.values():
            series = list(self._series(family))
            if family.kind == "histogram":
                out[f"{family.name}_count"] = float(sum(h.count for _, h in series))  # type: ignore[union-attr]
                out[f"{family.name}_sum"] = float(sum(h.total for _, h in series))  # type: ignore[union-attr]
                if family.labels:
                    for key, hist in series:
                        shown = _shown(family, key)
                        out[f"{family.name}_count{shown}"] = float(hist.count)  # type: ignore[union-attr]
                        out[f"{family.name}_sum{shown}"] = hist.total  # type: ignore[union-attr]
                continue
            if not family.labels:
                out[family.name] = float(series[0][1]) if series else 0.0  # type: ignore[arg-type]
                continue
            if family.kind == "counter":
                out[family.name] = float(sum(v for _, v in series))  # type: ignore[misc]
            for key, value in series:
                out[f"{family.name}{_shown(family, key)}"] = float(value)  # type: ignore[arg-type]
        return out

    @property
    def families(self) -> tuple[Family, ...]:
        return tuple(self._families.values())

    # --- prometheus_client collector -----------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The families without samples (lets a registry check for duplicate names)."""
        for family in self._families.values():
            yield _empty(family)

    def collect(self) -> Iterator[Metric]:
        """Every family with its current samples, for ``generate_latest``."""
        for family in self._families.values():
            metric = _empty(family)
            series = list(self._series(family))
            if not series and not family.labels and family.kind != "histogram":
                # 0 from the start: Prometheus sees no increase() in a series whose first
                # sample is already 1, so an alert on the first event would never fire.
                series = [((), 0.0)]
            for key, value in series:
                labels = list(key)
                if isinstance(value, _Histogram):
                    metric.add_metric(labels, value.cumulative(), value.total)  # type: ignore[call-arg]
                else:
                    metric.add_metric(labels, value)  # type: ignore[call-arg]
            yield metric

    # --- internals -----------------------------------------------------------

    def _family(self, name: str, *kinds: Kind) -> Family:
        family = self._families.get(name)
        if family is None:
            raise MetricError(f"metric {name!r} is not declared in pitchcast.metrics.FAMILIES")
        if family.kind not in kinds:
            raise MetricError(f"metric {name!r} is a {family.kind}, not a {' or '.join(kinds)}")
        return family

    @staticmethod
    def _key(family: Family, labels: dict[str, object]) -> LabelKey:
        if set(labels) != set(family.labels):
            raise MetricError(
                f"metric {family.name!r} takes labels {list(family.labels)}, got {sorted(labels)}"
            )
        return tuple(str(labels[name]) for name in family.labels)

    def _series(self, family: Family) -> Iterator[tuple[LabelKey, float | _Histogram]]:
        if family.kind == "histogram":
            yield from self._histograms.get(family.name, {}).items()
            return
        yield from self._values.get(family.name, {}).items()
        for key, read in self._tracked.get(family.name, {}).items():
            try:
                yield key, float(read())
            except Exception:  # a broken reader must not break a scrape
                yield key, math.nan


def _shown(family: Family, key: LabelKey) -> str:
    return "{" + ",".join(f"{n}={v}" for n, v in zip(family.labels, key, strict=True)) + "}"


def _empty(family: Family) -> Metric:
    name = PREFIX + family.name
    labels = list(family.labels)
    if family.kind == "counter":
        return CounterMetricFamily(name, family.help, labels=labels)
    if family.kind == "gauge":
        return GaugeMetricFamily(name, family.help, labels=labels)
    return HistogramMetricFamily(name, family.help, labels=labels)
