"""The group's lag from broker offsets (pitchcast.streams.lag) on a real broker.

A consumer of the group reads and commits, then stops; records produced while it is
stopped raise the lag of their partition and of no other, on both topics, until a
consumer of the group reads and commits again.
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pitchcast.metrics import Metrics
from pitchcast.settings import load_settings
from pitchcast.streams.lag import ConsumerLag
from tests.support.utils import CreateTopics, UniqueName

pytestmark = pytest.mark.integration

PARTITIONS = 2


async def _produce(bootstrap: str, topic: str, partition: int, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, value=b"%d" % i, partition=partition)
    finally:
        await producer.stop()


async def _consume_and_commit(bootstrap: str, group: str, topics: list[str], total: int) -> None:
    """A member of ``group`` reads ``total`` records, commits them and leaves (stops)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen = 0
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(records) for records in batches.values())
        await consumer.commit()
    finally:
        await consumer.stop()


def _lag(metrics: Metrics, topic: str, partition: int) -> float:
    return metrics.get("consumer_lag", topic=topic, partition=partition)


async def test_lag_rises_while_the_group_is_stopped_and_falls_when_it_commits(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    events, batches = await create_topics(
        unique_name("lag-events"), unique_name("lag-batches"), partitions=PARTITIONS
    )
    group = unique_name("lag-group")
    settings = load_settings(
        kafka_bootstrap_servers=kafka_bootstrap, app_id=group, partitions=PARTITIONS
    )
    metrics = Metrics()
    lag = ConsumerLag(settings, metrics, [events, batches])
    try:
        # Nothing committed yet: everything the broker holds is lag.
        await _produce(kafka_bootstrap, events, 0, 4)
        await lag.update()
        assert _lag(metrics, events, 0) == 4
        assert _lag(metrics, events, 1) == _lag(metrics, batches, 0) == 0

        await _consume_and_commit(kafka_bootstrap, group, [events, batches], 4)
        await lag.update()
        assert metrics.get("consumer_lag") == 0

        # The group is stopped: new records pile up on their partitions.
        await _produce(kafka_bootstrap, events, 1, 7)
        await _produce(kafka_bootstrap, batches, 0, 3)
        await lag.update()
        assert _lag(metrics, events, 1) == 7 and _lag(metrics, batches, 0) == 3
        assert _lag(metrics, events, 0) == _lag(metrics, batches, 1) == 0
        await _produce(kafka_bootstrap, events, 1, 5)
        await lag.update()
        assert _lag(metrics, events, 1) == 12

        # A member reads and commits again: the lag is gone.
        await _consume_and_commit(kafka_bootstrap, group, [events, batches], 15)
        await lag.update()
        assert metrics.get("consumer_lag") == 0
        assert metrics.get("lag_reads", outcome="ok") == 5
        assert metrics.get("lag_reads", outcome="error") == 0
    finally:
        await lag.close()


async def test_an_unreachable_broker_is_counted_not_raised(unique_name: UniqueName) -> None:
    """A failed read keeps the worker going: lag_reads{outcome="error"} shows it."""
    settings = load_settings(kafka_bootstrap_servers="127.0.0.1:1", app_id=unique_name("g"))
    metrics = Metrics()
    lag = ConsumerLag(settings, metrics, ["match-events"])
    await lag.update()
    assert metrics.get("lag_reads", outcome="error") == 1
    assert metrics.get("lag_reads", outcome="ok") == 0
    assert metrics.get("consumer_lag") == 0
