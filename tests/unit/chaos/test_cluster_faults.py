"""The cluster scenarios' feed: each fault has its own section of the match beside it.

CI once failed ``cluster`` with "controller-kill: nothing was fed while the node was
down": the match ran on its own clock, the kill fell into an 11.7 s pause of the match,
and the node it killed also led the match's partition, so the one send in flight was
still waiting for the new leader when the node came back 12.4 s after the kill. These
pin the shape that rules both out: a section of the match starts beside each fault the
moment its node is hit, and the node stays down until the other two acknowledge a record
(bounded), so the premise fails only when the cluster really took no writes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pitchcast.chaos import cluster_faults
from pitchcast.chaos.check import Figures
from pitchcast.chaos.cluster_faults import Beside, hold_until_fed, record_fed, sections
from pitchcast.chaos.harness import Feed, Outgoing


def _messages(n: int, step_s: float = 1.0) -> list[tuple[float, Outgoing]]:
    return [(i * step_s, (b"1", str(i).encode(), [])) for i in range(n)]


class _Feed(Feed):
    """The harness's feed (its real ``play``) with ``send`` recorded instead of produced."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:9", "unused")
        self.values: list[bytes | None] = []

    async def send(self, key: bytes | None, value: bytes | None, headers: Any = None) -> None:
        self.values.append(value)
        self.sent += 1


def test_sections_cover_the_match_once_in_order() -> None:
    messages = _messages(244)
    parts = sections(messages, at=0.1, faults=3)
    assert len(parts) == 5  # before, one beside each of three faults, after
    assert [m for part in parts for m in part] == messages
    assert len(parts[0]) == 24
    assert all(len(part) == 55 for part in parts[1:4])
    assert all(parts[1:4])  # no fault without records beside it


def test_one_fault_small_match() -> None:
    parts = sections(_messages(7), at=0.4, faults=1)
    assert [len(p) for p in parts] == [2, 2, 3]


async def test_a_section_starts_only_when_the_fault_says_so() -> None:
    feed: Any = _Feed()
    beside = Beside(feed, _messages(5, step_s=10.0)[2:], speed=1000.0)
    await asyncio.sleep(0.02)
    assert feed.sent == 0  # nothing before the node is hit
    beside.start()
    beside.start()  # a second start is the same section, not a second copy
    await beside.finish()
    assert feed.values == [b"2", b"3", b"4"]


async def test_a_section_is_paced_from_its_own_first_record() -> None:
    # Late in the match (at 1,000 s) a section still begins at once, not 1,000 s on.
    feed: Any = _Feed()
    late = [(1000.0 + i, m) for i, (_, m) in enumerate(_messages(2))]
    beside = Beside(feed, late, speed=100.0)
    beside.start()
    await asyncio.wait_for(beside.finish(), timeout=1.0)
    assert feed.sent == 2


async def test_a_fault_that_never_starts_its_section_still_gets_it_fed() -> None:
    feed: Any = _Feed()
    beside = Beside(feed, _messages(3), speed=1000.0)
    await beside.finish()  # e.g. no active controller found: the records still go out
    assert feed.sent == 3


async def test_a_slow_fault_still_has_records_fed_while_its_node_is_down() -> None:
    # The failure CI saw: faults that take longer than the whole match on its clock.
    feed: Any = _Feed()
    parts = sections(_messages(40, step_s=0.001), at=0.1, faults=3)
    fed_during: list[int] = []

    async def slow_fault(beside: Beside) -> None:
        await asyncio.sleep(0.05)  # longer than the whole match at this pace
        sent = feed.sent
        beside.start()  # the node is hit
        await asyncio.sleep(0.05)  # down
        fed_during.append(feed.sent - sent)

    await Beside(feed, parts[0], speed=1.0).finish()
    for section in parts[1:-1]:
        beside = Beside(feed, section, speed=1.0)
        await slow_fault(beside)
        await beside.finish()
    await Beside(feed, parts[-1], speed=1.0).finish()
    assert fed_during == [len(p) for p in parts[1:-1]] == [9, 9, 9]
    assert feed.sent == 40


async def test_a_node_is_held_down_until_a_record_sent_beside_it_is_acknowledged() -> None:
    # The send in flight is acknowledged only after the planned down time (the failover
    # of the partition the node led): the node stays down for it.
    feed: Any = _Feed()
    loop = asyncio.get_running_loop()
    hit = time.monotonic()
    loop.call_later(0.15, lambda: setattr(feed, "sent", 1))
    held = await hold_until_fed(feed, 0, at=hit, planned_s=0.05)
    assert feed.sent == 1
    assert 0.05 < held < 0.3
    assert time.monotonic() - hit >= 0.15


async def test_a_node_is_not_held_once_a_record_went_through() -> None:
    feed: Any = _Feed()
    feed.sent = 3
    hit = time.monotonic()
    held = await hold_until_fed(feed, 1, at=hit, planned_s=0.05)
    assert held < 0.05
    assert time.monotonic() - hit >= 0.05  # the planned time is always served


async def test_the_hold_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(cluster_faults, "HELD_FOR_A_RECORD_S", 0.1)
    feed: Any = _Feed()
    held = await hold_until_fed(feed, 0, at=time.monotonic(), planned_s=0.0)
    assert 0.1 <= held < 0.5
    assert feed.sent == 0


def test_no_record_through_the_fault_is_a_problem() -> None:
    figures = Figures("cluster", "ci")
    record_fed(figures, "controller-kill", 0, 30.0, "down")
    assert figures.problems == ["controller-kill: nothing was fed while the node was down"]
    assert figures.extra["controller-kill: held down past its time for a record (s)"] == 30.0


def test_records_through_the_fault_hold_the_premise() -> None:
    figures = Figures("cluster", "ci")
    record_fed(figures, "broker-pause", 4, 2.34, "paused")
    assert figures.problems == []
    assert figures.extra["broker-pause: records fed while the node was paused"] == 4
    assert figures.extra["broker-pause: held paused past its time for a record (s)"] == 2.3
