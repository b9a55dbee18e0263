"""The commentary publisher seam in memory, for the lanes' and the commentary agent's unit
tests: no Kafka, no Redis, every step logged in its order."""

from __future__ import annotations

from pitchcast.schemas.records import Commentary, CommentaryLine

__all__ = ["MemoryPublisher"]


class MemoryPublisher:
    """The :class:`~pitchcast.commentary.publisher.Publisher` seam, in memory: a line
    store, published markers, and a log of every step in the order it happened."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, int], list[object]] = {}  # -> [payload, published]
        self.marked: set[str] = set()
        self.steps: list[tuple[str, int]] = []
        self.sent: list[CommentaryLine] = []

    async def stored_lines(self, commentary_id: str) -> dict[int, tuple[bytes, bool]]:
        return {
            position: (payload, published)  # type: ignore[misc]
            for (cid, position), (payload, published) in self.lines.items()
            if cid == commentary_id
        }

    async def claim_line(self, commentary_id: str, position: int, payload: bytes) -> bytes:
        self.steps.append(("claim", position))
        stored = self.lines.setdefault((commentary_id, position), [payload, False])
        return stored[0]  # type: ignore[return-value]

    async def send_line(
        self, line: CommentaryLine, *, key: bytes | None, source: str, appended_ms: int | None
    ) -> None:
        self.steps.append(("send", line.line_index))
        self.sent.append(line)
        self.lines[(line.commentary_id, line.line_index)][1] = True
        self.steps.append(("mark", line.line_index))

    async def is_published(self, commentary_id: str) -> bool:
        return commentary_id in self.marked

    async def send_record(
        self, commentary: Commentary, *, key: bytes | None, closed_by_ts_ms: int | None
    ) -> bool:
        raise AssertionError("lanes never publish records: the agent does")
