"""The batch agent's hand-off window: sends pipelined, records committed as a prefix.

Each input record is folded, and what its step emits is handed to the producer at once
(:func:`~pitchcast.streams.sending.send_in_order`), without waiting for the acks of the
records before it. The record then waits here, in arrival order, with its sends. Only
a prefix of the window is ever committed (its match states and the partition ledger
written, then its records acked to faust, in order), and a record only once every send
of it is acknowledged. So the state in the table and the acked offsets always stand for
a contiguous prefix of the input whose hand-off the broker has: "decided once, state
written after the acks" holds per record, as before the pipelining. Records that become
ready together are committed as one run, writing each match's newest state and each
partition's ledger entry once (the changelog is compacted: only the newest counts).

A send that fails is retried by its own task (same bytes, same budget); the window does
not advance past it meanwhile. A send whose budget runs out fails the window: nothing
at or after it is committed or acked, and :meth:`HandoffWindow.run` raises (the agent
stops the worker; the records are read again after the restart).

At most ``limit`` records are in the window: :meth:`HandoffWindow.admit` waits for room,
so memory is bounded and a stalled broker holds the agent back (faust then stops
fetching once its stream buffer is full).

Runs are committed at most every ``interval_s``: a record acknowledged meanwhile waits
for the next run, so a busy match's state is written to the changelog once per
interval rather than once per record (it was ~18 KB a record; faust commits the acked
offsets every few seconds anyway). The wait never holds back a hand-off send (those are
out already), and is cut short when the window is full or someone waits for it to
settle (a revoke).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["HandoffWindow", "Pending"]


@dataclass(slots=True)
class Pending:
    """One input record in the window: its sends, and what committing it does."""

    sends: Sequence[asyncio.Future[Any]]  # its hand-off sends, in the order handed over
    commit: Callable[[], None]  # note its match state and ledger entry (synchronous)
    ack: Callable[[], Awaitable[Any]] | None = None  # ack it to faust, after the commit


class HandoffWindow:
    """Records whose hand-off is out; committed in arrival order once acknowledged."""

    def __init__(
        self, limit: int, *, flush: Callable[[], None] | None = None, interval_s: float = 0.0
    ) -> None:
        if limit < 1:
            raise ValueError("the window holds at least one record")
        if interval_s < 0:
            raise ValueError("the commit interval is at least 0 s")
        self.limit = limit
        self.interval_s = interval_s
        self._flush = flush
        self._pending: deque[Pending] = deque()
        self._changed = asyncio.Event()
        self._hurry = asyncio.Event()  # commit now: the window is full, or must settle
        self._last_run = -float("inf")  # loop time of the last run committed
        self.failure: BaseException | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def admit(self) -> None:
        """Wait until the window has room for one more record (backpressure)."""
        while len(self._pending) >= self.limit and self.failure is None:
            self._hurry.set()
            await self._changed.wait()
        if self.failure is not None:
            raise self.failure

    def add(self, pending: Pending) -> None:
        if self.failure is not None:
            raise self.failure
        self._pending.append(pending)
        self._notify()

    async def run(self) -> None:
        """Commit the head while every send of it is acknowledged; raises the first send
        that failed for good (and stays failed: nothing after it is ever committed).

        The head and every record after it that is ready as well (one produce response
        acknowledges many records) are committed as a run: each record's ``commit``,
        then ``flush`` once (the agent writes the run's newest state per match and
        ledger entry per partition), then their acks, in order."""
        try:
            while True:
                while not self._pending:
                    await self._changed.wait()
                head = self._pending[0]
                for send in head.sends:
                    if not send.done():
                        await asyncio.shield(send)
                    send.result()  # raises a send that failed for good
                await self._until_due()
                self._hurry.clear()
                run = [self._pending.popleft()]
                while self._pending and _acknowledged(self._pending[0]):
                    run.append(self._pending.popleft())
                for pending in run:
                    pending.commit()
                if self._flush is not None:
                    self._flush()
                self._last_run = asyncio.get_running_loop().time()
                for pending in run:
                    if pending.ack is not None:
                        await pending.ack()
                self._notify()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = exc
            self._notify()
            raise

    async def _until_due(self) -> None:
        """Wait until ``interval_s`` has passed since the last run, unless hurried."""
        left = self._last_run + self.interval_s - asyncio.get_running_loop().time()
        if left > 0 and not self._hurry.is_set():
            # Not asyncio.wait_for: on Python 3.11 it returns a wait that ends in the
            # turn a cancellation lands in and drops the cancellation (a stopped worker's
            # committer went on committing).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._hurry.wait()

    async def settled(self) -> None:
        """Wait until every record in the window is committed (or the window failed)."""
        while self._pending and self.failure is None:
            self._hurry.set()
            await self._changed.wait()

    def abandon(self) -> int:
        """Drop every record still in the window (none is committed or acked: each is
        read again after the restart) and cancel its sends; returns how many."""
        dropped = len(self._pending)
        for pending in self._pending:
            for send in pending.sends:
                send.cancel()
        self._pending.clear()
        self._notify()
        return dropped


def _acknowledged(pending: Pending) -> bool:
    """Every send of ``pending`` acknowledged (a failed one is left to the head's turn)."""
    return all(s.done() and not s.cancelled() and s.exception() is None for s in pending.sends)
