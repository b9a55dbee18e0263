"""Round trips through the real services: a keyed message through Kafka, values through Redis.

These catch what mocked clients cannot: broker settings (replication of the internal
topics, group start-up delay, explicit topic creation) and client/server mismatches.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.support.utils import CreateTopics, UniqueName

pytestmark = pytest.mark.integration


async def test_kafka_keyed_message_round_trip(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    """A keyed message sent to a 3-partition topic comes back with its key, value and partition."""
    (topic,) = await create_topics(unique_name("roundtrip"), partitions=3)
    key, value = b"126283", '{"game_id": 126283, "action_id": 1, "선수": "손흥민"}'.encode()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), 15)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=unique_name("group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received = await asyncio.wait_for(consumer.getone(), 20)
        partition = TopicPartition(topic, received.partition)
        await consumer.commit({partition: received.offset + 1})
        committed = await consumer.committed(partition)
    finally:
        await consumer.stop()

    assert (received.key, received.value) == (key, value)
    assert (received.partition, received.offset) == (sent.partition, sent.offset)
    assert committed == received.offset + 1


async def test_redis_set_get_ttl_and_nx(redis_url: str, unique_name: UniqueName) -> None:
    """SET with a TTL reads back and expires on schedule; SET NX only writes a missing key."""
    client = aioredis.from_url(redis_url, socket_timeout=5)
    key, lock = unique_name("cache"), unique_name("lock")
    try:
        assert await client.set(key, "캐스터 한 줄", ex=30)
        assert (await client.get(key)).decode() == "캐스터 한 줄"
        assert 0 < await client.ttl(key) <= 30

        assert await client.set(lock, "owner-a", nx=True, px=30_000)
        assert await client.set(lock, "owner-b", nx=True, px=30_000) is None
        assert await client.get(lock) == b"owner-a"

        assert await client.set(key, "short", px=200)
        await asyncio.sleep(0.4)
        assert await client.get(key) is None
    finally:
        await client.delete(key, lock)
        await client.aclose()
