"""Sending to Kafka from the agents: wait for the broker's ack, retry the same bytes.

A send that fails is retried with the same bytes until the broker acknowledges it or
the delivery budget runs out; then :class:`~pitchcast.exceptions.DeliveryFailed` is
raised and the caller must not ack its input record (the worker stops and the record
is read again after the restart). A retry after a lost ack can write the record twice:
every record pitchcast writes is identified by its content (batch index and position,
commentary id, line id), so consumers drop the copy.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import Metrics

__all__ = ["send_acked", "send_until_acked"]

log = logging.getLogger("pitchcast.output")

_BACKOFF_INITIAL_S = 0.2
_BACKOFF_MAX_S = 5.0
# An ack later than this means the broker was away (counted: the fault suite's evidence).
_LATE_ACK_S = 1.0


async def send_acked(
    topic: Any, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None = None
) -> Any:
    """Send once and wait until the broker acknowledged the record; returns its metadata."""
    # force=True: send now, not attached to the current event's commit.
    pending = await topic.send(key=key, value=value, headers=headers, force=True)
    return await pending


async def send_until_acked(
    topic: Any,
    *,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
    budget_s: float,
    metrics: Metrics | None = None,
) -> Any:
    """Send the same bytes until acked; :class:`DeliveryFailed` once ``budget_s`` is spent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    wait = _BACKOFF_INITIAL_S
    attempt = 0
    started = loop.time()
    while True:
        attempt += 1
        try:
            async with asyncio.timeout_at(deadline):
                acked = await send_acked(topic, key=key, value=value, headers=headers)
            if metrics is not None and loop.time() - started > _LATE_ACK_S:
                name = getattr(topic, "get_topic_name", lambda: str(topic))()
                metrics.add("sends_acked_late", topic=name)
            return acked
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            name = getattr(topic, "get_topic_name", lambda: str(topic))()
            left = deadline - loop.time()
            if left <= 0:
                raise DeliveryFailed(
                    f"{name}: not acknowledged after {attempt} attempt(s) in {budget_s:g} s"
                    f" ({type(exc).__name__})"
                ) from exc
            if metrics is not None:
                metrics.add("send_retries", topic=name)
            log.warning(
                "pitchcast.output.send_retry",
                extra={"topic": name, "attempt": attempt, "error_kind": type(exc).__name__},
            )
            await asyncio.sleep(min(wait * random.uniform(0.8, 1.2), max(left, 0)))
            wait = min(wait * 2, _BACKOFF_MAX_S)
