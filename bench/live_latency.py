"""Event -> line and event -> record latency, and LLM cost, of live and batch mode.

One command, one process run, both modes on the same fake LLM server:

* the fake LLM server (a TEST DOUBLE: a simulated vLLM engine timed as a 7-8B model on
  one A40 or H100, ``bench/_fake_server.py``) runs as a subprocess, ``--time-scale K``
  times faster than the model says;
* for each mode in turn (live, then batch): fresh topics (LogAppendTime: every
  timestamp is the broker's), consumer group and Redis namespace; the server's
  accounting reset and its prefix cache emptied; a real ``pitchcast worker`` subprocess
  (``openai`` backend, ``PITCHCAST_LLM_MODE`` = the mode); a round of N matches that
  kick off together (the two sample matches in turn, each from its own minute so no two
  send the same actions: ``_common.round_plans``), replayed K times faster than real;
* per line on ``commentary-lines``: its broker timestamp minus the broker timestamp of
  its action on the events topic; per ``commentary`` record: its timestamp minus that of
  the batch's last action. Wall latencies are multiplied by K and reported in match
  seconds. The worker's own time settings (LLM deadlines and timeouts, backoff, idle
  timeout) are divided by K, so they mean what they say in match time.

With K > 1 the pipeline's own time (Kafka hops, Redis, the worker's CPU) is multiplied
by K as well: the report prints the action -> hand-off hop and the client-vs-model
ratio so that share can be read off. The worker's and the server's CPU use are printed:
a process near 100% of a core is the bottleneck, not the modelled GPU.

    python bench/live_latency.py --matches 6 --personas 1 --profile a40 --time-scale 1 --minutes 15
    python bench/live_latency.py --matches 6 --personas 3 --time-scale 2 --minutes 10

``--sensitivity 24 27 30 36`` runs the modes once per time a token of one stream alone
(the profile's ``itl_min``, in ms; the rest of the profile unchanged) on a fresh server
each, and ends with one table: action -> line over all lines and over the LLM's lines
only, template lines, prefix-cache hit rate and GPU-seconds on a saturated GPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import (
    BATCH_ACTION,
    FakeLLM,
    Worker,
    bench_env,
    count_actions,
    count_until,
    cpu_seconds,
    create_topics,
    delete_topics,
    expected_batches,
    read_quiet,
    read_until,
    round_plans,
    until_marked,
)
from live_report import (
    ModeRun,
    plot,
    print_sensitivity,
    replot,
    report_cost,
    report_latency,
    report_targets,
    sensitivity_row,
)

from pitchcast.settings import PERSONAS, Settings, load_settings
from pitchcast.streams.replay import ReplayMessage, replay
from pitchcast.testing.profiles import GPU_PROFILES

MODEL = "bench-7b"
# Worker settings that are durations: divided by the time scale (match time -> wall).
_TIMED_SETTINGS = (
    "llm_live_deadline_s",
    "llm_live_max_wait_s",
    "llm_batch_deadline_s",
    "llm_connect_timeout_s",
    "llm_read_timeout_s",
    "llm_min_attempt_s",
    "llm_backoff_initial_s",
    "llm_backoff_max_s",
    "llm_breaker_reset_s",
    "idle_timeout_s",
    "tick_interval_s",
)


def worker_env(args: argparse.Namespace, mode: str, base_url: str) -> dict[str, str]:
    env = bench_env(args.bootstrap, args.redis, args.partitions)
    env.update(
        {
            "PITCHCAST_LLM_BACKEND": "openai",
            "PITCHCAST_LLM_BASE_URL": base_url,
            "PITCHCAST_LLM_MODEL": MODEL,
            "PITCHCAST_LLM_MODE": mode,
            "PITCHCAST_PERSONAS": ",".join(PERSONAS[: args.personas]),
            "PITCHCAST_LLM_MAX_IN_FLIGHT": str(args.max_in_flight),
        }
    )
    timed = {f"PITCHCAST_{name.upper()}" for name in _TIMED_SETTINGS}
    for name in _TIMED_SETTINGS:
        default = Settings.model_fields[name].default
        if default is not None:
            env[f"PITCHCAST_{name.upper()}"] = f"{default / args.time_scale:.4f}"
    for pair in getattr(args, "env", None) or []:  # experiments: any other worker setting
        key, _, value = pair.partition("=")
        # A duration is given in match seconds, like the defaults above: scaled to wall.
        env[key] = f"{float(value) / args.time_scale:.4f}" if key in timed and value else value
    return env


def _wait_ready(worker: Worker, timeout_s: float = 60.0) -> None:
    """Until ``/ready`` answers 200: partitions assigned, the broker answers."""
    worker.wait_ready()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{worker.port}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"worker not ready; see {worker.log}")


async def run_mode(
    args: argparse.Namespace,
    mode: str,
    server: FakeLLM,
    plans: list[list[ReplayMessage]],
    tmp: Path,
) -> ModeRun:
    """One mode: fresh topics and worker, the round replayed, every timestamp read back."""
    env = worker_env(args, mode, server.base_url)
    prefix = env["PITCHCAST_APP_ID"].removesuffix("-app")
    topics = {k: v for k, v in env.items() if k.startswith("PITCHCAST_TOPIC_")}
    await create_topics(args.bootstrap, list(topics.values()), args.partitions)
    settings = load_settings(
        kafka_bootstrap_servers=args.bootstrap, topic_events=topics["PITCHCAST_TOPIC_EVENTS"]
    )
    run = ModeRun(mode=mode, time_scale=args.time_scale, actions=count_actions(plans))
    run.actions_by_game = {f"game:{p[0].game_id}": count_actions([p]) for p in plans}
    batches = expected_batches(plans)
    run.lines_expected = run.actions * args.personas
    run.records_expected = batches * args.personas
    server.reset()
    worker = Worker(env, tmp / f"worker-{mode}.log")
    try:
        _wait_ready(worker)
        cpu0 = cpu_seconds(worker.process.pid), cpu_seconds(server.process.pid)
        started = time.monotonic()
        await replay(settings, plans, speed=args.time_scale)
        run.replay_wall_s = time.monotonic() - started
        if env.get("PITCHCAST_DENSITY", "every") == "every":
            # Every line, then (a batch's lines go before its record) the last records.
            lines = await count_until(
                args.bootstrap,
                topics["PITCHCAST_TOPIC_LINES"],
                run.lines_expected,
                timeout=120 + 60 / args.time_scale,
            )
        else:
            # Below `every` only shown actions get a line: the records (one item per
            # action, `shown` on each) say how many, and come after their lines.
            records = await count_until(
                args.bootstrap,
                topics["PITCHCAST_TOPIC_COMMENTARY"],
                run.records_expected,
                timeout=120 + 60 / args.time_scale,
            )
            run.lines_expected = sum(
                item.get("shown", True) for r in records for item in orjson.loads(r.value)["items"]
            )
            lines = await read_until(
                args.bootstrap,
                topics["PITCHCAST_TOPIC_LINES"],
                lambda got: sum(not _is_moment(r) for r in got) >= run.lines_expected,
                timeout=60,
            )
        run.wall_s = time.monotonic() - started
        run.worker_cpu_s = cpu_seconds(worker.process.pid) - cpu0[0]
        run.server_cpu_s = cpu_seconds(server.process.pid) - cpu0[1]
        run.worker = httpx.get(f"http://127.0.0.1:{worker.port}/pitchcast/stats/").json()
        run.server = server.stats(requests=True)
        records = await read_quiet(
            args.bootstrap, topics["PITCHCAST_TOPIC_COMMENTARY"], quiet_s=3.0, timeout=60
        )
    finally:
        worker.stop()
    try:
        events = await count_until(
            args.bootstrap, topics["PITCHCAST_TOPIC_EVENTS"], run.actions, timeout=30
        )
        handoff = await read_until(
            args.bootstrap,
            topics["PITCHCAST_TOPIC_BATCHES"],
            until_marked(run.actions, BATCH_ACTION),
            timeout=30,
        )
    finally:
        await delete_topics(args.bootstrap, prefix)
    _measure(run, events, lines, records, handoff)
    return run


def _is_moment(record: Any) -> bool:
    return bool(orjson.loads(record.value).get("source") == "control")


def _measure(run: ModeRun, events: list, lines: list, records: list, handoff: list) -> None:  # type: ignore[type-arg]
    """Latencies from the broker timestamps of the four topics."""
    appended: dict[tuple[int, int], int] = {}
    ids = Counter(
        (v["commentary_id"], v["line_index"]) for v in (orjson.loads(r.value) for r in lines)
    )
    run.duplicate_lines = sum(n - 1 for n in ids.values())
    for r in events:
        v = orjson.loads(r.value)
        if "action_id" in v:
            appended[(v["game_id"], v["action_id"])] = r.timestamp
    for r in lines:
        v = orjson.loads(r.value)
        if v.get("source") == "control":
            continue  # kick-off, half-time, full time: lines of no action
        at = appended.get((v["game_id"], v["item"]["action_id"]))
        if at is not None:
            run.line_ms.append(r.timestamp - at)
            run.line_sources.append(v.get("source") or "?")
    sources: Counter[str] = Counter()
    for r in records:
        v = orjson.loads(r.value)
        sources[v["source"]] += 1
        last = max(appended.get((v["game_id"], i["action_id"]), 0) for i in v["items"])
        if last:
            run.record_ms.append(r.timestamp - last)
            run.record_reasons.append(v["close_reason"])
    run.record_sources = dict(sources)
    for r in handoff:
        v = orjson.loads(r.value)
        if v.get("schema", "").startswith("pitchcast.batch_action"):
            at = appended.get((v["game_id"], v["action"]["action_id"]))
            if at is not None:
                run.handoff_ms.append(r.timestamp - at)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matches", type=int, default=6)
    p.add_argument("--personas", type=int, choices=(1, 2, 3), default=1)
    p.add_argument("--profile", choices=GPU_PROFILES, default="a40")
    p.add_argument("--time-scale", type=float, default=1.0, help="replay and model K x faster")
    p.add_argument("--minutes", type=float, default=15.0, help="match minutes of each match")
    p.add_argument("--modes", nargs="+", choices=("live", "batch"), default=None,
                   help="default: live and batch; live only with --sensitivity")  # fmt: skip
    p.add_argument("--max-in-flight", type=int, default=48, help="PITCHCAST_LLM_MAX_IN_FLIGHT")
    p.add_argument("--env", nargs="*", default=[],
                   help="more worker settings: KEY=VALUE (the LLM's durations in match "
                   "seconds, divided by --time-scale like their defaults)")  # fmt: skip
    p.add_argument("--itl-ms", type=float, default=None, help="the profile's itl_min, in ms")
    p.add_argument("--ttft", type=float, default=None,
                   help="a slow endpoint: fixed pacing instead of --profile, seconds to the "
                   "first token of every answer (with --tpot)")  # fmt: skip
    p.add_argument("--tpot", type=float, default=None, help="fixed pacing: seconds a token")
    p.add_argument("--slow-rate", type=float, default=0.0,
                   help="share of answers queued first (RunPod's queue now and then)")  # fmt: skip
    p.add_argument("--slow-ttft", type=float, default=None,
                   help="seconds to the first token of those answers")  # fmt: skip
    p.add_argument("--answer-miss-blocks", type=int, default=None,
                   help="the profile's prefix-cache miss (0: canonical samples)")  # fmt: skip
    p.add_argument("--max-model-len", type=int, default=None,
                   help="refuse prompt + max_tokens above this, as vLLM does")  # fmt: skip
    p.add_argument("--sensitivity", type=float, nargs="+", default=None, metavar="MS",
                   help="run once per itl_min in ms (24 27 30 36) and print a table")  # fmt: skip
    p.add_argument("--plot", type=Path, default=None, help="PNG of the event -> line CDFs")
    p.add_argument("--save", type=Path, default=None, help="JSON of every latency (re-plots)")
    p.add_argument("--replot", type=Path, nargs="+", default=None,
                   help="only plot saved runs (--save files) into --plot")  # fmt: skip
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    return p


def fixed_pacing(args: argparse.Namespace) -> bool:
    """``--ttft`` / ``--tpot``: a slow endpoint paced per answer, not a modelled GPU."""
    return args.ttft is not None or args.tpot is not None


def server_profile(args: argparse.Namespace) -> str:
    return "instant" if fixed_pacing(args) else args.profile


def server_flags(args: argparse.Namespace, itl_ms: float | None) -> list[str]:
    """The fake server's profile overrides, or its fixed pacing, and its slow answers."""
    flags: list[str] = []
    if fixed_pacing(args):
        flags += ["--ttft", f"{args.ttft or 0:g}", "--tpot", f"{args.tpot or 0:g}"]
    if args.slow_rate > 0:
        slow_ttft = args.slow_ttft if args.slow_ttft is not None else 5.0
        flags += ["--slow-rate", f"{args.slow_rate:g}", "--slow-ttft", f"{slow_ttft:g}"]
    if itl_ms is not None:
        flags += ["--itl-min", f"{itl_ms / 1000:g}"]
    if args.answer_miss_blocks is not None:
        flags += ["--answer-miss-blocks", str(args.answer_miss_blocks)]
    if args.max_model_len is not None:
        flags += ["--max-model-len", str(args.max_model_len)]
    return flags


async def run_modes(
    args: argparse.Namespace, plans: list[list[ReplayMessage]], itl_ms: float | None
) -> list[ModeRun]:
    """Every mode of ``args`` in turn on one fresh fake server."""
    runs: list[ModeRun] = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "fake-llm.log"
        server = FakeLLM(server_profile(args), args.time_scale, log, *server_flags(args, itl_ms))
        try:
            for mode in args.modes:
                run = await run_mode(args, mode, server, plans, Path(tmp))
                report_latency(run, args.personas)
                runs.append(run)
        finally:
            server.stop()
    return runs


async def main() -> None:
    args = parser().parse_args()
    if args.replot:
        replot(args.replot, args.plot or Path("live.png"), f"event -> line, live, {args.profile}")
        return
    if args.modes is None:
        args.modes = ["live"] if args.sensitivity else ["live", "batch"]
    if fixed_pacing(args) and (args.sensitivity or args.itl_ms is not None):
        raise SystemExit("--ttft/--tpot pace every answer: no --itl-ms or --sensitivity with them")
    plans = round_plans(args.matches, args.minutes, first_game_id=7000)
    timing = (
        f"fixed pacing ttft {args.ttft or 0:g} s, {1000 * (args.tpot or 0):g} ms a token"
        if fixed_pacing(args)
        else f"profile {args.profile}"
    )
    if args.slow_rate > 0:
        timing += f", {100 * args.slow_rate:g}% of answers queued ({args.slow_ttft or 5:g} s)"
    print(
        f"{args.matches} matches x {args.personas} persona(s), {args.minutes:g} match minutes "
        f"each ({count_actions(plans)} actions, {expected_batches(plans)} batches), kick-off "
        f"together; fake LLM server {timing}, time scale {args.time_scale:g}; "
        f"LLM_MAX_IN_FLIGHT {args.max_in_flight}"
    )
    if args.sensitivity:
        rows: list[dict[str, float]] = []
        labelled: list[tuple[str, ModeRun]] = []
        for itl_ms in args.sensitivity:
            print(f"\n=== itl_min {itl_ms:g} ms ===")
            runs = await run_modes(args, plans, itl_ms)
            costs = report_cost(runs, args.profile)
            live = next((r for r in runs if r.mode == "live"), runs[0])
            rows.append(sensitivity_row(itl_ms, live, costs.get(live.mode, {})))
            labelled += [(f"{r.mode} {itl_ms:g} ms", r) for r in runs]
            print_sensitivity(rows, args)  # so far: a partial run still leaves a table
        if args.plot:
            title = (
                f"event -> line by ms per token, {args.matches} matches x {args.personas} "
                f"persona(s), {args.profile} (fake server, x{args.time_scale:g})"
            )
            plot(labelled, args.plot, title)
        if args.save:
            args.save.write_text(
                json.dumps({"rows": rows, "runs": [asdict(r) for _, r in labelled]})
            )
        return
    runs = await run_modes(args, plans, args.itl_ms)
    report_targets(runs, args.personas)
    report_cost(runs, args.profile)
    if args.plot:
        title = (
            f"event -> line, {args.matches} matches x {args.personas} persona(s), "
            f"{args.profile} (fake server, x{args.time_scale:g})"
        )
        plot([(r.mode, r) for r in runs], args.plot, title)
    if args.save:
        args.save.write_text(json.dumps([asdict(r) for r in runs]))


if __name__ == "__main__":
    asyncio.run(main())
