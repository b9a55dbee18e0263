"""The hand-off guard on a real worker and broker: records faust skips are taken anyway.

Issue 18: the worker's consumer is seeked past the committed offsets of two hand-off
partitions right after faust's own seek (``tests/support/skipping_worker.py``), as
faust-streaming 0.15.3's start race does. Partition 0 has records after the skipped
ones (the first record handed over reveals the skip); on partition 1 the skipped
records are the last (only the guard's sweep can find them). Every record is unreadable,
so each one processed leaves a dead letter naming its offset.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from tests.integration.conftest import PARTITIONS
from tests.support.pipeline import WorkerProcess, read_topic
from tests.support.utils import CreateTopics

pytestmark = pytest.mark.integration

RECORDS = {0: 10, 1: 6}  # hand-off records per partition
COMMITTED = {0: 2, 1: 3}  # the group's committed offsets before the worker starts
SKIP_TO = {0: 5, 1: 6}  # where the consumer is seeked right after faust's seek


async def _write_and_commit(bootstrap: str, topic: str, group: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, count in RECORDS.items():
            for _ in range(count):
                await producer.send_and_wait(topic, b"{oops", key=b"7", partition=partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in COMMITTED])
        await consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in COMMITTED.items()}
        )
    finally:
        await consumer.stop()


async def _committed(bootstrap: str, topic: str, group: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in RECORDS}
    finally:
        await consumer.stop()


async def test_records_skipped_after_the_seek_are_read_from_the_log_and_committed(
    pipeline_env: dict[str, str],
    create_topics: CreateTopics,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    topic = pipeline_env["PITCHCAST_TOPIC_BATCHES"]
    group = pipeline_env["PITCHCAST_APP_ID"]
    await create_topics(topic, partitions=PARTITIONS)
    await _write_and_commit(kafka_bootstrap, topic, group)
    env = {
        **pipeline_env,
        "PITCHCAST_DATA_DIR": str(tmp_path / "data"),
        "PITCHCAST_TEST_SKIP_TO": ",".join(f"{p}:{o}" for p, o in SKIP_TO.items()),
    }
    worker = WorkerProcess(
        env=env, log_path=tmp_path / "worker.log", module="tests.support.skipping_worker"
    ).start()
    try:
        worker.wait_ready()
        expected = {(p, o) for p, count in RECORDS.items() for o in range(COMMITTED[p], count)}

        def lettered(records: list) -> set[tuple[int, int]]:  # type: ignore[type-arg]
            return {
                (r.value["partition"], r.value["offset"])
                for r in records
                if r.value.get("source_topic") == topic
            }

        letters = await read_topic(
            kafka_bootstrap,
            pipeline_env["PITCHCAST_TOPIC_DLQ"],
            until=lambda records: expected <= lettered(records),
            timeout=60.0,
            worker=worker,
        )
        assert lettered(letters) == expected, "each record from the committed offset on"
        log = worker.log_path.read_text(errors="replace")
        assert "pitchcast.handoff_guard.refilled" in log
        # The refilled records' acks let the group's commit reach each partition's end.
        deadline = time.monotonic() + 30.0
        committed = await _committed(kafka_bootstrap, topic, group)
        while committed != RECORDS:
            assert time.monotonic() < deadline, f"commit stuck at {committed}"
            await asyncio.sleep(1.0)
            committed = await _committed(kafka_bootstrap, topic, group)
    finally:
        worker.stop()
