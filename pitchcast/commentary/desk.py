"""A match's desk: its batches in flight, as the hand-off records made them known.

Per match there is a :class:`Desk`; per batch a :class:`BatchWork` that fills as the
batch's actions arrive (in live mode, one by one, each at its final position) and once
its close arrives. Lanes (:mod:`pitchcast.commentary.lanes`) wait on a work for what
they need; the commentary agent publishes a batch's records once every lane finished
it. No Kafka or Redis here: the desk only holds what arrived and wakes who waits.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.commentary.conversation import batch_so_far
from pitchcast.commentary.service import AlreadyPublished
from pitchcast.schemas.records import Action, Batch, BatchAction, BatchOpening, PeriodEnd

__all__ = ["BatchWork", "Desk", "PeriodEndWork", "Taken"]


@dataclass(frozen=True, slots=True)
class Taken:
    """What taking a hand-off record did: ``copy``, its position (or close) was held
    already; ``mismatches``, positions whose action differs from the one held."""

    copy: bool
    mismatches: int


class BatchWork:
    """What the desk knows of one batch: its actions so far, its close, its records."""

    def __init__(self, game_id: int, batch_index: int) -> None:
        self.game_id = game_id
        self.batch_index = batch_index
        self.opening: BatchOpening | None = None
        self.actions: dict[int, Action] = {}
        self.appended_ms: dict[int, int] = {}
        # Loop time each position's action reached this worker: a live line's deadline
        # counts from it, however long the row then waited for its lane (lanes.py).
        self.arrived_at: dict[int, float] = {}
        self.close: Batch | None = None
        self.offsets: list[int] = []  # its hand-off records, released once it is published
        self.results: dict[str, CommentaryResult | AlreadyPublished] = {}
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self) -> None:
        await self._changed.wait()

    def take_action(self, record: BatchAction) -> Taken:
        """An action at its position (the first copy wins), and the opening it carries.
        A copy (a send retried, a match replayed under its game id) says whether its
        action differs from the one held."""
        seen = self.actions.get(record.position)
        if record.opening is not None and (seen is None or self.opening is None):
            self.opening = record.opening
        if seen is not None:
            return Taken(copy=True, mismatches=int(seen != record.action))
        self.actions[record.position] = record.action
        self.appended_ms[record.position] = record.appended_ts_ms
        self.arrived_at[record.position] = _loop_time()
        return Taken(copy=False, mismatches=0)

    def take_close(self, batch: Batch) -> Taken:
        """The closed batch: at how many positions its action differs from the one
        handed off there (the close's actions are kept). A copy of a close taken already
        is compared with it and changes nothing (the first copy wins)."""
        if self.close is not None:
            held = self.close.actions
            differ = sum(1 for a, b in zip(held, batch.actions, strict=False) if a != b)
            return Taken(copy=True, mismatches=differ + abs(len(held) - len(batch.actions)))
        mismatches = 0
        for position, action in enumerate(batch.actions):
            seen = self.actions.get(position)
            if seen is not None and seen.action_id != action.action_id:
                mismatches += 1
            self.actions[position] = action
            self.appended_ms.setdefault(position, batch.closed_by_ts_ms or 0)
        self.close = batch
        return Taken(copy=False, mismatches=mismatches)

    def known(self) -> int:
        """How many actions from position 0 on are known without a hole."""
        n = 0
        while n in self.actions:
            n += 1
        return n

    def view(self, n: int) -> Batch:
        """The batch so far (positions 0..n-1), as the live prompt and validation see it."""
        assert self.opening is not None
        actions = [self.actions[p] for p in range(n)]
        return batch_so_far(self.game_id, self.batch_index, self.opening, actions)

    def position_of(self, action_id: int) -> int | None:
        for position, action in self.actions.items():
            if action.action_id == action_id:
                return position
        return None


class PeriodEndWork:
    """The end of a period after batch ``mark.batch_index`` had closed: each lane tells it
    before the next batch's lines; its records are released once every lane has."""

    def __init__(self, mark: PeriodEnd) -> None:
        self.mark = mark
        self.offsets: list[int] = []
        self.told: set[str] = set()
        self.done = asyncio.Event()  # set once every persona told it

    def tell(self, persona: str, personas: int) -> None:
        self.told.add(persona)
        if len(self.told) >= personas:
            self.done.set()


def _loop_time() -> float:
    """The running loop's clock (what deadlines use); monotonic time outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class Desk:
    """One match: its batches in flight, and the tasks (lanes, publisher) working on them."""

    def __init__(self, game_id: int, key: bytes | None, partition: int) -> None:
        self.game_id = game_id
        self.key = key
        self.partition = partition
        self.works: dict[int, BatchWork] = {}
        # Ends of periods whose batch had closed already, by that batch's index.
        self.period_ends: dict[int, PeriodEndWork] = {}
        self.next_to_publish: int | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.told_before_noted = False  # a batch published before was logged (lanes.py)
        self._arrived = asyncio.Event()

    def next_arrival(self) -> asyncio.Event:
        """Set when the next batch or period end arrives (take it before looking)."""
        return self._arrived

    def take_period_end(self, mark: PeriodEnd, offset: int) -> PeriodEndWork:
        """A period's end (or a copy of it), for the lanes to tell after its batch."""
        end = self.period_ends.get(mark.batch_index)
        if end is None:
            end = self.period_ends[mark.batch_index] = PeriodEndWork(mark)
        end.offsets.append(offset)
        self._announce()
        return end

    def work(self, batch_index: int) -> BatchWork:
        work = self.works.get(batch_index)
        if work is None:
            work = self.works[batch_index] = BatchWork(self.game_id, batch_index)
            self._announce()
        return work

    def _announce(self) -> None:
        """Wake whoever waits on :meth:`next_arrival`; later waiters get a fresh event."""
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def get(self, batch_index: int, *, idle_s: float | None = None) -> BatchWork:
        """The work of ``batch_index``, once its first record arrived. With ``idle_s``,
        TimeoutError when nothing at all arrives for that long (the publisher's call: one
        idle decision per desk)."""
        while batch_index not in self.works:
            if idle_s is None:
                await self._arrived.wait()
                continue
            async with asyncio.timeout(idle_s):
                await self._arrived.wait()
        return self.works[batch_index]
