"""The commentary agent: ``pitchcast-batches`` → commentary → ``commentary``.

Batches of different matches are worked on concurrently, up to
``max_in_flight_batches``; batches of one match may overlap too, but are published in
the order they arrived (which is ``batch_index`` order): each batch waits for the one
before it of the same match, like Flink's ordered async I/O.

Delivery order for each batch, once its commentary is written:

1. skip a persona whose ``commentary_id`` Redis already marks as published;
2. publish the commentary and wait for the broker's ack;
3. set the Redis published marker;
4. ack the input record, so its offset may be committed.

Each valid line also goes to ``commentary-lines`` as soon as the commentary stage
hands it on (while the LLM is still writing the rest), after the previous batch's
lines of the same match and persona, so a live display reads them in order. The
batch's lines are acked by the broker before its input record is.

A batch that cannot be processed at all goes to the dead-letter topic and is acked;
a cancelled one (shutdown, rebalance) is not acked and is read again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pitchcast.agents.output import DeadLetters, send_acked
from pitchcast.commentary.assembly import build_commentary, commentary_headers
from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback
from pitchcast.commentary.service import AlreadyPublished
from pitchcast.exceptions import InvalidMessage
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_batch, encode
from pitchcast.schemas.headers import line_headers
from pitchcast.schemas.records import Batch, CommentaryItem, CommentaryLine, commentary_id_for
from pitchcast.settings import Persona, Settings
from pitchcast.streams.dead_letters import utc_now_iso

__all__ = ["BatchWriter", "CommentaryAgent"]

log = logging.getLogger("pitchcast.commentary")


class BatchWriter(Protocol):
    """What the agent needs of the commentary stage (``CommentaryService``)."""

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult | AlreadyPublished: ...

    async def is_published(self, commentary_id: str) -> bool: ...

    async def mark_published(self, commentary_id: str) -> None: ...


class _LinePublisher:
    """Publishes one (batch, persona)'s lines in order, after the previous batch's."""

    def __init__(
        self,
        *,
        topic: Any,
        key: bytes | None,
        previous: _LinePublisher | None,
        metrics: Metrics,
    ) -> None:
        self._topic = topic
        self._key = key
        self._previous = previous
        self._metrics = metrics
        self._queue: asyncio.Queue[CommentaryLine | None] = asyncio.Queue()
        self.done = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def put(self, line: CommentaryLine) -> None:
        self._queue.put_nowait(line)

    async def close(self) -> None:
        """No more lines: wait until every queued one is acked by the broker."""
        self._queue.put_nowait(None)
        await self._task

    def cancel(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        try:
            if self._previous is not None:
                await self._previous.done.wait()
            while (line := await self._queue.get()) is not None:
                try:
                    await send_acked(
                        self._topic, key=self._key, value=encode(line), headers=line_headers(line)
                    )
                    self._metrics.add("lines.published")
                except Exception:  # the batch record stays authoritative
                    log.exception("pitchcast.line_failed id=%s", line.commentary_id)
                    self._metrics.add("lines.failed")
        finally:
            self.done.set()


class CommentaryAgent:
    """Writes, orders and publishes the commentary of every batch."""

    def __init__(
        self,
        *,
        settings: Settings,
        writer: BatchWriter,
        commentary_topic: Any,
        dead_letters: DeadLetters,
        metrics: Metrics,
        lines_topic: Any | None = None,
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._topic = commentary_topic
        self._lines_topic = lines_topic
        # The newest line publisher of each (match key, persona).
        self._line_tails: dict[tuple[bytes | None, str], _LinePublisher] = {}
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._slots = asyncio.Semaphore(settings.max_in_flight_batches)
        # The newest task of each match: the next batch of that match waits for it.
        self._tails: dict[bytes | None, asyncio.Task[None]] = {}
        self.latencies_ms: list[float] = []

    async def run(self, stream: Any) -> None:
        """The agent body: hand each batch to a task; ack when its output is acked."""
        manual = stream.noack()
        async for event in manual.events():
            await self.submit(
                key=event.message.key,
                value=event.message.value,
                partition=event.message.partition,
                offset=event.message.offset,
                ack=lambda event=event: manual.ack(event),
            )

    async def submit(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        ack: Callable[[], Awaitable[Any]],
    ) -> asyncio.Task[None]:
        """Start work on one batch record; waits while too many batches are in flight."""
        await self._slots.acquire()
        previous = self._tails.get(key)
        publishers = self._line_publishers(key)
        task = asyncio.create_task(
            self._process(key, value, partition, offset, previous, ack, publishers)
        )
        self._tails[key] = task
        task.add_done_callback(lambda t, key=key: self._finished(key, t))
        return task

    def _line_publishers(self, key: bytes | None) -> dict[str, _LinePublisher]:
        # Created in arrival order, so each waits for the previous batch of its match.
        if self._lines_topic is None:
            return {}
        publishers = {}
        for persona in self._settings.personas:
            publisher = _LinePublisher(
                topic=self._lines_topic,
                key=key,
                previous=self._line_tails.get((key, persona)),
                metrics=self._metrics,
            )
            self._line_tails[(key, persona)] = publisher
            publishers[persona] = publisher
        return publishers

    def _finished(self, key: bytes | None, task: asyncio.Task[None]) -> None:
        self._slots.release()
        if self._tails.get(key) is task:
            del self._tails[key]

    async def drain(self) -> None:
        """Wait for every batch in flight (tests, shutdown)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))

    async def _process(
        self,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int,
        previous: asyncio.Task[None] | None,
        ack: Callable[[], Awaitable[Any]],
        publishers: dict[str, _LinePublisher],
    ) -> None:
        source = self._settings.topic_batches
        try:
            batch = decode_batch(value, max_bytes=self._settings.max_message_bytes)
            personas = self._settings.personas
            results = await asyncio.gather(
                *(
                    self._writer.write(batch, p, on_item=self._on_item(batch, p, publishers))
                    for p in personas
                )
            )
            for publisher in publishers.values():
                await publisher.close()
            if previous is not None:
                await asyncio.wait([previous])  # publish in arrival order per match
            for persona, result in zip(personas, results, strict=True):
                if isinstance(result, AlreadyPublished):
                    self._metrics.add("commentary.already_published")
                    continue
                await self._publish(key, batch, persona, result)
        except asyncio.CancelledError:
            for publisher in publishers.values():
                publisher.cancel()
            raise  # not acked: the record is read again after the restart or rebalance
        except Exception as exc:
            for publisher in publishers.values():
                await publisher.close()  # lines already queued still go out, in order
            if not isinstance(exc, InvalidMessage):
                log.exception("pitchcast.commentary_failed offset=%s", offset)
            kind = exc.kind if isinstance(exc, InvalidMessage) else type(exc).__name__
            await self._dead_letters.send(
                source_topic=source,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                error_kind=kind,
                error_message=str(exc),
            )
        await ack()

    def _on_item(
        self, batch: Batch, persona: Persona, publishers: dict[str, _LinePublisher]
    ) -> ItemCallback | None:
        publisher = publishers.get(persona)
        if publisher is None:
            return None
        commentary_id = commentary_id_for(batch.game_id, batch.batch_index, persona)
        index_of = {a.action_id: i for i, a in enumerate(batch.actions)}
        last = len(batch.actions) - 1

        async def on_item(item: CommentaryItem) -> None:
            line_index = index_of[item.action_id]
            publisher.put(
                CommentaryLine(
                    commentary_id=commentary_id,
                    line_index=line_index,
                    game_id=batch.game_id,
                    batch_index=batch.batch_index,
                    persona=persona,
                    item=item,
                    final=line_index == last,
                    created_at=utc_now_iso(),
                )
            )

        return on_item

    async def _publish(
        self, key: bytes | None, batch: Batch, persona: Persona, result: CommentaryResult
    ) -> None:
        commentary = build_commentary(batch, persona, result)
        if await self._writer.is_published(commentary.commentary_id):
            self._metrics.add("commentary.already_published")
            return
        await send_acked(
            self._topic,
            key=key,
            value=encode(commentary),
            headers=commentary_headers(commentary),
        )
        await self._writer.mark_published(commentary.commentary_id)
        self._metrics.add("commentary.published")
        self._metrics.add(f"commentary.source.{result.source}")
        if batch.closed_by_ts_ms is not None:
            self.latencies_ms.append(time.time() * 1000 - batch.closed_by_ts_ms)
            del self.latencies_ms[:-1000]  # keep the recent ones only
