#!/usr/bin/env python3
"""Draw deploy/grafana/dashboards/pitchcast.json as a PNG, from a real Prometheus.

Grafana draws the dashboard in production; this script draws the same panels, with
each panel's own PromQL queries and legends, from Prometheus' HTTP API
(``/api/v1/query_range``) with matplotlib, for documentation where no Grafana runs.
Grafana's ``$__rate_interval`` becomes ``--rate-interval``; the layout follows the
panels' ``gridPos`` (two columns).

    .venv/bin/python scripts/dashboard_png.py --prometheus http://127.0.0.1:19090 \\
        --minutes 20 --out docs/ops/dashboard.png
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "pitchcast.json"


def query_range(base: str, expr: str, start: float, end: float, step: float) -> list[Any]:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise SystemExit(f"Prometheus refused {expr!r}: {body}")
    return list(body["data"]["result"])


def legend(template: str, labels: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    return text.strip() or json.dumps(labels)


def draw(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    dashboard = json.loads(Path(args.dashboard).read_text(encoding="utf-8"))
    panels = sorted(dashboard["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    end = args.end or time.time()
    start = end - args.minutes * 60
    rows = math.ceil(len(panels) / 2)
    fig, axes = plt.subplots(rows, 2, figsize=(16, 3.3 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        unit = defaults.get("unit", "short")
        stacked = defaults.get("custom", {}).get("stacking", {}).get("mode") == "normal"
        series: list[tuple[str, list[datetime], list[float]]] = []
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", args.rate_interval)
            for result in query_range(args.prometheus, expr, start, end, args.step):
                times = [datetime.fromtimestamp(float(t), UTC) for t, _ in result["values"]]
                values = [float(v) for _, v in result["values"]]
                series.append(
                    (legend(target.get("legendFormat", ""), result["metric"]), times, values)
                )
        series.sort(key=lambda s: s[0])
        stepped = defaults.get("custom", {}).get("lineInterpolation") == "stepAfter"
        if stacked and series:
            # Series start and stop at different times: stack them on one time axis, a
            # missing point counting as 0 (as Grafana's stacking does).
            axis = sorted({t for _, times, _ in series for t in times})
            stack = [
                [dict(zip(times, values, strict=True)).get(t, 0.0) for t in axis]
                for _, times, values in series
            ]
            labels = [name for name, _, _ in series]
            ax.stackplot(axis, *stack, labels=labels, alpha=0.7)
        elif stepped:
            for name, times, values in series:
                ax.step(times, values, where="post", label=name, linewidth=1.2)
        else:
            for name, times, values in series:
                ax.plot(times, values, label=name, linewidth=1.2)
        ax.set_title(panel["title"], fontsize=10, loc="left")
        if unit == "s":
            ax.set_ylabel("seconds", fontsize=8)
        elif unit == "percentunit":
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        mappings = defaults.get("mappings", [])
        if mappings:
            options = mappings[0]["options"]
            ax.set_yticks([float(k) for k in options])
            ax.set_yticklabels([v["text"] for v in options.values()], fontsize=8)
            ax.set_ylim(-0.2, max(float(k) for k in options) + 0.2)
        if not mappings:
            ax.set_ylim(bottom=0)  # counts, rates, seconds: all from zero
        if not series:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="grey")
        ax.set_xlim(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        ax.xaxis.set_major_locator(mdates.MinuteLocator(byminute=range(0, 60, 2), tz=UTC))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7, loc="upper left", ncol=2, framealpha=0.6)
    fig.suptitle(
        f"{dashboard['title']} dashboard: panels and queries of {Path(args.dashboard).name}, "
        f"drawn from Prometheus ({datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M}"
        f"-{datetime.fromtimestamp(end, UTC):%H:%M} UTC)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    until = datetime.fromtimestamp(end, UTC)
    print(f"wrote {args.out}: {len(panels)} panels, {args.minutes} min to {until:%H:%M:%S} UTC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    parser.add_argument("--dashboard", default=str(DASHBOARD))
    parser.add_argument("--minutes", type=float, default=30, help="the time range, ending at --end")
    parser.add_argument("--end", type=float, default=None, help="unix time (default: now)")
    parser.add_argument("--step", type=float, default=15, help="seconds between points")
    parser.add_argument("--rate-interval", default="1m", help="what $__rate_interval becomes")
    parser.add_argument("--dpi", type=int, default=90)
    parser.add_argument("--out", default="dashboard.png")
    draw(parser.parse_args())


if __name__ == "__main__":
    main()
