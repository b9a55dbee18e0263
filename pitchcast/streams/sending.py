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

__all__ = ["send_acked", "send_in_order", "send_until_acked"]

log = logging.getLogger("pitchcast.output")

_BACKOFF_INITIAL_S = 0.2
_BACKOFF_MAX_S = 5.0
# An ack later than this means the broker was away (counted: the fault suite's evidence).
_LATE_ACK_S = 1.0


async def send_acked(
    topic: Any,
    *,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> Any:
    """Send once and wait until the broker acknowledged the record; returns its metadata
    (``partition``: that one, else the key's)."""
    # force=True: send now, not attached to the current event's commit.
    if partition is None:
        pending = await topic.send(key=key, value=value, headers=headers, force=True)
    else:
        pending = await topic.send(
            key=key, value=value, headers=headers, partition=partition, force=True
        )
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
    deadline = asyncio.get_running_loop().time() + budget_s
    return await _until_acked(topic, key, value, headers, deadline, budget_s, metrics, None)


async def send_in_order(
    topic: Any,
    *,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
    budget_s: float,
    metrics: Metrics | None = None,
) -> asyncio.Task[Any]:
    """Hand the record to the producer now; a task waits for its ack (the pipelined
    :func:`send_until_acked`: same retries, same budget, counted from now).

    Records handed over by successive calls are written in call order per partition:
    aiokafka 0.14 keeps one produce request in flight per broker, mutes a partition
    while its batch is out, and puts a batch it retries back at the head of the
    partition's queue (``producer/sender.py``, ``message_accumulator.py reenqueue``);
    with idempotence the broker also refuses a batch out of sequence. Only a retry
    made here (after the producer gave up on the record, or its ack was lost) is
    written after the records handed over meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    try:
        # force=True: send now, not attached to the current event's commit.
        first: Any = await topic.send(key=key, value=value, headers=headers, force=True)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # retried by the task, like a failed ack
        first = _Refused(exc)
    return asyncio.create_task(
        _until_acked(topic, key, value, headers, deadline, budget_s, metrics, first)
    )


class _Refused:
    """The producer refused the first attempt (the task retries it)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


async def _until_acked(
    topic: Any,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]] | None,
    deadline: float,
    budget_s: float,
    metrics: Metrics | None,
    first: Any,
) -> Any:
    """The retry loop; ``first`` is the first attempt's pending ack when it was already
    handed over (:func:`send_in_order`), else None."""
    loop = asyncio.get_running_loop()
    wait = _BACKOFF_INITIAL_S
    attempt = 0
    started = deadline - budget_s
    while True:
        attempt += 1
        try:
            async with asyncio.timeout_at(deadline):
                if first is None:
                    acked = await send_acked(topic, key=key, value=value, headers=headers)
                elif isinstance(first, _Refused):
                    raise first.error
                else:
                    acked = await first
            if metrics is not None and loop.time() - started > _LATE_ACK_S:
                name = getattr(topic, "get_topic_name", lambda: str(topic))()
                metrics.add("sends_acked_late", topic=name)
            return acked
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            first = None
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
