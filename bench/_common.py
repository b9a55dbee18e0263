"""Shared pieces of the benchmarks: topics, a worker subprocess, reading a topic."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pitchcast.settings import load_settings
from pitchcast.streams.admin import TOPIC_CONFIGS, partition_count
from pitchcast.streams.match_csv import read_match_info
from pitchcast.streams.replay import ReplayMessage, plan_replay

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


FILES = [DATA / "events_metrica_1.csv", DATA / "events_metrica_3.csv"]


def sample_plans(matches: int, first_game_id: int) -> list[list[ReplayMessage]]:
    """N whole matches (the two samples in turn), each under its own game id."""
    infos = read_match_info(DATA / "match_info.csv")
    return [
        plan_replay(FILES[n % 2], match_info=infos[1 + 2 * (n % 2)], game_id=first_game_id + n)
        for n in range(matches)
    ]


def expected_batches(plans: list[list[ReplayMessage]], batch_size: int = 10) -> int:
    """Batches the plans make: full ones, plus a partial one per period that needs it."""
    total = 0
    for plan in plans:
        per_period: dict[int, int] = defaultdict(int)
        for message in plan:
            if "control" not in message.value:
                per_period[message.value["period_id"]] += 1
        total += sum(-(-count // batch_size) for count in per_period.values())
    return total


def free_port() -> int:
    """A free local port: any, or one of ``PITCHCAST_BENCH_PORTS`` ("low-high") when set
    (a machine whose users are each given a range)."""
    span = os.environ.get("PITCHCAST_BENCH_PORTS")
    candidates = [0]
    if span:
        low, high = (int(part) for part in span.split("-"))
        candidates = list(range(low, high + 1))
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in PITCHCAST_BENCH_PORTS={span}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_env(bootstrap: str, redis_url: str, partitions: int) -> dict[str, str]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    return {
        "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PITCHCAST_REDIS_URL": redis_url,
        "PITCHCAST_REDIS_NAMESPACE": prefix,
        "PITCHCAST_APP_ID": f"{prefix}-app",
        "PITCHCAST_TOPIC_EVENTS": f"{prefix}-events",
        "PITCHCAST_TOPIC_BATCHES": f"{prefix}-batches",
        "PITCHCAST_TOPIC_COMMENTARY": f"{prefix}-commentary",
        "PITCHCAST_TOPIC_LINES": f"{prefix}-lines",
        "PITCHCAST_TOPIC_DLQ": f"{prefix}-dlq",
        "PITCHCAST_PARTITIONS": str(partitions),
        "PITCHCAST_LOG_LEVEL": "INFO",
        # One line per action: the benchmarks count lines against actions (latency per
        # action).
        "PITCHCAST_DENSITY": "every",
    }


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # As pitchcast creates them: every timestamp is the broker's (LogAppendTime).
        configs = dict(TOPIC_CONFIGS)
        await admin.create_topics(
            [NewTopic(n, partitions, 1, topic_configs=configs) for n in names]
        )
    finally:
        await admin.close()
    await asyncio.sleep(1.0)  # leaders


async def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


class Worker:
    """``pitchcast worker`` as a subprocess."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.port = free_port()
        full = {**os.environ, **env, "PITCHCAST_WEB_PORT": str(self.port)}
        full["PITCHCAST_DATA_DIR"] = str(log.with_suffix(".data"))
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pitchcast.cli", "worker"],
            env=full,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited; see {self.log}")
            # The web server answers once the worker runs; agents start right after.
            if "Worker]: Ready" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready; see {self.log}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.handle.close()


async def count_until(bootstrap: str, topic: str, expected: int, timeout: float) -> list[Any]:
    """Read ``topic`` from the beginning until ``expected`` records (returns them)."""
    return await read_until(bootstrap, topic, lambda records: len(records) >= expected, timeout)


async def read_quiet(bootstrap: str, topic: str, quiet_s: float, timeout: float) -> list[Any]:
    """Read ``topic`` from the beginning until nothing new came for ``quiet_s``."""
    last = [0, time.monotonic()]  # records seen, when the count last grew

    def done(records: list[Any]) -> bool:
        now = time.monotonic()
        if len(records) > last[0]:
            last[:] = [len(records), now]
        return bool(records) and now - last[1] >= quiet_s

    return await read_until(bootstrap, topic, done, timeout)


async def read_until(
    bootstrap: str, topic: str, done: Callable[[list[Any]], bool], timeout: float
) -> list[Any]:
    """Read ``topic`` from the beginning until ``done(records so far)`` (returns them)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        count = await partition_count(load_settings(kafka_bootstrap_servers=bootstrap), topic)
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while not done(records) and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


# A hand-off record of one action (``pitchcast.batch_action.v1``).
BATCH_ACTION = b'"schema":"pitchcast.batch_action.v1"'


def until_marked(expected: int, marker: bytes) -> Callable[[list[Any]], bool]:
    """A :func:`read_until` condition: ``expected`` records whose value holds ``marker``
    (looked at once each)."""
    seen = [0, 0]  # records looked at, matching ones among them

    def done(records: list[Any]) -> bool:
        seen[1] += sum(1 for r in records[seen[0] :] if marker in r.value)
        seen[0] = len(records)
        return seen[1] >= expected

    return done


# --- a round of matches -----------------------------------------------------------------


def slice_plan(plan: list[ReplayMessage], start_s: float, length_s: float) -> list[ReplayMessage]:
    """``length_s`` of match time from ``start_s`` on, as a match of its own: its
    match_start, the messages of the window (times from 0), then period_end and match_end."""
    window = [
        ReplayMessage(m.game_id, m.at_s - start_s, m.value)
        for m in plan
        if start_s <= m.at_s < start_s + length_s and m.value.get("control") in (None, "period_end")
    ]
    actions = [m for m in window if "control" not in m.value]
    if not actions:
        raise ValueError(f"no action between {start_s:g} s and {start_s + length_s:g} s")
    period = actions[-1].value["period_id"]
    end = max(m.at_s for m in window)
    gid = plan[0].game_id
    closing = [
        ReplayMessage(gid, end, {"game_id": gid, "control": c, "period_id": period})
        for c in ("period_end", "match_end")
    ]
    if window[-1].value.get("control") == "period_end":
        closing = closing[1:]
    return [ReplayMessage(gid, 0.0, plan[0].value), *window, *closing]


def round_plans(matches: int, minutes: float, first_game_id: int) -> list[list[ReplayMessage]]:
    """A round of N matches that kick off together, ``minutes`` of match time each.

    Match n replays sample n % 2 from minute (n // 2) x ``minutes`` on, under its own
    game id: no two matches send the same actions at the same time (copies would send
    byte-identical prompts, which the LLM's prefix cache would share; real matches never
    do)."""
    wholes = sample_plans(2, first_game_id=0)
    plans = []
    for n in range(matches):
        whole = wholes[n % 2]
        length = whole[-1].at_s
        start = ((n // 2) * minutes * 60) % max(length - minutes * 60, 1.0)
        gid = first_game_id + n
        renamed = [ReplayMessage(gid, m.at_s, _renamed(m.value, gid)) for m in whole]
        plans.append(slice_plan(renamed, start, minutes * 60))
    return plans


def _renamed(value: dict[str, Any], gid: int) -> dict[str, Any]:
    info = value.get("match_info")
    renamed = {**value, "game_id": gid}
    if info:
        renamed["match_info"] = {**info, "game_id": gid}
    return renamed


def count_actions(plans: list[list[ReplayMessage]]) -> int:
    return sum(1 for p in plans for m in p if "control" not in m.value)


# --- processes ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class FakeLLM:
    """The fake LLM server (bench/_fake_server.py: a test double, lines attributed per
    match and persona) as a subprocess."""

    def __init__(self, profile: str, time_scale: float, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "bench" / "_fake_server.py"),
                "--port",
                str(self.port),
                "--profile",
                profile,
                "--time-scale",
                f"{time_scale:g}",
                *extra,
            ],
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while "fake LLM server" not in log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fake LLM server did not start; see {log}")
            time.sleep(0.1)

    def stats(self, *, requests: bool = False) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/stats" + ("?requests=1" if requests else "")
        return httpx.get(url, timeout=60).json()

    def reset(self) -> None:
        """Zero the accounting and empty the prefix cache (nothing may be in flight)."""
        response = httpx.post(f"http://127.0.0.1:{self.port}/stats/reset?cache=1", timeout=30)
        response.raise_for_status()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.handle.close()


def new_plot() -> tuple[Any, Any]:
    """A 640 x 360 figure and its axes, drawn off screen (matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 3.6), dpi=100)


def save_plot(fig: Any, path: Path) -> None:
    """Lay ``fig`` out, write it to ``path`` (folders made), close it, say where it went."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"\nplot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
