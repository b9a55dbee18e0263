"""The monitor's reader through a real broker outage: it says so, and picks up again.

A private single-node broker of this test (the shared one is never stopped) is stopped
while the monitor reads it, and started again with its log kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from pitchcast.chaos.services import PrivateKafka
from pitchcast.monitor.board import Board
from pitchcast.monitor.feed import FeedStatus, Hub, read_topics
from pitchcast.settings import load_settings
from pitchcast.streams.admin import ensure_topics
from tests.support.monitor_records import GAME, action_record, start_record

pytestmark = pytest.mark.integration


async def _until(what: str, check: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def _send(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=str(GAME).encode())
    finally:
        await producer.stop()


async def test_the_reader_rides_out_a_broker_outage(tmp_path: Path) -> None:
    kafka = PrivateKafka(tmp_path / "kafka")
    kafka.start()
    try:
        settings = load_settings(kafka_bootstrap_servers=kafka.bootstrap, partitions=2)
        await ensure_topics(settings)
        board, hub, status = Board(), Hub(), FeedStatus()
        ready = asyncio.Event()
        reader = asyncio.create_task(
            read_topics(settings, board, hub, status, lookback_s=3600, ready=ready)
        )
        await asyncio.wait_for(ready.wait(), timeout=60)
        await _send(
            kafka.bootstrap,
            settings.topic_events,
            [start_record(), action_record(1), action_record(2)],
        )
        await _until(
            "the first actions",
            lambda: GAME in board.matches and len(board.matches[GAME].actions) == 2,
        )

        await asyncio.to_thread(kafka.stop)
        await _until("the outage to show", lambda: not status.connected)
        await asyncio.to_thread(kafka.start)
        await _until("the broker to answer again", lambda: status.connected)
        await _send(kafka.bootstrap, settings.topic_events, [action_record(3), action_record(4)])
        await _until("the actions after the outage", lambda: 4 in board.matches[GAME].actions)
        # Nothing read twice: each action once, on the pitch and in the score.
        assert sorted(board.matches[GAME].actions) == [1, 2, 3, 4]
        assert list(board.matches[GAME].recent) == [1, 2, 3, 4]
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    finally:
        await asyncio.to_thread(kafka.stop)
