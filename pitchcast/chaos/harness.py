"""The pieces every fault scenario drives: worker processes, the feed, topic readers.

* :class:`Worker`: ``pitchcast worker`` (or the chaos worker, :mod:`pitchcast.chaos.worker`,
  with injected transport faults) in a subprocess configured only through ``PITCHCAST_*``
  variables; it can be killed with SIGKILL, stopped with SIGTERM, and read for stats.
* :class:`Feed`: sends a match's messages to the events topic at a pace, retrying a
  send the broker does not acknowledge (a retried send may write a record twice, as a
  real feed's producer may: the batcher drops the copy).
* :class:`TopicReader`: every record of a topic from the beginning, read incrementally.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from pitchcast.chaos.services import free_port

__all__ = ["Feed", "Outgoing", "RawRecord", "TopicReader", "Worker", "commit_lag"]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    """One incarnation of the worker process."""

    env: dict[str, str]
    log_path: Path
    inject: Sequence[str] = ()
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    def start(self) -> Worker:
        env = {**os.environ, **self.env, "PITCHCAST_WEB_PORT": str(self.web_port)}
        if self.inject:
            command = [sys.executable, "-m", "pitchcast.chaos.worker"]
            for item in self.inject:
                command += ["--inject", item]
        else:
            command = [sys.executable, "-m", "pitchcast.cli", "worker"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO
        )
        self.started_at = time.monotonic()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while "Worker]: Ready" not in self.log_text():
            if not self.alive:
                raise RuntimeError(f"worker exited with {self.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready after {timeout_s} s:\n{self.tail()}")
            await asyncio.sleep(0.2)

    async def stats(self) -> dict[str, float]:
        """``/pitchcast/stats/`` (empty when the worker does not answer)."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"http://127.0.0.1:{self.web_port}/pitchcast/stats/")
            return dict(response.json())
        except (httpx.HTTPError, ValueError):
            return {}

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        assert self.process is not None
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    async def stop(self, timeout_s: float = 40.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``)."""
        if self.process is None:
            return None
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while self.alive and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            if self.alive:
                self.process.kill()
        self.process.wait(10)
        self._log.close()
        return self.process.returncode


# (key, value, headers) of one record to send.
Outgoing = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


class Feed:
    """A producer for the events topic that keeps trying until the broker acknowledges."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.sent = 0
        self.retries = 0
        self.placed: list[tuple[int, int]] = []  # (partition, offset) of each record sent
        self._producer: AIOKafkaProducer | None = None

    async def _open(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                linger_ms=2,
                request_timeout_ms=10000,
                max_request_size=2_000_000,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                async with asyncio.timeout(15):
                    await producer.stop()
            except (TimeoutError, KafkaError, OSError):
                pass

    async def send(self, key: bytes | None, value: bytes | None, headers: Any = None) -> None:
        wait = 0.2
        while True:
            try:
                producer = await self._open()
                meta = await producer.send_and_wait(
                    self.topic, key=key, value=value, headers=headers or []
                )
                self.placed.append((meta.partition, meta.offset))
                self.sent += 1
                return
            except (KafkaError, OSError):
                # The broker may be down: start over with a new producer after a pause.
                self.retries += 1
                await self.close()
                await asyncio.sleep(wait)
                wait = min(wait * 2, 2.0)

    async def play(
        self,
        messages: Sequence[tuple[float, Outgoing]],
        *,
        speed: float | None,
        hooks: dict[int, Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        """Send ``(at_s, record)`` in order, ``at_s / speed`` seconds after the start;
        ``hooks[i]`` runs before message ``i`` is sent (a kill, a stop...)."""
        started = time.monotonic()
        for i, (at_s, (key, value, headers)) in enumerate(messages):
            if hooks and i in hooks:
                await hooks[i]()
            if speed is not None:
                delay = at_s / speed - (time.monotonic() - started)
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.send(key, value, headers)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as it is on its topic."""

    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


class TopicReader:
    """Every record of one topic from its beginning; :meth:`poll` reads what is new."""

    def __init__(self, bootstrap: str, topic: str, *, read_committed: bool = False) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.isolation = "read_committed" if read_committed else "read_uncommitted"
        self.records: list[RawRecord] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def _open(self) -> AIOKafkaConsumer | None:
        if self._consumer is not None:
            return self._consumer
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            await admin.start()
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        if described["error_code"] != 0 or not described["partitions"]:
            return None  # not created yet
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=10000,
            isolation_level=self.isolation,
        )
        await consumer.start()
        tps = [TopicPartition(self.topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._consumer = consumer
        return consumer

    async def poll(self, timeout_ms: int = 300) -> int:
        """Read what arrived; returns how many records were new."""
        try:
            consumer = await self._open()
            if consumer is None:
                return 0
            batch = await consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        except (KafkaError, OSError):
            await self.close()  # the broker may be down: start over later
            self.records.clear()
            return 0
        new = 0
        for records in batch.values():
            for r in records:
                self.records.append(
                    RawRecord(r.partition, r.offset, r.timestamp, r.key, r.value, tuple(r.headers))
                )
                new += 1
        return new

    async def read_to_end(self, timeout_s: float = 60.0) -> dict[int, int]:
        """Read until this reader's position reaches every partition's end offset, taken
        when called (the last stable offset under ``read_committed``); partition -> end.
        Raises :class:`TimeoutError` when the end is not reached in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            consumer = None
            try:
                consumer = await self._open()
                if consumer is None:
                    return {}  # the topic was never created: nothing to read
                tps = sorted(consumer.assignment())
                ends = await consumer.end_offsets(tps)
            except (KafkaError, OSError):
                await self.close()
                self.records.clear()
                consumer = None
            if consumer is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: not readable in {timeout_s:g} s")
            await asyncio.sleep(0.5)
        while True:
            # position() counts transaction markers and aborted records read past too.
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return {tp.partition: end for tp, end in ends.items()}
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: end offsets {ends} not reached")
            await self.poll()
            if self._consumer is None:  # the broker went away: start over
                return await self.read_to_end(max(deadline - time.monotonic(), 1.0))

    async def drain(self) -> None:
        """Everything up to the end offsets (:meth:`read_to_end`)."""
        await self.read_to_end()

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()


async def commit_lag(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (offset the group committed, or -1; end of the partition), for
    partitions that hold records."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    return {
        tp.partition: (committed[tp].offset if tp in committed else -1, ends[tp])
        for tp in tps
        if ends[tp] > starts[tp]
    }
