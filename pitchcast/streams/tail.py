"""Read the ``commentary`` topic and print it readably."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from pitchcast.settings import Settings
from pitchcast.streams.clients import aiokafka_options

__all__ = ["format_commentary", "tail"]


def _clock(period_id: int, seconds: float) -> str:
    minute = int(seconds // 60) + (45 if period_id == 2 else 0)
    return f"{period_id}H {minute:02d}:{int(seconds % 60):02d}"


def format_commentary(message: dict[str, Any]) -> str:
    """A header line for the batch, then one line per item."""
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
        when = _clock(message.get("period_id", 1), float(item.get("time_seconds", 0.0)))
        lines.append(f"  {when}  [{item.get('tone')}] {item.get('description')}")
    return "\n".join(lines)


async def tail(
    settings: Settings,
    *,
    from_beginning: bool,
    game_id: int | None = None,
    echo: Callable[[str], None] = print,
    until: Callable[[dict[str, Any]], bool] | None = None,
    idle_timeout_s: float | None = None,
) -> int:
    """Print commentary as it arrives; stop when ``until(message)`` is true or when idle."""
    consumer = AIOKafkaConsumer(
        settings.topic_commentary,
        **aiokafka_options(settings),
        # A throwaway group: tailing never moves anybody's committed offsets.
        group_id=f"pitchcast-tail-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    shown = 0
    try:
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
                    echo(format_commentary(message))
                    shown += 1
                    if until is not None and until(message):
                        return shown
    finally:
        await consumer.stop()
