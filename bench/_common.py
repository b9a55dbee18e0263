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
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pitchcast.settings import load_settings
from pitchcast.streams.admin import partition_count
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    }


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
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
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        count = await partition_count(load_settings(kafka_bootstrap_servers=bootstrap), topic)
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()
