"""The monitor's reader: the events, lines, commentary and dead-letter topics, no group.

It assigns every partition itself (no consumer group, so it can never take a partition
from a worker, and it commits nothing), starts ``lookback`` before now (a match's
``match_start`` is within it; older records are skipped by time, not read), and feeds
each record to the :class:`~pitchcast.monitor.board.Board`. Updates go to the
:class:`Hub`, which hands them to every connected page through a bounded queue: a page
that cannot keep up is dropped (its browser reconnects and draws a fresh snapshot)
rather than slowing the reader or the other pages.

A broker outage only pauses it: aiokafka reconnects by itself, and the topics are looked
up again until they exist (the monitor may start before the worker creates them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from pitchcast.exceptions import ConfigurationError
from pitchcast.monitor.board import Board, Update
from pitchcast.settings import Settings
from pitchcast.streams.admin import partition_count
from pitchcast.streams.clients import aiokafka_options

__all__ = ["FeedStatus", "Hub", "read_topics"]

log = logging.getLogger("pitchcast.monitor")

# Each page's queue; past it the page is dropped and reconnects (see the module doc).
PAGE_QUEUE = 2000
# How often, and how patiently, the reader asks the broker whether it is there.
PROBE_EVERY_S = 3.0
PROBE_TIMEOUT_S = 3.0


class Hub:
    """Fans updates out to the pages connected at the moment, each through its own queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Update | None]] = set()
        self.dropped_pages = 0

    def subscribe(self) -> asyncio.Queue[Update | None]:
        queue: asyncio.Queue[Update | None] = asyncio.Queue(maxsize=PAGE_QUEUE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Update | None]) -> None:
        self._queues.discard(queue)

    def publish(self, updates: list[Update]) -> None:
        for queue in list(self._queues):
            try:
                for update in updates:
                    queue.put_nowait(update)
            except asyncio.QueueFull:
                # A page this far behind gets a fresh snapshot instead: end its stream.
                self._queues.discard(queue)
                self.dropped_pages += 1
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def close(self) -> None:
        for queue in list(self._queues):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
        self._queues.clear()


@dataclass
class FeedStatus:
    """What the pages show of the reader itself."""

    connected: bool = False
    last_record_ms: int | None = None
    records: int = 0
    error: str = ""
    topics: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "last_record_ms": self.last_record_ms,
            "records": self.records,
            "error": self.error,
        }


def _handlers(settings: Settings, board: Board) -> dict[str, Callable[..., list[Update]]]:
    return {
        settings.topic_events: board.on_event,
        settings.topic_lines: board.on_line,
        settings.topic_commentary: board.on_record,
        settings.topic_dlq: board.on_dead_letter,
    }


async def _assign(
    consumer: AIOKafkaConsumer, settings: Settings, topics: list[str], lookback_s: float
) -> list[TopicPartition]:
    partitions: list[TopicPartition] = []
    for topic in topics:
        count = await partition_count(settings, topic)
        partitions.extend(TopicPartition(topic, p) for p in range(count))
    consumer.assign(partitions)
    since_ms = int((time.time() - lookback_s) * 1000)
    # The ends first: a record written between the two lookups is then found by time
    # (LogAppendTime), never skipped by an end read after it (a new match's first actions).
    ends = await consumer.end_offsets(partitions)
    found = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
    for tp in partitions:
        start = found.get(tp)
        consumer.seek(tp, start.offset if start is not None else ends[tp])
    return partitions


async def _probe(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], status: FeedStatus
) -> None:
    """Tell the pages whether the broker answers: aiokafka only retries, silently."""
    while True:
        try:
            await asyncio.wait_for(consumer.end_offsets(partitions), timeout=PROBE_TIMEOUT_S)
        except (KafkaError, TimeoutError, OSError) as exc:
            status.connected, status.error = False, type(exc).__name__
        else:
            status.connected, status.error = True, ""
        await asyncio.sleep(PROBE_EVERY_S)


async def read_topics(
    settings: Settings,
    board: Board,
    hub: Hub,
    status: FeedStatus,
    *,
    lookback_s: float,
    ready: asyncio.Event | None = None,
) -> None:
    """Read until cancelled; reconnect and look the topics up again after any failure."""
    handlers = _handlers(settings, board)
    while True:
        probe: asyncio.Task[None] | None = None
        consumer = AIOKafkaConsumer(
            **aiokafka_options(settings), enable_auto_commit=False, group_id=None
        )
        try:
            await consumer.start()
            partitions = await _assign(consumer, settings, list(handlers), lookback_s)
            # Everything is read again from the look-back: start the board afresh too.
            board.clear()
            hub.publish([{"type": "reload"}])
            status.connected, status.error = True, ""
            if ready is not None:
                ready.set()
            probe = asyncio.create_task(_probe(consumer, partitions[:1], status))
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                updates: list[Update] = []
                for tp, records in batches.items():
                    handle = handlers[tp.topic]
                    for record in records:
                        updates.extend(handle(record.value, record.timestamp))
                        status.records += 1
                        status.last_record_ms = record.timestamp
                if updates:
                    hub.publish(updates)
        except asyncio.CancelledError:
            raise
        except (KafkaError, ConfigurationError, OSError) as exc:
            status.connected = False
            status.error = type(exc).__name__
            log.warning("monitor: cannot read the topics (%s); retrying in 2 s", exc)
            await asyncio.sleep(2.0)
        finally:
            if probe is not None:
                probe.cancel()
            await consumer.stop()
