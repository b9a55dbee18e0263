"""Idle ticks: which matches get a tick, and how often."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pitchcast.agents.ticks import IdleTicker
from pitchcast.metrics import Metrics
from pitchcast.streams.batching import MatchState
from tests.support.agents import action_value, batch_agent
from tests.support.commentary_batches import sample_actions


def _state(game_id: int, offset: int | None, *, ended: bool = False) -> MatchState:
    action = replace(sample_actions()[0], game_id=game_id)
    opened = [action] if offset is not None else []
    return MatchState(game_id=game_id, open=opened, open_offset=offset, ended=ended)


class _Topic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, *, key: bytes | None, value: bytes, **_: Any) -> Any:
        self.sent.append((key, value))

        async def acked() -> None:
            return None

        return acked()


def test_an_open_batch_is_due_after_sitting_unchanged_for_the_timeout() -> None:
    """Only the worker's clock counts; empty and ended matches never tick."""
    states = {b"1": _state(1, 7), b"3": _state(3, None), b"4": _state(4, 9, ended=True)}
    ticker = IdleTicker(
        read_states=lambda: list(states.items()), events_topic=None, idle_timeout_s=30.0,
        metrics=Metrics(),
    )  # fmt: skip
    assert ticker.due(now=100.0) == []  # first sight: counting starts
    assert ticker.due(now=129.9) == []
    assert ticker.due(now=130.0) == [(b"1", 1, 7)]
    states[b"1"] = _state(1, 8)  # an action joined: counting starts again
    assert ticker.due(now=131.0) == []
    assert ticker.due(now=160.9) == []
    assert ticker.due(now=161.0) == [(b"1", 1, 8)]


async def test_ticks_name_the_newest_action_and_repeat_every_half_timeout() -> None:
    """A written tick carries after_offset; it is not repeated before half a timeout."""
    clock = [100.0]
    topic = _Topic()
    ticker = IdleTicker(
        read_states=lambda: [(b"1", _state(1, 7))], events_topic=topic, idle_timeout_s=30.0,
        metrics=Metrics(), clock=lambda: clock[0], wall_clock=lambda: 5_000.0,
    )  # fmt: skip
    assert await ticker.tick() == 0
    clock[0] = 130.0
    assert await ticker.tick() == 1
    assert b'"after_offset":7' in topic.sent[0][1]
    clock[0] = 140.0
    assert await ticker.tick() == 0
    clock[0] = 145.0
    assert await ticker.tick() == 1


async def test_a_tick_that_cannot_be_sent_is_tried_again_not_fatal() -> None:
    """The broker being away must not crash the worker through its timer."""

    class _Down(_Topic):
        async def send(self, **_: Any) -> Any:
            raise ConnectionError("broker away")

    clock = [100.0]
    ticker = IdleTicker(
        read_states=lambda: [(b"1", _state(1, 7))], events_topic=_Down(), idle_timeout_s=30.0,
        metrics=Metrics(), clock=lambda: clock[0],
    )  # fmt: skip
    await ticker.tick()
    clock[0] = 130.0
    assert await ticker.tick() == 0
    assert ticker.due(now=131.0) == [(b"1", 1, 7)], "still due: it will be tried again"


class _PartitionTopic:
    """Keeps each send's key, value and the partition it names (None: the key's)."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes, int | None]] = []

    async def send(self, *, key: bytes | None, value: bytes, partition: int | None = None,
                   **_: Any) -> Any:  # fmt: skip
        self.sent.append((key, value, partition))

        async def acked() -> None:
            return None

        return acked()


async def test_a_tick_goes_to_the_partition_its_match_is_read_from() -> None:
    """A feed whose producer does not partition by murmur2 (librdkafka's default is
    CRC32) puts a match on another partition than its key's. The tick went to the key's
    murmur2 partition: the batcher then compared offsets of two partitions, took the
    tick's higher offset as the match's last one, and dropped the match's next records
    as redeliveries (lost, silently). The tick goes where the match's records are."""
    from aiokafka.partitioner import DefaultPartitioner

    agent = batch_agent()
    every = list(range(agent._settings.partitions))
    murmur = DefaultPartitioner()(b"1", every, every)
    feed = (murmur + 1) % len(every)
    for offset in range(3):
        await agent.process(
            topic="events", key=b"1", value=action_value(offset), partition=feed, offset=offset,
            timestamp_ms=0,
        )  # fmt: skip
    await agent.settled()
    assert [key for key, _ in agent.owned_states({feed})] == [b"1"]
    assert agent.owned_states({murmur}) == []
    clock = [0.0]
    topic = _PartitionTopic()
    ticker = IdleTicker(
        read_states=lambda: agent.owned_states(set(every)), events_topic=topic,
        idle_timeout_s=30.0, metrics=Metrics(), clock=lambda: clock[0],
    )  # fmt: skip
    await ticker.tick()
    clock[0] = 31.0
    assert await ticker.tick() == 1
    ((key, tick, partition),) = topic.sent
    # A tick an older worker wrote to the key's partition, at a later offset of that
    # partition's, is not taken for the match's.
    await agent.process(
        topic="events", key=key, value=tick, partition=murmur, offset=10, timestamp_ms=0
    )
    # The tick read back where it was written: after the match's records on its own
    # partition, or (on the key's) at that partition's offset, say 10. The match's next
    # record must be taken in.
    where = murmur if partition is None else partition
    await agent.process(
        topic="events", key=key, value=tick, partition=where, offset=3 if where == feed else 10,
        timestamp_ms=0,
    )  # fmt: skip
    after = 4 if where == feed else 3
    await agent.process(
        topic="events",
        key=b"1",
        value=action_value(3),
        partition=feed,
        offset=after,
        timestamp_ms=0,
    )
    await agent.settled()
    state = agent.read_state(b"1")
    assert state is not None and [a.action_id for a in state.open] == [3], state.open
    assert state.batch_index == 1
