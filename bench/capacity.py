"""Capacity of one GPU in live mode: event -> line p99 as (match, persona) streams grow.

For each profile (a40, h100) and each point (matches x personas), one short run of
``live_latency.run_mode`` in live mode: a fresh worker and topics, a round of matches
kicking off together, the fake LLM server (a TEST DOUBLE timed as a 7-8B model on that
GPU) restarted at the point's time scale. Per point it prints event -> line p50 / p95
/ p99 in match seconds, the modelled GPU's load (busy share of the match time, peak
sequences, p99 of the model's TTFT and request time) and this machine's limits (the
worker's and the server's CPU, the client-vs-model ratio): when the worker's CPU is
near a core or the ratio leaves ~1, the machine is the bottleneck, not the GPU model.

The time scale of a point is chosen so that streams x K stays under ``--load`` (the
worker's CPU grows with both), and its length so that it writes about ``--lines``
lines (p99 needs a few hundred at least).

    python bench/capacity.py --profiles a40 h100 --points 1x1 2x1 4x1 6x1 6x2 6x3 12x3 16x3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from _common import FakeLLM, count_actions, new_plot, percentile, round_plans, save_plot
from live_latency import parser as latency_parser
from live_latency import run_mode
from live_report import ModeRun, _lines_by

TARGET_P99_S = 5.0
LINES_PER_MATCH_MINUTE = 35  # the two samples' mean: 26 and 43 actions a minute


def _point(text: str) -> tuple[int, int]:
    matches, _, personas = text.partition("x")
    return int(matches), int(personas or 1)


def choose(streams: int, load: float, lines: int) -> tuple[float, float]:
    """(time scale, match minutes) of a point."""
    scale = max(1.0, min(5.0, load // streams))
    minutes = min(30.0, max(5.0, lines / (LINES_PER_MATCH_MINUTE * streams)))
    return scale, minutes


def summary(run: ModeRun, streams: int) -> dict[str, float]:
    values = run.match_s(run.line_ms)
    requests = [r for r in run.server.get("requests", []) if r["output_tokens"]]
    model = [r["finished_s"] - r["arrival_s"] for r in requests if r["finished_s"]]
    ttft = [r["ttft_s"] for r in requests if r["ttft_s"] is not None]
    count = run.worker.get("llm_request_seconds_count", 0)
    client = run.worker.get("llm_request_seconds_sum", 0) / count * run.time_scale if count else 0
    template = sum(
        v for k, v in run.worker.items() if k.startswith("lines_published{") and "template" in k
    )
    engine = run.server.get("engine", {})
    # Busy over the span the modelled GPU had requests (first arrival to last end), apart
    # from the share of the whole wall time (which includes any wait for missing lines).
    span = (
        max(r["finished_s"] for r in requests if r["finished_s"])
        - min(r["arrival_s"] for r in requests)
        if requests
        else 0.0
    )
    llm = run.match_s(_lines_by(run, "llm"))
    queue = [r["queue_s"] for r in requests if r["queue_s"] is not None]
    reasons = {
        k.removeprefix("fallbacks"): v for k, v in run.worker.items() if k.startswith("fallbacks{")
    }
    return {
        "llm_p50": percentile(llm, 50),
        "llm_p99": percentile(llm, 99),
        "gpu_busy_span": engine.get("busy_s", 0) / span if span else float("nan"),
        "span_s": span,
        "wall_s": run.wall_s,
        "replay_wall_s": run.replay_wall_s,
        "lines_expected": run.lines_expected,
        "aborted": sum(1 for r in run.server.get("requests", []) if r["aborted"]),
        "queue_p99": percentile(queue, 99),
        "peak_waiting": engine.get("peak_waiting", 0),
        "prefix_hit_rate": run.server.get("totals", {}).get("prefix_hit_rate", 0.0),
        "fallback_reasons": reasons,  # type: ignore[dict-item]
        "streams": streams,
        "time_scale": run.time_scale,
        "lines": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "ttft_p99": percentile(ttft, 99),
        "request_p99": percentile(model, 99),
        "gpu_busy": engine.get("busy_s", 0) / (run.wall_s * run.time_scale),
        "peak_running": engine.get("peak_running", 0),
        "worker_cpu": run.worker_cpu_s / run.wall_s,
        "server_cpu": run.server_cpu_s / run.wall_s,
        "client_vs_model": client / (sum(model) / len(model)) if model else float("nan"),
        "template_lines": template,
    }


def print_row(point: str, s: dict[str, float]) -> None:
    print(
        f"  {point:>6} {int(s['streams']):>7} {s['time_scale']:>3g} {int(s['lines']):>6} "
        f"{s['p50']:>6.2f} {s['p95']:>6.2f} {s['p99']:>6.2f}   {s['ttft_p99']:>6.2f} "
        f"{s['request_p99']:>6.2f} {100 * s['gpu_busy']:>5.0f}% {int(s['peak_running']):>5}   "
        f"{100 * s['worker_cpu']:>4.0f}% {100 * s['server_cpu']:>4.0f}% "
        f"x{s['client_vs_model']:.2f} {int(s['template_lines']):>5}",
        flush=True,
    )
    if "llm_p99" in s:  # rows saved before these figures were added have none
        print(
            f"  {'':>6} LLM lines p50 {s['llm_p50']:.2f} p99 {s['llm_p99']:.2f} s; GPU busy "
            f"{100 * s['gpu_busy_span']:.0f}% of the {s['span_s']:.0f} s it had requests "
            f"(wall {s['wall_s']:.0f} s, replay {s['replay_wall_s']:.0f} s; lines "
            f"{int(s['lines'])} of {int(s['lines_expected'])}); aborted {int(s['aborted'])}, "
            f"queue p99 {s['queue_p99']:.2f} s, peak waiting {int(s['peak_waiting'])}; hit "
            f"rate {100 * s['prefix_hit_rate']:.1f}%; fallbacks {s['fallback_reasons']}",
            flush=True,
        )


HEADER = (
    f"  {'point':>6} {'streams':>7} {'K':>3} {'lines':>6} {'p50':>6} {'p95':>6} {'p99':>6}   "
    f"{'TTFT99':>6} {'req99':>6} {'GPU':>6} {'peak':>5}   {'wrkr':>5} {'srv':>5} "
    f"{'c/m':>5} {'tmpl':>5}\n"
    f"  {'':>6} {'':>7} {'':>3} {'':>6} {'event -> line, match s':>20}   "
    f"{'model, match s':>13} {'busy':>6} {'seqs':>5}   {'CPU, share of a core':>20}"
)


def plot(results: dict[str, list[dict[str, float]]], path: Path) -> None:
    fig, ax = new_plot()
    for profile, rows in results.items():
        xs = [r["streams"] for r in rows]
        (line,) = ax.plot(xs, [r["p99"] for r in rows], marker="o", label=f"{profile} p99")
        ax.plot(xs, [r["p50"] for r in rows], marker=".", linestyle=":", color=line.get_color(),
                label=f"{profile} p50")  # fmt: skip
        for r in rows:  # where the template wrote lines the LLM did not write in time
            share = r["template_lines"] / max(r["lines"], 1)
            if share >= 0.01:
                ax.annotate(f"{100 * share:.0f}% tmpl", (r["streams"], r["p99"]), fontsize=7,
                            textcoords="offset points", xytext=(-10, 6))  # fmt: skip
    ax.axhline(TARGET_P99_S, color="grey", linestyle="--", linewidth=1, label="p99 target")
    ax.set_xlabel("live streams (matches x personas)")
    ax.set_ylabel("event -> line, match seconds")
    ax.set_title("live mode capacity of one GPU (fake server timing model)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_plot(fig, path)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["a40", "h100"])
    parser.add_argument("--minutes", type=float, default=None, help="fix each point's length")
    parser.add_argument("--time-scale", type=float, default=None, help="fix each point's K")
    parser.add_argument("--points", nargs="+", default=["1x1", "2x1", "4x1", "6x1", "6x3"])
    parser.add_argument("--load", type=float, default=24, help="streams x time scale at most")
    parser.add_argument("--lines", type=int, default=1500, help="lines a point writes, about")
    parser.add_argument(
        "--stop-above", type=float, default=15.0, help="stop a profile once p99 passes this"
    )
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--max-in-flight", type=int, default=96)
    parser.add_argument("--env", nargs="*", default=[], help="more worker settings: KEY=VALUE")
    parser.add_argument(
        "--replot", type=Path, nargs="+", default=None, help="merge saved runs into --plot"
    )
    args = parser.parse_args()
    if args.replot:
        merged: dict[str, list[dict[str, float]]] = {}
        for saved in args.replot:
            for profile, rows in json.loads(saved.read_text()).items():
                merged.setdefault(profile, []).extend(rows)
        for rows in merged.values():
            rows.sort(key=lambda r: r["streams"])
        plot(merged, args.plot or Path("capacity.png"))
        return

    results: dict[str, list[dict[str, float]]] = {}
    for profile in args.profiles:
        print(f"\nprofile {profile}: live mode, p99 target {TARGET_P99_S:g} s")
        print(HEADER, flush=True)
        rows: list[dict[str, float]] = results.setdefault(profile, [])
        for point in args.points:
            matches, personas = _point(point)
            streams = matches * personas
            scale, minutes = choose(streams, args.load, args.lines)
            scale = args.time_scale or scale
            minutes = args.minutes or minutes
            run_args = latency_parser().parse_args(
                [
                    "--matches", str(matches), "--personas", str(personas),
                    "--profile", profile, "--time-scale", f"{scale:g}",
                    "--minutes", f"{minutes:g}", "--max-in-flight", str(args.max_in_flight),
                    *(["--env", *args.env] if args.env else []),
                ]
            )  # fmt: skip
            plans = round_plans(matches, minutes, first_game_id=9000)
            with tempfile.TemporaryDirectory() as tmp:
                server = FakeLLM(profile, scale, Path(tmp) / "fake-llm.log")
                try:
                    run = await run_mode(run_args, "live", server, plans, Path(tmp))
                finally:
                    server.stop()
            row = summary(run, streams)
            row["matches"], row["personas"], row["minutes"] = matches, personas, minutes
            row["actions"] = count_actions(plans)
            rows.append(row)
            print_row(point, row)
            if row["p99"] > args.stop_above:
                break
        within = [r["streams"] for r in rows if r["p99"] <= TARGET_P99_S]
        print(
            f"  {profile}: largest point with p99 <= {TARGET_P99_S:g} s: "
            f"{int(max(within)) if within else 'none'} streams"
        )
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    asyncio.run(main())
