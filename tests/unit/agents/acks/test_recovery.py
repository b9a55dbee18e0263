"""The recovery watch: a changelog partition consumed past what the recovery replayed,
with nothing queued, is read again once it has stood still long enough."""

from __future__ import annotations

from collections import Counter
from typing import Any

import faust
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP

from pitchcast.agents.acks.offsets import FAUST_VERSION
from pitchcast.agents.acks.recovery import (
    TRANSACTIONAL_STALL_S,
    ChangelogView,
    RecoveryWatch,
    watch_recovery,
)
from pitchcast.metrics import Metrics

TP0, TP1 = TP("changelog", 0), TP("changelog", 1)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _watch(stall_s: float = 10.0) -> tuple[RecoveryWatch, _Clock]:
    clock = _Clock()
    return RecoveryWatch(stall_s=stall_s, clock=clock), clock


def test_a_partition_consumed_past_the_recovery_is_read_again_after_the_stall() -> None:
    # What the rebalance scenario showed: sought to 0, position at the end (62), nothing
    # replayed (-1), nothing queued.
    watch, clock = _watch()
    stuck = [ChangelogView(TP0, -1, 62)]
    assert watch.stalled(stuck, queue_empty=True) == {}
    clock.now += 9.9
    assert watch.stalled(stuck, queue_empty=True) == {}
    clock.now += 0.1
    assert watch.stalled(stuck, queue_empty=True) == {TP0: 0}


def test_the_seek_goes_to_the_first_offset_not_replayed() -> None:
    watch, clock = _watch()
    views = [ChangelogView(TP1, 37, 66)]
    watch.stalled(views, queue_empty=True)
    clock.now += 10
    assert watch.stalled(views, queue_empty=True) == {TP1: 38}


def test_a_recovery_that_moves_is_left_alone() -> None:
    watch, clock = _watch()
    for replayed in (-1, 10, 20, 30, 40):  # replaying: the offset moves every look
        assert watch.stalled([ChangelogView(TP0, replayed, 62)], queue_empty=True) == {}
        clock.now += 5


def test_records_still_queued_are_not_a_stall() -> None:
    watch, clock = _watch()
    views = [ChangelogView(TP0, -1, 62)]
    for _ in range(5):
        assert watch.stalled(views, queue_empty=False) == {}
        clock.now += 5


def test_a_position_not_past_the_recovery_is_not_a_stall() -> None:
    # Waiting for records that are not fetched yet (or not written): faust's own
    # business, and seeking would change nothing.
    watch, clock = _watch()
    for position in (0, None):
        views = [ChangelogView(TP0, -1, position)]
        watch.stalled(views, queue_empty=True)
        clock.now += 60
        assert watch.stalled(views, queue_empty=True) == {}


def test_after_a_seek_a_further_stall_is_judged_from_the_seek() -> None:
    watch, clock = _watch()
    views = [ChangelogView(TP0, -1, 62)]
    watch.stalled(views, queue_empty=True)
    clock.now += 10
    assert watch.stalled(views, queue_empty=True) == {TP0: 0}
    clock.now += 5
    assert watch.stalled(views, queue_empty=True) == {}
    clock.now += 5
    assert watch.stalled(views, queue_empty=True) == {TP0: 0}


def test_only_the_stalled_partition_is_read_again() -> None:
    watch, clock = _watch()
    watch.stalled([ChangelogView(TP0, -1, 62), ChangelogView(TP1, 37, 66)], queue_empty=True)
    clock.now += 10
    got = watch.stalled([ChangelogView(TP0, -1, 62), ChangelogView(TP1, 50, 66)], queue_empty=True)
    assert got == {TP0: 0}


class _Queue:
    def __init__(self, empty: bool) -> None:
        self._empty = empty

    def empty(self) -> bool:
        return self._empty


class _Recovery:
    def __init__(self, offsets: dict[Any, int], highwaters: dict[Any, int]) -> None:
        self.in_recovery = True
        self.active_offsets: Counter[Any] = Counter(offsets)
        self.highwaters = highwaters

    def active_remaining(self) -> Counter[Any]:
        return Counter({tp: hw - self.active_offsets[tp] for tp, hw in self.highwaters.items()})


class _Consumer:
    def __init__(self, positions: dict[Any, int]) -> None:
        self.positions = positions
        self.seeks: list[dict[Any, int]] = []

    async def position(self, tp: Any) -> int:
        return self.positions[tp]

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        self.seeks.append(dict(partitions))


class _App:
    def __init__(
        self,
        recovery: _Recovery,
        consumer: _Consumer,
        *,
        queue_empty: bool,
        in_transaction: bool = False,
    ) -> None:
        self.in_transaction = in_transaction
        self.consumer = consumer
        self.tables = type("Tables", (), {})()
        self.tables.recovery = recovery
        self.tables.changelog_queue = _Queue(queue_empty)


async def test_watch_recovery_seeks_faust_consumer_back_and_counts_it() -> None:
    recovery = _Recovery({TP0: -1, TP1: 65}, {TP0: 61, TP1: 65})  # TP1 is done
    consumer = _Consumer({TP0: 62, TP1: 66})
    app: Any = _App(recovery, consumer, queue_empty=True)
    metrics = Metrics()
    watch, clock = _watch()
    watch.metrics = metrics
    assert await watch_recovery(app, watch) == 0
    clock.now += 10
    assert await watch_recovery(app, watch) == 1
    assert consumer.seeks == [{TP0: 0}]
    assert metrics.snapshot()["recovery_reseeks"] == 1


async def test_under_exactly_once_faust_gets_to_its_commit_marker_first() -> None:
    # A transactional changelog ends in a commit marker (an offset, no record): the
    # recovery stands one short of the end until faust's detect_aborted_tx moves it on
    # (11.5 s in the fault suite). Not a lost fetch: the watch waits that out.
    recovery = _Recovery({TP0: 60}, {TP0: 61})
    consumer = _Consumer({TP0: 62})
    app: Any = _App(recovery, consumer, queue_empty=True, in_transaction=True)
    watch, clock = _watch()
    for _ in range(12):  # 24 s of looks
        assert await watch_recovery(app, watch) == 0
        clock.now += 2
    assert consumer.seeks == []
    recovery.active_offsets[TP0] = 61  # faust: "Aborted tx until highwater"
    assert await watch_recovery(app, watch) == 0


async def test_under_exactly_once_a_lost_fetch_is_still_read_again() -> None:
    recovery = _Recovery({TP0: -1}, {TP0: 61})
    consumer = _Consumer({TP0: 62})
    app: Any = _App(recovery, consumer, queue_empty=True, in_transaction=True)
    watch, clock = _watch()
    await watch_recovery(app, watch)
    clock.now += TRANSACTIONAL_STALL_S
    assert await watch_recovery(app, watch) == 1
    assert consumer.seeks == [{TP0: 0}]


async def test_no_recovery_no_look() -> None:
    recovery = _Recovery({TP0: -1}, {TP0: 61})
    recovery.in_recovery = False
    consumer = _Consumer({TP0: 62})
    app: Any = _App(recovery, consumer, queue_empty=True)
    watch, clock = _watch()
    for _ in range(3):
        assert await watch_recovery(app, watch) == 0
        clock.now += 10
    assert consumer.seeks == []


def test_the_faust_names_the_watch_reads_are_those_of_the_pinned_version() -> None:
    assert faust.__version__ == FAUST_VERSION
    assert hasattr(Recovery, "in_recovery")
    assert "in_transaction" in vars(faust.App)
    assert callable(Recovery.active_remaining)
    assert callable(Recovery._seek_offsets)  # chaos/inject.py changelog-drop wraps it
    assert "active_offsets" in Recovery.__init__.__code__.co_names
    assert "changelog_queue" in dir(TableManager)
    assert callable(Consumer.position)
    assert callable(Consumer.seek_wait)
