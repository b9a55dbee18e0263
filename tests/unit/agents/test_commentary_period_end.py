"""The commentary agent and the end of a period whose batch had closed already (full,
or idle, on the period's last action): the half-time line still comes, after that
batch's lines and record, before the next period's, once (agents/commentary.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.records import Commentary, Control, PeriodEnd, commentary_id_for
from pitchcast.settings import load_settings
from pitchcast.streams.batching import advance
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.agents import RawTopic
from tests.support.commentary_batches import sample_actions
from tests.support.memory_publisher import MemoryPublisher

GAME = 41


class RecordsToo(MemoryPublisher):
    """The in-memory publisher, publishing the batches' records too."""

    async def send_record(
        self, commentary: Commentary, *, key: bytes | None, closed_by_ts_ms: int | None
    ) -> bool:
        if commentary.commentary_id in self.marked:
            return False
        self.steps.append(("record", commentary.batch_index))
        self.marked.add(commentary.commentary_id)
        return True


def _records() -> list[bytes]:
    """20 first-half actions (two batches closed full), the whistle, 3 second-half
    actions, its whistle, full time: what the batcher hands off."""
    actions = sample_actions()
    first = [replace(a, game_id=GAME) for a in actions if a.period_id == 1][:20]
    second = [replace(a, game_id=GAME) for a in actions if a.period_id == 2][:3]
    events: list[Any] = [
        Control(game_id=GAME, control="match_start"),
        *first,
        Control(game_id=GAME, control="period_end", period_id=1),
        *second,
        Control(game_id=GAME, control="period_end", period_id=2),
        Control(game_id=GAME, control="match_end", period_id=2),
    ]
    state, out = None, []
    for offset, event in enumerate(events):
        step = advance(state, event, offset=offset, timestamp_ms=offset)
        state = step.state
        out.extend(encode(e) for e in step.emits)
    return out


class Agent:
    def __init__(self, publisher: MemoryPublisher) -> None:
        metrics = Metrics()
        settings = load_settings(density="story", personas="CASTER,FRIEND")
        writer = CommentaryService(
            TemplateBackend(), TemplateBackend(), RedisStore(enabled=False), metrics=metrics
        )
        self.agent = CommentaryAgent(
            settings=settings, writer=writer, publisher=publisher,  # type: ignore[arg-type]
            dead_letters=DeadLetters(RawTopic(), value_cap=1024, metrics=metrics),
            metrics=metrics,
        )  # fmt: skip
        self.acked: list[int] = []

    async def feed(self, records: list[bytes], first_offset: int = 0) -> None:
        for offset, value in enumerate(records, start=first_offset):

            async def ack(offset: int = offset) -> None:
                self.acked.append(offset)

            await self.agent.submit(
                key=str(GAME).encode(), value=value, partition=0, offset=offset, ack=ack
            )


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _sent(publisher: MemoryPublisher, batch_index: int, persona: str) -> list[int]:
    cid = commentary_id_for(GAME, batch_index, persona)
    return [line.line_index for line in publisher.sent if line.commentary_id == cid]


async def test_a_period_end_after_a_full_batch_is_told_after_it_and_before_the_next() -> None:
    records = _records()
    marks = [
        i
        for i, r in enumerate(records)
        if isinstance(decode_handoff(r, max_bytes=1 << 20), PeriodEnd)
    ]
    assert len(marks) == 1  # the first half's end; the second half's closes its batch
    publisher = RecordsToo()
    agent = Agent(publisher)
    await agent.feed(records)
    await _until(lambda: len(agent.acked) == len(records))
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
    records = _records()
    mark = next(
        i for i, r in enumerate(records)
        if isinstance(decode_handoff(r, max_bytes=1 << 20), PeriodEnd)
    )  # fmt: skip
    publisher = RecordsToo()
    agent = Agent(publisher)
    await agent.feed(records[:mark])
    await _until(lambda: len(agent.acked) == mark)  # batches 0 and 1 out and acked
    assert 101 not in _sent(publisher, 1, "CASTER")
    await agent.feed([records[mark]], first_offset=mark)  # the lanes wait for batch 2
    await _until(lambda: mark in agent.acked)
    assert _sent(publisher, 1, "CASTER")[-1] == 101
    # A copy (a redelivery), here or at a new owner after a restart, is not told again.
    await agent.feed([records[mark]], first_offset=mark + 1)
    await Agent(publisher).feed([records[mark]], first_offset=mark + 2)
    for persona in ("CASTER", "FRIEND"):
        assert _sent(publisher, 1, persona).count(101) == 1
    await _until(lambda: mark + 1 in agent.acked)


async def test_a_copy_of_a_period_end_after_the_next_batch_went_out_is_acked() -> None:
    """A new owner (or a restarted worker) starts at the whistle, publishes the next
    batch, then gets a copy of the whistle written later (the batcher re-sent it after
    its own restart): no lane will tell it again, so it is told (once) and acked at
    once, and the partition's acks go on past it."""
    records = _records()
    mark = next(
        i for i, r in enumerate(records)
        if isinstance(decode_handoff(r, max_bytes=1 << 20), PeriodEnd)
    )  # fmt: skip
    publisher = RecordsToo()
    agent = Agent(publisher)
    await agent.feed(records[mark:], first_offset=mark)
    await _until(lambda: sorted(agent.acked) == list(range(mark, len(records))))
    copy_at = len(records)
    await agent.feed([records[mark]], first_offset=copy_at)
    await _until(lambda: copy_at in agent.acked, timeout=3.0)
    for persona in ("CASTER", "FRIEND"):
        assert _sent(publisher, 1, persona).count(101) == 1
