"""`pitchcast replay` on a real broker: the events topic it sends to."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiokafka import AIOKafkaConsumer

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from pitchcast.streams.replay import plan_replay, replay
from tests.support.pipeline import DATA
from tests.support.utils import CreateTopics, UniqueName

pytestmark = pytest.mark.integration


async def test_a_missing_events_topic_is_named_not_a_traceback(
    kafka_bootstrap: str, unique_name: UniqueName, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo in PITCHCAST_TOPIC_EVENTS: one clear error once the wait for the topic is
    over, as `tail` gives, not a minute of "not found in cluster metadata" and a
    traceback."""
    topic = unique_name("never-created")
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap, topic_events=topic)
    plan = plan_replay(DATA / "events_metrica_1.csv")[:3]
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, "pitchcast.topics"),
        pytest.raises(ConfigurationError, match=f"topic {topic} does not exist"),
    ):
        await replay(settings, [plan], speed=None, topic_wait_s=1.0)
    assert time.monotonic() - started < 10
    # The wait (30 s by default) said what it waits for, at its start: the terminal
    # showed a progress bar at 0% and nothing else.
    assert [r.getMessage() for r in caplog.records] == [
        f"pitchcast.topic_missing waiting up to 1 s for topic {topic}"
        " (a worker starting beside creates it)"
    ]


async def test_a_topic_the_worker_creates_meanwhile_is_waited_for(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    """README's `pitchcast worker &` then `pitchcast replay ...`: the worker creates the
    topics a moment after the replay starts, and the replay sends once they are there."""
    topic = unique_name("events")
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap, topic_events=topic)
    plan = plan_replay(DATA / "events_metrica_1.csv")[:3]

    async def worker_starting() -> None:
        await asyncio.sleep(2)
        await create_topics(topic, partitions=1)

    creating = asyncio.create_task(worker_starting())
    assert await replay(settings, [plan], speed=None, topic_wait_s=20.0) == 3
    await creating
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    assert sum(len(records) for records in batch.values()) == 3
