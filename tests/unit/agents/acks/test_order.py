"""AckOrder: acks go to faust only as a prefix of the partition's delivery order."""

from __future__ import annotations

from pitchcast.agents.acks.order import AckOrder


async def test_acks_are_released_only_as_a_prefix_of_the_delivery_order() -> None:
    order, acked = AckOrder(), []
    for offset in range(5):

        async def ack(offset: int = offset) -> None:
            acked.append(offset)

        order.register(offset, ack)
    await order.release([2, 3])  # a later match's batch is done first
    assert acked == []
    await order.release([0])
    assert acked == [0]
    await order.release([1])
    assert acked == [0, 1, 2, 3]
    await order.release([4])
    assert acked == [0, 1, 2, 3, 4]


async def test_a_record_registered_twice_is_acked_once() -> None:
    order, acked = AckOrder(), []

    async def first() -> None:
        acked.append("first")

    async def second() -> None:
        acked.append("second")

    order.register(7, first)
    order.register(7, second)
    await order.release([7])
    assert acked == ["first"]
