"""The partition ledger: no record of a partition is ever skipped unnoticed.

faust-streaming 0.15.3 resumes a partition's stream after a changelog recovery and only
then seeks it to its committed offset (``tables/recovery.py``); records can be handed
over twice or skipped in between (upstream: faust-streaming/faust issues #651, #216 on
recovery stalls and offsets; the skip was seen here after a SIGKILL restart). The
events topic is neither compacted nor transactional, so within a partition the offsets
this agent folds in must be consecutive.

The ledger keeps, per partition, the last offset folded in, in the same changelogged
table as the match states (key ``@partition:<n>``, written while processing a record of
that partition, so it lands on the same changelog partition and moves with it on a
rebalance). Before a record is handled, a jump from that offset is refilled: the
skipped range is read from the log directly and folded in first, in order. A refill
that cannot reach the end of the range raises :class:`RefillIncomplete`: the record is
not acked and the worker stops, so it is read again after the restart; nothing is
acked past a hole. A range the broker no longer holds (deleted by retention) is logged
and counted as lost: it cannot be read by anyone.

With no ledger entry yet (a partition never folded by this deployment) there is no
baseline and faust's position is trusted: that is where a new consumer group starts.

The batch agent pipelines its hand-off (:mod:`pitchcast.agents.acks.window`): a record
is *decided* (folded, its sends handed over) before the records ahead of it are
committed. :meth:`PartitionLedger.decided` notes that in memory, so the gap check
compares with the last record decided; the table entry is written only when the
record is committed (:meth:`PartitionLedger.folded`), after its sends were acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pitchcast.exceptions import PitchcastError
from pitchcast.metrics import Metrics
from pitchcast.streams.admin import RangeRead

__all__ = ["LEDGER_PREFIX", "PartitionLedger", "RangeRead", "RangeReader", "RefillIncomplete"]

log = logging.getLogger("pitchcast.ledger")

LEDGER_PREFIX = b"@partition:"
_ATTEMPTS = 5
_RETRY_WAIT_S = 1.0


class RefillIncomplete(PitchcastError):
    """A skipped range of a partition could not be read to its end."""


# (topic, partition, first, last) -> what was read.
RangeReader = Callable[[str, int, int, int], Awaitable[RangeRead]]


class PartitionLedger:
    """The last folded offset of each partition, and the refill of any skipped range."""

    def __init__(
        self,
        table: Any,
        *,
        metrics: Metrics,
        read_range: RangeReader | None,
        attempts: int = _ATTEMPTS,
        retry_wait_s: float = _RETRY_WAIT_S,
    ) -> None:
        self._table = table
        self._metrics = metrics
        self._read_range = read_range
        self._attempts = attempts
        self._retry_wait_s = retry_wait_s
        self._decided: dict[int, int] = {}  # partition -> last offset decided, uncommitted

    @staticmethod
    def key(partition: int) -> bytes:
        return LEDGER_PREFIX + str(partition).encode()

    def last(self, partition: int) -> int | None:
        """The last offset of ``partition`` decided or folded in, or None before the
        first one."""
        decided = self._decided.get(partition)
        return decided if decided is not None else self.stored(partition)

    def stored(self, partition: int) -> int | None:
        """The last offset of ``partition`` committed to the table."""
        raw = self._table.get(self.key(partition))
        return None if raw is None else int(raw)

    def decided(self, partition: int, offset: int) -> None:
        """Note that ``offset`` was folded and its hand-off sent, not yet committed."""
        last = self.last(partition)
        if last is None or offset > last:
            self._decided[partition] = offset

    def folded(self, partition: int, offset: int) -> None:
        """Note in the table that ``offset`` was folded in (call when committing that
        record, in the context of its event: the table's changelog partition is the
        event's)."""
        stored = self.stored(partition)
        if stored is None or offset > stored:
            self._table[self.key(partition)] = str(offset).encode()
        if self._decided.get(partition) == offset:
            del self._decided[partition]  # everything decided is committed

    def forget_decided(self) -> None:
        """Drop what was decided but not committed (the window was abandoned)."""
        self._decided.clear()

    async def missing_before(self, topic: str, partition: int, offset: int) -> list[Any]:
        """The records between the last folded offset and ``offset``, read from the log.

        Empty when nothing was skipped. Raises :class:`RefillIncomplete` when the range
        cannot be read to its end.
        """
        last = self.last(partition)
        if last is None or offset <= last + 1:
            return []
        return await read_skipped(
            topic,
            partition,
            last + 1,
            offset - 1,
            read_range=self._read_range,
            metrics=self._metrics,
            attempts=self._attempts,
            retry_wait_s=self._retry_wait_s,
        )


async def read_skipped(
    topic: str,
    partition: int,
    first: int,
    final: int,
    *,
    read_range: RangeReader | None,
    metrics: Metrics,
    attempts: int = _ATTEMPTS,
    retry_wait_s: float = _RETRY_WAIT_S,
) -> list[Any]:
    """The records ``first..final`` of a partition that faust skipped, read from the log
    (logged and counted as a gap). Raises :class:`RefillIncomplete` when the range cannot
    be read to its end. Used by the partition ledger and the hand-off guard
    (:mod:`pitchcast.agents.acks.handoff`)."""
    offset = final + 1
    metrics.add("offset_gaps")
    metrics.add("offset_gap_records", final - first + 1, state="skipped")
    log.error(
        "pitchcast.ledger.gap partition=%s skipped offsets %s..%s",
        partition,
        first,
        final,
        extra={"topic": topic, "partition": partition, "first": first, "last": final},
    )
    if read_range is None:
        raise RefillIncomplete(f"offsets {first}..{final} of {topic}[{partition}] skipped")
    read: RangeRead | None = None
    for attempt in range(1, attempts + 1):
        try:
            read = await read_range(topic, partition, first, final)
        except Exception as exc:  # the broker may be restarting: try again
            log.warning(
                "pitchcast.ledger.refill_retry",
                extra={
                    "partition": partition,
                    "attempt": attempt,
                    "error_kind": type(exc).__name__,
                },
            )
            read = None
        if read is not None and read.complete:
            break
        await asyncio.sleep(retry_wait_s * attempt)
    if read is None or not read.complete:
        raise RefillIncomplete(
            f"offsets {first}..{final} of {topic}[{partition}] could not be read"
            f" to their end after {attempts} attempts"
        )
    if read.first_available > first:
        lost = min(read.first_available, offset) - first
        metrics.add("offset_gap_records", lost, state="deleted")
        log.error(
            "pitchcast.ledger.range_deleted partition=%s offsets %s..%s no longer exist",
            partition,
            first,
            min(read.first_available, offset) - 1,
            extra={"partition": partition, "first": first, "lost": lost},
        )
    records = [r for r in read.records if first <= r.offset <= final]
    metrics.add("offset_gap_records", len(records), state="refilled")
    return records
