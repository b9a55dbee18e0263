"""Commit offsets that keep up: faust's consumer with its acked list kept free of repeats.

faust-streaming 0.15.3 resumes stream partitions after a changelog recovery and only
then seeks them to their committed offsets (``tables/recovery.py``). Records delivered
during that seek are later taken for a hole in the log and added to ``_acked[tp]`` as a
"gap" (``transport/consumer.py`` ``_add_gap``) on top of their own acks. The commit
offset is the end of the first run of consecutive numbers in ``_acked[tp]``
(``_new_offset``), and a repeated number ends a run, so from then on each commit moved
the group's offset by one or two records and the next worker re-read nearly everything.

:class:`DedupedAckConsumer` lets faust compute the offset as usual, then drops repeats
from the acked list and carries the offset on through the consecutive run that follows.
The same race can also skip records (the partition ledger reads them itself,
``agents/acks/ledger.py``); :meth:`DedupedAckConsumer.ack_range` acks what the ledger folded
in, or faust's commit would stop below it.
Only the arithmetic changes: what counts as acked is still faust's decision. It relies on
faust-streaming internals (``Consumer._new_offset``, ``_acked``, ``_acked_index``,
``_gap``) as they are in **faust-streaming 0.15.3**, the version ``pyproject.toml``
pins: :data:`FAUST_VERSION` names it, and ``tests/unit/agents/acks/test_offsets.py`` fails on
any other installed version, so an upgrade re-checks this override first. Its
arithmetic is unit-tested there; the integration test
``test_successive_workers_on_one_group_commit_to_the_end`` guards it end to end.

Upstream issues: repeats in ``_acked`` stall commits (robinhood/faust#625); the recovery
race itself is faust-streaming's ``tables/recovery.py`` resume-before-seek. A known
upstream hole this override deliberately keeps: ``_new_offset`` tolerates one missing
offset right after the committed one (``min(acked) - committed > 1``), so an ack out of
order can commit past a record still in work (faust-streaming/faust#606, open; fix
proposed in #707). faust needs that tolerance for offsets that carry no record
(transaction markers under ``exactly_once``), so pitchcast does not change it; instead
both agents hand faust their acks only as a prefix of each partition's delivery order
(the batch agent through its hand-off window, :mod:`pitchcast.agents.acks.window`,
in arrival order; the commentary agent through
:class:`~pitchcast.agents.acks.order.AckOrder`), and the tolerance is never reached. A
unit test pins that faust behaviour, so a faust that changes it is noticed.

On a revoke, faust forgets the revoked partitions' acks before the app hears of it;
:meth:`DedupedAckConsumer.on_partitions_revoked` commits them first, within the first
step's bound of the revoke (:mod:`pitchcast.agents.acks.revoke`).

The same transport gives the app :class:`IdempotentProducer`: faust 0.15.3 builds its
aiokafka producer with ``acks`` from ``producer_acks`` (default -1, "all") but turns on
``enable_idempotence`` only inside a transaction (``exactly_once``:
``Producer._settings_extra``), and aiokafka 0.14 defaults it to off. Without it, a send
retried after a leader failover can write a record twice; with it, the broker drops the
copy by producer id and sequence number. It overrides the private
``Producer._settings_extra`` of faust-streaming 0.15.3: faust has no setting for it, and
no upstream issue asking for one was found (2026-12); ``tests/unit/agents/acks/test_offsets.py``
checks the producer faust builds from it, and the version pin there covers an upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import faust
from faust.transport import by_url
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT
from faust.types.tuples import ack_lock

from pitchcast.agents.acks.revoke import RevokeBounds, bounded
from pitchcast.metrics import Metrics

__all__ = [
    "FAUST_VERSION",
    "DedupedAckApp",
    "DedupedAckConsumer",
    "IdempotentProducer",
    "consumer_ack_range",
    "consumer_committed",
    "consumer_not_gaps",
    "consumer_read_offset",
]

#: The faust-streaming release this override was written and checked against.
FAUST_VERSION = "0.15.3"


class DedupedAckConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer whose commit offset is not held back by repeated acks."""

    def _new_offset(self, tp: TP) -> int | None:
        offset: int | None = super()._new_offset(tp)
        if offset is None:
            return None
        acked = self._acked[tp]
        index = self._acked_index[tp]
        remaining = sorted({o for o in acked if o >= offset})
        while remaining and remaining[0] == offset:
            remaining.pop(0)
            index.discard(offset)
            offset += 1
        index.difference_update({o for o in acked if o < offset})
        acked[:] = remaining
        return offset

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Commit what was acked on ``revoked`` before faust forgets it.

        faust-streaming 0.15.3's ``Consumer.on_partitions_revoked`` drops the acked lists
        of revoked partitions before the app's revoke signal runs, so a commit from that
        signal no longer covers them, and the next owner re-reads everything acked since
        the last periodic commit (``broker_commit_interval``). Kafka's rule is to commit
        in the revoke callback, while the partitions are still ours. Under
        ``exactly_once`` faust commits through its transactions and is left alone.
        The time it begins is kept on the app: the revoke's last step reports the whole
        revoke's duration from it (:class:`~pitchcast.agents.acks.revoke.RevokeSteps`).
        """
        self.app.revoke_began_at = asyncio.get_running_loop().time()
        if revoked and not self.app.in_transaction:
            # Bounded (step 1 of the revoke): a commit cut or failed costs re-reads by
            # the next owner, never the revoke itself.
            await bounded(
                "commit_revoked",
                self.app.revoke_bounds.commit_revoked_s,
                self._commit_revoked(revoked),
                metrics=getattr(self.app, "pitchcast_metrics", None),
            )
        await super().on_partitions_revoked(revoked)

    async def _commit_revoked(self, revoked: set[TP]) -> None:
        await self.maybe_wait_for_commit_to_finish()  # else commit() returns early
        await self.commit(revoked)

    def ack_range(self, tp: TP, first: int, last: int) -> None:
        """Count ``first..last`` of ``tp`` as acked: records the partition ledger read
        and folded in itself because faust never handed them over (its recovery race).
        Without this, faust's acked list keeps a hole there and the commit stops below
        it for the rest of the assignment."""
        with ack_lock:
            committed = self._committed_offset[tp]
            acked, index = self._acked[tp], self._acked_index[tp]
            for offset in range(first, last + 1):
                if (committed is None or offset >= committed) and offset not in index:
                    index.add(offset)
                    acked.append(offset)
            acked.sort()

    def not_gaps(self, tp: TP, offsets: Iterable[int]) -> None:
        """``offsets`` of ``tp`` hold records (the hand-off guard read them from the log):
        take them out of faust's gap list. faust counts a jump in the offsets it hands
        over as a hole in the log (``_add_gap``) and acks it with the next ack past it
        (``_new_offset``); a skipped range it took for one would be committed while its
        records are still in work. Their own acks, in order, move the commit instead."""
        gap = self._gap.get(tp)
        if gap:
            for offset in offsets:
                gap.chop(offset, offset + 1)


class IdempotentProducer(faust_aiokafka.Producer):
    """faust's aiokafka producer with ``acks=all`` and idempotence, in and out of
    transactions (faust sets idempotence only in them)."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class _DedupedAckTransport(faust_aiokafka.Transport):
    Consumer = DedupedAckConsumer
    Producer = IdempotentProducer


class DedupedAckApp(faust.App):
    """``faust.App`` whose Kafka consumer is :class:`DedupedAckConsumer`.

    ``revoke_bounds`` bounds the consumer's revoke commit (by default from faust's
    session timeout and a 10 s grace); ``pitchcast_metrics`` counts cut revoke steps."""

    revoke_bounds: RevokeBounds
    pitchcast_metrics: Metrics | None
    # When the running revoke began (the consumer's step 1), on the event loop's clock.
    revoke_began_at: float | None = None

    def __init__(
        self,
        *args: Any,
        revoke_bounds: RevokeBounds | None = None,
        pitchcast_metrics: Metrics | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.revoke_bounds = revoke_bounds or RevokeBounds.within(
            float(self.conf.broker_session_timeout), 10.0
        )
        self.pitchcast_metrics = pitchcast_metrics

    def take_revoke_began(self) -> float | None:
        """When the running revoke began (its step 1), once; None when not known."""
        began, self.revoke_began_at = self.revoke_began_at, None
        return began

    def _new_transport(self) -> TransportT:
        url = self.conf.broker_consumer[0]
        if by_url(url) is not faust_aiokafka.Transport:
            return super()._new_transport()
        return _DedupedAckTransport(self.conf.broker_consumer, self)


def consumer_ack_range(app: faust.App) -> Callable[[str, int, int, int], None]:
    """``(topic, partition, first, last)`` -> ack that range to ``app``'s consumer: the
    offsets the partition ledger refilled (see :meth:`DedupedAckConsumer.ack_range`)."""

    def ack_range(topic: str, partition: int, first: int, last: int) -> None:
        consumer = app.consumer
        if isinstance(consumer, DedupedAckConsumer):
            consumer.ack_range(TP(topic, partition), first, last)

    return ack_range


def consumer_not_gaps(app: faust.App, topic: str) -> Callable[[int, list[int]], None]:
    """``(partition, offsets)`` -> :meth:`DedupedAckConsumer.not_gaps` on ``app``'s
    consumer (the hand-off guard's refilled offsets)."""

    def not_gaps(partition: int, offsets: list[int]) -> None:
        consumer = app.consumer
        if isinstance(consumer, DedupedAckConsumer):
            consumer.not_gaps(TP(topic, partition), offsets)

    return not_gaps


def consumer_read_offset(app: faust.App, topic: str) -> Callable[[int], int | None]:
    """``partition`` -> faust-streaming 0.15.3's private ``Consumer._read_offset`` of
    ``topic``: the last offset its fetcher loop handed over (``_drain_messages``), or
    the next to read after a seek (``perform_seek``, ``seek``); records below it are
    dropped when fetched again. None when unknown. The hand-off guard's sweep
    (:mod:`pitchcast.agents.acks.handoff`)."""

    def read_offset(partition: int) -> int | None:
        offsets: Mapping[TP, int | None] = cast(Any, app.consumer)._read_offset
        return offsets.get(TP(topic, partition))

    return read_offset


def consumer_committed(app: faust.App, topic: str) -> Callable[[int], int | None]:
    """``partition`` -> the committed offset ``app``'s consumer measures acks against on
    ``topic``, or None when it has none: faust-streaming 0.15.3's private
    ``Consumer._committed_offset``, which ``perform_seek`` sets from the broker at the
    start of an assignment and each commit moves on (the hand-off guard's baseline,
    :mod:`pitchcast.agents.acks.handoff`). Read without inserting (it is a defaultdict)."""

    def committed(partition: int) -> int | None:
        offsets: Mapping[TP, int | None] = cast(Any, app.consumer)._committed_offset
        return offsets.get(TP(topic, partition))

    return committed
