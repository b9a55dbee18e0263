"""The publisher seam: what the commentary desks need from Redis and Kafka, and nothing more.

The desks and lanes (:mod:`pitchcast.commentary.desk`, :mod:`pitchcast.commentary.lanes`)
decide *what* goes out and in which order; an object of this shape, handed to them by the
agent, does the publishing (its Kafka and Redis implementation is
:class:`pitchcast.agents.publisher.KafkaPublisher`). A line: claimed in the line store
(:meth:`Publisher.claim_line`: the first text of a line id wins), then sent, acknowledged
and marked published (:meth:`Publisher.send_line`). A batch's record: unless marked
published, sent, acknowledged and marked (:meth:`Publisher.send_record`).
"""

from __future__ import annotations

from typing import Protocol

from pitchcast.schemas.records import Commentary, CommentaryLine

__all__ = ["Publisher"]


class Publisher(Protocol):
    """Publishes lines and commentary records, each exactly as its caller ordered."""

    async def stored_lines(self, commentary_id: str) -> dict[int, tuple[bytes, bool]]:
        """Every line an owner stored for ``commentary_id``: position -> (payload, published)."""
        ...

    async def claim_line(self, commentary_id: str, position: int, payload: bytes) -> bytes:
        """Store ``payload`` unless the line already has one; return the stored payload."""
        ...

    async def send_line(
        self, line: CommentaryLine, *, key: bytes | None, source: str, appended_ms: int | None
    ) -> None:
        """Send ``line``, wait for the broker's ack, then mark it published.

        Raises :class:`~pitchcast.exceptions.DeliveryFailed` once the delivery budget is
        spent (nothing is marked then)."""
        ...

    async def is_published(self, commentary_id: str) -> bool:
        """Whether the batch's record is marked published."""
        ...

    async def send_record(
        self, commentary: Commentary, *, key: bytes | None, closed_by_ts_ms: int | None
    ) -> bool:
        """Unless marked published: send, wait for the ack, set the marker (True). False
        when it was marked already. Raises ``DeliveryFailed`` like :meth:`send_line`."""
        ...
