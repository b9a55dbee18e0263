"""The partition ledger: skipped offsets are refilled from the log, or nothing is acked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pitchcast.agents.acks.ledger import PartitionLedger, RefillIncomplete
from pitchcast.metrics import Metrics
from pitchcast.streams.admin import RangeRead


@dataclass
class _Record:
    offset: int
    key: bytes = b"1"
    value: bytes = b"{}"
    timestamp: int = 0


class _Reader:
    """A log of offsets 0..99 on partition 0, read like read_range does; scripted failures."""

    def __init__(self, *, failures: int = 0, start: int = 0, stall_at: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.failures = failures
        self.start = start
        self.stall_at = stall_at

    async def __call__(self, topic: str, partition: int, first: int, last: int) -> RangeRead:
        self.calls.append((first, last))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker restarting")
        end = last if self.stall_at is None else min(last, self.stall_at)
        records = [_Record(o) for o in range(max(first, self.start), end + 1)]
        return RangeRead(records, complete=end == last, first_available=self.start)


def _ledger(reader: _Reader | None, table: dict[bytes, bytes] | None = None) -> PartitionLedger:
    return PartitionLedger(
        {} if table is None else table, metrics=Metrics(), read_range=reader, retry_wait_s=0
    )


async def test_consecutive_offsets_need_no_refill() -> None:
    """0, 1, 2 folded in order: nothing is read from the log."""
    reader = _Reader()
    ledger = _ledger(reader)
    for offset in (0, 1, 2):
        assert await ledger.missing_before("t", 0, offset) == []
        ledger.folded(0, offset)
    assert reader.calls == [] and ledger.last(0) == 2


async def test_a_skip_is_refilled_in_order_even_at_assignment_start() -> None:
    """The ledger survives in the table: a first record after a restart is checked too."""
    table: dict[bytes, bytes] = {}
    _ledger(_Reader(), table).folded(3, 9)
    reader = _Reader()
    ledger = _ledger(reader, table)  # a new worker, the same (recovered) table
    missing = await ledger.missing_before("t", 3, 14)
    assert [r.offset for r in missing] == [10, 11, 12, 13]
    assert reader.calls == [(10, 13)]


async def test_no_baseline_trusts_where_the_group_starts() -> None:
    """A partition never folded has no ledger entry: the first record is taken as is."""
    reader = _Reader()
    assert await _ledger(reader).missing_before("t", 0, 500) == []
    assert reader.calls == []


async def test_a_failing_read_is_retried() -> None:
    """The broker may be restarting: the read is tried again."""
    table = {PartitionLedger.key(0): b"4"}
    reader = _Reader(failures=2)
    missing = await _ledger(reader, table).missing_before("t", 0, 8)
    assert [r.offset for r in missing] == [5, 6, 7] and len(reader.calls) == 3


async def test_a_refill_that_cannot_complete_stops_instead_of_skipping() -> None:
    """Issue 7.4: a short refill raises, so the record is not acked past the hole."""
    table = {PartitionLedger.key(0): b"4"}
    with pytest.raises(RefillIncomplete, match=r"5\.\.7"):
        await _ledger(_Reader(stall_at=6), table).missing_before("t", 0, 8)
    with pytest.raises(RefillIncomplete):
        await _ledger(None, table).missing_before("t", 0, 8)


async def test_a_range_deleted_by_retention_is_counted_not_waited_for() -> None:
    """Records the broker no longer holds cannot be read by anyone: counted and logged."""
    table = {PartitionLedger.key(0): b"4"}
    metrics = Metrics()
    ledger = PartitionLedger(table, metrics=metrics, read_range=_Reader(start=7), retry_wait_s=0)
    missing = await ledger.missing_before("t", 0, 9)
    assert [r.offset for r in missing] == [7, 8]
    assert metrics.get("offset_gap_records", state="deleted") == 2


def test_the_ledger_never_moves_back() -> None:
    """A redelivered (older) offset does not rewind the ledger."""
    ledger = _ledger(None)
    ledger.folded(0, 10)
    ledger.folded(0, 7)
    assert ledger.last(0) == 10


def test_ledger_keys_are_not_match_keys() -> None:
    """The ledger shares the match-state table under keys no game_id can have."""
    from pitchcast.agents.batching import is_match_key

    assert not is_match_key(PartitionLedger.key(2)) and is_match_key(b"126283")
