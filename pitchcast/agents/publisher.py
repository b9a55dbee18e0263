"""The publisher the commentary agent hands its lanes: Kafka for the topics, Redis for
the line store and the published markers (:class:`~pitchcast.commentary.publisher.Publisher`).

Every send waits for the broker's ack, retrying the same bytes within the delivery
budget (:func:`~pitchcast.streams.sending.send_until_acked`); only then is the line or
the record marked published in Redis. A send never acknowledged raises
:class:`~pitchcast.exceptions.DeliveryFailed` and nothing is marked.
"""

from __future__ import annotations

import time
from typing import Any

from pitchcast.cache import RedisStore
from pitchcast.commentary.assembly import commentary_headers
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.headers import line_headers
from pitchcast.schemas.records import Commentary, CommentaryLine
from pitchcast.settings import Settings
from pitchcast.streams.sending import send_until_acked

__all__ = ["KafkaPublisher"]


class KafkaPublisher:
    """Lines to ``lines_topic`` (none: lines are only stored and marked), records to
    ``commentary_topic``; claims and markers in ``store``."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: RedisStore,
        commentary_topic: Any,
        lines_topic: Any | None,
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.commentary_topic = commentary_topic
        self.lines_topic = lines_topic
        self._metrics = metrics
        self._budget_s = settings.delivery_timeout_s
        self._mode = settings.llm_mode

    async def stored_lines(self, commentary_id: str) -> dict[int, tuple[bytes, bool]]:
        return await self.store.load_lines(commentary_id)

    async def claim_line(self, commentary_id: str, position: int, payload: bytes) -> bytes:
        return await self.store.claim_line(commentary_id, position, payload)

    async def send_line(
        self, line: CommentaryLine, *, key: bytes | None, source: str, appended_ms: int | None
    ) -> None:
        if self.lines_topic is not None:
            await send_until_acked(
                self.lines_topic,
                key=key,
                value=encode(line),
                headers=line_headers(line),
                budget_s=self._budget_s,
                metrics=self._metrics,
            )
            self._metrics.add("lines_published", persona=line.persona, source=source)
            if appended_ms:
                lag_s = max(time.time() - appended_ms / 1000.0, 0.0)
                self._metrics.observe(
                    "line_lag_seconds", lag_s, persona=line.persona, mode=self._mode
                )
        await self.store.mark_line_published(line.commentary_id, line.line_index)

    async def is_published(self, commentary_id: str) -> bool:
        return await self.store.is_published(commentary_id)

    async def send_record(
        self, commentary: Commentary, *, key: bytes | None, closed_by_ts_ms: int | None
    ) -> bool:
        if await self.store.is_published(commentary.commentary_id):
            self._metrics.add("commentary_already_published")
            return False
        await send_until_acked(
            self.commentary_topic,
            key=key,
            value=encode(commentary),
            headers=commentary_headers(commentary),
            budget_s=self._budget_s,
            metrics=self._metrics,
        )
        await self.store.mark_published(commentary.commentary_id)
        persona = commentary.persona
        self._metrics.add("commentary_published", source=commentary.source, persona=persona)
        if closed_by_ts_ms is not None:
            latency = time.time() * 1000 - closed_by_ts_ms
            self._metrics.observe("commentary_latency_seconds", latency / 1000.0, persona=persona)
        return True
