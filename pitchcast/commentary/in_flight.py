"""The worker's in-flight slots to the LLM: a lane's own request first, extra forks on
idle capacity only.

One pool per worker (:class:`~.guarded.GuardedLLM`), ``total`` = ``llm_max_in_flight``.
Two kinds of taker:

* a *regular* request (a batch, a live request, the first fork of a burst) waits for
  any free slot, in arrival order;
* a *spare* request (a burst's other forks, :mod:`.live`) takes a slot only when no
  regular request is waiting for one and, after it, enough slots stay free for every
  lane of the worker that holds none (:attr:`SlotPool.lanes`, counted by the lanes
  while they run). So forks never take the slot another match's next request needs:
  a match whose requests hang holds its regular slot and spare slots nobody else could
  have used, and with more lanes than slots, bursts are written one fork at a time.

Counts are changed without awaiting, so a cancelled taker never leaks a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["SlotPool"]


class SlotPool:
    """``total`` slots; see the module docstring."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("a pool needs at least one slot")
        self.total = total
        # Lanes of this worker that may send a regular request (each keeps one slot free
        # from spare takers while it holds none).
        self.lanes = 0
        self.regular = 0
        self.spare = 0
        self._waiters: list[tuple[bool, asyncio.Future[None]]] = []

    @property
    def in_use(self) -> int:
        return self.regular + self.spare

    @contextlib.asynccontextmanager
    async def take(self, *, spare: bool = False) -> AsyncIterator[None]:
        """Hold one slot (regular, or spare) for the duration of the block."""
        await self._wait(spare)
        if spare:
            self.spare += 1
        else:
            self.regular += 1
        try:
            yield
        finally:
            if spare:
                self.spare -= 1
            else:
                self.regular -= 1
            self.wake()

    def add_lane(self, n: int = 1) -> None:
        """A lane starts (``n`` = 1) or ends (``n`` = -1)."""
        self.lanes += n
        self.wake()

    def wake(self) -> None:
        """Let every waiter check again (a slot was freed, a lane ended)."""
        for _, future in self._waiters:
            if not future.done():
                future.set_result(None)

    def _may_take(self, spare: bool) -> bool:
        if not spare:
            return self.in_use < self.total
        if any(not waiting_spare for waiting_spare, _ in self._waiters):
            return False  # a regular request waits: it goes first
        reserve = max(self.lanes - self.regular, 0)
        return self.in_use + 1 + reserve <= self.total

    async def _wait(self, spare: bool) -> None:
        loop = asyncio.get_running_loop()
        while not self._may_take(spare):
            entry = (spare, loop.create_future())
            self._waiters.append(entry)
            try:
                await entry[1]
            finally:
                self._waiters.remove(entry)
                if not spare:
                    self.wake()  # a regular waiter gone: spares may go now
