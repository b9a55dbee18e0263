"""Sending to Kafka from agents: wait for the broker's ack, and dead letters."""

from __future__ import annotations

import logging
from typing import Any

from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.headers import dead_letter_headers
from pitchcast.schemas.records import DeadLetter
from pitchcast.streams.dead_letters import build_dead_letter

__all__ = ["DeadLetters", "send_acked"]

log = logging.getLogger("pitchcast.dlq")


async def send_acked(
    topic: Any, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None = None
) -> Any:
    """Send and wait until the broker acknowledged the record; returns its metadata."""
    # force=True: send now, not attached to the current event's commit.
    pending = await topic.send(key=key, value=value, headers=headers, force=True)
    return await pending


class DeadLetters:
    """Writes dead letters keyed like their source, so they stay on the match's partition."""

    def __init__(self, topic: Any, *, value_cap: int, metrics: Metrics) -> None:
        self._topic = topic
        self._value_cap = value_cap
        self._metrics = metrics

    async def send(
        self,
        *,
        source_topic: str,
        partition: int | None,
        offset: int | None,
        key: bytes | None,
        value: bytes | None,
        error_kind: str,
        error_message: str,
        game_id: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> DeadLetter:
        letter = build_dead_letter(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            error_kind=error_kind,
            error_message=error_message,
            value_cap=self._value_cap,
            game_id=game_id,
            extra=extra,
        )
        if key is None and game_id is not None:
            key = str(game_id).encode()
        await send_acked(self._topic, key=key, value=encode(letter), headers=dead_letter_headers())
        self._metrics.add("dead_letters")
        self._metrics.add(f"dead_letters.{error_kind}")
        log.warning(
            "pitchcast.dead_letter kind=%s topic=%s partition=%s offset=%s: %s",
            error_kind,
            source_topic,
            partition,
            offset,
            letter.error_message,
            extra={
                "error_kind": error_kind,
                "source_topic": source_topic,
                "partition": partition,
                "offset": offset,
                "game_id": game_id,
            },
        )
        return letter
