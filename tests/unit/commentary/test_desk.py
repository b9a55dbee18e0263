"""A match's desk: what arrived of each batch, and who waits for it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from pitchcast.commentary.desk import Desk, Taken
from pitchcast.schemas.records import BatchAction
from tests.support.commentary_batches import korean_batch


def _action(position: int, batch_index: int = 17) -> BatchAction:
    batch = korean_batch()
    return BatchAction(
        game_id=batch.game_id, batch_index=batch_index, position=position,
        action=batch.actions[position], appended_ts_ms=1000 + position, opening=None,
    )  # fmt: skip


def test_actions_are_known_up_to_the_first_hole_and_the_first_copy_wins() -> None:
    desk = Desk(1, b"1", 0)
    work = desk.work(17)
    for position in (0, 1, 3):
        work.take_action(_action(position))
    assert work.known() == 2
    copy = replace(_action(1), appended_ts_ms=99)
    assert work.take_action(copy) == Taken(copy=True, mismatches=0)
    assert work.appended_ms[1] == 1001
    other = replace(_action(1), action=_action(0).action)
    assert work.take_action(other) == Taken(copy=True, mismatches=1)
    assert work.actions[1] == _action(1).action
    assert work.position_of(_action(3).action.action_id) == 3


def test_a_close_fills_the_batch_and_counts_the_positions_it_disagrees_on() -> None:
    batch = korean_batch(4)
    work = Desk(1, b"1", 0).work(17)
    work.take_action(_action(0))
    work.take_action(replace(_action(1), action=batch.actions[3]))  # not the close's
    assert work.take_close(batch) == Taken(copy=False, mismatches=1)
    assert work.close is batch and work.known() == 4
    assert [work.actions[p] for p in range(4)] == list(batch.actions)
    assert work.take_close(batch) == Taken(copy=True, mismatches=0)
    shot = replace(batch.actions[2], type_name="Shot")
    replayed = replace(batch, actions=(*batch.actions[:2], shot, batch.actions[3]))
    assert work.take_close(replayed) == Taken(copy=True, mismatches=1)
    assert work.close is batch, "the first close is told"


async def test_a_desk_wakes_who_waits_for_a_batch_and_says_when_nothing_comes() -> None:
    desk = Desk(1, b"1", 0)
    waiting = asyncio.create_task(desk.get(3))
    await asyncio.sleep(0)
    assert not waiting.done()
    work = desk.work(3)
    assert await asyncio.wait_for(waiting, 1.0) is work
    with pytest.raises(TimeoutError):
        await desk.get(4, idle_s=0.05)
