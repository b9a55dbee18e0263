"""The monitor's start offsets (pitchcast/monitor/feed.py)."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from pitchcast.monitor import feed
from pitchcast.settings import load_settings


class _RacingConsumer:
    """An empty partition that gets its first records between the two offset lookups."""

    def __init__(self) -> None:
        self.records = 0
        self.seeks: dict[TopicPartition, int] = {}

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.partitions = partitions

    async def offsets_for_times(self, times: dict[TopicPartition, int]) -> dict[Any, Any]:
        found = dict.fromkeys(times)  # nothing newer than the look-back yet...
        self.records = 5  # ...and then the feed writes a match's first five actions
        return found

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[Any, int]:
        return dict.fromkeys(partitions, self.records)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset


async def test_records_written_while_the_start_is_looked_up_are_read(monkeypatch) -> None:
    async def one_partition(settings: Any, topic: str) -> int:
        return 1

    monkeypatch.setattr(feed, "partition_count", one_partition)
    consumer = _RacingConsumer()
    partitions = await feed._assign(consumer, load_settings(), ["match-events"], 3600.0)  # type: ignore[arg-type]
    assert consumer.seeks == {partitions[0]: 0}
