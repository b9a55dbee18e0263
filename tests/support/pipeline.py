"""Run the real worker as a subprocess and read what it wrote, for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pitchcast.schemas.contract import validator_for

__all__ = [
    "Record",
    "WorkerProcess",
    "free_port",
    "lines_told",
    "read_again_after_quiet",
    "read_lines_and_letters",
    "read_topic",
]

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WorkerProcess:
    """``pitchcast worker`` in a subprocess, configured only through PITCHCAST_* variables."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    web_port: int = field(default_factory=free_port)
    module: str = "pitchcast.cli"  # or a test wrapper of it (tests/support/skipping_worker.py)

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.env, "PITCHCAST_WEB_PORT": str(self.web_port)}
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        return self

    def stats(self) -> dict[str, int]:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.web_port}/pitchcast/stats/", timeout=2)
            return dict(response.json())
        except (httpx.HTTPError, ValueError):
            return {}

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            if "Worker]: Ready" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.tail_log()}")

    def assert_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"worker exited with {self.process.returncode}:\n{self.tail_log()}"
            )

    def tail_log(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return int(self.process.returncode)


@dataclass(frozen=True)
class Record:
    key: str | None
    value: Any
    partition: int
    offset: int
    headers: dict[str, bytes]


async def _partition_count(bootstrap: str, topic: str, timeout: float = 30.0) -> int:
    """Partitions of ``topic``, waiting for the worker to create it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] == 0 and described["partitions"]:
                return len(described["partitions"])
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} does not exist")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    timeout: float = 120.0,
    worker: WorkerProcess | None = None,
) -> list[Record]:
    """Every record of ``topic`` from the beginning, until ``until(records)`` holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(await _partition_count(bootstrap, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while not until(records):
            if time.monotonic() > deadline:
                log = worker.tail_log() if worker else ""
                raise AssertionError(
                    f"timed out reading {topic}: {len(records)} records so far\n{log}"
                )
            if worker is not None:
                worker.assert_alive()
            batch = await consumer.getmany(timeout_ms=500)
            for tp_records in batch.values():
                for r in tp_records:
                    records.append(
                        Record(
                            key=None if r.key is None else r.key.decode(),
                            value=orjson.loads(r.value) if r.value else None,
                            partition=r.partition,
                            offset=r.offset,
                            headers=dict(r.headers or ()),
                        )
                    )
        await asyncio.sleep(0)
        return records
    finally:
        await consumer.stop()


async def read_again_after_quiet(
    bootstrap: str, seen: dict[str, list[Record]], quiet_s: float = 2.0
) -> dict[str, list[Record]]:
    """Each topic of ``seen`` read again from the start once ``quiet_s`` passed with
    nothing more expected: whatever came meanwhile (a copy, a late line) is counted too."""
    await asyncio.sleep(quiet_s)
    again: dict[str, list[Record]] = {}
    for topic, old in seen.items():
        again[topic] = await read_topic(bootstrap, topic, until=_at_least(len(old)))
    return again


def _at_least(count: int) -> Callable[[list[Record]], bool]:
    return lambda records: len(records) >= count


def _line_ids(records: list[Record]) -> set[tuple[str, int]]:
    return {(r.value["commentary_id"], r.value["line_index"]) for r in records}


async def read_lines_and_letters(
    env: dict[str, str], worker: WorkerProcess, *, lines: int, letters: int
) -> tuple[list[Record], list[Record]]:
    """The worker's lines until ``lines`` distinct line ids and its dead letters until
    ``letters`` came, both read again after a quiet spell (a late copy counts); the worker
    still runs."""
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    lines_topic, dlq_topic = env["PITCHCAST_TOPIC_LINES"], env["PITCHCAST_TOPIC_DLQ"]
    first_lines = await read_topic(
        bootstrap, lines_topic, until=lambda rs: len(_line_ids(rs)) >= lines, worker=worker
    )
    first_letters = await read_topic(bootstrap, dlq_topic, until=lambda rs: len(rs) >= letters)
    again = await read_again_after_quiet(
        bootstrap, {lines_topic: first_lines, dlq_topic: first_letters}
    )
    worker.assert_alive()
    return again[lines_topic], again[dlq_topic]


def lines_told(lines: list[Record]) -> Counter[tuple[int, str, int]]:
    """Every line valid against its schema and no line id twice: how many lines each
    (game id, persona, action id) got."""
    counted = Counter((r.value["commentary_id"], r.value["line_index"]) for r in lines)
    assert [k for k, n in counted.items() if n > 1] == [], "a line id published twice"
    validator = validator_for("commentary_line")
    told: Counter[tuple[int, str, int]] = Counter()
    for r in lines:
        validator.validate(r.value)
        told[(r.value["game_id"], r.value["persona"], r.value["item"]["action_id"])] += 1
    return told
