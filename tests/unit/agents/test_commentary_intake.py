"""The commentary agent: an unreadable hand-off record and its dead letter; revokes;
hand-off records faust skipped, taken from the log (agents/acks/handoff.py); a late
copy of a published batch's record."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from pitchcast.agents.acks.handoff import HandoffGuard
from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.agents.publisher import KafkaPublisher
from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.records import Batch, BatchAction, BatchOpening
from pitchcast.settings import Settings, load_settings
from pitchcast.story import new_story
from pitchcast.streams.admin import RangeRead
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.agents import ManualAckStream as Stream
from tests.support.agents import RawTopic as Topic
from tests.support.commentary_batches import korean_batch
from tests.support.two_halves import RecordsToo, TwoHalvesAgent, two_halves_records
from tests.support.utils import wait_until_async


def _publisher(settings: Settings, store: RedisStore, metrics: Metrics) -> KafkaPublisher:
    return KafkaPublisher(
        settings=settings, store=store, commentary_topic=Topic(), lines_topic=None, metrics=metrics
    )


def _agent(dlq: Topic, crashes: list[BaseException]) -> CommentaryAgent:
    metrics = Metrics()
    store = RedisStore(enabled=False, metrics=metrics)
    writer = CommentaryService(TemplateBackend(), TemplateBackend(), store, metrics=metrics)

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    settings = load_settings()
    return CommentaryAgent(
        settings=settings,
        writer=writer,
        publisher=_publisher(settings, store, metrics),
        dead_letters=DeadLetters(dlq, value_cap=1024, metrics=metrics, budget_s=0.3),
        metrics=metrics,
        crash=crash,
    )


async def test_an_unreadable_record_is_dead_lettered_then_acked() -> None:
    """A record that is not a hand-off record goes to the dead-letter topic, then is acked."""
    dlq, crashes, acks = Topic(), [], []
    agent = _agent(dlq, crashes)

    async def ack() -> None:
        acks.append(1)

    await agent.submit(key=b"1", value=b"{oops", partition=0, offset=7, ack=ack)
    assert len(dlq.sent) == 1 and acks == [1] and crashes == []


async def test_a_copy_of_an_unreadable_record_is_acked_without_a_second_dead_letter() -> None:
    """faust hands a record over again after its seek at an assignment's start
    (faust-streaming#596): seen in the fault suite's dlq-fail, where the copy's second
    dead letter met the refusing topic and stopped the worker a second time. The copy
    is acked; its dead letter is out already. After a revoke it is dead-lettered again
    (the new owner cannot know)."""
    dlq, crashes, acks = Topic(), [], []
    agent = _agent(dlq, crashes)

    async def ack() -> None:
        acks.append(1)

    for _ in range(2):
        await agent.submit(key=b"1", value=b"{oops", partition=0, offset=7, ack=ack)
    assert len(dlq.sent) == 1 and acks == [1, 1] and crashes == []
    await agent.submit(key=b"1", value=b"{oops", partition=1, offset=7, ack=ack)
    assert len(dlq.sent) == 2, "another partition's offset 7 is another record"
    await agent.revoke({0})
    await agent.submit(key=b"1", value=b"{oops", partition=0, offset=7, ack=ack)
    assert len(dlq.sent) == 3


class HungLLM(TemplateBackend):
    """A primary whose live requests never answer (until cancelled)."""

    name = "openai"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.cancelled = 0

    async def write_rows(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_revoke_cancels_llm_calls_in_flight_without_acking() -> None:
    """Issue 7.5: a revoke stops the lanes of revoked partitions within its bound."""
    metrics = Metrics()
    llm = HungLLM()
    store = RedisStore(enabled=False, metrics=metrics)
    writer = CommentaryService(llm, TemplateBackend(), store, metrics=metrics)  # type: ignore[arg-type]
    settings = load_settings(llm_mode="live")
    agent = CommentaryAgent(
        settings=settings,
        writer=writer,
        publisher=_publisher(settings, store, metrics),
        dead_letters=DeadLetters(Topic(), value_cap=1024, metrics=metrics),
        metrics=metrics,
    )
    batch = korean_batch()
    acks: list[int] = []

    async def ack() -> None:
        acks.append(1)

    record = BatchAction(
        game_id=batch.game_id, batch_index=0, position=0, action=batch.actions[0],
        appended_ts_ms=0, opening=BatchOpening(batch.match_info, new_story(batch.match_info)),
    )  # fmt: skip
    await agent.submit(key=b"1", value=encode(record), partition=2, offset=0, ack=ack)
    while not llm.calls:
        await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    assert await agent.revoke({1}, timeout_s=1.0) == 0  # another partition: untouched
    assert await agent.revoke({2}, timeout_s=1.0) == 1
    assert asyncio.get_running_loop().time() - started < 1.0
    assert llm.cancelled == 1 and acks == []
    assert metrics.get("desks_revoked") == 1


async def test_after_stopping_the_worker_the_intake_takes_nothing_more() -> None:
    """Issue 7.5: a dead letter that cannot be delivered stops the worker without acking,
    and the records after it are neither written nor acked."""
    crashes: list[BaseException] = []
    agent = _agent(Topic(refuse=True), crashes)
    batch = korean_batch()
    record = BatchAction(
        game_id=batch.game_id, batch_index=0, position=0, action=batch.actions[0],
        appended_ts_ms=0, opening=BatchOpening(batch.match_info, new_story(batch.match_info)),
    )  # fmt: skip
    stream = Stream([b"{oops", encode(record), b"{oops again"])
    await agent.run(stream)  # no raise: faust would restart the agent and go on
    assert len(crashes) == 1 and isinstance(crashes[0], DeliveryFailed)
    assert stream.acked == [] and agent.metrics.get("worker_stops", reason="DeliveryFailed") == 1
    assert agent._desks == {}, "the next record was not taken"


class _SkippingLog:
    """The hand-off log seen by the guard: committed 5, faust's read offset at 9; every
    record is unreadable (dead-lettered and acked at once: the order shows)."""

    def __init__(self) -> None:
        self.acked_ranges: list[tuple[int, int]] = []

    async def read(self, topic: str, partition: int, first: int, last: int) -> RangeRead:
        records = [
            type("Record", (), {"offset": o, "key": b"1", "value": b"{oops"})()
            for o in range(first, last + 1)
        ]
        return RangeRead(records, complete=True, first_available=0)

    def read_offset(self, partition: int) -> int:
        return 9

    def ack_range(self, topic: str, partition: int, first: int, last: int) -> None:
        self.acked_ranges.append((first, last))


def _guarded_agent(dlq: Topic, log: _SkippingLog) -> CommentaryAgent:
    agent = _agent(dlq, [])
    agent._handoff_guard = HandoffGuard(
        topic=agent.settings.topic_batches,
        committed=lambda partition: 5,
        read_offset=log.read_offset,
        read_range=log.read,
        metrics=agent.metrics,
        retry_wait_s=0,
    )
    agent._ack_range = log.ack_range
    return agent


def _letter_offsets(dlq: Topic) -> list[int]:
    return [json.loads(value)["offset"] for value in dlq.sent]


async def test_records_faust_skipped_before_the_first_one_it_hands_over_come_first() -> None:
    """Issue 18: committed 5, faust hands over 8 first. 5..7 are read from the log and
    taken first, in order, each acked on its own offset; faust's own copy of 6, should
    it come after all, is let go."""
    dlq, log = Topic(), _SkippingLog()
    agent = _guarded_agent(dlq, log)
    acks: list[int] = []

    async def ack() -> None:
        acks.append(8)

    await agent.take(key=b"1", value=b"{oops", partition=0, offset=8, ack=ack)
    assert _letter_offsets(dlq) == [5, 6, 7, 8]
    assert log.acked_ranges == [(5, 5), (6, 6), (7, 7)] and acks == [8]
    await agent.take(key=b"1", value=b"{oops", partition=0, offset=6, ack=ack)
    assert _letter_offsets(dlq) == [5, 6, 7, 8] and acks == [8]


async def test_a_skipped_tail_is_taken_by_the_sweep() -> None:
    """Issue 18 (the dlq-fail flake): faust counts 5..8 as read and nothing came: the
    second sweep takes them from the log."""
    dlq, log = Topic(), _SkippingLog()
    agent = _guarded_agent(dlq, log)
    assert await agent.sweep({0}) == 0
    assert await agent.sweep({0}) == 4
    assert _letter_offsets(dlq) == [5, 6, 7, 8] and log.acked_ranges[-1] == (8, 8)


async def test_a_new_owner_starting_at_a_late_copy_of_a_published_batch_goes_on() -> None:
    """A send the batcher retried lands after records sent meanwhile: here a copy of one
    of batch 1's actions, after batch 1's close. A worker that starts reading between the
    two (a restart, a new owner) never gets that close; every persona's record of batch
    1 is marked published, so the copy is acked and batch 2 is written and acked, rather
    than the match and its partition's acks waiting for the close for good."""
    records = two_halves_records()  # batch 0: 0..10, batch 1: 11..21, a whistle, batch 2: 23..26
    publisher = RecordsToo()
    first = TwoHalvesAgent(publisher)
    await first.feed(records[:22])
    await wait_until_async(lambda: len(first.acked) == 22, interval=0.01)
    second = TwoHalvesAgent(publisher)
    await second.feed([records[14], *records[22:]], first_offset=100)
    offsets = list(range(100, 100 + 1 + len(records) - 22))
    await wait_until_async(lambda: sorted(second.acked) == offsets, timeout=3.0, interval=0.01)
    assert [step for step in publisher.steps if step[0] == "record"].count(("record", 2)) == 2
    assert publisher.steps.count(("record", 1)) == 2  # published once, by the first owner


async def test_a_match_replayed_right_behind_its_first_play_is_counted_not_merged() -> None:
    """A feed that replays a match under its game id (match_end, then match_start again)
    hands off the same batches again. Arriving after the first play's batches were out,
    every copy was counted (``handoff_duplicates``); arriving while they were still being
    written, the copies were merged into them with no count and no log (seen on the real
    broker: a replayed match with a changed action left no trace). Copies are counted
    either way, and a copy whose action differs from the one told is a mismatch."""
    records = two_halves_records()
    handoffs = [r for r in records if b"period_end.v1" not in r]
    replayed = []
    for raw in records:  # batch 0's action at position 3 is a shot this time
        record = decode_handoff(raw, max_bytes=1 << 20)
        if isinstance(record, BatchAction) and (record.batch_index, record.position) == (0, 3):
            raw = encode(replace(record, action=replace(record.action, type_name="Shot")))
        elif isinstance(record, Batch) and record.batch_index == 0:
            actions = list(record.actions)
            actions[3] = replace(actions[3], type_name="Shot")
            raw = encode(replace(record, actions=tuple(actions)))
        replayed.append(raw)
    for again, mismatches in ((records, 0), (replayed, 2)):
        publisher = RecordsToo()
        agent = TwoHalvesAgent(publisher)
        await agent.feed(records)
        await agent.feed(again, first_offset=len(records))
        await wait_until_async(lambda agent=agent: len(agent.acked) == 2 * len(records))
        metrics = agent.agent.metrics
        assert metrics.get("handoff_duplicates") == len(handoffs)
        assert metrics.get("handoff_mismatches") == mismatches
        assert [s for s in publisher.steps if s[0] == "record"].count(("record", 0)) == 2
