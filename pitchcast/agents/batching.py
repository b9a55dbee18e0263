"""The batch agent: ``match-events`` → per-match batches → ``pitchcast-batches``.

For each record of a partition, in order (faust delivers a partition's records in
order, one at a time to this agent):

1. make sure no earlier record of the partition was skipped: the last offset decided
   per partition is kept in memory and, once committed, in the changelogged table (the
   partition ledger); a jump is refilled from the log before going on (and the refilled
   offsets are acked to faust's consumer, which never handed them over, once they are
   committed), and a refill that cannot complete stops the worker without acking (see
   :mod:`pitchcast.agents.acks.ledger`);
2. decode the raw bytes (bad input → dead letter, then the record is done);
3. fold it into the match's state (:func:`pitchcast.streams.batching.advance`): the
   action is assigned its batch and position at once;
4. hand what the step emits (each assigned action, then a closed batch) to the producer
   for ``pitchcast-batches``, in order, without waiting for the acks of earlier records
   (:func:`~pitchcast.streams.sending.send_in_order`; each send is retried with the
   same bytes until acknowledged); a rejected or late action goes to the dead-letter
   topic;
5. the record waits in the hand-off window (:mod:`pitchcast.agents.acks.window`); once
   it is the oldest there and every send of it is acknowledged, its new match state and
   the ledger are written to the table;
6. then it is acked, so faust may commit its offset.

The state in the table and the acked offsets thus always stand for a prefix of the input
whose hand-off the broker has. The next record of a match folds into the state decided
for the previous one (kept in memory while it is in the window), never into an older one.

A failed send is never skipped: the window does not move past it, and once its budget
is spent the worker stops with nothing after it written or acked, so after the restart
the same state folds the same records into the same steps and sends the same records
again (decided once, re-sent identically). A send that the broker wrote but did not
acknowledge is written twice; consumers recognise the copy.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from pitchcast.agents.acks.ledger import PartitionLedger, RangeReader
from pitchcast.agents.acks.window import HandoffWindow, Pending
from pitchcast.exceptions import (
    ImplausibleAction,
    ImplausibleControl,
    InvalidMessage,
    LateAction,
    SchemaViolation,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import DecodedAction, decode_event, encode
from pitchcast.schemas.records import Action, Batch, Control, PeriodEnd
from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES
from pitchcast.settings import Settings
from pitchcast.streams.batching import MatchState, Step, advance, state_from_dict, state_to_dict
from pitchcast.streams.dead_letters import DeadLetters
from pitchcast.streams.sending import send_in_order

__all__ = ["BatchAgent", "is_match_key"]

log = logging.getLogger("pitchcast.batch")

_PARTITIONER = DefaultPartitioner()


def is_match_key(key: Any) -> bool:
    """Table keys of match states (the ledger's keys start with ``@``)."""
    return isinstance(key, bytes) and not key.startswith(b"@")


class BatchAgent:
    """Moves records from the events topic through the batcher to the batches topic."""

    def __init__(
        self,
        *,
        settings: Settings,
        state_table: Any,
        batches_topic: Any,
        dead_letters: DeadLetters,
        metrics: Metrics,
        on_match_start: Callable[[int], None] | None = None,
        read_range: RangeReader | None = None,
        crash: Callable[[BaseException], Awaitable[None]] | None = None,
        ack_range: Callable[[str, int, int, int], None] | None = None,
    ) -> None:
        self._settings = settings
        self._ack_range = ack_range
        self._on_match_start = on_match_start
        self._table = state_table
        self._batches = batches_topic
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._crash = crash
        self._stopping = False  # set once a failure stopped the worker
        self._ledger = PartitionLedger(state_table, metrics=metrics, read_range=read_range)
        # The last state written per key, with the bytes written: a state is parsed from
        # the table only when those bytes changed under it (recovery, another owner).
        self._states: dict[bytes, tuple[bytes, MatchState]] = {}
        # Per key with records in the window: the state decided for its newest record,
        # and how many of its records are in the window (the next record folds into it).
        self._decided: dict[bytes, tuple[MatchState, int]] = {}
        self._window = HandoffWindow(
            settings.handoff_window,
            flush=self._flush,
            interval_s=settings.handoff_commit_interval_s,
        )
        # What a run of committed records writes (window.py): the newest state per key
        # and ledger offset per partition, each with the context of its record's event.
        self._staged_states: dict[bytes, tuple[MatchState, contextvars.Context]] = {}
        self._staged_ledger: dict[int, tuple[int, contextvars.Context]] = {}
        self._committer: asyncio.Task[None] | None = None  # commits the window's head
        # Held while a record is being taken in (folded, its sends handed over).
        self.busy = asyncio.Lock()

    async def run(self, stream: Any) -> None:
        """The agent body: records taken in one at a time, acked once committed."""
        manual = stream.noack()
        self._start_committer()
        try:
            async for event in manual.events():
                if self._stopping:
                    # The worker is stopping after a failure: take nothing more, ack
                    # nothing (faust ends this loop when it stops the stream).
                    continue
                message = event.message
                try:
                    async with self.busy:
                        await self.process(
                            topic=message.topic,
                            key=message.key,
                            value=message.value,
                            partition=message.partition,
                            offset=message.offset,
                            timestamp_ms=int(message.timestamp * 1000),
                            ack=lambda event=event: manual.ack(event),
                        )
                except Exception as exc:
                    # Not acked: nothing after this record of the partition may be
                    # processed either, or it would later look like a redelivery.
                    await self._stop(exc, message.partition, message.offset)
                    if self._crash is None:
                        raise
                    continue
                # Let the committer and the other agents run between records: a send
                # handed over does not wait, so without this a full stream buffer would
                # be taken in at one go.
                await asyncio.sleep(0)
            await self.settled()
            if self._window.failure is not None and self._crash is None:
                raise self._window.failure
        finally:
            if self._committer is not None:
                self._committer.cancel()
                self._committer = None

    def _start_committer(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_window())

    async def settled(self) -> None:
        """Wait until the record being taken in and every record in the window are
        committed and acked (a revoke's step 2; tests)."""
        async with self.busy:
            await self._window.settled()

    async def _commit_window(self) -> None:
        try:
            await self._window.run()
        except Exception as exc:
            await self._stop(exc, None, None)

    async def _stop(self, exc: BaseException, partition: int | None, offset: int | None) -> None:
        """A failure no retry fixed: nothing more is taken in, committed or acked."""
        if self._stopping:
            return
        self._stopping = True
        dropped = self._window.abandon()
        self._decided.clear()
        self._staged_states.clear()
        self._staged_ledger.clear()
        self._ledger.forget_decided()
        log.critical(
            "pitchcast.batch.stopping",
            extra={
                "partition": partition,
                "offset": offset,
                "abandoned": dropped,
                "error_kind": type(exc).__name__,
            },
            exc_info=exc,
        )
        self._metrics.add("worker_stops", reason=type(exc).__name__)
        if self._crash is not None:
            # No raise: faust's supervisor would restart the agent and hand it the
            # partition's next records while the app shuts down.
            await self._crash(exc)

    async def process(
        self,
        *,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        timestamp_ms: int,
        ack: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """One record: refill a skipped range first, then take it in (its ``ack`` runs
        once it is committed)."""
        before = self._ledger.last(partition)
        refilled = await self._ledger.missing_before(topic, partition, offset)
        for record in refilled:
            await self.handle(
                key=record.key,
                value=record.value,
                partition=partition,
                offset=record.offset,
                timestamp_ms=record.timestamp,
            )
        if before is not None and offset > before + 1 and self._ack_range is not None:
            # faust never handed these offsets over, so it never sees them acked: without
            # this its commit would stop below them for the rest of the assignment. Acked
            # once they are committed, in the window's order.
            ack_range = self._ack_range
            first, last = before + 1, offset - 1

            async def acked_range() -> None:
                ack_range(topic, partition, first, last)

            await self._window.admit()
            self._window.add(Pending((), lambda: None, acked_range))
        await self.handle(
            key=key,
            value=value,
            partition=partition,
            offset=offset,
            timestamp_ms=timestamp_ms,
            ack=ack,
        )

    def owned_states(self, owned: set[int]) -> list[tuple[bytes, MatchState]]:
        """The match states of the events partitions in ``owned`` (the idle ticker's
        view). The memory store keeps the keys it wrote after a revoke, and a tick for
        someone else's match is noise, so keys of other partitions are left out."""
        every = list(range(self._settings.partitions))
        states = []
        for key in list(self._table.keys()):
            if not is_match_key(key):
                continue
            state = self.read_state(key)
            if state is None:
                continue
            # The partition its records came from; else the key's, by the Java-compatible
            # murmur2 feeds must use (§2).
            partition = state.partition
            if partition is None:
                partition = _PARTITIONER(key, every, every)
            if partition in owned:
                states.append((key, state))
        return states

    def read_state(self, key: bytes) -> MatchState | None:
        raw = self._table.get(key)
        if raw is None:
            return None
        cached = self._states.get(key)
        if cached is not None and cached[0] is raw:
            return cached[1]  # the state this agent wrote last: no need to parse it again
        state = state_from_dict(orjson.loads(raw))
        self._states[key] = (raw, state)
        return state

    def _decided_state(self, key: bytes) -> MatchState | None:
        """The state the next record of ``key`` folds into: the one decided for its
        newest record in the window, else the one in the table."""
        decided = self._decided.get(key)
        return decided[0] if decided is not None else self.read_state(key)

    def _write_state(self, key: bytes, state: MatchState) -> None:
        raw = orjson.dumps(state_to_dict(state))
        self._table[key] = raw
        self._states[key] = (raw, state)

    def _take_in(
        self,
        *,
        partition: int,
        offset: int,
        sends: list[asyncio.Task[Any]],
        key: bytes | None = None,
        state: MatchState | None = None,
        emits: tuple[Any, ...] = (),
        ack: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """Put a record in the window; committing it writes ``state`` (when the record
        changed it) and the ledger, in the context of its event (faust's table writes
        its changelog to the event's partition), then acks it."""
        if key is not None and state is not None:
            count = self._decided.get(key, (state, 0))[1]
            self._decided[key] = (state, count + 1)
        self._ledger.decided(partition, offset)
        context = contextvars.copy_context()

        def commit() -> None:
            self._commit(partition, offset, key, state, emits, context)

        self._window.add(Pending(sends, commit, ack))

    def _commit(
        self,
        partition: int,
        offset: int,
        key: bytes | None,
        state: MatchState | None,
        emits: tuple[Any, ...],
        context: contextvars.Context,
    ) -> None:
        """One record of a run is committed: stage what it writes (see _flush)."""
        if key is not None and state is not None:
            self._staged_states[key] = (state, context)
            decided, count = self._decided.get(key, (state, 1))
            if count <= 1:
                self._decided.pop(key, None)
            else:
                self._decided[key] = (decided, count - 1)
        staged = self._staged_ledger.get(partition)
        if staged is None or offset > staged[0]:  # a redelivery never moves it back
            self._staged_ledger[partition] = (offset, context)
        for emit in emits:
            if isinstance(emit, Batch):
                self._metrics.add("handoff_records_out", kind="batch")
                self._metrics.add("batches_closed", reason=emit.close_reason)
            elif isinstance(emit, PeriodEnd):
                self._metrics.add("handoff_records_out", kind="period_end")
            else:
                self._metrics.add("handoff_records_out", kind="batch_action")

    def _flush(self) -> None:
        """Write a committed run's newest state per match and ledger offset per
        partition, in the context of the record that decided each (faust's table
        writes its changelog to the partition of the current event)."""
        states, self._staged_states = self._staged_states, {}
        ledger, self._staged_ledger = self._staged_ledger, {}
        for key, (state, context) in states.items():
            context.run(self._write_state, key, state)
        for partition, (offset, context) in ledger.items():
            context.run(self._ledger.folded, partition, offset)

    async def handle(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        timestamp_ms: int,
        ack: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """Decode, fold, hand the sends over, and put the record in the window (its
        state is written once they are acknowledged). Raises only on delivery failure
        of a dead letter."""
        settings = self._settings
        self._start_committer()  # run() starts it; a direct call (tests) too
        await self._window.admit()
        game_id: int | None = None  # a decoded record's match, named in its dead letter
        try:
            decoded = decode_event(
                value,
                max_bytes=settings.max_message_bytes,
                clamp_margin=settings.clamp_margin_m,
            )
            event = decoded.action if isinstance(decoded, DecodedAction) else decoded
            game_id = event.game_id
            if key != str(event.game_id).encode():
                # A mis-keyed record may sit on another partition than its match's state.
                shown = None if key is None else key[:64].decode("utf-8", "replace")
                if key is not None and len(key) > 64:
                    shown = f"{shown}... ({len(key)} bytes)"
                raise SchemaViolation(
                    f"key {shown!r} must be the game_id {event.game_id} as a UTF-8 string"
                )
        except InvalidMessage as exc:
            self._metrics.add("events_in", kind="invalid")
            await self._dead_letter(key, value, partition, offset, exc.kind, str(exc), game_id)
            self._take_in(partition=partition, offset=offset, sends=[], ack=ack)
            return
        if isinstance(decoded, DecodedAction):
            self._count_action(decoded)
        else:
            self._metrics.add("events_in", kind=decoded.control)
            if decoded.control == "match_start" and self._on_match_start is not None:
                self._on_match_start(decoded.game_id)

        state = self._decided_state(key)
        if (
            isinstance(event, Control)
            and event.control == "tick"
            and state is not None
            and state.partition not in (None, partition)
        ):
            # A tick written to another partition than the match's (by a worker that
            # wrote ticks to the key's): its offset is not comparable with the match's.
            self._take_in(partition=partition, offset=offset, sends=[], ack=ack)
            return
        step = advance(
            state,
            event,
            offset=offset,
            timestamp_ms=timestamp_ms,
            batch_size=settings.batch_size,
            idle_timeout_s=settings.idle_timeout_s,
            max_action_id_jump=settings.max_action_id_jump,
        )
        if step.outcome != "redelivery" and not (
            isinstance(event, Control) and event.control == "tick"
        ):
            # Where the match's records are (a feed not partitioned by murmur2 puts them
            # elsewhere than the key's partition): its ticks go there.
            step.state.partition = partition
        if step.outcome in ("redelivery", "duplicate"):
            kind = (
                "redelivery"
                if step.outcome == "redelivery"
                else "action_id"
                if isinstance(event, Action)
                else "control"
            )
            self._metrics.add("duplicates_dropped", kind=kind)
        if step.outcome == "redelivery":
            # Already folded in: nothing to send, nothing to write.
            self._take_in(partition=partition, offset=offset, sends=[], ack=ack)
            return
        sends = [
            await send_in_order(
                self._batches,
                key=key,
                value=encode(emit),
                budget_s=settings.delivery_timeout_s,
                metrics=self._metrics,
            )
            for emit in step.emits
        ]
        if step.outcome in ("rejected", "ended"):
            await self._dead_letter_action(key, value, partition, offset, step)
        self._take_in(
            partition=partition,
            offset=offset,
            sends=sends,
            key=key,
            state=step.state,
            emits=step.emits,
            ack=ack,
        )

    async def _dead_letter(
        self,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        kind: str,
        message: str,
        game_id: int | None = None,
    ) -> None:
        await self._dead_letters.send(
            source_topic=self._settings.topic_events,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            error_kind=kind,
            error_message=message,
            game_id=game_id,
        )

    async def _dead_letter_action(
        self, key: bytes, value: bytes | None, partition: int, offset: int, step: Step
    ) -> None:
        action = step.action
        game_id = step.state.game_id
        if step.outcome == "rejected":
            rejected = ImplausibleAction if action is not None else ImplausibleControl
            kind = rejected.__name__
            message = step.rejection or "implausible record"
        else:
            assert action is not None
            kind = LateAction.__name__
            message = f"action_id {action.action_id} arrived after match_end (no new match_start)"
        await self._dead_letter(key, value, partition, offset, kind, message, game_id)

    def _count_action(self, decoded: DecodedAction) -> None:
        action = decoded.action
        self._metrics.add("events_in", kind="action")
        if decoded.clamped:
            self._metrics.add("action_anomalies", kind="clamped")
        if action.type_name not in TYPE_NAMES:
            self._metrics.add("action_anomalies", kind="unknown_type_name")
        if action.result_name is not None and action.result_name not in RESULT_NAMES:
            self._metrics.add("action_anomalies", kind="unknown_result_name")
