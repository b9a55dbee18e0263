"""Acks released only as a prefix of each partition's delivery order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Ack", "AckOrder"]

Ack = Callable[[], Awaitable[Any]]


class AckOrder:
    """Acks a partition's records in the order they were delivered, never past one in work.

    faust commits the end of the first run of acked offsets without checking that the run
    starts at the committed offset (faust-streaming 0.15.3 ``Consumer._new_offset``), so an
    ack out of log order (match B's batch published while match A's earlier one is still
    being written on the same partition) could let the commit pass A's records: a crash
    then would lose them. Records are released here as their work ends, and acked only
    as a prefix of the partition's delivery order.
    """

    def __init__(self) -> None:
        self._pending: dict[int, Ack] = {}  # offset -> ack, in delivery order
        self._done: set[int] = set()

    def register(self, offset: int, ack: Ack) -> None:
        self._pending.setdefault(offset, ack)

    async def release(self, offsets: list[int]) -> None:
        self._done.update(offsets)
        while self._pending:
            offset = next(iter(self._pending))
            if offset not in self._done:
                return
            ack = self._pending.pop(offset)
            self._done.discard(offset)
            await ack()
