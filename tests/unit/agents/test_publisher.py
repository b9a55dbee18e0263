"""KafkaPublisher: a line or record is marked published only after the broker's ack."""

from __future__ import annotations

import pytest

from pitchcast.agents.publisher import KafkaPublisher
from pitchcast.commentary.assembly import build_commentary
from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem, CommentaryLine, Usage
from pitchcast.settings import load_settings
from tests.support.agents import RawTopic as Topic
from tests.support.commentary_batches import korean_batch


class Store:
    """The line store and markers, recording the order of calls."""

    def __init__(self, marked: set[str] | None = None) -> None:
        self.marked = marked or set()
        self.calls: list[str] = []

    async def is_published(self, commentary_id: str) -> bool:
        return commentary_id in self.marked

    async def mark_published(self, commentary_id: str) -> None:
        self.calls.append("mark_published")
        self.marked.add(commentary_id)

    async def mark_line_published(self, commentary_id: str, line_index: int) -> None:
        self.calls.append(f"mark_line:{line_index}")


class Ordered(Topic):
    """A topic that notes its sends in the store's call list."""

    def __init__(self, store: Store, **kwargs: bool) -> None:
        super().__init__(**kwargs)
        self.store = store

    async def send(self, **kwargs):  # type: ignore[no-untyped-def, override]
        self.store.calls.append("send")
        return await super().send(**kwargs)


BATCH = korean_batch(2)
ITEM = CommentaryItem(BATCH.actions[0].action_id, 600.0, "calm", "줄")
LINE = CommentaryLine("cid", 0, BATCH.game_id, BATCH.batch_index, "CASTER", ITEM, False, "t")


def _publisher(store: Store, *, lines: Topic | None, records: Topic | None = None):  # type: ignore[no-untyped-def]
    metrics = Metrics()
    publisher = KafkaPublisher(
        settings=load_settings(delivery_timeout_s=0.3),
        store=store,  # type: ignore[arg-type]
        commentary_topic=records if records is not None else Topic(),
        lines_topic=lines,
        metrics=metrics,
    )
    return publisher, metrics


async def test_a_line_is_marked_after_its_ack_and_not_when_it_is_never_acked() -> None:
    store = Store()
    publisher, metrics = _publisher(store, lines=Ordered(store))
    await publisher.send_line(LINE, key=b"1", source="llm", appended_ms=None)
    assert store.calls == ["send", "mark_line:0"]
    assert metrics.get("lines_published", source="llm") == 1
    store = Store()
    publisher, _ = _publisher(store, lines=Ordered(store, refuse=True))
    with pytest.raises(DeliveryFailed):
        await publisher.send_line(LINE, key=b"1", source="llm", appended_ms=None)
    assert "mark_line:0" not in store.calls


async def test_without_a_lines_topic_a_line_is_only_marked() -> None:
    store = Store()
    publisher, metrics = _publisher(store, lines=None)
    await publisher.send_line(LINE, key=b"1", source="llm", appended_ms=None)
    assert store.calls == ["mark_line:0"] and metrics.get("lines_published") == 0


async def test_a_record_is_sent_then_marked_once() -> None:
    items = tuple(CommentaryItem(a.action_id, a.time_seconds, "calm", "줄") for a in BATCH.actions)
    result = CommentaryResult(items=items, source="llm", model="m", usage=Usage())
    commentary = build_commentary(BATCH, "CASTER", result)
    store = Store()
    records = Ordered(store)
    publisher, metrics = _publisher(store, lines=None, records=records)
    assert await publisher.send_record(commentary, key=b"1", closed_by_ts_ms=None)
    assert store.calls == ["send", "mark_published"]
    assert not await publisher.send_record(commentary, key=b"1", closed_by_ts_ms=None)
    assert len(records.sent) == 1
    assert metrics.get("commentary_published") == 1
    assert metrics.get("commentary_already_published") == 1
