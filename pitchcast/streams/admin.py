"""Create the topics explicitly and check that match-keyed topics are co-partitioned."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import Settings
from pitchcast.streams.clients import aiokafka_options

__all__ = ["ensure_topics", "match_keyed_topics", "partition_count", "read_range"]


def match_keyed_topics(settings: Settings) -> list[str]:
    """Every topic keyed by game_id: they must share one partition count."""
    return [
        settings.topic_events,
        settings.topic_batches,
        settings.topic_commentary,
        settings.topic_lines,
        settings.topic_dlq,
    ]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics with ``settings.partitions``; fail on a count mismatch.

    A mismatch means a match's batches would land on another partition number than
    its events, so the start-up stops with a clear error instead.
    """
    wanted = match_keyed_topics(settings)
    admin = AIOKafkaAdminClient(**aiokafka_options(settings), request_timeout_ms=15000)
    report: list[str] = []
    try:
        await admin.start()
        existing = await _partition_counts(admin, wanted)
        missing = [t for t in wanted if t not in existing]
        if missing and not settings.create_topics:
            raise ConfigurationError(
                f"topics missing: {', '.join(missing)} (PITCHCAST_CREATE_TOPICS=false)"
            )
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=t,
                        num_partitions=settings.partitions,
                        replication_factor=settings.replication_factor,
                    )
                    for t in missing
                ]
            )
            # aiokafka reports per-topic errors in the response instead of raising.
            failed = [
                f"{e['topic']}: {e.get('error_message') or e['error_code']}"
                for e in response.to_object()["topic_errors"]
                if e["error_code"] not in (0, TopicAlreadyExistsError.errno)  # a racing worker
            ]
            if failed:
                raise ConfigurationError(f"could not create topics: {'; '.join(failed)}")
            for topic in missing:
                report.append(f"created {topic} ({settings.partitions} partitions)")
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
    except KafkaError as exc:
        raise ConfigurationError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc}"
        ) from exc
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(topics)
    counts: dict[str, int] = {}
    for entry in described:
        # error_code 3 = UNKNOWN_TOPIC_OR_PARTITION
        if entry.get("error_code", 0) == 0 and entry.get("partitions"):
            counts[entry["topic"]] = len(entry["partitions"])
    return counts


async def partition_count(settings: Settings, topic: str) -> int:
    """How many partitions ``topic`` has; ConfigurationError when it does not exist."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings), request_timeout_ms=15000)
    try:
        await admin.start()
        counts = await _partition_counts(admin, [topic])
    except KafkaError as exc:
        raise ConfigurationError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc}"
        ) from exc
    finally:
        await admin.close()
    if topic not in counts:
        raise ConfigurationError(f"topic {topic} does not exist (run `pitchcast topics`)")
    return counts[topic]


async def read_range(
    settings: Settings, topic: str, partition: int, first: int, last: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """Records ``first..last`` of one partition, read without a consumer group."""
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, first)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while not records or records[-1].offset < last:
            batch = await consumer.getmany(tp, timeout_ms=5000, max_records=500)
            if not batch.get(tp):
                break  # nothing more to read (the range was deleted or compacted)
            records.extend(r for r in batch[tp] if r.offset <= last)
        return records
    finally:
        await consumer.stop()
