"""In-process harness for the commentary agent: topics that record, backends that script.

The agent runs for real (desks, lanes, publisher, line store, ordering, acks); Kafka topics are
replaced by :class:`RecordingTopic` (every send is "acked" at once and kept, with the
loop time it was sent at) and the hand-off records come from the real batcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pitchcast.agents.batching import BatchAgent
from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.agents.publisher import KafkaPublisher
from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback, RowsAnswer
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.records import Batch, CommentaryItem, Control, Usage
from pitchcast.settings import Persona, Settings, load_settings
from pitchcast.streams.batching import advance
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.commentary_batches import sample_actions

__all__ = [
    "EVENT_ACTION",
    "Harness",
    "ManualAckStream",
    "RawTopic",
    "RecordingTopic",
    "ScriptedRowsBackend",
    "action_value",
    "batch_agent",
    "handoff_records",
]


@dataclass
class Sent:
    key: bytes | None
    value: dict[str, Any]
    at: float


class RecordingTopic:
    """A topic whose sends are acknowledged at once and remembered."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Sent] = []

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, *, key: bytes | None, value: bytes, **_: Any) -> Any:
        self.sent.append(Sent(key, orjson.loads(value), asyncio.get_running_loop().time()))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class RawTopic:
    """A topic that keeps the raw values sent, acknowledged at once, or refuses every send."""

    def __init__(self, name: str = "topic", *, refuse: bool = False) -> None:
        self.name = name
        self.refuse = refuse
        self.sent: list[bytes] = []

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, *, key: Any, value: bytes, headers: Any = None, force: bool) -> Any:
        if self.refuse:
            raise ConnectionError(f"{self.name} refuses writes")
        self.sent.append(value)

        async def acked() -> None:
            return None

        return acked()


class ManualAckStream:
    """faust's manual-ack stream as the agents use it: ``noack()``, ``events()``, ``ack()``.

    Its records are ``values`` at offsets 0, 1, ... of partition 0; ``acked`` lists the
    offsets the agent acked."""

    def __init__(self, values: list[bytes], *, topic: str = "events") -> None:
        self.values = values
        self.topic = topic
        self.acked: list[int] = []

    def noack(self) -> ManualAckStream:
        return self

    async def events(self) -> Any:
        for offset, value in enumerate(self.values):
            message = type(
                "Message",
                (),
                {"topic": self.topic, "key": b"1", "value": value, "partition": 0,
                 "offset": offset, "timestamp": 0.0},
            )  # fmt: skip
            yield type("Event", (), {"message": message})()

    async def ack(self, event: Any) -> None:
        self.acked.append(event.message.offset)


# One action of match 1 as the feed sends it (no action_id: :func:`action_value` sets it).
EVENT_ACTION = {
    "game_id": 1, "period_id": 1, "time_seconds": 3.0, "team_id": 11, "player_id": 19.0,
    "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0, "end_y": 4.0,
    "dx": 2.0, "dy": 2.0, "type_name": "Pass", "player_name_ko": "P", "team_name_ko": "Home",
}  # fmt: skip


def action_value(action_id: int) -> bytes:
    """The events-topic value of :data:`EVENT_ACTION` numbered ``action_id``."""
    return orjson.dumps({**EVENT_ACTION, "action_id": action_id})


def batch_agent(**kwargs: Any) -> BatchAgent:
    """A batch agent on in-memory topics with a 0.3 s delivery budget; ``dlq=`` replaces
    its dead-letter topic, other keywords go to :class:`BatchAgent`."""
    metrics = Metrics()
    return BatchAgent(
        settings=load_settings(delivery_timeout_s=0.3),
        state_table={},
        batches_topic=RawTopic(),
        dead_letters=DeadLetters(
            kwargs.pop("dlq", RawTopic()), value_cap=1024, metrics=metrics, budget_s=0.3
        ),
        metrics=metrics,
        **kwargs,
    )


# Ends every line the scripted "LLM" writes. Glued to the last word: a tag of its own
# (a leading word, or a sentence) would give every line of a burst the same opening or
# shape, and the burst check (pitchcast.checks.bursts) would rewrite them.
LLM_TAG = "[llm]"


class ScriptedRowsBackend(TemplateBackend):
    """A live-capable "LLM": template text, tagged, after ``delay_s``; hangs for some games."""

    name = "scripted"
    model = "scripted-llm"

    def __init__(self, *, delay_s: float = 0.0, hang_games: set[int] | None = None) -> None:
        self.delay_s = delay_s
        self.hang_games = hang_games or set()
        # Per live request: (game, batch, the rows it writes: a fork's row alone).
        self.calls: list[tuple[int, int, tuple[int, ...]]] = []
        # Per live burst: (game, batch, its rows), whether one request or forks wrote it.
        self.bursts: list[tuple[int, int, tuple[int, ...]]] = []
        self.batch_calls: list[tuple[int, int]] = []
        self.batch_rows: list[tuple[int, ...] | None] = []

    async def write(
        self,
        batch: Batch,
        persona: Persona,
        *,
        on_item: ItemCallback | None = None,
        rows: Sequence[int] | None = None,
    ) -> CommentaryResult:
        """Batch mode: the whole window in one call (hangs for the games told to);
        ``rows`` asked for are recorded (density)."""
        self.batch_calls.append((batch.game_id, batch.batch_index))
        self.batch_rows.append(None if rows is None else tuple(rows))
        if batch.game_id in self.hang_games:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay_s)
        written = await super().write(batch, persona)
        items = tuple(
            CommentaryItem(i.action_id, i.time_seconds, i.tone, i.description + LLM_TAG)
            for i in written.items
        )
        if on_item is not None:
            for item in items:
                await on_item(item)
        return CommentaryResult(items=items, source="llm", model=self.model, usage=Usage(10, 5))

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[Any],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem] | None = None,
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
        fork: int | None = None,
        failures: object = None,
    ) -> RowsAnswer:
        written = tuple(rows) if fork is None else (fork,)
        self.calls.append((batch.game_id, batch.batch_index, written))
        if fork is None or fork == rows[0]:
            self.bursts.append((batch.game_id, batch.batch_index, tuple(rows)))
        if batch.game_id in self.hang_games:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay_s)
        answer = await super().write_rows(batch, persona, turns, rows, settled=settled, fork=fork)
        items = {
            row: CommentaryItem(i.action_id, i.time_seconds, i.tone, i.description + LLM_TAG)
            for row, i in answer.items.items()
        }
        if on_item is not None:
            for row in written:
                await on_item(items[row])
        return RowsAnswer(items=items, raw=dict(answer.raw), answer="", usage=Usage(10, 5))


def handoff_records(
    game_id: int, actions: int, *, name: str = "events_metrica_1.csv"
) -> list[bytes]:
    """The hand-off records (encoded) the batcher emits for the first ``actions`` of a
    sample match, re-keyed to ``game_id``, ending with a match_end."""
    from dataclasses import replace

    state = None
    out: list[bytes] = []
    events: list[Any] = [Control(game_id=game_id, control="match_start")]
    events += [replace(a, game_id=game_id) for a in sample_actions(name)[:actions]]
    events.append(Control(game_id=game_id, control="match_end"))
    for offset, event in enumerate(events):
        step = advance(state, event, offset=offset, timestamp_ms=1_000 * offset)
        state = step.state
        out.extend(encode(e) for e in step.emits)
    return out


@dataclass
class Harness:
    """A commentary agent with recording topics, a scripted primary and a store."""

    settings: Settings
    primary: Any
    store: RedisStore = field(default_factory=lambda: RedisStore(enabled=False))
    metrics: Metrics = field(default_factory=Metrics)
    acked: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.service = CommentaryService(
            self.primary,
            TemplateBackend(),
            self.store,
            deadline_s=self.settings.llm_batch_deadline_s,
            max_in_flight=self.settings.llm_max_in_flight,
            metrics=self.metrics,
        )
        self.commentary = RecordingTopic("commentary")
        self.lines = RecordingTopic("commentary-lines")
        self.dlq = RecordingTopic("commentary-dlq")
        self.agent = CommentaryAgent(
            settings=self.settings,
            writer=self.service,
            publisher=KafkaPublisher(
                settings=self.settings,
                store=self.store,
                commentary_topic=self.commentary,
                lines_topic=self.lines,
                metrics=self.metrics,
            ),
            dead_letters=DeadLetters(self.dlq, value_cap=4096, metrics=self.metrics),
            metrics=self.metrics,
        )

    @classmethod
    def build(cls, primary: Any, **overrides: Any) -> Harness:
        return cls(settings=load_settings(**overrides), primary=primary)

    async def feed(self, key: int, records: list[bytes], *, partition: int = 0) -> None:
        for offset, value in enumerate(records):

            async def ack(offset: int = offset) -> None:
                self.acked.append((key, offset))

            await self.agent.submit(
                key=str(key).encode(), value=value, partition=partition, offset=offset, ack=ack
            )
