"""Create the topics explicitly and check that match-keyed topics are co-partitioned."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import Settings
from pitchcast.streams.clients import aiokafka_options, kafka_unreachable

__all__ = [
    "TOPIC_CONFIGS",
    "RangeRead",
    "ensure_changelog",
    "ensure_topics",
    "match_keyed_topics",
    "partition_count",
    "read_range",
]

_topics_log = logging.getLogger("pitchcast.topics")


# Every record's timestamp is the broker's: the latency of a line (action appended ->
# line appended) is then read on one clock, whoever produced the action.
TOPIC_CONFIGS: tuple[tuple[str, str], ...] = (("message.timestamp.type", "LogAppendTime"),)


def match_keyed_topics(settings: Settings) -> list[str]:
    """Every topic keyed by game_id: they must share one partition count."""
    return [
        settings.topic_events,
        settings.topic_batches,
        settings.topic_commentary,
        settings.topic_lines,
        settings.topic_dlq,
    ]


@asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed after; a broker that does not answer is a
    ConfigurationError naming the servers and what to check (streams.clients)."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings), request_timeout_ms=15000)
    try:
        await admin.start()
        yield admin
    except KafkaError as exc:
        raise kafka_unreachable(settings, exc) from exc
    finally:
        await admin.close()


async def _create_topics(
    admin: AIOKafkaAdminClient, settings: Settings, topics: list[str], configs: dict[str, str]
) -> None:
    """Create ``topics`` with the settings' partitions, replication and min.insync.replicas
    (plus ``configs``); a topic that already exists is no error (a racing worker)."""
    response = await admin.create_topics(
        [
            NewTopic(
                name=topic,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={
                    **configs,
                    "min.insync.replicas": str(settings.min_insync_replicas),
                },
            )
            for topic in topics
        ]
    )
    # aiokafka reports per-topic errors in the response instead of raising.
    failed = [
        f"{e['topic']}: {e.get('error_message') or e['error_code']}"
        for e in response.to_object()["topic_errors"]
        if e["error_code"] not in (0, TopicAlreadyExistsError.errno)
    ]
    if failed:
        raise ConfigurationError(f"could not create topics: {'; '.join(failed)}")


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics with ``settings.partitions``; fail on a count mismatch.

    A mismatch means a match's batches would land on another partition number than
    its events, so the start-up stops with a clear error instead.
    """
    wanted = match_keyed_topics(settings)
    report: list[str] = []
    async with _admin(settings) as admin:
        existing = await _partition_counts(admin, wanted)
        missing = [t for t in wanted if t not in existing]
        if missing and not settings.create_topics:
            raise ConfigurationError(
                f"topics missing: {', '.join(missing)} (PITCHCAST_CREATE_TOPICS=false):"
                " an admin creates them (`PITCHCAST_CREATE_TOPICS=true pitchcast topics` with"
                " the admin's settings), or check the PITCHCAST_TOPIC_* names"
            )
        if missing:
            await _create_topics(admin, settings, missing, dict(TOPIC_CONFIGS))
            for topic in missing:
                report.append(
                    f"created {topic} ({settings.partitions} partitions, replication factor "
                    f"{settings.replication_factor}, min.insync.replicas "
                    f"{settings.min_insync_replicas})"
                )
            existing = await _partition_counts(admin, wanted)
        wrong = {t: n for t, n in existing.items() if n != settings.partitions}
        if wrong:
            listed = ", ".join(f"{t}={n}" for t, n in sorted(wrong.items()))
            raise ConfigurationError(
                f"match-keyed topics must all have PITCHCAST_PARTITIONS={settings.partitions}"
                f" partitions; found {listed}"
            )
        report.extend(f"ok {t} ({existing[t]} partitions)" for t in wanted if t not in missing)
        return report


async def ensure_changelog(settings: Settings, topic: str) -> str:
    """Create faust's changelog ``topic`` (compacted, as faust makes it) when missing: on a
    cluster where only an admin may create topics, the worker finds it made."""
    async with _admin(settings) as admin:
        if await _partition_counts(admin, [topic]):
            return f"ok {topic}"
        await _create_topics(admin, settings, [topic], {"cleanup.policy": "compact"})
        return f"created {topic} ({settings.partitions} partitions, compacted)"


async def _partition_counts(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(topics)
    counts: dict[str, int] = {}
    for entry in described:
        # error_code 3 = UNKNOWN_TOPIC_OR_PARTITION
        if entry.get("error_code", 0) == 0 and entry.get("partitions"):
            counts[entry["topic"]] = len(entry["partitions"])
    return counts


async def partition_count(settings: Settings, topic: str, *, wait_s: float = 0.0) -> int:
    """How many partitions ``topic`` has; ConfigurationError when it does not exist
    (after up to ``wait_s`` for it to appear: a worker starting beside creates it)."""
    deadline = time.monotonic() + wait_s
    async with _admin(settings) as admin:
        counts = await _partition_counts(admin, [topic])
        if topic not in counts and wait_s > 0:
            _topics_log.warning(
                "pitchcast.topic_missing waiting up to %g s for topic %s"
                " (a worker starting beside creates it)",
                wait_s,
                topic,
            )
        while topic not in counts and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            counts = await _partition_counts(admin, [topic])
    if topic not in counts:
        raise ConfigurationError(f"topic {topic} does not exist (run `pitchcast topics`)")
    return counts[topic]


@dataclass(frozen=True, slots=True)
class RangeRead:
    """What a direct read of ``first..last`` of one partition found."""

    records: list[Any]  # ConsumerRecord: offset, key, value, timestamp (ms)
    complete: bool  # the read reached past ``last``
    first_available: int  # the log start offset when the read began
    notes: list[str] = field(default_factory=list)


async def read_range(
    settings: Settings,
    topic: str,
    partition: int,
    first: int,
    last: int,
    *,
    timeout_s: float = 15.0,
) -> RangeRead:
    """Records ``first..last`` of one partition, read without a consumer group.

    Complete only when the consumer's position passed ``last`` (offsets without a
    record, such as transaction markers, are passed over, not waited for). A range that
    starts before the log start offset (deleted by retention) is read from the start.
    """
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        start = (await consumer.beginning_offsets([tp]))[tp]
        consumer.seek(tp, max(first, start))
        records: list[ConsumerRecord[bytes, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while await consumer.position(tp) <= last and loop.time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=500)
            records.extend(r for r in batch.get(tp, ()) if r.offset <= last)
        complete = await consumer.position(tp) > last
        return RangeRead(records=records, complete=complete, first_available=start)
    finally:
        await consumer.stop()
