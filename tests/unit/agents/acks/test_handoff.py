"""The hand-off guard: records faust skipped at an assignment's start are read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pitchcast.agents.acks.handoff import HandoffGuard
from pitchcast.agents.acks.ledger import RefillIncomplete
from pitchcast.metrics import Metrics
from pitchcast.streams.admin import RangeRead


@dataclass
class _Record:
    offset: int
    key: bytes = b"1"
    value: bytes = b"{}"


class _Log:
    """Offsets 0..99 of the hand-off topic's partitions, read like read_range does."""

    def __init__(self, *, stall_at: int | None = None) -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.stall_at = stall_at

    async def __call__(self, topic: str, partition: int, first: int, last: int) -> RangeRead:
        self.calls.append((partition, first, last))
        end = last if self.stall_at is None else min(last, self.stall_at)
        return RangeRead([_Record(o) for o in range(first, end + 1)], end == last, 0)


class _Consumer:
    """What the guard asks faust's consumer: the committed offset, the read offset."""

    def __init__(self, committed: dict[int, int | None], read: dict[int, int]) -> None:
        self.committed = committed
        self.read = read
        self.not_gaps: list[tuple[int, list[int]]] = []


def _guard(consumer: _Consumer, log: _Log, *, ready: bool = True) -> HandoffGuard:
    return HandoffGuard(
        topic="pitchcast-batches",
        committed=lambda p: consumer.committed.get(p),
        read_offset=lambda p: consumer.read.get(p),
        read_range=log,
        metrics=Metrics(),
        ready=lambda: ready,
        not_gaps=lambda p, offsets: consumer.not_gaps.append((p, offsets)),
        retry_wait_s=0,
    )


async def test_a_first_record_past_the_committed_offset_brings_the_skipped_ones_first() -> None:
    """Committed 5, faust hands over 8 first: 5, 6, 7 are read from the log, in order,
    taken out of faust's gap list, and a later copy of one of them is let go."""
    consumer, log = _Consumer({0: 5}, {}), _Log()
    guard = _guard(consumer, log)
    refilled = await guard.before(0, 8)
    assert [r.offset for r in refilled or []] == [5, 6, 7]
    assert log.calls == [(0, 5, 7)] and consumer.not_gaps == [(0, [5, 6, 7])]
    assert guard.expected(0) == 9
    assert await guard.before(0, 6) is None  # faust hands it over after all: let go
    assert await guard.before(0, 9) == []


async def test_records_from_the_committed_offset_on_need_no_read() -> None:
    consumer, log = _Consumer({0: 5}, {}), _Log()
    guard = _guard(consumer, log)
    for offset in (5, 6, 7):
        assert await guard.before(0, offset) == []
    assert log.calls == [] and guard.expected(0) == 8


async def test_a_redelivery_below_the_expected_offset_passes_and_moves_nothing() -> None:
    """faust hands records over again after its seek: they go to the agent as before."""
    guard = _guard(_Consumer({0: 5}, {}), _Log())
    assert await guard.before(0, 5) == [] and await guard.before(0, 6) == []
    assert await guard.before(0, 5) == [] and guard.expected(0) == 7


async def test_without_a_committed_offset_faust_is_trusted() -> None:
    """A new group (or a committed 0, which faust keeps as None): no baseline."""
    consumer, log = _Consumer({0: None}, {}), _Log()
    guard = _guard(consumer, log)
    assert await guard.before(0, 40) == [] and log.calls == []
    assert await guard.before(0, 43) != []  # from then on its own baseline holds


async def test_a_range_that_cannot_be_read_to_its_end_raises() -> None:
    guard = _guard(_Consumer({0: 5}, {}), _Log(stall_at=6))
    with pytest.raises(RefillIncomplete):
        await guard.before(0, 9)
    assert guard.expected(0) == 5  # nothing noted: the record is read again after a restart


async def test_a_skipped_tail_is_found_by_two_quiet_sweeps() -> None:
    """The last record of a partition skipped: nothing later reveals it, but faust's read
    offset is past the committed one while the agent got nothing, twice in a row (the
    read offset equal to the committed one is faust's seek: nothing read yet)."""
    consumer, log = _Consumer({0: 5, 1: 3}, {0: 6, 1: 3}), _Log()
    guard = _guard(consumer, log)
    handed: list[tuple[int, list[int]]] = []

    async def hand_over(partition: int, records: list[Any]) -> None:
        handed.append((partition, [r.offset for r in records]))

    assert await guard.sweep({0, 1}, hand_over) == 0  # first look: maybe in transit
    assert await guard.sweep({0, 1}, hand_over) == 1
    assert handed == [(0, [5])] and guard.expected(0) == 6
    assert await guard.sweep({0, 1}, hand_over) == 0 and log.calls == [(0, 5, 5)]
    assert await guard.before(0, 5) is None  # faust's own copy, if it ever comes


async def test_a_record_taken_between_sweeps_means_nothing_was_skipped() -> None:
    consumer, log = _Consumer({0: 5}, {0: 7}), _Log()
    guard = _guard(consumer, log)

    async def hand_over(partition: int, records: list[Any]) -> None:
        raise AssertionError("nothing was skipped")

    await guard.sweep({0}, hand_over)
    await guard.before(0, 5)  # the agent took 5 meanwhile; 6 and 7 are in its buffer
    await guard.sweep({0}, hand_over)
    await guard.before(0, 6)
    await guard.before(0, 7)
    assert await guard.sweep({0}, hand_over) == 0
    assert await guard.sweep({0}, hand_over) == 0 and log.calls == []


async def test_a_partition_read_up_to_what_the_agent_got_is_not_behind() -> None:
    """faust's read offset is the last record handed over: the agent got it."""
    consumer, log = _Consumer({0: 5}, {0: 5}), _Log()
    guard = _guard(consumer, log)

    async def hand_over(partition: int, records: list[Any]) -> None:
        raise AssertionError("nothing was skipped")

    for _ in range(3):
        assert await guard.sweep({0}, hand_over) == 0  # just seeked: 5 is the next
    await guard.before(0, 5)
    await guard.before(0, 6)
    consumer.read[0] = 6
    for _ in range(3):
        assert await guard.sweep({0}, hand_over) == 0
    assert log.calls == []


async def test_no_sweep_while_the_intake_is_busy_or_faust_rebalances() -> None:
    consumer, log = _Consumer({0: 5}, {0: 9}), _Log()
    handed: list[int] = []

    async def hand_over(partition: int, records: list[Any]) -> None:
        handed.extend(r.offset for r in records)

    rebalancing = _guard(consumer, log, ready=False)
    for _ in range(3):
        assert await rebalancing.sweep({0}, hand_over) == 0
    busy = _guard(consumer, log)
    await busy.sweep({0}, hand_over)
    async with busy.lock:  # the intake holds it: the sweep starts over
        assert await busy.sweep({0}, hand_over) == 0
    assert await busy.sweep({0}, hand_over) == 0
    assert handed == [] and log.calls == []
    assert await busy.sweep({0}, hand_over) == 4 and handed == [5, 6, 7, 8]


async def test_a_revoke_starts_the_partition_over_from_the_committed_offset() -> None:
    consumer = _Consumer({0: 5}, {})
    guard = _guard(consumer, _Log())
    await guard.before(0, 5)
    assert guard.expected(0) == 6
    guard.forget({0})
    consumer.committed[0] = 20  # the next assignment's seek
    assert guard.expected(0) == 20
