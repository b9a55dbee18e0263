"""The hand-off guard: no hand-off record is skipped unnoticed after an assignment.

faust-streaming 0.15.3 can skip records of a stream partition when an assignment starts
(faust-streaming/faust#596, open; #216/#217 fixed the same order for apps without
tables). ``Recovery.on_recovery_completed`` (``tables/recovery.py``) resumes the stream
partitions while the flow is still active from the changelog recovery, awaits
``Consumer.perform_seek`` (seek to the committed offsets, ``_read_offset`` set back to
them), then calls ``app.flow_control.resume()``, which clears every stream buffer
(``FlowControlQueue`` with ``clear_on_resume``). Meanwhile the fetcher loop
(``Consumer._drain_messages``) goes on handing over records fetched before the seek,
and sets ``_read_offset`` to each one after its callback returns, also after the seek
reset it. Records handed over before the clear go with the buffer, and when they are
fetched again after the seek the loop drops them as read (``offset < _read_offset``,
"DROPPED MESSAGE ROFF"). The agent never gets them. Either nothing acks them and
faust's commit stays below them until the next assignment, or, when the loop's next
record after the seek was more than one past the reset read offset, faust took the
range for a hole in the log (``_add_gap``) and commits past it with the next acks: the
records are lost. (One skipped record right at the committed offset is committed past
as well: ``_new_offset`` tolerates one missing offset at the head.) Here it was seen as
the events ledger's ``pitchcast.ledger.gap`` right after "Seek stream partitions to
committed offsets", and as a ``dlq-fail`` worker never handed an unreadable hand-off
record.

The events topic has its partition ledger (:mod:`.ledger`); the hand-off topic has this
guard, in memory, per assignment. For each partition it keeps the next offset it
expects: the consumer's committed offset at the start of the assignment (faust's
``Consumer._committed_offset``, as ``perform_seek`` set it; read through
:func:`pitchcast.agents.acks.offsets.consumer_committed`), then one past each record
taken. Two checks, both serialised with the agent's intake by :attr:`HandoffGuard.lock`:

* :meth:`HandoffGuard.before` a record at offset O past the expected E: E..O-1 are read
  from the log (:func:`.ledger.read_skipped`, as the ledger refills) and handed to the
  agent first, in order;
* :meth:`HandoffGuard.sweep` (a timer) a partition whose read offset R (faust's
  ``Consumer._read_offset``: the last offset its fetcher loop handed over, or the next
  one to read after a seek; read through
  :func:`pitchcast.agents.acks.offsets.consumer_read_offset`) is past E, with the
  intake idle and E unchanged over two sweeps in a row: faust will drop every record
  below R when it comes again, and the agent has nothing left in its buffer, so
  E..R-1 are read and handed over (a skip at the end of a partition, where no later
  record would reveal it; faust's own copy of R, if one comes, still reveals the rest).

A refilled record is acked on its own offset when the agent is done with it
(:func:`~pitchcast.agents.acks.offsets.consumer_ack_range`), and taken out of faust's
gap list (when the loop handed over a record past the reset read offset, faust noted
the range as a hole in the log and would commit it with the next ack:
:meth:`~pitchcast.agents.acks.offsets.DedupedAckConsumer.not_gaps`); should faust hand
it over afterwards after all, that copy is let go. With no committed offset (a new
group, or a committed 0, which faust stores as None) there is no baseline and faust is
trusted, as the ledger does without an entry. The private attributes read here are
those of faust-streaming 0.15.3, the pinned version
(``tests/unit/agents/acks/test_offsets.py`` checks them and the pin).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pitchcast.agents.acks.ledger import RangeReader, read_skipped
from pitchcast.metrics import Metrics

__all__ = ["HandOver", "HandoffGuard"]

log = logging.getLogger("pitchcast.handoff_guard")

# (partition, records read from the log) -> the agent takes them, in order.
HandOver = Callable[[int, list[Any]], Awaitable[None]]


class HandoffGuard:
    """The next offset expected per hand-off partition; skipped ranges read from the log."""

    def __init__(
        self,
        *,
        topic: str,
        committed: Callable[[int], int | None],
        read_offset: Callable[[int], int | None],
        read_range: RangeReader | None,
        metrics: Metrics,
        ready: Callable[[], bool] = lambda: True,
        not_gaps: Callable[[int, list[int]], None] | None = None,
        retry_wait_s: float = 1.0,
    ) -> None:
        self.topic = topic
        self._committed = committed
        self._read_offset = read_offset
        self._read_range = read_range
        self._metrics = metrics
        self._ready = ready
        self._not_gaps = not_gaps
        self._retry_wait_s = retry_wait_s
        self.lock = asyncio.Lock()  # held by the agent's intake and by a sweep
        self._expected: dict[int, int] = {}  # partition -> next offset expected
        self._refilled: dict[int, set[int]] = {}  # offsets handed over from the log
        self._behind: dict[int, int] = {}  # partition -> expected offset a sweep saw behind
        self._epoch = 0  # moved by each revoke: what was read before it is not noted after

    def expected(self, partition: int) -> int | None:
        """The next offset of ``partition`` the agent should get; None without a baseline."""
        expected = self._expected.get(partition)
        return expected if expected is not None else self._committed(partition)

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Start over on ``partitions`` (all when None): they were revoked."""
        self._epoch += 1
        for state in (self._expected, self._refilled, self._behind):
            for partition in list(state) if partitions is None else list(partitions):
                state.pop(partition, None)

    async def before(self, partition: int, offset: int) -> list[Any] | None:
        """The skipped records to hand over before the record at ``offset`` (empty when
        none), or None when that record was already handed over from the log.

        Call with :attr:`lock` held. Raises :class:`~.ledger.RefillIncomplete` when a
        skipped range cannot be read to its end (the record must not be taken then)."""
        refilled = self._refilled.get(partition)
        if refilled is not None and offset in refilled:
            refilled.discard(offset)
            return None
        epoch = self._epoch
        expected = self.expected(partition)
        records: list[Any] = []
        if expected is not None and offset > expected:
            records = await self._read(partition, expected, offset - 1)
        if epoch == self._epoch and (expected is None or offset >= expected):
            self._expected[partition] = offset + 1
        return records

    async def sweep(self, partitions: Iterable[int], hand_over: HandOver) -> int:
        """Hand over what faust counts as read on a partition and the agent never got
        (its read offset past the expected one, twice in a row with the intake idle);
        returns how many records were handed over."""
        if self.lock.locked() or not self._ready():
            self._behind.clear()  # the intake is busy or faust is rebalancing: not quiet
            return 0
        handed = 0
        epoch = self._epoch
        async with self.lock:
            for partition in sorted(partitions):
                expected = self.expected(partition)
                read = self._read_offset(partition)
                if expected is None or read is None or read <= expected:
                    self._behind.pop(partition, None)
                    continue
                if self._behind.get(partition) != expected:
                    self._behind[partition] = expected  # look again at the next sweep
                    continue
                del self._behind[partition]
                records = await self._read(partition, expected, read - 1)
                if epoch != self._epoch:
                    break  # a revoke came in between: the next sweep starts over
                self._expected[partition] = read
                await hand_over(partition, records)
                handed += len(records)
        return handed

    async def _read(self, partition: int, first: int, last: int) -> list[Any]:
        records = await read_skipped(
            self.topic,
            partition,
            first,
            last,
            read_range=self._read_range,
            metrics=self._metrics,
            retry_wait_s=self._retry_wait_s,
        )
        offsets = [r.offset for r in records]
        self._refilled.setdefault(partition, set()).update(offsets)
        if self._not_gaps is not None:
            self._not_gaps(partition, offsets)  # acked by their own acks, after their work
        log.warning(
            "pitchcast.handoff_guard.refilled",
            extra={"partition": partition, "first": first, "last": last, "records": len(records)},
        )
        return records
