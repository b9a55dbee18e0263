"""deploy/prometheus/alerts.yml: valid rules, and each alert proven by promtool's unit tests.

``promtool`` comes with Debian's ``prometheus`` package (scripts/bootstrap installs it).
The rule tests themselves, series and expected alerts, are deploy/prometheus/alerts_test.yml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from pitchcast.metrics import FAMILIES, PREFIX
from tests.support.utils import unavailable

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"
RULES = DEPLOY / "alerts.yml"
RULE_TESTS = DEPLOY / "alerts_test.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable(
            "promtool is not installed (apt-get install prometheus; scripts/bootstrap does)"
        )
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, cwd=DEPLOY, check=False
    )


def test_promtool_checks_the_rules() -> None:
    result = _promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_checks_the_compose_config() -> None:
    """deploy/prometheus/prometheus.yml (docker-compose's Prometheus) loads alerts.yml."""
    result = _promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass() -> None:
    result = _promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_rule_test_that_fires_it_and_one_that_stays_quiet() -> None:
    """alerts_test.yml expects each alert at least once firing and once quiet."""
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == alerts
    assert quiet == alerts


def test_rules_name_only_metrics_pitchcast_exports() -> None:
    """A renamed family cannot leave a rule silently watching nothing."""
    exported = {PREFIX + f.name + ("_total" if f.kind == "counter" else "") for f in FAMILIES}
    exported |= {PREFIX + f.name + "_bucket" for f in FAMILIES if f.kind == "histogram"}
    text = RULES.read_text()
    named = {word for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text)}
    named = {word for word in named if word.startswith(PREFIX)}
    assert named and named <= exported, sorted(named - exported)


def test_runbook_links_point_at_sections_of_the_operations_doc() -> None:
    """Each alert's ``runbook`` annotation names a heading of docs/operations.md."""
    doc = (DEPLOY.parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {_anchor(line.lstrip("#")) for line in doc.splitlines() if line.startswith("#")}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                page, _, anchor = rule["annotations"]["runbook"].partition("#")
                assert page == "docs/operations.md" and anchor in anchors, rule["alert"]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
