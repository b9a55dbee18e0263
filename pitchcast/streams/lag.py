"""Consumer lag of the input topics, read from the broker: ``pitchcast_consumer_lag``.

Lag is, per partition, the broker's end offset (high watermark) minus the offset the
group (``PITCHCAST_APP_ID``) has committed, for the two topics the group consumes:
``match-events`` (the batch agent) and ``pitchcast-batches`` (the commentary agent).
faust's own gauges (``faust_topic_partition_*``) are not used: they are updated only by
a consumer that is making progress, so they go stale on a stuck worker, vanish with a
dead one and are cleared on every rebalance. Broker offsets keep moving whoever reads.

Every worker exports the whole group's lag (the figures are the group's, not the
worker's): alert on ``max by (topic, partition)``. A partition the group never
committed counts from the first offset the broker still holds (auto offset reset is
``earliest``). Each read is one ListOffsets and one OffsetFetch request; a failed read
leaves the last figures and counts ``lag_reads{outcome="error"}``, so a stale lag shows.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from pitchcast.metrics import Metrics
from pitchcast.settings import Settings
from pitchcast.streams.clients import aiokafka_options

__all__ = ["LAG_INTERVAL_S", "ConsumerLag", "group_lag"]

log = logging.getLogger("pitchcast.lag")

#: Seconds between two reads; a quarter of the usual 60 s scrape-to-alert resolution.
LAG_INTERVAL_S = 15.0


async def group_lag(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    group: str,
    partitions: list[TopicPartition],
) -> dict[TopicPartition, int]:
    """End offset minus committed offset of each partition, for consumer group ``group``."""
    ends = await consumer.end_offsets(partitions)
    committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    starts: dict[TopicPartition, int] = {}
    never = [tp for tp in partitions if tp not in committed or committed[tp].offset < 0]
    if never:
        starts = await consumer.beginning_offsets(never)
    lag = {}
    for tp in partitions:
        done = starts[tp] if tp in starts else committed[tp].offset
        lag[tp] = max(ends[tp] - done, 0)
    return lag


class ConsumerLag:
    """Reads the group's lag on every call of :meth:`update` and sets the gauges."""

    def __init__(self, settings: Settings, metrics: Metrics, topics: list[str]) -> None:
        self._settings = settings
        self._metrics = metrics
        # Every match-keyed topic has settings.partitions partitions (checked at start-up).
        self._partitions = [
            TopicPartition(topic, p) for topic in topics for p in range(settings.partitions)
        ]
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        for outcome in ("ok", "error"):  # both series exist from the start, for alerts
            metrics.add("lag_reads", 0, outcome=outcome)

    async def update(self) -> None:
        """One read; never raises (a failed read is counted and logged)."""
        try:
            admin, consumer = await self._clients()
            lag = await group_lag(admin, consumer, self._settings.app_id, self._partitions)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._metrics.add("lag_reads", outcome="error")
            log.warning("pitchcast.lag_read_failed", extra={"error_kind": type(exc).__name__})
            await self.close()  # reconnect from scratch next time
            return
        for tp, records in lag.items():
            self._metrics.set("consumer_lag", records, topic=tp.topic, partition=tp.partition)
        self._metrics.add("lag_reads", outcome="ok")

    async def close(self, *_: object, **__: object) -> None:
        """Stop the clients (also a faust shutdown signal receiver)."""
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            options = aiokafka_options(self._settings)
            admin = AIOKafkaAdminClient(**options, request_timeout_ms=10_000)
            # No group: it only asks for offsets, never joins or commits.
            consumer = AIOKafkaConsumer(**options, group_id=None, request_timeout_ms=10_000)
            try:
                await admin.start()
                await consumer.start()
            except BaseException:
                await consumer.stop()
                await admin.close()
                raise
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer
