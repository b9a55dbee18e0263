"""deploy/grafana/dashboards/pitchcast.json: every query names only metrics pitchcast exports.

Exported means a family of pitchcast.metrics (with the suffixes prometheus_client gives
it) or a family of faust's Prometheus sensor, as the worker's /metrics serves them.
Also: the panels the runbook points at exist, and docker-compose.yml provisions the
dashboard with a Prometheus that scrapes the worker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CollectorRegistry

from pitchcast.metrics import FAMILIES, PREFIX

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "pitchcast.json"
COMPOSE = REPO / "docker-compose.yml"

_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
# PromQL words that look like names: functions are followed by "(", these are not always.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan"}


def _pitchcast_names() -> set[str]:
    return {PREFIX + f.name + s for f in FAMILIES for s in _SUFFIXES[f.kind]}


def _faust_names() -> set[str]:
    """The series faust's sensor exports with the prefix pitchcast.web gives it."""
    registry = CollectorRegistry()
    FaustMetrics.create(registry, "faust")
    names = set()
    for family in registry.collect():
        kind = "gauge" if family.type not in _SUFFIXES else family.type
        names |= {family.name + s for s in _SUFFIXES[kind]}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (labels, groupings, functions,
    keywords, durations and Grafana's $variables removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges, subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables
    words = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?", expr)
    return {word for word, call in words if not call and word.lower() not in _KEYWORDS}


def _queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_metric_names_reads_promql() -> None:
    """The name extraction itself: functions, labels, groupings and ranges are not names."""
    expr = (
        'histogram_quantile(0.9, sum by (le, persona) (rate(pitchcast_x_bucket{mode="live"}'
        "[$__rate_interval]))) / scalar(sum(faust_y)) > bool 0 unless on (instance) up"
    )
    assert metric_names(expr) == {"pitchcast_x_bucket", "faust_y", "up"}


def test_every_query_names_only_exported_metrics() -> None:
    exported = _pitchcast_names() | _faust_names()
    assert "faust_total_rebalances" in exported  # faust's names are known, not guessed
    queries = _queries()
    assert queries
    for title, expr in queries:
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= exported, (title, sorted(names - exported))


def test_the_dashboard_shows_what_operators_look_for() -> None:
    """Lines, latency, sources, fallbacks, breaker, slots, lag, dead letters, and the
    faults pitchcast heals by itself (records read again, revoke steps cut)."""
    used = {name for _, expr in _queries() for name in metric_names(expr)}
    wanted = {
        "pitchcast_lines_published_total",
        "pitchcast_line_lag_seconds_bucket",
        "pitchcast_fallbacks_total",
        "pitchcast_breaker_state",
        "pitchcast_llm_in_flight",
        "pitchcast_consumer_lag",
        "pitchcast_dead_letters_total",
        "pitchcast_recovery_reseeks_total",
        "pitchcast_offset_gaps_total",
        "pitchcast_revoke_steps_cut_total",
    }
    assert wanted <= used, sorted(wanted - used)


def test_every_panel_uses_the_datasource_variable() -> None:
    """Imported or provisioned, the dashboard asks for its Prometheus instead of a fixed uid."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_compose_provisions_prometheus_and_grafana() -> None:
    """Prometheus scrapes the worker with the rule file; Grafana mounts the dashboard."""
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            host = volume.split(":")[0]
            if host.startswith("./"):
                assert (REPO / host).exists(), (name, host)
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "pitchcast"
    assert job["static_configs"][0]["targets"] == ["worker:6066"]
    assert config["rule_files"] == ["alerts.yml"]
    assert services["worker"]["environment"]["PITCHCAST_WEB_HOST"] == "0.0.0.0"
