"""send_until_acked counts what the fault suite needs as evidence of a broker outage."""

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
