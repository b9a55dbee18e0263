"""send_until_acked counts what the fault suite needs as evidence of a broker outage;
send_in_order hands a record over at once and leaves its ack and retries to a task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pitchcast.metrics import Metrics
from pitchcast.streams import sending as output
from pitchcast.streams.sending import send_until_acked


class _SlowTopic:
    """Acks each send after ``ack_s``; the first ``fail`` sends raise instead."""

    def __init__(self, ack_s: float, fail: int = 0) -> None:
        self.ack_s = ack_s
        self.fail = fail

    def get_topic_name(self) -> str:
        return "t"

    async def send(self, **_: Any) -> Any:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker away")

        async def acked() -> str:
            await asyncio.sleep(self.ack_s)
            return "meta"

        return acked()


async def test_an_ack_later_than_the_threshold_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(output, "_LATE_ACK_S", 0.05)
    metrics = Metrics()
    await send_until_acked(_SlowTopic(0.0), key=None, value=b"v", budget_s=5, metrics=metrics)
    assert metrics.snapshot()["sends_acked_late"] == 0
    await send_until_acked(_SlowTopic(0.1), key=None, value=b"v", budget_s=5, metrics=metrics)
    assert metrics.snapshot()["sends_acked_late{topic=t}"] == 1


async def test_a_retried_send_counts_its_retry_and_its_late_ack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backoff (0.2 s at first) makes the eventual ack late as well."""
    monkeypatch.setattr(output, "_LATE_ACK_S", 0.1)
    metrics = Metrics()
    meta = await send_until_acked(
        _SlowTopic(0.0, fail=1), key=None, value=b"v", budget_s=5, metrics=metrics
    )
    stats = metrics.snapshot()
    assert meta == "meta"
    assert stats["send_retries{topic=t}"] == 1 and stats["sends_acked_late{topic=t}"] == 1


class _QueuedTopic:
    """Takes every send at once, in call order; its acks are set by the test."""

    def __init__(self, refuse_first: bool = False) -> None:
        self.refuse_first = refuse_first
        self.sent: list[bytes] = []
        self.acks: list[asyncio.Future[str]] = []

    def get_topic_name(self) -> str:
        return "t"

    async def send(self, *, value: bytes, **_: Any) -> Any:
        if self.refuse_first:
            self.refuse_first = False
            raise ConnectionError("producer not ready")
        self.sent.append(value)
        ack: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


async def test_sends_in_order_are_handed_over_at_once_and_acked_later() -> None:
    """send_in_order returns once the record is handed over (in call order); its task
    ends with the broker's ack."""
    topic = _QueuedTopic()
    tasks = [await output.send_in_order(topic, key=None, value=v, budget_s=5) for v in (b"a", b"b")]
    assert topic.sent == [b"a", b"b"] and not any(t.done() for t in tasks)
    topic.acks[1].set_result("meta-b")
    topic.acks[0].set_result("meta-a")
    assert await asyncio.gather(*tasks) == ["meta-a", "meta-b"]


async def test_a_send_in_order_the_producer_refused_is_retried_by_its_task() -> None:
    """The first hand-over raises: the task sends the same bytes again after the
    backoff, and ends with that attempt's ack."""
    topic, metrics = _QueuedTopic(refuse_first=True), Metrics()
    task = await output.send_in_order(topic, key=None, value=b"v", budget_s=5, metrics=metrics)
    assert topic.sent == []
    while not topic.acks:
        await asyncio.sleep(0.05)
    topic.acks[0].set_result("meta")
    assert await task == "meta" and topic.sent == [b"v"]
    assert metrics.snapshot()["send_retries{topic=t}"] == 1
