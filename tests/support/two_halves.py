"""A commentary agent over a short two-half match: story density, CASTER and FRIEND, an
in-memory publisher that publishes the batches' records too. The agent tests of period ends
and of late copies of a published batch's records drive it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.records import Commentary, Control, PeriodEnd
from pitchcast.settings import load_settings
from pitchcast.streams.batching import advance
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.agents import RawTopic
from tests.support.commentary_batches import sample_actions
from tests.support.memory_publisher import MemoryPublisher

__all__ = [
    "TWO_HALVES_GAME",
    "RecordsToo",
    "TwoHalvesAgent",
    "period_end_offsets",
    "two_halves_records",
]

TWO_HALVES_GAME = 41


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


def two_halves_records() -> list[bytes]:
    """20 first-half actions (two batches closed full), the whistle, 3 second-half
    actions, its whistle, full time: what the batcher hands off."""
    game = TWO_HALVES_GAME
    actions = sample_actions()
    first = [replace(a, game_id=game) for a in actions if a.period_id == 1][:20]
    second = [replace(a, game_id=game) for a in actions if a.period_id == 2][:3]
    events: list[Any] = [
        Control(game_id=game, control="match_start"),
        *first,
        Control(game_id=game, control="period_end", period_id=1),
        *second,
        Control(game_id=game, control="period_end", period_id=2),
        Control(game_id=game, control="match_end", period_id=2),
    ]
    state, out = None, []
    for offset, event in enumerate(events):
        step = advance(state, event, offset=offset, timestamp_ms=offset)
        state = step.state
        out.extend(encode(e) for e in step.emits)
    return out


def period_end_offsets(records: list[bytes]) -> list[int]:
    """Where the hand-off records hold a period end (a whistle after a closed batch)."""
    return [
        i
        for i, r in enumerate(records)
        if isinstance(decode_handoff(r, max_bytes=1 << 20), PeriodEnd)
    ]


class TwoHalvesAgent:
    """A commentary agent on partition 0 writing with the template, the offsets it acked."""

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
                key=str(TWO_HALVES_GAME).encode(),
                value=value,
                partition=0,
                offset=offset,
                ack=ack,
            )
