"""The cluster scenarios' feed: each fault has its own section of the match beside it.

CI once failed ``cluster`` with "controller-kill: nothing was fed while the node was down":
the match ran on its own clock and ended before the third fault began (a slow ISR rejoin
between faults). These pin the shape that makes that impossible: the feed waits for the
faults, and a section is fed beside each fault, started when its node is hit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pitchcast.chaos.cluster_faults import Beside, sections
from pitchcast.chaos.harness import Outgoing


def _messages(n: int, step_s: float = 1.0) -> list[tuple[float, Outgoing]]:
    return [(i * step_s, (b"1", str(i).encode(), [])) for i in range(n)]


class _Feed:
    """Records what would be sent, and when (a stand-in for the Kafka producer only)."""

    def __init__(self) -> None:
        self.values: list[bytes | None] = []
        self.sent = 0

    async def play(
        self,
        messages: Sequence[tuple[float, Outgoing]],
        *,
        speed: float | None,
        hooks: dict[int, Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for at_s, (_, value, _) in messages:
            assert speed is not None
            delay = at_s / speed - (loop.time() - started)
            if delay > 0:
                await asyncio.sleep(delay)
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
