"""Read the ``commentary`` topic (or ``commentary-lines``) and print it readably."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from pitchcast.schemas.records import match_minute
from pitchcast.settings import Settings
from pitchcast.streams.admin import partition_count
from pitchcast.streams.clients import aiokafka_options, start_client

__all__ = ["format_commentary", "format_line", "tail"]


def _clock(period_id: int, seconds: float) -> str:
    minute = match_minute(period_id, seconds) - 1  # the clock's minutes, not the one played
    return f"{period_id}H {minute:02d}:{int(seconds % 60):02d}"


def format_commentary(message: dict[str, Any]) -> str:
    """A header line for the batch, then one line per shown item (an item told with
    another's line, ``shown: false``, has no text of its own)."""
    score = message.get("score") or {}
    source = message.get("source", "?")
    if message.get("fallback_reason"):
        source += f", {message['fallback_reason']}"
    head = (
        f"── game {message.get('game_id')} · batch {message.get('batch_index')}"
        f" · {message.get('persona')} · {score.get('home', 0)}-{score.get('away', 0)}"
        f" · {message.get('close_reason')} · {source}"
    )
    lines = [head]
    for item in message.get("items", []):
        if item.get("shown") is False:
            continue
        when = _clock(message.get("period_id", 1), float(item.get("time_seconds", 0.0)))
        lines.append(f"  {when}  [{item.get('tone')}] {item.get('description')}")
    return "\n".join(lines)


def format_line(message: dict[str, Any]) -> str:
    """One live line: match, batch.row, persona, tone and text."""
    item = message.get("item") or {}
    seconds = float(item.get("time_seconds", 0.0))
    end = " ·end" if message.get("final") else ""
    return (
        f"game {message.get('game_id')} · {message.get('batch_index')}.{message.get('line_index')}"
        f" · {message.get('persona')} · {int(seconds // 60):02d}:{int(seconds % 60):02d}"
        f"  [{item.get('tone')}] {item.get('description')}{end}"
    )


async def tail(
    settings: Settings,
    *,
    from_beginning: bool,
    game_id: int | None = None,
    echo: Callable[[str], None] = print,
    until: Callable[[dict[str, Any]], bool] | None = None,
    idle_timeout_s: float | None = None,
    ready: asyncio.Event | None = None,
    lines: bool = False,
) -> int:
    """Print commentary as it arrives; stop when ``until(message)`` is true or when idle.

    With ``lines``, read the lines topic instead: each line as soon as it is published.

    Reads every partition without a consumer group (tailing moves nobody's offsets);
    ``ready`` is set once the start positions are fixed, so nothing published after
    that is missed.
    """
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await start_client(consumer, settings)
    shown = 0
    try:
        topic = settings.topic_lines if lines else settings.topic_commentary
        show = format_line if lines else format_commentary
        count = await partition_count(settings, topic)
        partitions = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve the position now, not at the first fetch
        if ready is not None:
            ready.set()
        while True:
            timeout_ms = int((idle_timeout_s or 1.0) * 1000)
            records = await consumer.getmany(timeout_ms=timeout_ms)
            if not records and idle_timeout_s is not None:
                return shown
            for batch in records.values():
                for record in batch:
                    try:
                        message = orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        echo(f"(not JSON at offset {record.offset})")
                        continue
                    if game_id is not None and message.get("game_id") != game_id:
                        continue
                    echo(show(message))
                    shown += 1
                    if until is not None and until(message):
                        return shown
    finally:
        await consumer.stop()
