"""The commentary agent: ``pitchcast-batches`` → ``commentary-lines`` and ``commentary``.

The batches topic carries, per match and in log order, each action as it was assigned
to its batch (:class:`~pitchcast.schemas.records.BatchAction`) and each batch once
closed (:class:`~pitchcast.schemas.records.Batch`). The agent routes each record to its
match's *desk* (:mod:`pitchcast.commentary.desk`); per (match, persona) a *lane*
(:mod:`pitchcast.commentary.lanes`) writes the match's batches one after the other,
live as actions arrive or whole once closed, and publishes each line the moment it is
valid through the :class:`~pitchcast.commentary.publisher.Publisher` the agent is handed
(claimed in the Redis line store, sent, acknowledged, marked published). The
``commentary`` record of a batch is assembled from exactly those lines.

Delivery order, per batch, in ``batch_index`` order per match:

1. every line of every persona is published (and acknowledged);
2. for each persona whose ``commentary_id`` Redis does not mark as published: publish
   the record, wait for the broker's ack, set the marker;
3. ack every hand-off record of the batch (its actions and its close), so their offsets
   may be committed. Until then a crash or rebalance re-delivers the whole batch.

On a rebalance all desks of revoked partitions are cancelled without acking
(:meth:`CommentaryAgent.revoke`): the new owner reads their records again.

faust can skip hand-off records when an assignment starts; the hand-off guard
(:mod:`pitchcast.agents.acks.handoff`) reads them from the log, and the agent takes them
in order before the record that revealed the skip (or from :meth:`CommentaryAgent.sweep`
when nothing followed them).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pitchcast.agents.acks.handoff import HandoffGuard
from pitchcast.agents.acks.order import Ack, AckOrder
from pitchcast.commentary.assembly import build_commentary
from pitchcast.commentary.desk import BatchWork, Desk, PeriodEndWork
from pitchcast.commentary.lanes import Lanes
from pitchcast.commentary.publisher import Publisher
from pitchcast.commentary.service import AlreadyPublished, CommentaryService
from pitchcast.exceptions import InvalidMessage
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_handoff
from pitchcast.schemas.records import Batch, BatchAction, PeriodEnd
from pitchcast.settings import Settings
from pitchcast.streams.dead_letters import DeadLetters

__all__ = ["CommentaryAgent"]

log = logging.getLogger("pitchcast.commentary")

# A desk with nothing to do for this long is dropped (a match that ended or went away).
_DESK_IDLE_S = 600.0
_DEAD_LETTERED_KEPT = 1024  # offsets per partition: bounded however bad the feed


def _finished(work: BatchWork, personas: int) -> bool:
    """Every lane finished the batch and it closed, or every persona's record is marked
    published already: a copy of a record of a batch published before (a send pitchcast
    retried lands after records sent meanwhile), whose close may lie before the offset
    this worker started from. Waiting for that close would hold the match and every
    later ack of its partition for good."""
    if len(work.results) < personas:
        return False
    if work.close is not None:
        return True
    return all(isinstance(result, AlreadyPublished) for result in work.results.values())


def _lanes_will_tell(desk: Desk, batch_index: int) -> bool:
    """Whether the desk's lanes will still tell the end of a period after batch
    ``batch_index``: they tell it while waiting for the next batch, so only if that one
    has neither arrived nor gone out (a copy of the mark written after it, or a desk
    that started past it, would otherwise hold its ack, and every later ack of the
    partition, for good)."""
    following = batch_index + 1
    start = desk.next_to_publish or 0
    return following not in desk.works and following >= start


class CommentaryAgent:
    """Routes hand-off records to desks, publishes each batch's records in order, acks."""

    def __init__(
        self,
        *,
        settings: Settings,
        writer: CommentaryService,
        publisher: Publisher,
        dead_letters: DeadLetters,
        metrics: Metrics,
        crash: Callable[[BaseException], Awaitable[None]] | None = None,
        guard: HandoffGuard | None = None,
        ack_range: Callable[[str, int, int, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self._crash = crash
        self._handoff_guard = guard
        self._ack_range = ack_range
        self.writer = writer
        self.publisher = publisher
        self.metrics = metrics
        self._dead_letters = dead_letters
        self._lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
        self._desks: dict[int, Desk] = {}
        self._acks: dict[int, AckOrder] = {}  # per partition of the hand-off topic
        # Per partition, the offsets of this assignment whose dead letter is out (the
        # newest _DEAD_LETTERED_KEPT): a copy faust hands over again is only acked.
        self._dead_lettered: dict[int, deque[int]] = {}
        self._stopping = False  # set once a failure stopped the worker

    # --- intake ----------------------------------------------------------------------

    async def run(self, stream: Any) -> None:
        """The agent body: route each hand-off record to its match; never blocks on the LLM."""
        manual = stream.noack()
        async for event in manual.events():
            if self._stopping:
                # The worker is stopping after a failure no retry fixed: take nothing
                # more, ack nothing (a new desk would publish later batches before the
                # unacked ones); faust ends this loop when it stops the stream.
                continue
            message = event.message
            try:
                await self.take(
                    key=message.key,
                    value=message.value,
                    partition=message.partition,
                    offset=message.offset,
                    ack=lambda event=event: manual.ack(event),
                )
            except Exception as exc:
                # A dead letter that cannot be delivered (or a bug): nothing is acked past
                # this record, and the worker stops so that it is read again.
                log.critical(
                    "pitchcast.commentary.stopping",
                    extra={"where": "intake", "partition": message.partition,
                           "offset": message.offset, "error_kind": type(exc).__name__},
                    exc_info=exc,
                )  # fmt: skip
                self.metrics.add("worker_stops", reason=type(exc).__name__)
                if self._crash is None:
                    raise
                # No raise: faust's supervisor would restart the agent and hand it the
                # partition's next records while the app shuts down.
                self._stopping = True
                await self._crash(exc)

    async def take(
        self, *, key: bytes | None, value: bytes | None, partition: int, offset: int, ack: Ack
    ) -> None:
        """One record faust handed over: the skipped records before it first (read from
        the log by the guard), then the record, unless the guard already handed it over."""
        guard = self._handoff_guard
        if guard is None:
            await self.submit(key=key, value=value, partition=partition, offset=offset, ack=ack)
            return
        async with guard.lock:
            skipped = await guard.before(partition, offset)
            if skipped is None:
                return  # taken from the log already: this copy is let go, unacked
            await self._take_refilled(partition, skipped)
            await self.submit(key=key, value=value, partition=partition, offset=offset, ack=ack)

    async def sweep(self, partitions: set[int]) -> int:
        """Take what faust fetched on ``partitions`` but never handed over (a timer calls
        this); a failure stops the worker as in the intake. Returns how many records."""
        if self._handoff_guard is None or self._stopping:
            return 0
        try:
            return await self._handoff_guard.sweep(partitions, self._take_refilled)
        except Exception as exc:
            log.critical(
                "pitchcast.commentary.stopping",
                extra={"where": "sweep", "error_kind": type(exc).__name__},
                exc_info=exc,
            )
            self.metrics.add("worker_stops", reason=type(exc).__name__)
            self._stopping = True
            if self._crash is None:
                raise
            await self._crash(exc)
            return 0

    async def _take_refilled(self, partition: int, records: list[Any]) -> None:
        """Records read from the log: each acked on its own offset once its batch is out."""
        topic = self.settings.topic_batches
        for record in records:

            async def ack(offset: int = record.offset) -> None:
                if self._ack_range is not None:
                    self._ack_range(topic, partition, offset, offset)

            await self.submit(
                key=record.key, value=record.value, partition=partition, offset=record.offset,
                ack=ack,
            )  # fmt: skip

    async def submit(
        self, *, key: bytes | None, value: bytes | None, partition: int, offset: int, ack: Ack
    ) -> None:
        """Take one hand-off record; bad ones go to the dead-letter topic and are acked.

        A dead letter that cannot be delivered raises: the record stays unacked and
        :meth:`run` stops the worker (as in the batch agent). Acking it would lose it,
        and leaving it unacked while the agent goes on would hold its partition's
        commit for the whole assignment. The restarted worker reads it again.
        """
        order = self._acks.setdefault(partition, AckOrder())
        order.register(offset, ack)
        try:
            record = decode_handoff(value, max_bytes=self.settings.max_message_bytes)
        except InvalidMessage as exc:
            sent = self._dead_lettered.setdefault(partition, deque(maxlen=_DEAD_LETTERED_KEPT))
            if offset in sent:
                # faust hands records over again after its seek at an assignment's start
                # (faust-streaming#596; handoff.py): this one's dead letter is out.
                self.metrics.add("handoff_duplicates")
                await order.release([offset])
                return
            await self._dead_letters.send(
                source_topic=self.settings.topic_batches,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                error_kind=exc.kind,
                error_message=str(exc),
            )
            sent.append(offset)
            await order.release([offset])
            return
        if isinstance(record, PeriodEnd):
            await self._take_period_end(record, key, partition, offset, order)
            return
        desk = self._desks.get(record.game_id)
        if desk is None:
            desk = self._desks[record.game_id] = Desk(record.game_id, key, partition)
            desk.next_to_publish = record.batch_index
            self._start(desk)
        if desk.next_to_publish is not None and record.batch_index < desk.next_to_publish:
            # A copy of a batch this worker already published (a redelivery, or a match
            # replayed from its start): nothing to write or publish again.
            self.metrics.add("handoff_duplicates")
            if isinstance(record, Batch):
                self.metrics.add("commentary_already_published", len(self.settings.personas))
            await order.release([offset])
            return
        work = desk.work(record.batch_index)
        work.offsets.append(offset)
        if isinstance(record, BatchAction):
            taken = work.take_action(record)
        else:
            taken = work.take_close(record)
        if taken.copy:
            # A send retried, or the match replayed under its game id while its first
            # play is still being written: the first copy is told.
            self.metrics.add("handoff_duplicates")
        for _ in range(taken.mismatches):
            self.metrics.add("handoff_mismatches")
            log.error(
                "pitchcast.commentary.handoff_mismatch",
                extra={
                    "game_id": record.game_id,
                    "batch_index": record.batch_index,
                    "position": getattr(record, "position", None),
                    "hint": "a hand-off record differs from the one held for its place: the"
                    " feed replayed this game id with other actions? The first is told",
                },
            )
        work.notify()

    async def _take_period_end(
        self, mark: PeriodEnd, key: bytes | None, partition: int, offset: int, order: AckOrder
    ) -> None:
        """A period's end after its batch had closed: the desk's lanes tell it before the
        next batch (released once they all have), or it is told here when no lane will:
        no desk (its batches are all out), or the next batch already arrived or went out
        (a copy). A copy of a mark the lanes told is only released."""
        desk = self._desks.get(mark.game_id)
        end = desk.period_ends.get(mark.batch_index) if desk is not None else None
        if end is not None and end.done.is_set():
            pass  # a copy of one the lanes told
        elif desk is not None and _lanes_will_tell(desk, mark.batch_index):
            end = desk.take_period_end(mark, offset)
            if len(end.offsets) == 1:
                task = asyncio.create_task(self._release_when_told(desk, end))
                desk.tasks.append(task)
            return
        else:
            await self._lanes.tell_period_end(desk or Desk(mark.game_id, key, partition), mark)
        await order.release([offset])  # told, by the lanes or just now

    async def _release_when_told(self, desk: Desk, end: PeriodEndWork) -> None:
        await end.done.wait()
        order = self._acks.get(desk.partition)
        if self._desks.get(desk.game_id) is desk and order is not None:
            await order.release(list(end.offsets))

    def _start(self, desk: Desk) -> None:
        for persona in self.settings.personas:
            lane = self._lanes.run(desk, persona)
            desk.tasks.append(asyncio.create_task(self._guard(desk, lane, "lane")))
        desk.tasks.append(asyncio.create_task(self._publisher(desk)))

    async def _guard(self, desk: Desk, work: Coroutine[Any, Any, None], where: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._stop(desk, exc, where)

    # --- revoke / shutdown -----------------------------------------------------------

    async def revoke(self, partitions: set[int] | None = None, *, timeout_s: float = 5.0) -> int:
        """Cancel the desks of ``partitions`` (all when None) without acking their records;
        wait at most ``timeout_s`` for their tasks (LLM calls in flight) to unwind."""
        dropped = [
            d for d in self._desks.values() if partitions is None or d.partition in partitions
        ]
        for desk in dropped:
            self._drop(desk)
        # Their records are delivered again: the ack order starts over with them.
        for partition in list(self._acks):
            if partitions is None or partition in partitions:
                del self._acks[partition]
        for partition in list(self._dead_lettered):
            if partitions is None or partition in partitions:
                del self._dead_lettered[partition]
        if self._handoff_guard is not None:
            self._handoff_guard.forget(partitions)
        tasks = [t for d in dropped for t in d.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        if dropped:
            self.metrics.add("desks_revoked", len(dropped))
        return len(dropped)

    def _drop(self, desk: Desk) -> None:
        if self._desks.get(desk.game_id) is desk:
            del self._desks[desk.game_id]
        current = asyncio.current_task()
        for task in desk.tasks:
            if task is not current:
                task.cancel()
        desk.works.clear()  # un-acked records are let go: they are read again

    async def drain(self, timeout_s: float = 60.0) -> None:
        """Wait until every batch received so far is published (tests, benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while any(d.works and any(w.close for w in d.works.values()) for d in self._desks.values()):
            if loop.time() > deadline:
                raise TimeoutError("batches still unpublished")
            await asyncio.sleep(0.05)

    # --- delivery order ---------------------------------------------------------------

    async def _publisher(self, desk: Desk) -> None:
        """Steps 2 and 3 of the delivery order, per batch in ``batch_index`` order."""
        index = desk.next_to_publish or 0
        personas = self.settings.personas
        try:
            while True:
                try:
                    work = await desk.get(index, idle_s=_DESK_IDLE_S)
                except TimeoutError:
                    if desk.works:
                        continue  # records wait for earlier ones: not idle
                    break  # idle: dropped (a TimeoutError from publishing is a failure)
                # 1. every lane finished the batch (its lines are out), and it closed:
                # every record of the batch is acked together.
                while not _finished(work, len(personas)):
                    await work.changed()
                # 2. each persona's record, unless marked published;
                for persona in personas:
                    result = work.results[persona]
                    if isinstance(result, AlreadyPublished):
                        continue
                    assert work.close is not None  # _finished: a record to send needs it
                    await self.publisher.send_record(
                        build_commentary(work.close, persona, result),
                        key=desk.key,
                        closed_by_ts_ms=work.close.closed_by_ts_ms,
                    )
                # 3. the batch's hand-off records, as a prefix of the partition's order;
                # unless a revoke dropped this desk meanwhile (a send finishing through
                # its cancellation): its records are another owner's now, read again.
                order = self._acks.get(desk.partition)
                if self._desks.get(desk.game_id) is not desk or order is None:
                    return
                await order.release(work.offsets)
                desk.works.pop(index, None)
                index += 1
                desk.next_to_publish = index
                if work.close is not None and work.close.close_reason == "match_end":
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._stop(desk, exc, "publisher")
            return
        self._drop(desk)

    async def _stop(self, desk: Desk, exc: Exception, where: str) -> None:
        """A failure no retry fixed (Kafka unreachable past the delivery budget, a bug):
        nothing of the match is acked, and the worker stops, so every record of it is
        read again after the restart instead of sitting unacknowledged."""
        log.critical(
            "pitchcast.commentary.stopping",
            extra={"game_id": desk.game_id, "where": where, "error_kind": type(exc).__name__},
            exc_info=exc,
        )
        self.metrics.add("worker_stops", reason=type(exc).__name__)
        self._stopping = True
        self._drop(desk)
        if self._crash is not None:
            await self._crash(exc)
