"""Warm the LLM endpoint when a match starts, so a serverless endpoint is warm in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pitchcast.metrics import Metrics
from pitchcast.settings import Settings

__all__ = ["warm_up_on_match_start"]

log = logging.getLogger("pitchcast.app")


def warm_up_on_match_start(
    settings: Settings, writer: Any, metrics: Metrics
) -> Callable[[int], None] | None:
    """A tiny LLM request when a match starts, so a serverless endpoint is warm in time."""
    warm_up = getattr(writer, "warm_up", None)
    if not settings.llm_warmup or settings.llm_backend != "openai" or warm_up is None:
        return None
    running: set[asyncio.Task[Any]] = set()  # keep references until they finish

    def start(game_id: int) -> None:
        task = asyncio.create_task(warm_up(game_id))
        running.add(task)
        task.add_done_callback(running.discard)
        metrics.add("llm_warmups")
        log.info("pitchcast.llm_warmup game_id=%s", game_id)

    return start
