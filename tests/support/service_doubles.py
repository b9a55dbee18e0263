"""Doubles for the commentary service's integration tests: a scripted LLM, a template that
never fails, a line recorder, a clock, and batches of Korean passes."""

from __future__ import annotations

import asyncio
import hashlib

from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback
from pitchcast.commentary.service import WriteOutcome
from pitchcast.schemas.records import Action, Batch, CommentaryItem, Score, Usage
from pitchcast.settings import Persona
from tests.support.llm import ItemRecorder
from tests.support.utils import FakeClock

__all__ = ["PLAYERS", "FakeClock", "FakeLLM", "FakeTemplate", "Lines", "is_result", "make_batch"]

PLAYERS = ("손흥민", "이강인", "조규성", "김민재", "황희찬")


def make_batch(batch_index: int = 0, *, game_id: int = 126283, size: int = 10) -> Batch:
    first = 1000 + batch_index * size
    actions = tuple(
        Action(
            game_id=game_id,
            action_id=first + i,
            period_id=1,
            time_seconds=60.0 * batch_index + i * 3.5,
            team_id=4220,
            player_id=float(500 + i),
            result_name="Successful",
            start_x=30.0 + i,
            start_y=34.0,
            end_x=40.0 + i,
            end_y=30.0,
            dx=10.0,
            dy=-4.0,
            type_name="Pass",
            player_name_ko=PLAYERS[i % len(PLAYERS)],
            team_name_ko="울산 HD",
        )
        for i in range(size)
    )
    return Batch(
        game_id=game_id,
        batch_index=batch_index,
        period_id=1,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason="full",
        actions=actions,
        score=Score(1, 0),
        roster=PLAYERS,
    )


class FakeLLM:
    """Scripted primary: answers, fails with ``error`` after emitting ``emit_before_error``
    lines, or sleeps ``delay`` first. Counts calls and concurrency."""

    name = "openai"
    model = "fake-llm-7b"

    def __init__(self, *, delay: float = 0.0, stream: bool = True) -> None:
        self.delay = delay
        self.stream = stream
        self.error: Exception | None = None
        self.emit_before_error = 0
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.warmed = 0
        self.warm_error: Exception | None = None

    def cache_key(self, batch: Batch, persona: Persona) -> str:
        ids = ",".join(str(a.action_id) for a in batch.actions)
        raw = f"{self.model}|v1|{persona}|{batch.game_id}|{batch.batch_index}|{ids}"
        return hashlib.sha256(raw.encode()).hexdigest()

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            items = tuple(
                CommentaryItem(
                    action_id=a.action_id,
                    time_seconds=a.time_seconds,
                    tone="excited",
                    description=f"{a.player_name_ko}의 날카로운 패스! ({a.action_id})",
                )
                for a in batch.actions
            )
            for index, item in enumerate(items):
                if self.error is not None and index == self.emit_before_error:
                    raise self.error
                if self.stream and on_item is not None:
                    await on_item(item)
            if self.error is not None:
                raise self.error
            return CommentaryResult(items, "llm", self.model, Usage(480, 270))
        finally:
            self.in_flight -= 1

    async def warm_up(self) -> None:
        self.warmed += 1
        if self.warm_error is not None:
            raise self.warm_error

    async def aclose(self) -> None:
        pass


class FakeTemplate:
    """Deterministic fallback: one calm line per action, never fails, never cached."""

    name = "template"
    model = "template-v1"

    def __init__(self) -> None:
        self.calls = 0

    def cache_key(self, batch: Batch, persona: Persona) -> None:
        return None

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        self.calls += 1
        items = tuple(
            CommentaryItem(a.action_id, a.time_seconds, "calm", f"{a.player_name_ko}, 패스.")
            for a in batch.actions
        )
        for item in items:
            if on_item is not None:
                await on_item(item)
        return CommentaryResult(items, "template", self.model)

    async def aclose(self) -> None:
        pass


# An on_item that records what would have been published on commentary-lines.
Lines = ItemRecorder


def is_result(outcome: WriteOutcome) -> CommentaryResult:
    assert isinstance(outcome, CommentaryResult), outcome
    return outcome
