"""The batch agent's pipelined hand-off: sends go out in order without waiting, the
state is written and the record acked only past what the broker acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from pitchcast.agents.acks.ledger import PartitionLedger
from pitchcast.agents.batching import BatchAgent
from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import Metrics
from pitchcast.settings import load_settings
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.agents import ManualAckStream as Stream
from tests.support.agents import RawTopic

ACTION = {
    "game_id": 1, "period_id": 1, "time_seconds": 3.0, "team_id": 11, "player_id": 19.0,
    "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0, "end_y": 4.0,
    "dx": 2.0, "dy": 2.0, "type_name": "Pass", "player_name_ko": "P", "team_name_ko": "Home",
}  # fmt: skip


def _value(action_id: int) -> bytes:
    return orjson.dumps({**ACTION, "action_id": action_id})


class HeldTopic:
    """A topic that takes every send at once and acknowledges it only when told
    (``ack(n)``: the n-th send, from 0), or fails it (``fail(n)``)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.pending: list[asyncio.Future[str]] = []

    def get_topic_name(self) -> str:
        return "batches"

    async def send(self, *, key: Any, value: bytes, headers: Any = None, force: bool) -> Any:
        self.sent.append(orjson.loads(value))
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future

    def ack(self, *sends: int) -> None:
        for n in sends:
            self.pending[n].set_result("meta")

    def fail(self, n: int) -> None:
        self.pending[n].set_exception(ConnectionError("broker away"))


def _agent(topic: Any, **kwargs: Any) -> BatchAgent:
    metrics = Metrics()
    overrides = {"delivery_timeout_s": 5.0, **kwargs.pop("settings", {})}
    return BatchAgent(
        settings=load_settings(**overrides),
        state_table={},
        batches_topic=topic,
        dead_letters=DeadLetters(RawTopic("dlq"), value_cap=1024, metrics=metrics, budget_s=1),
        metrics=metrics,
        **kwargs,
    )


async def _take_in(agent: BatchAgent, offsets: range, acked: list[int]) -> None:
    for offset in offsets:

        async def ack(offset: int = offset) -> None:
            acked.append(offset)

        await agent.process(
            topic="events", key=b"1", value=_value(offset), partition=0, offset=offset,
            timestamp_ms=0, ack=ack,
        )  # fmt: skip


async def _turns() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def _last_offset(agent: BatchAgent) -> int | None:
    state = agent.read_state(b"1")
    return None if state is None else state.last_offset


async def test_sends_go_out_in_order_before_any_ack() -> None:
    """Twelve actions while the broker acknowledges nothing: every hand-off record is
    handed over at once, in log order, folded from the decided state (positions 0..9,
    the close, then the next batch), and nothing is written or acked yet."""
    topic, acked = HeldTopic(), []
    agent = _agent(topic)
    await _take_in(agent, range(12), acked)
    kinds = [(r["schema"].split(".")[1], r["batch_index"], r.get("position")) for r in topic.sent]
    assert kinds == [
        *(("batch_action", 0, p) for p in range(10)),
        ("batch", 0, None),
        ("batch_action", 1, 0),
        ("batch_action", 1, 1),
    ]
    await _turns()
    assert acked == [] and agent.read_state(b"1") is None
    assert agent._table.get(PartitionLedger.key(0)) is None


async def test_state_advances_only_past_the_contiguous_acked_prefix() -> None:
    """Acks out of order: the table's state, the ledger and the acks stop at the first
    record whose sends are not all acknowledged; record 9 (its action and the close of
    batch 0) waits for both."""
    topic, acked = HeldTopic(), []
    agent = _agent(topic)
    await _take_in(agent, range(12), acked)
    topic.ack(5, 6, 7, 8, 9, 11, 12)  # sends of records 5..8, 9 (action only), 10, 11
    await _turns()
    assert acked == [] and _last_offset(agent) is None
    topic.ack(0, 1, 2, 3, 4)
    await _turns()
    assert acked == list(range(9)) and _last_offset(agent) == 8
    assert agent._table[PartitionLedger.key(0)] == b"8"
    assert agent.read_state(b"1").batch_index == 0  # type: ignore[union-attr]
    topic.ack(10)  # the close of batch 0
    await agent.settled()
    assert acked == list(range(12)) and _last_offset(agent) == 11
    assert agent.read_state(b"1").batch_index == 1  # type: ignore[union-attr]
    assert agent._decided == {}, "nothing decided is left uncommitted"
    assert agent._metrics.get("handoff_records_out") == 13


async def test_a_failed_send_is_retried_and_holds_the_records_after_it() -> None:
    """The first attempt of record 1's send fails: it is sent again (same bytes) while
    record 2 is already acknowledged; nothing past record 0 is committed until the retry
    is acknowledged, then all of it is, in order."""
    topic, acked = HeldTopic(), []
    agent = _agent(topic)
    await _take_in(agent, range(3), acked)
    topic.ack(0, 2)
    topic.fail(1)
    await _turns()
    assert acked == [0] and _last_offset(agent) == 0
    await asyncio.sleep(0.35)  # the first backoff (0.2 s +-20%)
    assert len(topic.sent) == 4 and topic.sent[3] == topic.sent[1]  # the same bytes again
    assert acked == [0]
    topic.ack(3)
    await agent.settled()
    assert acked == [0, 1, 2] and _last_offset(agent) == 2
    assert agent._metrics.get("send_retries") == 1


async def test_a_send_never_acknowledged_stops_the_worker_with_nothing_past_it() -> None:
    """Record 1's send is never acknowledged within the delivery budget: the worker is
    stopped, record 0 is committed and acked, records 1 and 2 are not (their state is
    not written: after the restart they are folded and sent again)."""
    topic = HeldTopic()
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    agent = _agent(topic, settings={"delivery_timeout_s": 0.2}, crash=crash)
    stream = Stream([_value(0), _value(1), _value(2)])
    run = asyncio.create_task(agent.run(stream))
    await _turns()
    topic.ack(0, 2)
    await asyncio.wait_for(run, 5)
    assert len(crashes) == 1 and isinstance(crashes[0], DeliveryFailed)
    assert stream.acked == [0] and _last_offset(agent) == 0
    assert agent._table[PartitionLedger.key(0)] == b"0"
    assert agent._metrics.get("worker_stops") == 1


async def test_the_window_bounds_the_records_in_flight() -> None:
    """With a window of 3, the fourth record waits until the first is committed: a broker
    that stops acknowledging holds the agent back."""
    topic, acked = HeldTopic(), []
    agent = _agent(topic, settings={"handoff_window": 3})
    intake = asyncio.create_task(_take_in(agent, range(5), acked))
    await asyncio.sleep(0.05)
    assert len(topic.sent) == 3 and not intake.done()
    topic.ack(0)
    await asyncio.sleep(0.05)
    assert acked == [0] and len(topic.sent) == 4
    topic.ack(1, 2, 3)
    await asyncio.wait_for(intake, 1)
    topic.ack(4)
    await agent.settled()
    assert acked == [0, 1, 2, 3, 4]


async def test_a_redelivery_is_acked_in_its_turn_without_a_send() -> None:
    """A record handed over twice (faust's recovery race) while the first copy is still
    in the window folds into the decided state, so it is known as a redelivery, sends
    nothing and is acked after the first copy."""
    topic, acked = HeldTopic(), []
    agent = _agent(topic)
    await _take_in(agent, range(3), acked)
    await _take_in(agent, range(1, 2), acked)  # offset 1 again
    assert len(topic.sent) == 3
    assert agent._metrics.get("duplicates_dropped") == 1
    topic.ack(0, 1, 2)
    await agent.settled()
    assert acked == [0, 1, 2, 1] and _last_offset(agent) == 2
    # Committed in one run with the records before it, it never moves the ledger back.
    assert agent._table[PartitionLedger.key(0)] == b"2"
