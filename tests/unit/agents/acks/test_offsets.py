"""DedupedAckConsumer: faust's commit offset, carried past repeated acks (agents/acks/)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from importlib.metadata import version

import pytest
from faust.types import TP
from intervaltree import IntervalTree
from mode.utils.logging import CompositeLogger

from pitchcast.agents.acks.offsets import (
    FAUST_VERSION,
    DedupedAckApp,
    DedupedAckConsumer,
    consumer_committed,
    consumer_read_offset,
)
from pitchcast.agents.acks.revoke import RevokeBounds
from pitchcast.metrics import Metrics

TP0 = TP("match-events", 0)


def _consumer(
    acked: list[int], *, committed: int | None = None, gaps: tuple[tuple[int, int], ...] = ()
) -> DedupedAckConsumer:
    """Only the state ``_new_offset`` reads: acked offsets, their index, gaps, the commit."""
    consumer = DedupedAckConsumer.__new__(DedupedAckConsumer)
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._gap = defaultdict(IntervalTree)
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._acked[TP0] = list(acked)
    consumer._acked_index[TP0] = set(acked)
    consumer._committed_offset[TP0] = committed
    for first, end in gaps:
        consumer._gap[TP0].addi(first, end)
    return consumer


def test_the_installed_faust_is_the_version_the_workaround_was_checked_on() -> None:
    """agents/acks/offsets.py overrides a faust internal: another faust needs another look."""
    assert version("faust-streaming") == FAUST_VERSION


def test_consecutive_acks_commit_past_the_last_one() -> None:
    """0..9 acked: commit 10, nothing left (as faust computes it)."""
    consumer = _consumer(list(range(10)))
    assert consumer._new_offset(TP0) == 10
    assert consumer._acked[TP0] == [] and consumer._acked_index[TP0] == set()


def test_nothing_acked_commits_nothing() -> None:
    """No acked offset: no new commit."""
    assert _consumer([])._new_offset(TP0) is None


def test_a_hole_stops_the_commit_at_the_hole() -> None:
    """5, 6, 8, 9 acked after 4: commit 7; 8 and 9 wait for 7."""
    consumer = _consumer([5, 6, 8, 9], committed=4)
    assert consumer._new_offset(TP0) == 7
    assert consumer._acked[TP0] == [8, 9] and consumer._acked_index[TP0] == {8, 9}


def test_a_hole_at_the_head_commits_nothing() -> None:
    """7, 8 acked after 4 (5 and 6 not yet): no new commit, nothing dropped."""
    consumer = _consumer([7, 8], committed=4)
    assert consumer._new_offset(TP0) is None
    assert consumer._acked[TP0] == [7, 8]


def test_repeated_acks_no_longer_end_the_run() -> None:
    """5, 5, 6, 6, 7, 8: faust alone commits 6 (a repeat ends its run); this commits 9."""
    consumer = _consumer([5, 5, 6, 6, 7, 8], committed=4)
    assert consumer._new_offset(TP0) == 9
    assert consumer._acked[TP0] == [] and consumer._acked_index[TP0] == set()


def test_a_gap_over_acked_records_commits_to_its_end() -> None:
    """faust's recovery race: records 5..7 acked and also counted as a gap [5, 8)."""
    consumer = _consumer([5, 6, 7], committed=4, gaps=((5, 8),))
    assert consumer._new_offset(TP0) == 8
    assert consumer._acked[TP0] == []


def test_a_gap_that_fills_a_hole_joins_the_runs() -> None:
    """5 and 9 acked, 6..8 a gap faust adds: commit 10."""
    consumer = _consumer([5, 9], committed=4, gaps=((6, 9),))
    assert consumer._new_offset(TP0) == 10


@pytest.mark.parametrize("repeats", [1, 2, 5])
def test_what_follows_a_hole_is_kept_once(repeats: int) -> None:
    """Repeats after a hole are kept once, and the next commit goes on from there."""
    consumer = _consumer([5, 6] + [8, 9] * repeats, committed=4)
    assert consumer._new_offset(TP0) == 7
    assert consumer._acked[TP0] == [8, 9] and consumer._acked_index[TP0] == {8, 9}
    consumer._acked[TP0].append(7)
    consumer._acked_index[TP0].add(7)
    consumer._committed_offset[TP0] = 6
    assert consumer._new_offset(TP0) == 10


def test_offsets_the_ledger_refilled_let_the_commit_pass() -> None:
    """faust handed over 54.. after a commit at 48: the ledger folded 48..53 in itself.
    Unacked by faust, they would hold the commit at 48; acked as a range, it moves on."""
    consumer = _consumer([54, 55], committed=47)
    assert consumer._new_offset(TP0) is None  # 48..53 missing: stuck
    consumer.ack_range(TP0, 48, 53)
    assert consumer._new_offset(TP0) == 56
    consumer._committed_offset[TP0] = 56  # as faust notes it once committed
    consumer.ack_range(TP0, 50, 51)  # below the commit by now: ignored
    assert consumer._acked[TP0] == [] and consumer._acked_index[TP0] == set()


def test_a_range_faust_took_for_a_hole_is_not_committed_once_the_guard_read_it() -> None:
    """Committed 5; faust's loop handed over 9 right after its seek and noted 6..9 as a
    hole in the log (``_add_gap``). The guard read 5..8 back; 5 and 6 are done, 7 is
    acked now: faust alone would commit 10, past 8 still in work; once 5..8 are no gap,
    the commit stops at 8 (agents/acks/handoff.py)."""
    untouched = _consumer([7], committed=7, gaps=((6, 10),))
    assert untouched._new_offset(TP0) == 10
    consumer = _consumer([7], committed=7, gaps=((6, 10),))
    consumer.not_gaps(TP0, [5, 6, 7, 8])
    assert consumer._new_offset(TP0) == 8
    assert [(i.begin, i.end) for i in consumer._gap[TP0]] == [(9, 10)]


async def test_faust_sets_the_offsets_the_guard_reads_when_it_seeks() -> None:
    """faust-streaming 0.15.3's ``perform_seek`` keeps the broker's committed offsets in
    ``_committed_offset`` and ``_read_offset`` (the hand-off guard's baseline and the
    offset its sweep compares with); read without inserting a partition."""
    consumer = _consumer([])
    consumer._read_offset = defaultdict(lambda: None)
    tp1 = TP("pitchcast-batches", 1)

    async def seek_to_committed() -> dict[TP, int]:
        return {tp1: 44}

    async def seek_fetcher(tp: TP, offset: int) -> None:
        return None

    consumer.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    consumer._seek = seek_fetcher  # type: ignore[method-assign]
    consumer.log = CompositeLogger(logging.getLogger("faust-consumer"))  # type: ignore[assignment]
    await consumer.perform_seek()
    assert consumer._committed_offset[tp1] == 44 and consumer._read_offset[tp1] == 44

    class _App:
        pass

    app = _App()
    app.consumer = consumer  # type: ignore[attr-defined]
    committed = consumer_committed(app, "pitchcast-batches")  # type: ignore[arg-type]
    read_offset = consumer_read_offset(app, "pitchcast-batches")  # type: ignore[arg-type]
    assert committed(1) == 44 and committed(2) is None
    assert read_offset(1) == 44 and read_offset(2) is None
    tp2 = TP("pitchcast-batches", 2)
    assert tp2 not in consumer._committed_offset and tp2 not in consumer._read_offset
    await consumer.seek(tp1, 50)  # faust's own seek moves the read offset too
    assert read_offset(1) == 50


def test_faust_tolerates_one_missing_offset_at_the_head() -> None:
    """faust-streaming#606: 5, 6 acked after a commit at 4 (4 not acked) commits 7.

    Kept on purpose (transaction markers take offsets without records); the agents never
    ack out of delivery order, so it never passes a record in work. If faust changes this,
    acks/offsets.py's reasoning needs another look."""
    consumer = _consumer([5, 6], committed=4)
    assert consumer._new_offset(TP0) == 7


class _App:
    in_transaction = False
    revoke_bounds = RevokeBounds.within(30.0, 10.0)
    pitchcast_metrics: Metrics | None = None
    revoke_began_at: float | None = None


async def test_a_revoke_commits_the_revoked_partitions_before_faust_forgets_their_acks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """faust 0.15.3 pops ``_acked`` of revoked partitions before the app's revoke signal:
    the override commits them while they are still there."""
    import inspect

    from faust.transport import consumer as faust_consumer
    from faust.transport.drivers import aiokafka as faust_aiokafka

    # The reason for the override, pinned: faust forgets the acks in this method.
    source = inspect.getsource(faust_consumer.Consumer.on_partitions_revoked)
    assert "self._acked.pop(tp, None)" in source

    consumer = _consumer([5, 6, 7], committed=5)
    consumer.app = _App()  # type: ignore[assignment]
    committed: list[tuple[set[TP], list[int]]] = []

    async def no_commit_in_flight() -> bool:
        return False

    async def commit(topics: set[TP]) -> bool:
        committed.append((set(topics), list(consumer._acked[TP0])))
        return True

    async def faust_revoke(self: object, revoked: set[TP]) -> None:
        for tp in revoked:
            consumer._acked.pop(tp, None)

    consumer.maybe_wait_for_commit_to_finish = no_commit_in_flight  # type: ignore[method-assign]
    consumer.commit = commit  # type: ignore[method-assign,assignment]
    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_revoked", faust_revoke)
    await consumer.on_partitions_revoked({TP0})
    assert committed == [({TP0}, [5, 6, 7])]  # committed while the acks were still there
    assert TP0 not in consumer._acked


async def test_a_failed_revoke_commit_still_lets_faust_revoke(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit that fails costs re-reads, never the revoke itself."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    consumer = _consumer([5], committed=5)
    consumer.app = _App()  # type: ignore[assignment]
    revoked: list[set[TP]] = []

    async def no_commit_in_flight() -> bool:
        return False

    async def commit(topics: set[TP]) -> bool:
        raise ConnectionError("coordinator moved")

    async def faust_revoke(self: object, tps: set[TP]) -> None:
        revoked.append(tps)

    consumer.maybe_wait_for_commit_to_finish = no_commit_in_flight  # type: ignore[method-assign]
    consumer.commit = commit  # type: ignore[method-assign,assignment]
    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_revoked", faust_revoke)
    await consumer.on_partitions_revoked({TP0})
    assert revoked == [{TP0}]


async def test_a_hanging_revoke_commit_is_cut_at_its_bound_and_faust_revokes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 18: the revoke commit is bounded (step 1 of agents/acks/revoke.py); a commit
    that never answers is cut there, counted, and faust's revoke still runs."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    consumer = _consumer([5], committed=5)
    app = _App()
    app.revoke_bounds = RevokeBounds.within(3.0, 10.0)  # commit_revoked_s = 0.1
    app.pitchcast_metrics = Metrics()
    consumer.app = app  # type: ignore[assignment]
    revoked: list[set[TP]] = []
    cancelled: list[bool] = []

    async def no_commit_in_flight() -> bool:
        return False

    async def commit(topics: set[TP]) -> bool:
        try:
            await asyncio.Event().wait()  # the coordinator never answers
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return True

    async def faust_revoke(self: object, tps: set[TP]) -> None:
        revoked.append(tps)

    consumer.maybe_wait_for_commit_to_finish = no_commit_in_flight  # type: ignore[method-assign]
    consumer.commit = commit  # type: ignore[method-assign,assignment]
    monkeypatch.setattr(faust_aiokafka.Consumer, "on_partitions_revoked", faust_revoke)
    started = asyncio.get_running_loop().time()
    await consumer.on_partitions_revoked({TP0})
    took = asyncio.get_running_loop().time() - started
    assert 0.1 <= took < 0.5, took
    assert cancelled == [True] and revoked == [{TP0}]
    # When step 1 began, kept for the revoke's last step to time the whole revoke.
    assert app.revoke_began_at is not None and 0 <= app.revoke_began_at - started < 0.05
    assert app.pitchcast_metrics.get("revoke_steps_cut", step="commit_revoked") == 1


async def test_the_app_producer_is_idempotent_with_acks_all() -> None:
    """faust 0.15.3 turns idempotence on only in transactions; the app's producer always
    has it, with acks=all (IdempotentProducer over faust's private _settings_extra)."""
    from pitchcast.agents.acks.offsets import IdempotentProducer
    from pitchcast.app import create_app
    from pitchcast.settings import load_settings

    app = create_app(load_settings(kafka_bootstrap_servers="127.0.0.1:1")).app
    assert isinstance(app.producer, IdempotentProducer)
    assert not app.in_transaction
    producer = app.producer._new_producer()
    try:
        assert producer._txn_manager is not None  # aiokafka's idempotence state
        assert producer._sender._acks == -1
    finally:
        await producer.client.close()


def test_the_app_hands_the_revoke_start_over_once() -> None:
    """The revoke's last step takes when step 1 began; a later revoke that did not pass
    through the consumer (none known) is not timed from a stale start."""
    app = DedupedAckApp("unit-revoke-start", broker="kafka://127.0.0.1:1", autodiscover=False)
    assert app.take_revoke_began() is None
    app.revoke_began_at = 12.5
    assert app.take_revoke_began() == 12.5
    assert app.take_revoke_began() is None
