"""The commentary agent and the end of a period whose batch had closed already (full,
or idle, on the period's last action): the half-time line still comes, after that
batch's lines and record, before the next period's, once (agents/commentary.py)."""

from __future__ import annotations

from pitchcast.schemas.records import commentary_id_for
from tests.support.memory_publisher import MemoryPublisher
from tests.support.two_halves import (
    TWO_HALVES_GAME,
    RecordsToo,
    TwoHalvesAgent,
    period_end_offsets,
    two_halves_records,
)
from tests.support.utils import wait_until_async


def _sent(publisher: MemoryPublisher, batch_index: int, persona: str) -> list[int]:
    cid = commentary_id_for(TWO_HALVES_GAME, batch_index, persona)
    return [line.line_index for line in publisher.sent if line.commentary_id == cid]


async def test_a_period_end_after_a_full_batch_is_told_after_it_and_before_the_next() -> None:
    records = two_halves_records()
    marks = period_end_offsets(records)
    assert len(marks) == 1  # the first half's end; the second half's closes its batch
    publisher = RecordsToo()
    agent = TwoHalvesAgent(publisher)
    await agent.feed(records)
    await wait_until_async(lambda: len(agent.acked) == len(records), interval=0.01)
    assert sorted(agent.acked) == list(range(len(records)))
    for persona in ("CASTER", "FRIEND"):
        assert _sent(publisher, 1, persona)[-1] == 101  # half-time after batch 1's lines
        assert _sent(publisher, 2, persona)[0] == 100  # the second half's kick-off line
        assert _sent(publisher, 2, persona)[-1] == 101  # the end of the second half
        assert _sent(publisher, 1, persona).count(101) == 1
    half_time = [
        line for line in publisher.sent if line.line_index == 101 and line.batch_index == 1
    ]
    assert {line.source for line in half_time} == {"control"}
    assert all(line.item.description for line in half_time)
    # Before any line of batch 2, each persona.
    for persona in ("CASTER", "FRIEND"):
        order = [
            (line.batch_index, line.line_index) for line in publisher.sent
            if line.persona == persona
        ]  # fmt: skip
        assert order.index((1, 101)) < order.index((2, 100))


async def test_a_period_end_after_its_batch_went_out_is_told_at_once_and_once() -> None:
    records = two_halves_records()
    mark = period_end_offsets(records)[0]
    publisher = RecordsToo()
    agent = TwoHalvesAgent(publisher)
    await agent.feed(records[:mark])
    # Batches 0 and 1 out and acked.
    await wait_until_async(lambda: len(agent.acked) == mark, interval=0.01)
    assert 101 not in _sent(publisher, 1, "CASTER")
    await agent.feed([records[mark]], first_offset=mark)  # the lanes wait for batch 2
    await wait_until_async(lambda: mark in agent.acked, interval=0.01)
    assert _sent(publisher, 1, "CASTER")[-1] == 101
    # A copy (a redelivery), here or at a new owner after a restart, is not told again.
    await agent.feed([records[mark]], first_offset=mark + 1)
    await TwoHalvesAgent(publisher).feed([records[mark]], first_offset=mark + 2)
    for persona in ("CASTER", "FRIEND"):
        assert _sent(publisher, 1, persona).count(101) == 1
    await wait_until_async(lambda: mark + 1 in agent.acked, interval=0.01)


async def test_a_copy_of_a_period_end_after_the_next_batch_went_out_is_acked() -> None:
    """A new owner (or a restarted worker) starts at the whistle, publishes the next
    batch, then gets a copy of the whistle written later (the batcher re-sent it after
    its own restart): no lane will tell it again, so it is told (once) and acked at
    once, and the partition's acks go on past it."""
    records = two_halves_records()
    mark = period_end_offsets(records)[0]
    publisher = RecordsToo()
    agent = TwoHalvesAgent(publisher)
    await agent.feed(records[mark:], first_offset=mark)
    await wait_until_async(
        lambda: sorted(agent.acked) == list(range(mark, len(records))), interval=0.01
    )
    copy_at = len(records)
    await agent.feed([records[mark]], first_offset=copy_at)
    await wait_until_async(lambda: copy_at in agent.acked, timeout=3.0, interval=0.01)
    for persona in ("CASTER", "FRIEND"):
        assert _sent(publisher, 1, persona).count(101) == 1
