"""The batch agent: a refilled range is acked to faust; after a stop it takes nothing more."""

from __future__ import annotations

import orjson

from pitchcast.exceptions import DeliveryFailed
from pitchcast.streams.admin import RangeRead
from tests.support.agents import EVENT_ACTION, action_value, batch_agent
from tests.support.agents import ManualAckStream as Stream
from tests.support.agents import RawTopic as Topic


class Record:
    def __init__(self, offset: int) -> None:
        self.offset, self.key, self.value, self.timestamp = offset, b"1", action_value(offset), 0


async def test_a_refilled_range_is_acked_to_faust() -> None:
    """Offsets 1..4 never handed over: read from the log, folded in, then acked as a range."""
    acked: list[tuple[str, int, int, int]] = []

    async def read_range(topic: str, partition: int, first: int, last: int) -> RangeRead:
        return RangeRead([Record(o) for o in range(first, last + 1)], True, 0)

    agent = batch_agent(read_range=read_range, ack_range=lambda *a: acked.append(a))
    for offset in (0, 5):
        await agent.process(
            topic="events", key=b"1", value=action_value(offset), partition=2, offset=offset,
            timestamp_ms=0,
        )  # fmt: skip
    await agent.settled()
    assert acked == [("events", 2, 1, 4)]
    assert len(agent._batches.sent) == 6  # six actions handed off, in order


async def test_after_stopping_the_worker_the_agent_takes_nothing_more() -> None:
    """A dead letter that cannot be delivered: the worker is stopped, the record not acked,
    and the agent does not go on with the next records while the app shuts down."""
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    agent = batch_agent(dlq=Topic(refuse=True), crash=crash)
    stream = Stream([action_value(0), b"{not json", action_value(2)])
    await agent.run(stream)  # no raise: faust would restart the agent and go on
    assert stream.acked == [0] and len(crashes) == 1 and isinstance(crashes[0], DeliveryFailed)
    assert len(agent._batches.sent) == 1, "offset 2 was not processed"


async def test_the_idle_ticker_sees_only_the_matches_of_owned_partitions() -> None:
    """owned_states: match states whose records come from an owned events partition (the
    key's murmur2 partition for a feed that partitions as §2 says); ledger entries and
    other partitions' matches are left out."""
    from aiokafka.partitioner import DefaultPartitioner

    agent = batch_agent()
    every = list(range(agent._settings.partitions))
    partition_of = {
        str(g).encode(): DefaultPartitioner()(str(g).encode(), every, every) for g in range(1, 7)
    }
    offsets = dict.fromkeys(every, 0)
    for game_id in (1, 2, 3, 4, 5, 6):
        key = str(game_id).encode()
        partition = partition_of[key]
        await agent.process(
            topic="events", key=key, value=orjson.dumps({**EVENT_ACTION, "game_id": game_id,
            "action_id": 1}), partition=partition, offset=offsets[partition], timestamp_ms=0,
        )  # fmt: skip
        offsets[partition] += 1
    await agent.settled()
    owned = {partition_of[b"1"]}
    states = agent.owned_states(owned)
    assert sorted(key for key, _ in states) == sorted(
        k for k, p in partition_of.items() if p in owned
    )
    assert all(str(state.game_id).encode() == key and state.open for key, state in states)
    # The ledger's entry, never taken for a match.
    assert f"@partition:{partition_of[b'1']}".encode() in agent._table
    assert agent.owned_states(set()) == []
    assert len(agent.owned_states(set(every))) == 6


async def test_a_mis_keyed_record_is_dead_lettered_under_its_own_match() -> None:
    """A record keyed by another match id names its own game in the letter, so that
    `dlq list --game-id` and the monitor count it under that match, not under the key."""
    dlq = Topic()
    agent = batch_agent(dlq=dlq)
    await agent.process(
        topic="events", key=b"999", value=action_value(0), partition=0, offset=0, timestamp_ms=0
    )
    await agent.settled()
    (letter,) = [orjson.loads(value) for value in dlq.sent]
    assert letter["error_kind"] == "SchemaViolation"
    assert letter["key"] == "999" and letter["game_id"] == 1


async def test_a_game_id_beyond_64_bits_is_dead_lettered_and_the_agent_goes_on() -> None:
    """game_id 2^64, keyed as itself: JSON reads it as the float 1.8446744073709552e19,
    which decoded to an int orjson cannot write; the hand-off send raised and the worker
    stopped. It is refused at decoding now, and the next record is taken in."""
    dlq = Topic()
    agent = batch_agent(dlq=dlq)
    big = b"18446744073709551616"
    value = action_value(0).replace(b'"game_id":1', b'"game_id":' + big)
    await agent.process(topic="events", key=big, value=value, partition=0, offset=0, timestamp_ms=0)
    await agent.process(
        topic="events", key=b"1", value=action_value(1), partition=0, offset=1, timestamp_ms=0
    )
    await agent.settled()
    (letter,) = [orjson.loads(v) for v in dlq.sent]
    assert letter["error_kind"] == "SchemaViolation" and "64-bit" in letter["error_message"]
    assert len(agent._batches.sent) == 1


async def test_period_ends_of_other_periods_are_dropped_or_dead_lettered() -> None:
    """period_end of period 1 during period 2: a copy, dropped and counted; of period 4
    during period 2: dead-lettered as an ImplausibleControl. Neither closes the batch."""
    dlq = Topic()
    agent = batch_agent(dlq=dlq)
    second_half = orjson.loads(action_value(1)) | {"period_id": 2}
    records = [
        action_value(0),
        orjson.dumps(second_half),
        b'{"game_id": 1, "control": "period_end", "period_id": 1}',
        b'{"game_id": 1, "control": "period_end", "period_id": 4}',
    ]
    for offset, value in enumerate(records):
        await agent.process(
            topic="events", key=b"1", value=value, partition=0, offset=offset, timestamp_ms=0
        )
    await agent.settled()
    (letter,) = [orjson.loads(v) for v in dlq.sent]
    assert letter["error_kind"] == "ImplausibleControl" and "period 4" in letter["error_message"]
    assert agent._metrics.snapshot().get("duplicates_dropped{kind=control}") == 1
    kinds = [orjson.loads(v)["schema"] for v in agent._batches.sent]
    assert kinds == ["pitchcast.batch_action.v1", "pitchcast.batch.v2", "pitchcast.batch_action.v1"]
