"""Seek before streaming: the consumer fix behind "committed offsets stuck far below the end".

faust-streaming 0.15.3 (``tables/recovery.py``, ``on_recovery_completed`` and
``_resume_streams``) resumes the stream partitions and *then* seeks them to their
committed offsets::

    consumer.resume_partitions({tp for tp in assignment if not changelog})
    await consumer.perform_seek()

After a changelog replay the fetcher is already running, so records of the stream
partitions are delivered while ``perform_seek`` awaits one committed-offset request per
partition. When it returns it overwrites ``Consumer._read_offset`` with the committed
offsets (``transport/consumer.py``, ``perform_seek``) while the drain loop is still
handing on records fetched before the seek; ``_drain_messages`` then takes the distance
between the reset read offset and the next record for a hole in the log and records it
(``_add_gap``). ``_new_offset`` appends the "gap" to ``_acked[tp]`` on top of the real
acks of the same offsets; ``consecutive_numbers`` cuts a run at every duplicate, so each
commit from then on moves the offset by one or two records. The worker drains the
topic, the group's offset stays near where it started, and the next worker re-reads it
all. The seek also rewinds the fetcher below records the drain loop has already passed,
so the last of them is delivered twice, and a committed offset read before a concurrent
commit moves ``_committed_offset`` (and then the group's offset) backwards.

:class:`SeekFirstConsumer` keeps the stream partitions paused until the seek is done, so
nothing is delivered before it, and never lets the seek move the offset this consumer
has itself committed backwards. Only that ordering changes; the bookkeeping is faust's.
It is tied to faust-streaming 0.15.x internals: the integration test
``test_successive_workers_on_one_group_commit_to_the_end_and_lose_nothing`` guards it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import faust
from faust.transport import by_url
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT

__all__ = ["SeekFirstApp", "SeekFirstConsumer", "SeekFirstTransport"]

log = logging.getLogger("pitchcast.offsets")


class SeekFirstConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer; stream partitions resume only once they are seeked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resume_after_seek: set[TP] = set()

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        streams = {tp for tp in tps if not self._is_changelog_tp(tp)}
        if streams:
            # faust calls perform_seek() right after resuming the stream partitions;
            # hold them back until it has run (a buffered partition is fetched too).
            self._resume_after_seek |= streams
            self._buffered_partitions.difference_update(streams)
        super().resume_partitions(tps - streams)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        self._resume_after_seek -= tps
        super().pause_partitions(tps)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._resume_after_seek -= set(revoked)
        await super().on_partitions_revoked(revoked)

    async def perform_seek(self) -> None:
        ours = {tp: offset for tp, offset in self._committed_offset.items() if offset}
        await super().perform_seek()
        for tp, offset in ours.items():
            seeked = self._committed_offset.get(tp)
            if seeked is not None and seeked < offset:
                # Read before our own newer commit landed: keep ours (the seek went to
                # the older offset, so records in between are only delivered again).
                self._committed_offset[tp] = offset
        # Both of faust's callers resume every stream partition of the assignment right
        # before seeking; do exactly that now that the seek is done.
        self._resume_after_seek = set()
        streams = {tp for tp in self.assignment() if not self._is_changelog_tp(tp)}
        if streams:
            super().resume_partitions(streams)


class SeekFirstTransport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`SeekFirstConsumer`."""

    Consumer = SeekFirstConsumer


class SeekFirstApp(faust.App):
    """``faust.App`` whose Kafka consumer is :class:`SeekFirstConsumer`."""

    def _new_transport(self) -> TransportT:
        url = self.conf.broker_consumer[0]
        if by_url(url) is not faust_aiokafka.Transport:
            return super()._new_transport()
        return SeekFirstTransport(self.conf.broker_consumer, self)
