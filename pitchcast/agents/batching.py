"""The batch agent: ``match-events`` → per-match batches → ``pitchcast-batches``.

For each record of a partition, in order (faust delivers a partition's records in
order, one at a time to this agent):

1. make sure no earlier record of the partition was skipped: the last offset folded in
   per partition is kept in the changelogged table (the partition ledger); a jump is
   refilled from the log before going on (and the refilled offsets are acked to faust's
   consumer, which never handed them over), and a refill that cannot complete stops the
   worker without acking (see :mod:`pitchcast.agents.acks.ledger`);
2. decode the raw bytes (bad input → dead letter, then the record is done);
3. fold it into the match's state (:func:`pitchcast.streams.batching.advance`): the
   action is assigned its batch and position at once;
4. send what the step emits (each assigned action, then a closed batch) to
   ``pitchcast-batches`` and wait for the broker's acks, retrying the same bytes; a
   rejected or late action goes to the dead-letter topic;
5. only then write the new match state and the ledger to the table;
6. ack the record, so faust may commit its offset.

A failed send is never skipped: the record is not acked and the state not written, so
after the restart the same state folds the same record into the same step and sends
the same records again (decided once, re-sent identically). A send that the broker
wrote but did not acknowledge is written twice; consumers recognise the copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from pitchcast.agents.acks.ledger import PartitionLedger, RangeReader
from pitchcast.exceptions import (
    ImplausibleAction,
    ImplausibleControl,
    InvalidMessage,
    LateAction,
    SchemaViolation,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import DecodedAction, decode_event, encode
from pitchcast.schemas.records import Batch
from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES
from pitchcast.settings import Settings
from pitchcast.streams.batching import MatchState, Step, advance, state_from_dict, state_to_dict
from pitchcast.streams.dead_letters import DeadLetters
from pitchcast.streams.sending import send_until_acked

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
        # Held while a record is being processed: a revoke waits for it (app.py).
        self.busy = asyncio.Lock()

    async def run(self, stream: Any) -> None:
        """The agent body: one record at a time, acked only once fully handled."""
        manual = stream.noack()
        async for event in manual.events():
            if self._stopping:
                # The worker is stopping after a failure: take nothing more, ack nothing
                # (faust ends this loop when it stops the stream).
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
                    )
            except Exception as exc:
                # Not acked: nothing after this record of the partition may be processed
                # either, or the record would later look like a redelivery. Stop the worker.
                log.critical(
                    "pitchcast.batch.stopping",
                    extra={
                        "partition": message.partition,
                        "offset": message.offset,
                        "error_kind": type(exc).__name__,
                    },
                    exc_info=exc,
                )
                self._metrics.add("worker_stops", reason=type(exc).__name__)
                if self._crash is not None:
                    # No raise: faust's supervisor would restart the agent and hand it
                    # the partition's next records while the app shuts down.
                    self._stopping = True
                    await self._crash(exc)
                    continue
                raise
            await manual.ack(event)

    async def process(
        self,
        *,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        timestamp_ms: int,
    ) -> None:
        """One record: refill a skipped range first, then handle it and note its offset."""
        before = self._ledger.last(partition)
        for record in await self._ledger.missing_before(topic, partition, offset):
            await self.handle(
                key=record.key,
                value=record.value,
                partition=partition,
                offset=record.offset,
                timestamp_ms=record.timestamp,
            )
            self._ledger.folded(partition, record.offset)
        if before is not None and offset > before + 1 and self._ack_range is not None:
            # faust never handed these offsets over, so it never sees them acked: without
            # this its commit would stop below them for the rest of the assignment.
            self._ack_range(topic, partition, before + 1, offset - 1)
        await self.handle(
            key=key, value=value, partition=partition, offset=offset, timestamp_ms=timestamp_ms
        )
        self._ledger.folded(partition, offset)

    def owned_states(self, owned: set[int]) -> list[tuple[bytes, MatchState]]:
        """The match states of the events partitions in ``owned`` (the idle ticker's
        view). The memory store keeps the keys it wrote after a revoke, and a tick for
        someone else's match is noise, so keys of other partitions are left out."""
        every = list(range(self._settings.partitions))
        states = []
        for key in list(self._table.keys()):
            # The key's partition, by the Java-compatible murmur2 feeds must use (§2).
            if is_match_key(key) and _PARTITIONER(key, every, every) in owned:
                state = self.read_state(key)
                if state is not None:
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

    def _write_state(self, key: bytes, state: MatchState) -> None:
        raw = orjson.dumps(state_to_dict(state))
        self._table[key] = raw
        self._states[key] = (raw, state)

    async def handle(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        timestamp_ms: int,
    ) -> None:
        """Decode, fold, send, then write the state. Raises only on delivery failure."""
        settings = self._settings
        try:
            decoded = decode_event(
                value,
                max_bytes=settings.max_message_bytes,
                clamp_margin=settings.clamp_margin_m,
            )
            event = decoded.action if isinstance(decoded, DecodedAction) else decoded
            if key != str(event.game_id).encode():
                # A mis-keyed record may sit on another partition than its match's state.
                shown = None if key is None else key.decode("utf-8", "replace")
                raise SchemaViolation(
                    f"key {shown!r} must be the game_id {event.game_id} as a UTF-8 string"
                )
        except InvalidMessage as exc:
            self._metrics.add("events_in", kind="invalid")
            await self._dead_letter(key, value, partition, offset, exc.kind, str(exc))
            return
        if isinstance(decoded, DecodedAction):
            self._count_action(decoded)
        else:
            self._metrics.add("events_in", kind=decoded.control)
            if decoded.control == "match_start" and self._on_match_start is not None:
                self._on_match_start(decoded.game_id)

        step = advance(
            self.read_state(key),
            event,
            offset=offset,
            timestamp_ms=timestamp_ms,
            batch_size=settings.batch_size,
            idle_timeout_s=settings.idle_timeout_s,
            max_action_id_jump=settings.max_action_id_jump,
        )
        if step.outcome in ("redelivery", "duplicate"):
            kind = "redelivery" if step.outcome == "redelivery" else "action_id"
            self._metrics.add("duplicates_dropped", kind=kind)
        if step.outcome == "redelivery":
            return  # already folded in: nothing to send, nothing to write
        await self._send_emits(key, step)
        if step.outcome in ("rejected", "ended"):
            await self._dead_letter_action(key, value, partition, offset, step)
        self._write_state(key, step.state)

    async def _send_emits(self, key: bytes, step: Step) -> None:
        for emit in step.emits:
            await send_until_acked(
                self._batches,
                key=key,
                value=encode(emit),
                budget_s=self._settings.delivery_timeout_s,
                metrics=self._metrics,
            )
            if isinstance(emit, Batch):
                self._metrics.add("handoff_records_out", kind="batch")
                self._metrics.add("batches_closed", reason=emit.close_reason)
            else:
                self._metrics.add("handoff_records_out", kind="batch_action")

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
