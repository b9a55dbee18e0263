"""The batch agent: ``match-events`` → per-match windows → ``pitchcast-batches``.

For each record, in this order:

1. decode the raw bytes (bad input → dead letter, then the record is done);
2. fold it into the match's state (:func:`pitchcast.streams.batching.advance`);
3. send each closed batch to ``pitchcast-batches`` and wait for the broker's ack;
4. only then write the new state to the changelog-backed table;
5. faust acks the record when the loop body returns, and commits its offset later.

A crash between 3 and 4 re-sends a batch with the same ``batch_index`` after
recovery; the commentary stage publishes it under the same ``commentary_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from pitchcast.agents.output import DeadLetters, send_acked
from pitchcast.exceptions import InvalidMessage, LateAction, SchemaViolation
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import DecodedAction, decode_event, encode
from pitchcast.schemas.records import Action
from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES
from pitchcast.settings import Settings
from pitchcast.streams.batching import MatchState, advance, state_from_dict, state_to_dict

__all__ = ["BatchAgent"]

log = logging.getLogger("pitchcast.batch")


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
        refill: Callable[[str, int, int, int], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self._settings = settings
        self._on_match_start = on_match_start
        self._last_offsets: dict[int, int] = {}
        # Reads records [first, last] of a partition directly (offset-gap refills).
        self._refill = refill
        self._table = state_table
        self._batches = batches_topic
        self._dead_letters = dead_letters
        self._metrics = metrics

    async def run(self, stream: Any) -> None:
        """The agent body: one record at a time; a failure of one record never stops it."""
        async for event in stream.events():
            message = event.message
            gap = self._watch_offsets(message.partition, message.offset)
            if gap is not None and self._refill is not None:
                await self._refill_gap(message.topic, message.partition, *gap)
            try:
                await self.handle(
                    key=message.key,
                    value=message.value,
                    partition=message.partition,
                    offset=message.offset,
                    timestamp_ms=int(message.timestamp * 1000),
                )
            except Exception as exc:  # last resort: record it and go on
                log.exception("pitchcast.batch_failed offset=%s", message.offset)
                await self._dead_letters.send(
                    source_topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    key=message.key,
                    value=message.value,
                    error_kind=type(exc).__name__,
                    error_message=str(exc),
                )

    def _watch_offsets(self, partition: int, offset: int) -> tuple[int, int] | None:
        # The events topic is neither compacted nor transactional: offsets read in one
        # assignment are consecutive. A jump means records were never handed to us.
        last = self._last_offsets.get(partition)
        if last is not None and offset > last + 1:
            self._metrics.add("offset_gaps")
            self._metrics.add("offset_gap_records", offset - last - 1, state="skipped")
            log.error(
                "pitchcast.offset_gap partition=%s skipped offsets %s..%s",
                partition,
                last + 1,
                offset - 1,
                extra={"partition": partition, "first": last + 1, "last": offset - 1},
            )
        if last is None or offset > last:
            self._last_offsets[partition] = offset
        return (last + 1, offset - 1) if last is not None and offset > last + 1 else None

    async def _refill_gap(self, topic: str, partition: int, first: int, last: int) -> None:
        """Read the skipped records ourselves and fold them in, in order, before going on.

        Records another worker already folded in are redeliveries to the match state
        and change nothing, so a refill is always safe; it only costs a read.
        """
        assert self._refill is not None
        try:
            records = await self._refill(topic, partition, first, last)
        except Exception:
            log.exception("pitchcast.offset_gap_refill_failed partition=%s", partition)
            return
        for record in records:
            try:
                await self.handle(
                    key=record.key,
                    value=record.value,
                    partition=partition,
                    offset=record.offset,
                    timestamp_ms=record.timestamp,
                )
            except Exception:
                log.exception("pitchcast.offset_gap_refill_failed offset=%s", record.offset)
        self._metrics.add("offset_gap_records", len(records), state="refilled")

    def forget_partitions(self, partitions: set[int]) -> None:
        """Revoked partitions: the next assignment may start anywhere."""
        for partition in partitions:
            self._last_offsets.pop(partition, None)

    def read_state(self, key: bytes) -> MatchState | None:
        raw = self._table.get(key)
        return None if raw is None else state_from_dict(orjson.loads(raw))

    async def handle(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        timestamp_ms: int,
    ) -> None:
        settings = self._settings
        source = settings.topic_events
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
            await self._dead_letters.send(
                source_topic=source,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                error_kind=exc.kind,
                error_message=str(exc),
            )
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
        )
        if step.outcome in ("redelivery", "duplicate"):
            kind = "redelivery" if step.outcome == "redelivery" else "action_id"
            self._metrics.add("duplicates_dropped", kind=kind)
        if step.outcome == "redelivery":
            return  # already folded in: nothing to send, nothing to write
        for batch in step.closed:
            await send_acked(self._batches, key=key, value=encode(batch))
            self._metrics.add("handoff_records_out", kind="batch")
            self._metrics.add("batches_closed", reason=batch.close_reason)
        if step.outcome in ("late", "ended"):
            assert step.action is not None
            await self._dead_letter_late(step.action, key, value, partition, offset, step)
        self._table[key] = orjson.dumps(state_to_dict(step.state))

    def _count_action(self, decoded: DecodedAction) -> None:
        action = decoded.action
        self._metrics.add("events_in", kind="action")
        if decoded.clamped:
            self._metrics.add("action_anomalies", kind="clamped")
        if action.type_name not in TYPE_NAMES:
            self._metrics.add("action_anomalies", kind="unknown_type_name")
        if action.result_name is not None and action.result_name not in RESULT_NAMES:
            self._metrics.add("action_anomalies", kind="unknown_result_name")

    async def _dead_letter_late(
        self,
        action: Action,
        key: bytes,
        value: bytes | None,
        partition: int,
        offset: int,
        step: Any,
    ) -> None:
        if step.outcome == "late":
            reason = (
                f"action_id {action.action_id} arrived after the batch covering it closed"
                f" (last closed action_id {step.state.closed_upto})"
            )
        else:
            reason = f"action_id {action.action_id} arrived after match_end (no new match_start)"
        await self._dead_letters.send(
            source_topic=self._settings.topic_events,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            error_kind=LateAction.__name__,
            error_message=reason,
            game_id=action.game_id,
        )
