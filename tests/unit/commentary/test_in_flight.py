"""The worker's in-flight slots: regular requests first, spare forks on idle capacity."""

from __future__ import annotations

import asyncio

import pytest

from pitchcast.commentary.in_flight import SlotPool


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_regular_takers_wait_for_a_free_slot() -> None:
    pool = SlotPool(2)
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.take():
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(3)]
    await _settle()
    assert pool.regular == 2  # the third waits
    release.set()
    await asyncio.gather(*holders)
    assert pool.in_use == 0


async def test_a_spare_taker_leaves_a_slot_to_every_lane_that_holds_none() -> None:
    """Two lanes, three slots: lane A holds one; a spare may take one only while lane B
    still has one left for its request."""
    pool = SlotPool(3)
    pool.add_lane()
    pool.add_lane()
    # Lane A's request, and its extra fork: 1 + 1 + lane B's reserve = 3.
    async with pool.take(), pool.take(spare=True):
        spare = asyncio.create_task(_take_spare(pool))
        await _settle()
        assert not spare.done(), "a second spare would take lane B's slot"
        async with pool.take():  # lane B's request still gets its slot at once
            assert pool.in_use == 3
        await _settle()
        assert not spare.done()  # lane B's slot is free again, and kept for it
        pool.add_lane(-1)  # lane B ends: its slot is idle capacity now
        await asyncio.wait_for(spare, 1)


async def _take_spare(pool: SlotPool) -> None:
    async with pool.take(spare=True):
        pass


async def test_a_spare_taker_never_goes_before_a_waiting_regular_one() -> None:
    pool = SlotPool(2)
    async with pool.take():
        async with pool.take():
            regular = asyncio.create_task(_take_regular(pool))
            spare = asyncio.create_task(_take_spare(pool))
            await _settle()
        await asyncio.wait_for(regular, 1)
        await asyncio.wait_for(spare, 1)


async def _take_regular(pool: SlotPool) -> None:
    async with pool.take():
        await asyncio.sleep(0.01)


async def test_a_cancelled_taker_leaks_no_slot() -> None:
    pool = SlotPool(1)
    async with pool.take():
        waiting = [asyncio.create_task(_take_regular(pool)), asyncio.create_task(_take_spare(pool))]
        await _settle()
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert pool.in_use == 0 and pool._waiters == []
    await asyncio.wait_for(_take_spare(pool), 1)


def test_a_pool_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        SlotPool(0)
