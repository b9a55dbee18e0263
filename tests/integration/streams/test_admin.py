"""Topics made by the admin client, and reading a range of offsets directly (how the batch
agent refills an offset gap)."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from pitchcast.settings import load_settings
from pitchcast.streams.admin import ensure_changelog, partition_count, read_range
from tests.support.utils import CreateTopics, UniqueName

pytestmark = pytest.mark.integration


async def _produce(bootstrap: str, topic: str, count: int) -> None:
    """``count`` records v0, v1 ... with key 1 to partition 0 of ``topic``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, key=b"1", value=f"v{n}".encode(), partition=0)
    finally:
        await producer.stop()


async def test_ensure_changelog_creates_a_missing_topic_once(
    kafka_bootstrap: str, unique_name: UniqueName
) -> None:
    """A missing changelog is created compacted with the settings' partitions; asked again,
    it is found, not created twice."""
    topic = unique_name("changelog")
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap, partitions=2)
    try:
        assert await ensure_changelog(settings, topic) == (
            f"created {topic} (2 partitions, compacted)"
        )
        assert await ensure_changelog(settings, topic) == f"ok {topic}"
        assert await partition_count(settings, topic) == 2
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def test_read_range_returns_exactly_the_offsets_asked_for(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    """Offsets 5..14 of a 30-record partition come back in order, keys and values intact."""
    (topic,) = await create_topics(unique_name("range"), partitions=1)
    await _produce(kafka_bootstrap, topic, 30)
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap)
    read = await read_range(settings, topic, 0, 5, 14)
    records = read.records
    assert read.complete and read.first_available == 0
    assert [r.offset for r in records] == list(range(5, 15))
    assert [r.value for r in records] == [f"v{n}".encode() for n in range(5, 15)]
    assert all(r.key == b"1" for r in records)


async def test_a_range_past_the_end_is_not_complete(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    """Asking for offsets the partition does not hold yet comes back incomplete, not short."""
    (topic,) = await create_topics(unique_name("range-end"), partitions=1)
    await _produce(kafka_bootstrap, topic, 5)
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap)
    read = await read_range(settings, topic, 0, 3, 9, timeout_s=2.0)
    assert not read.complete
    assert [r.offset for r in read.records] == [3, 4]


async def test_missing_topics_without_creating_them_say_what_to_do(
    kafka_bootstrap: str, unique_name: UniqueName
) -> None:
    """The worker of a secure cluster runs with PITCHCAST_CREATE_TOPICS=false: a topic
    nobody made yet (or a misspelt PITCHCAST_TOPIC_*) is named, with who creates it and how."""
    from pitchcast.exceptions import ConfigurationError
    from pitchcast.streams.admin import ensure_topics

    events = unique_name("no-such-events")
    settings = load_settings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_events=events, create_topics=False
    )
    with pytest.raises(ConfigurationError) as caught:
        await ensure_topics(settings)
    message = str(caught.value)
    assert message.startswith(f"topics missing: {events}")
    assert "PITCHCAST_CREATE_TOPICS=true pitchcast topics" in message
    assert "PITCHCAST_TOPIC_" in message
