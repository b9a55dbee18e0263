"""The metrics table: declared families only, labels checked, the same figures in both views."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pitchcast.metrics import FAMILIES, PREFIX, MetricError, Metrics


def test_undeclared_names_and_wrong_labels_raise() -> None:
    """A typo in a name or a label fails loudly instead of making a series nobody reads."""
    metrics = Metrics()
    with pytest.raises(MetricError, match="not declared"):
        metrics.add("dead_leters", reason="x")
    with pytest.raises(MetricError, match="takes labels"):
        metrics.add("dead_letters")
    with pytest.raises(MetricError, match="takes labels"):
        metrics.add("dead_letters", reason="x", game="1")
    with pytest.raises(MetricError, match="is a counter"):
        metrics.set("dead_letters", 3, reason="x")
    with pytest.raises(MetricError, match="cannot go down"):
        metrics.add("ticks_sent", -1)
    with pytest.raises(MetricError, match="is a histogram"):
        metrics.add("llm_request_seconds", persona="CASTER", mode="batch")


def test_get_sums_over_labels_left_out() -> None:
    """get() with some labels sums the matching series; a histogram reads as its count."""
    metrics = Metrics()
    metrics.add("fallbacks", reason="deadline", source="template")
    metrics.add("fallbacks", 2, reason="deadline", source="mixed")
    metrics.add("fallbacks", reason="circuit_open", source="template")
    assert metrics.get("fallbacks") == 4
    assert metrics.get("fallbacks", reason="deadline") == 3
    assert metrics.get("fallbacks", source="template") == 2
    assert metrics.get("fallbacks", reason="deadline", source="mixed") == 2
    metrics.observe("llm_request_seconds", 1.5, persona="CASTER", mode="batch")
    metrics.observe("llm_request_seconds", 2.5, persona="FRIEND", mode="batch")
    assert metrics.get("llm_request_seconds", persona="CASTER") == 1
    with pytest.raises(MetricError, match="no label"):
        metrics.get("fallbacks", persona="CASTER")


def test_gauges_set_add_and_track() -> None:
    """Gauges go up and down, and a tracked gauge is read when asked for."""
    metrics = Metrics()
    metrics.add("llm_in_flight", 1)
    metrics.add("llm_in_flight", 1)
    metrics.add("llm_in_flight", -1)
    assert metrics.get("llm_in_flight") == 1
    state = {"value": 0.0}
    metrics.track("breaker_state", lambda: state["value"], endpoint="e")
    state["value"] = 2.0
    assert metrics.get("breaker_state", endpoint="e") == 2
    assert metrics.snapshot()["breaker_state{endpoint=e}"] == 2


def test_snapshot_is_flat_with_totals() -> None:
    """Every family appears; labelled counters carry a total and one key per series."""
    metrics = Metrics()
    metrics.add("dead_letters", reason="SchemaViolation")
    metrics.add("dead_letters", reason="UndecodableMessage")
    metrics.observe("commentary_latency_seconds", 0.3, persona="CASTER")
    snap = metrics.snapshot()
    assert snap["dead_letters"] == 2
    assert snap["dead_letters{reason=SchemaViolation}"] == 1
    assert snap["ticks_sent"] == 0
    assert snap["commentary_latency_seconds_count"] == 1
    assert snap["commentary_latency_seconds_sum{persona=CASTER}"] == pytest.approx(0.3)


def test_prometheus_exposition_matches_the_table() -> None:
    """Every declared family is exported with its help, counters as _total, histograms bucketed."""
    metrics = Metrics()
    registry = CollectorRegistry()
    registry.register(metrics)
    metrics.add("dead_letters", 3, reason="SchemaViolation")
    metrics.observe("llm_time_to_first_line_seconds", 0.4, persona="CASTER", mode="live")
    text = generate_latest(registry).decode()
    for family in FAMILIES:
        assert f"# HELP {PREFIX}{family.name}" in text, family.name
    assert 'pitchcast_dead_letters_total{reason="SchemaViolation"} 3.0' in text
    bucket = "pitchcast_llm_time_to_first_line_seconds_bucket"
    assert f'{bucket}{{le="0.5",mode="live",persona="CASTER"}} 1.0' in text
    assert f'{bucket}{{le="0.25",mode="live",persona="CASTER"}} 0.0' in text


def test_unlabelled_counters_and_gauges_are_exported_at_zero_before_their_first_write() -> None:
    """A series that first appears at 1 shows no ``increase()`` in Prometheus (it needs two
    samples), so OffsetGaps would miss the first gap: label-less series exist from the start."""
    metrics = Metrics()
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    for family in FAMILIES:
        if family.labels or family.kind == "histogram":
            continue
        suffix = "_total" if family.kind == "counter" else ""
        assert f"\n{PREFIX}{family.name}{suffix} 0.0\n" in text, family.name
    metrics.add("offset_gaps")
    assert "\npitchcast_offset_gaps_total 1.0\n" in generate_latest(registry).decode()


def test_two_registries_in_one_process() -> None:
    """Several apps in one process (tests) each register their own Metrics without clashing."""
    for _ in range(2):
        registry = CollectorRegistry()
        registry.register(Metrics())
        assert b"# HELP pitchcast_events_in_total" in generate_latest(registry)


PACKAGE = Path(__file__).resolve().parents[2] / "pitchcast"
OPERATIONS = PACKAGE.parent / "docs" / "operations.md"
_WRITES = frozenset({"add", "set", "observe", "track"})


def _written_families() -> set[str]:
    """Names passed as a literal first argument to ``.add/.set/.observe/.track`` anywhere
    in the package (every write is spelled out: the table is grep-able)."""
    names = {family.name for family in FAMILIES}
    written = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _WRITES
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in names
            ):
                written.add(node.args[0].value)
    return written


def test_every_declared_family_is_written_by_the_code() -> None:
    """A family nobody writes is a flat line on a dashboard and an alert that never fires."""
    never = sorted({family.name for family in FAMILIES} - _written_families())
    assert never == [], f"declared in pitchcast/metrics.py but never written: {never}"


def test_every_declared_family_is_documented() -> None:
    """docs/operations.md's metrics table names every family."""
    text = OPERATIONS.read_text(encoding="utf-8")
    assert [f.name for f in FAMILIES if f"`{f.name}`" not in text] == []


DOCS = ("README.md", "DESIGN.md", "RELIABILITY.md", "BENCHMARKS.md", "docs/operations.md")
# `fallbacks{reason="overdue"}`, `lines_refused{check}`, `pitchcast_consumer_lag`: a
# family named with its labels or with the exported prefix, in backticks.
_NAMED = re.compile(r"`(pitchcast_)?([a-z][a-z0-9_]*)(?:\{([^}`]*)\})?`")


def test_every_family_the_docs_name_is_declared_with_those_labels() -> None:
    """A family renamed or a label dropped in pitchcast/metrics.py leaves no doc or
    runbook pointing at a series that is no longer there."""
    families = {family.name: family for family in FAMILIES}
    wrong = []
    for doc in DOCS:
        text = (PACKAGE.parent / doc).read_text(encoding="utf-8")
        for prefixed, name, labels in _NAMED.findall(text):
            if not prefixed and labels == "":
                continue  # a bare word in backticks: not necessarily a metric
            if name == "name":
                continue  # the docs' own placeholder, `name{label=value}`
            family = families.get(re.sub(r"_(total|bucket|count|sum)$", "", name))
            if family is None:
                wrong.append(f"{doc}: `{prefixed}{name}` is not declared")
                continue
            for label in filter(None, (part.split("=")[0].strip() for part in labels.split(","))):
                if label not in (*family.labels, "le"):
                    wrong.append(f"{doc}: {name} has no label {label!r}")
    assert wrong == []
