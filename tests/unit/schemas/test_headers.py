"""Every topic other teams consume carries a content type and a ``__TypeId__`` token."""

from __future__ import annotations

import asyncio
from typing import Any

from pitchcast.commentary.assembly import build_commentary
from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.metrics import Metrics
from pitchcast.schemas.headers import (
    TYPE_ID_COMMENTARY,
    TYPE_ID_COMMENTARY_LINE,
    TYPE_ID_DEAD_LETTER,
    commentary_headers,
    dead_letter_headers,
    line_headers,
)
from pitchcast.schemas.records import CommentaryItem, CommentaryLine
from pitchcast.streams.dead_letters import DeadLetters
from tests.support.commentary_batches import ONE_PASS_BATCH

ITEM = CommentaryItem(action_id=170, time_seconds=612.4, tone="excited", description="골!")


def test_type_tokens_are_the_documented_ones() -> None:
    """The tokens Spring type mappings name: no Java class names, one per payload."""
    assert (TYPE_ID_COMMENTARY, TYPE_ID_COMMENTARY_LINE, TYPE_ID_DEAD_LETTER) == (
        "commentary",
        "commentary_line",
        "dead_letter",
    )


def test_commentary_and_line_headers_carry_type_and_idempotency_key() -> None:
    """A commentary is keyed by its id, a line by ``commentary_id:line_index``."""
    result = CommentaryResult(items=(ITEM,), source="template", model="template")
    commentary = build_commentary(ONE_PASS_BATCH, "CASTER", result)
    assert dict(commentary_headers(commentary)) == {
        "content-type": b"application/json",
        "__TypeId__": b"commentary",
        "idempotency-key": commentary.commentary_id.encode(),
    }
    line = CommentaryLine(
        commentary_id=commentary.commentary_id,
        line_index=3,
        game_id=ONE_PASS_BATCH.game_id,
        batch_index=ONE_PASS_BATCH.batch_index,
        persona="CASTER",
        item=ITEM,
        final=False,
        created_at="2026-11-22T12:00:00.000Z",
    )
    assert dict(line_headers(line)) == {
        "content-type": b"application/json",
        "__TypeId__": b"commentary_line",
        "idempotency-key": f"{commentary.commentary_id}:3".encode(),
    }
    assert dict(dead_letter_headers()) == {
        "content-type": b"application/json",
        "__TypeId__": b"dead_letter",
    }


class _Topic:
    """Records what is sent; the send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> asyncio.Future[None]:
        self.sent.append(kwargs)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_dead_letters_are_sent_with_their_type_token() -> None:
    """The dead-letter send site attaches the dead_letter headers."""
    topic = _Topic()
    letters = DeadLetters(topic, value_cap=1024, metrics=Metrics())
    await letters.send(
        source_topic="match-events",
        partition=0,
        offset=7,
        key=b"1",
        value=b"{not json",
        error_kind="UndecodableMessage",
        error_message="bad",
    )
    (sent,) = topic.sent
    assert dict(sent["headers"])["__TypeId__"] == b"dead_letter"
