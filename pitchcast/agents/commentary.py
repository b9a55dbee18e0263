"""The commentary agent: ``pitchcast-batches`` → ``commentary-lines`` and ``commentary``.

The batches topic carries, per match and in log order, each action as it was assigned
to its batch (:class:`~pitchcast.schemas.records.BatchAction`) and each batch once
closed (:class:`~pitchcast.schemas.records.Batch`). Per match there is a *desk*; per
(match, persona) a *lane* writes the match's batches one after the other:

* ``live`` mode: as soon as actions arrive, the lane asks for their lines (at most one
  request in flight per lane; everything that arrived meanwhile goes in the next one;
  never across a batch boundary); each line is published the moment it is valid;
* ``batch`` mode, or a batch whose first records this worker never saw: the lane waits
  for the close and writes the whole batch at once (the commentary service: cache,
  lock, retries, repair, template fallback), publishing each line as it is valid.

Every line is first claimed in the Redis line store (the first text of a line id wins),
then published, then marked published: a restarted or new owner reuses stored lines,
publishes those never published, and asks the LLM only for the rest. The ``commentary``
record of a batch is assembled from exactly those lines.

Delivery order, per batch, in ``batch_index`` order per match:

1. every line of every persona is published (and acknowledged);
2. for each persona whose ``commentary_id`` Redis does not mark as published: publish
   the record, wait for the broker's ack, set the marker;
3. ack every hand-off record of the batch (its actions and its close), so their offsets
   may be committed. Until then a crash or rebalance re-delivers the whole batch.

On a rebalance all desks of revoked partitions are cancelled without acking
(:meth:`CommentaryAgent.revoke`): the new owner reads their records again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson

from pitchcast.agents.output import DeadLetters, send_until_acked
from pitchcast.commentary.assembly import build_commentary, commentary_headers
from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.commentary.conversation import LiveTurn, batch_so_far, render_answer
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.service import (
    AlreadyPublished,
    CommentaryService,
    current_line_source,
)
from pitchcast.exceptions import InvalidMessage
from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.headers import line_headers
from pitchcast.schemas.records import (
    Action,
    Batch,
    BatchAction,
    BatchOpening,
    CommentaryItem,
    CommentaryLine,
    Usage,
    commentary_id_for,
)
from pitchcast.settings import Persona, Settings
from pitchcast.streams.dead_letters import utc_now_iso

__all__ = ["CommentaryAgent"]

log = logging.getLogger("pitchcast.commentary")

Ack = Callable[[], Awaitable[Any]]
Source = Literal["llm", "template"]
# A desk with nothing to do for this long is dropped (a match that ended or went away).
_DESK_IDLE_S = 600.0


class _AckOrder:
    """Acks a partition's records in the order they were delivered, never past one in work.

    faust commits the end of the first run of acked offsets without checking that the run
    starts at the committed offset (faust-streaming 0.15.3 ``Consumer._new_offset``), so an
    ack out of log order (match B's batch published while match A's earlier one is still
    being written on the same partition) could let the commit pass A's records: a crash
    then would lose them. Records are released here as their work ends, and acked only
    as a prefix of the partition's delivery order.
    """

    def __init__(self) -> None:
        self._pending: dict[int, Ack] = {}  # offset -> ack, in delivery order
        self._done: set[int] = set()

    def register(self, offset: int, ack: Ack) -> None:
        self._pending.setdefault(offset, ack)

    async def release(self, offsets: list[int]) -> None:
        self._done.update(offsets)
        while self._pending:
            offset = next(iter(self._pending))
            if offset not in self._done:
                return
            ack = self._pending.pop(offset)
            self._done.discard(offset)
            await ack()


class _BatchWork:
    """What the desk knows of one batch: its actions so far, its close, its records."""

    def __init__(self, game_id: int, batch_index: int) -> None:
        self.game_id = game_id
        self.batch_index = batch_index
        self.opening: BatchOpening | None = None
        self.actions: dict[int, Action] = {}
        self.appended_ms: dict[int, int] = {}
        self.close: Batch | None = None
        self.offsets: list[int] = []  # its hand-off records, released once it is published
        self.results: dict[str, CommentaryResult | AlreadyPublished] = {}
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self) -> None:
        await self._changed.wait()

    def known(self) -> int:
        """How many actions from position 0 on are known without a hole."""
        n = 0
        while n in self.actions:
            n += 1
        return n

    def view(self, n: int) -> Batch:
        """The batch so far (positions 0..n-1), as the live prompt and validation see it."""
        assert self.opening is not None
        actions = [self.actions[p] for p in range(n)]
        return batch_so_far(self.game_id, self.batch_index, self.opening, actions)

    def position_of(self, action_id: int) -> int | None:
        for position, action in self.actions.items():
            if action.action_id == action_id:
                return position
        return None


def _names(actions: tuple[Action, ...]) -> list[str]:
    return [n for a in actions for n in (a.player_name_ko, a.team_name_ko) if n]


class _Desk:
    """One match: its batches in flight, a lane per persona, and the publisher."""

    def __init__(self, game_id: int, key: bytes | None, partition: int) -> None:
        self.game_id = game_id
        self.key = key
        self.partition = partition
        self.works: dict[int, _BatchWork] = {}
        self.next_to_publish: int | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._arrived = asyncio.Event()

    def work(self, batch_index: int) -> _BatchWork:
        work = self.works.get(batch_index)
        if work is None:
            work = self.works[batch_index] = _BatchWork(self.game_id, batch_index)
            self._arrived.set()
            self._arrived = asyncio.Event()
        return work

    async def get(self, batch_index: int, *, idle_s: float | None = None) -> _BatchWork:
        """The work of ``batch_index``, once its first record arrived. With ``idle_s``,
        TimeoutError when nothing at all arrives for that long (the publisher's call: one
        idle decision per desk)."""
        while batch_index not in self.works:
            if idle_s is None:
                await self._arrived.wait()
                continue
            async with asyncio.timeout(idle_s):
                await self._arrived.wait()
        return self.works[batch_index]


class _LineBook:
    """The lines of one (batch, persona): stored first, then published, in order."""

    def __init__(self, agent: CommentaryAgent, desk: _Desk, work: _BatchWork, persona: Persona):
        self.agent = agent
        self.desk = desk
        self.work = work
        self.persona = persona
        self.cid = commentary_id_for(work.game_id, work.batch_index, persona)
        self.items: dict[int, CommentaryItem] = {}
        self.raw: dict[int, str] = {}
        self.sources: dict[int, Source | None] = {}
        self.restored = 0

    def next_position(self) -> int:
        n = 0
        while n in self.items:
            n += 1
        return n

    def settled_rows(self) -> dict[int, CommentaryItem]:
        return {p + 1: item for p, item in self.items.items()}

    async def restore(self) -> None:
        """Lines an earlier owner stored: reused as they are; published if they were not."""
        stored = await self.agent.store.load_lines(self.cid)
        for position in sorted(stored):
            text, published = stored[position]
            self._take(position, text)
            self.restored += 1
            if not published:
                await self._publish(position)
        if stored:
            self.agent.metrics.add("lines_restored", len(stored), persona=self.persona)

    async def emit(self, item: CommentaryItem, raw: str | None, source: Source | None) -> None:
        """Claim, publish and mark one line (a line already in the book stays as it is)."""
        position = self.work.position_of(item.action_id)
        if position is None or position in self.items:
            return
        if source is None:  # batch mode: the service says who wrote the line
            source = "template" if current_line_source() == "template" else "llm"
        payload = orjson.dumps({"item": item, "raw": raw, "source": source})
        stored = await self.agent.store.claim_line(self.cid, position, payload)
        if stored != payload:
            self.agent.metrics.add("lines_claimed_elsewhere", persona=self.persona)
        self._take(position, stored)
        await self._publish(position)

    def _take(self, position: int, stored: bytes) -> None:
        data = orjson.loads(stored)
        self.items[position] = CommentaryItem(**data["item"])
        self.raw[position] = data.get("raw") or self.items[position].description
        self.sources[position] = data.get("source")

    def _is_final(self, position: int) -> bool:
        # Known when the line goes out: the batch's last line once it closed, the last
        # position of a full window always. (A batch closed early after its last line
        # went out has no final line; its commentary record marks its end.)
        close = self.work.close
        if close is not None:
            return position == len(close.actions) - 1
        return position == self.agent.settings.batch_size - 1

    async def _publish(self, position: int) -> None:
        final = self._is_final(position)
        await self.agent.publish_line(
            self.desk, self.work, self.persona, self.cid, position, self.items[position],
            final, self.sources.get(position) or "llm",
        )  # fmt: skip
        await self.agent.store.mark_line_published(self.cid, position)


class CommentaryAgent:
    """Writes, orders and publishes the lines and the commentary of every batch."""

    def __init__(
        self,
        *,
        settings: Settings,
        writer: CommentaryService,
        commentary_topic: Any,
        dead_letters: DeadLetters,
        metrics: Metrics,
        lines_topic: Any | None = None,
        crash: Callable[[BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self._crash = crash
        self.writer = writer
        self.store = writer.store
        self.metrics = metrics
        self._topic = commentary_topic
        self._lines_topic = lines_topic
        self._dead_letters = dead_letters
        self._desks: dict[int, _Desk] = {}
        self._acks: dict[int, _AckOrder] = {}  # per partition of the hand-off topic
        self._stopping = False  # set once a failure stopped the worker
        self.mode = settings.llm_mode
        self._live = LiveWriter(
            writer,
            deadline_s=settings.llm_live_deadline_s,
            structured=settings.llm_structured_output,
        )

    # --- intake ----------------------------------------------------------------------

    async def run(self, stream: Any) -> None:
        """The agent body: route each hand-off record to its match; never blocks on the LLM."""
        manual = stream.noack()
        async for event in manual.events():
            if self._stopping:
                # The worker is stopping after a failure no retry fixed: take nothing
                # more, ack nothing (a new desk would publish later batches before the
                # unacked ones); faust ends this loop when it stops the stream.
                continue
            message = event.message
            try:
                await self.submit(
                    key=message.key,
                    value=message.value,
                    partition=message.partition,
                    offset=message.offset,
                    ack=lambda event=event: manual.ack(event),
                )
            except Exception as exc:
                # A dead letter that cannot be delivered (or a bug): nothing is acked past
                # this record, and the worker stops so that it is read again.
                log.critical(
                    "pitchcast.commentary.stopping",
                    extra={"where": "intake", "partition": message.partition,
                           "offset": message.offset, "error_kind": type(exc).__name__},
                    exc_info=exc,
                )  # fmt: skip
                self.metrics.add("worker_stops", reason=type(exc).__name__)
                if self._crash is None:
                    raise
                # No raise: faust's supervisor would restart the agent and hand it the
                # partition's next records while the app shuts down.
                self._stopping = True
                await self._crash(exc)

    async def submit(
        self, *, key: bytes | None, value: bytes | None, partition: int, offset: int, ack: Ack
    ) -> None:
        """Take one hand-off record; bad ones go to the dead-letter topic and are acked.

        A dead letter that cannot be delivered raises: the record stays unacked and
        :meth:`run` stops the worker (as in the batch agent). Acking it would lose it,
        and leaving it unacked while the agent goes on would hold its partition's
        commit for the whole assignment. The restarted worker reads it again.
        """
        order = self._acks.setdefault(partition, _AckOrder())
        order.register(offset, ack)
        try:
            record = decode_handoff(value, max_bytes=self.settings.max_message_bytes)
        except InvalidMessage as exc:
            await self._dead_letters.send(
                source_topic=self.settings.topic_batches,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                error_kind=exc.kind,
                error_message=str(exc),
            )
            await order.release([offset])
            return
        desk = self._desks.get(record.game_id)
        if desk is None:
            desk = self._desks[record.game_id] = _Desk(record.game_id, key, partition)
            desk.next_to_publish = record.batch_index
            self._start(desk)
        if desk.next_to_publish is not None and record.batch_index < desk.next_to_publish:
            # A copy of a batch this worker already published (a redelivery, or a match
            # replayed from its start): nothing to write or publish again.
            self.metrics.add("handoff_duplicates")
            if isinstance(record, Batch):
                self.metrics.add("commentary_already_published", len(self.settings.personas))
            await order.release([offset])
            return
        work = desk.work(record.batch_index)
        work.offsets.append(offset)
        if isinstance(record, BatchAction):
            if record.position not in work.actions:
                work.actions[record.position] = record.action
                work.appended_ms[record.position] = record.appended_ts_ms
            if record.opening is not None:
                work.opening = record.opening
        else:
            self._check_close(work, record)
            work.close = record
        work.notify()

    def _check_close(self, work: _BatchWork, batch: Batch) -> None:
        for position, action in enumerate(batch.actions):
            seen = work.actions.get(position)
            if seen is not None and seen.action_id != action.action_id:
                self.metrics.add("handoff_mismatches")
                log.error(
                    "pitchcast.commentary.handoff_mismatch",
                    extra={"game_id": batch.game_id, "batch_index": batch.batch_index},
                )
            work.actions[position] = action
            work.appended_ms.setdefault(position, batch.closed_by_ts_ms or 0)

    def _start(self, desk: _Desk) -> None:
        for persona in self.settings.personas:
            desk.tasks.append(asyncio.create_task(self._lane(desk, persona)))
        desk.tasks.append(asyncio.create_task(self._publisher(desk)))

    # --- revoke / shutdown -----------------------------------------------------------

    async def revoke(self, partitions: set[int] | None = None, *, timeout_s: float = 5.0) -> int:
        """Cancel the desks of ``partitions`` (all when None) without acking their records;
        wait at most ``timeout_s`` for their tasks (LLM calls in flight) to unwind."""
        dropped = [
            d for d in self._desks.values() if partitions is None or d.partition in partitions
        ]
        for desk in dropped:
            self._drop(desk)
        # Their records are delivered again: the ack order starts over with them.
        for partition in list(self._acks):
            if partitions is None or partition in partitions:
                del self._acks[partition]
        tasks = [t for d in dropped for t in d.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        if dropped:
            self.metrics.add("desks_revoked", len(dropped))
        return len(dropped)

    def _drop(self, desk: _Desk) -> None:
        if self._desks.get(desk.game_id) is desk:
            del self._desks[desk.game_id]
        current = asyncio.current_task()
        for task in desk.tasks:
            if task is not current:
                task.cancel()
        desk.works.clear()  # un-acked records are let go: they are read again

    async def drain(self, timeout_s: float = 60.0) -> None:
        """Wait until every batch received so far is published (tests, benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while any(d.works and any(w.close for w in d.works.values()) for d in self._desks.values()):
            if loop.time() > deadline:
                raise TimeoutError("batches still unpublished")
            await asyncio.sleep(0.05)

    # --- lanes -------------------------------------------------------------------

    async def _lane(self, desk: _Desk, persona: Persona) -> None:
        index = desk.next_to_publish or 0
        try:
            while True:
                work = await desk.get(index)
                work.results[persona] = await self._write(desk, work, persona)
                work.notify()
                index += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._stop(desk, exc, "lane")

    async def _write(
        self, desk: _Desk, work: _BatchWork, persona: Persona
    ) -> CommentaryResult | AlreadyPublished:
        cid = commentary_id_for(work.game_id, work.batch_index, persona)
        if await self.writer.is_published(cid):
            self.metrics.add("commentary_already_published")
            return AlreadyPublished(cid)
        book = _LineBook(self, desk, work, persona)
        await book.restore()
        if self.mode == "live" and (work.opening is not None or work.close is None):
            while work.opening is None and work.close is None:
                await work.changed()
        if self.mode == "live" and work.opening is not None:
            result = await self._write_live(work, persona, book)
        else:
            while work.close is None:
                await work.changed()
            result = await self._write_whole(work, persona, book)
        return result

    async def _write_live(
        self, work: _BatchWork, persona: Persona, book: _LineBook
    ) -> CommentaryResult:
        turns: list[LiveTurn] = []
        done = book.next_position()
        if done:  # lines of an earlier owner: one turn that holds them
            rows = tuple(range(1, done + 1))
            lines = [(r, book.items[r - 1].tone, book.raw[r - 1]) for r in rows]
            structured = self.settings.llm_structured_output
            turns.append(LiveTurn(rows, render_answer(lines, structured=structured)))
        usage = [0, 0]
        reasons: list[str] = []
        while True:
            start, known = book.next_position(), work.known()
            if start < known:
                rows = list(range(start + 1, known + 1))

                async def on_item(item: CommentaryItem, source: Source) -> None:
                    await book.emit(item, None, source)

                written = await self._live.write_rows(
                    work.view(known), persona, turns, rows,
                    settled=book.settled_rows(), on_item=on_item,
                )  # fmt: skip
                # The line store may hold another owner's text: record sources and raw
                # text only for the lines this request really wrote.
                for row, item in written.items.items():
                    if book.items.get(row - 1) == item:
                        book.sources[row - 1] = written.sources[row]
                        book.raw[row - 1] = written.raw[row]
                turns.append(written.turn)
                usage[0] += written.usage.prompt_tokens
                usage[1] += written.usage.completion_tokens
                if written.fallback_reason:
                    reasons.append(written.fallback_reason)
                continue
            if work.close is not None and start >= len(work.close.actions):
                break
            await work.changed()
        return self._assemble(work, book, reasons, Usage(usage[0], usage[1]), None)

    async def _write_whole(
        self, work: _BatchWork, persona: Persona, book: _LineBook
    ) -> CommentaryResult | AlreadyPublished:
        batch = work.close
        assert batch is not None
        if book.next_position() >= len(batch.actions):
            return self._assemble(work, book, [], Usage(), None)

        async def on_item(item: CommentaryItem) -> None:
            await book.emit(item, None, None)

        outcome = await self.writer.write(batch, persona, on_item=on_item)
        if isinstance(outcome, AlreadyPublished):
            return outcome
        for item in outcome.items:  # whatever on_item did not take (it failed): take now
            await book.emit(item, None, None)
        reasons = [outcome.fallback_reason] if outcome.fallback_reason else []
        return self._assemble(work, book, reasons, outcome.usage, outcome)

    def _assemble(
        self,
        work: _BatchWork,
        book: _LineBook,
        reasons: list[str],
        usage: Usage,
        whole: CommentaryResult | None,
    ) -> CommentaryResult:
        close = work.close
        assert close is not None
        items = tuple(book.items[p] for p in range(len(close.actions)))
        if whole is not None:
            source = whole.source
            if book.restored and source == "template":
                source = "mixed"  # lines of an earlier owner came from the LLM stream
            model = whole.model
        else:
            kinds = {book.sources.get(p) or "llm" for p in range(len(close.actions))}
            source = "mixed" if len(kinds) > 1 else kinds.pop()
            model = getattr(self.writer.primary, "model", None) or self.writer.primary.name
            if source != "llm":
                model = "template" if source == "template" else f"{model}+template"
        return CommentaryResult(
            items=items,
            source=source,  # type: ignore[arg-type]
            model=model,
            usage=usage,
            fallback_reason=reasons[0] if reasons else None,
        )

    # --- publication ---------------------------------------------------------------

    async def publish_line(
        self,
        desk: _Desk,
        work: _BatchWork,
        persona: Persona,
        cid: str,
        position: int,
        item: CommentaryItem,
        final: bool,
        source: str,
    ) -> None:
        """Send one line to the lines topic and wait for the broker's ack."""
        if self._lines_topic is None:
            return
        line = CommentaryLine(
            commentary_id=cid,
            line_index=position,
            game_id=work.game_id,
            batch_index=work.batch_index,
            persona=persona,
            item=item,
            final=final,
            created_at=utc_now_iso(),
            source=source,
        )
        await send_until_acked(
            self._lines_topic,
            key=desk.key,
            value=encode(line),
            headers=line_headers(line),
            budget_s=self.settings.delivery_timeout_s,
            metrics=self.metrics,
        )
        self.metrics.add("lines_published", persona=persona, source=source)
        appended = work.appended_ms.get(position)
        if appended:
            lag_s = max(time.time() - appended / 1000.0, 0.0)
            self.metrics.observe("line_lag_seconds", lag_s, persona=persona, mode=self.mode)

    async def _publisher(self, desk: _Desk) -> None:
        index = desk.next_to_publish or 0
        personas = self.settings.personas
        try:
            while True:
                try:
                    work = await desk.get(index, idle_s=_DESK_IDLE_S)
                except TimeoutError:
                    if desk.works:
                        continue  # records wait for earlier ones: not idle
                    raise
                # Its close too: every record of the batch is acked together.
                while work.close is None or len(work.results) < len(personas):
                    await work.changed()
                for persona in personas:
                    result = work.results[persona]
                    if isinstance(result, AlreadyPublished):
                        continue
                    await self._publish_record(desk, work, persona, result)
                await self._acks[desk.partition].release(work.offsets)
                desk.works.pop(index, None)
                index += 1
                desk.next_to_publish = index
                if work.close.close_reason == "match_end":
                    break
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._stop(desk, exc, "publisher")
            return
        self._drop(desk)

    async def _stop(self, desk: _Desk, exc: Exception, where: str) -> None:
        """A failure no retry fixed (Kafka unreachable past the delivery budget, a bug):
        nothing of the match is acked, and the worker stops, so every record of it is
        read again after the restart instead of sitting unacknowledged."""
        log.critical(
            "pitchcast.commentary.stopping",
            extra={"game_id": desk.game_id, "where": where, "error_kind": type(exc).__name__},
            exc_info=exc,
        )
        self.metrics.add("worker_stops", reason=type(exc).__name__)
        self._stopping = True
        self._drop(desk)
        if self._crash is not None:
            await self._crash(exc)

    async def _publish_record(
        self, desk: _Desk, work: _BatchWork, persona: Persona, result: CommentaryResult
    ) -> None:
        batch = work.close
        assert batch is not None
        commentary = build_commentary(batch, persona, result)
        if await self.writer.is_published(commentary.commentary_id):
            self.metrics.add("commentary_already_published")
            return
        await send_until_acked(
            self._topic,
            key=desk.key,
            value=encode(commentary),
            headers=commentary_headers(commentary),
            budget_s=self.settings.delivery_timeout_s,
            metrics=self.metrics,
        )
        await self.writer.mark_published(commentary.commentary_id)
        self.metrics.add("commentary_published", source=result.source, persona=persona)
        if batch.closed_by_ts_ms is not None:
            latency = time.time() * 1000 - batch.closed_by_ts_ms
            self.metrics.observe("commentary_latency_seconds", latency / 1000.0, persona=persona)
