"""Lanes: per (match, persona), the match's batches written one after the other.

* ``live`` mode: as soon as actions arrive, the lane asks for their lines as one burst
  (:meth:`Lanes.rows_to_write`; with ``llm_live_forks`` > 1 one request per row, sent
  at once: :mod:`.live`); everything that arrived meanwhile waits for the burst's turn
  to be appended and goes in the next one, never across a batch boundary; each line
  is published the moment it and the burst's earlier lines are valid;
* ``batch`` mode, or a batch whose first records this worker never saw: the lane waits
  for the close and writes the whole batch at once (the commentary service: cache,
  lock, retries, repair, template fallback), publishing each line as it is valid.

Every line goes through its :class:`LineBook`: claimed in the line store (the first text
of a line id wins), then published, then marked published, through the
:class:`~pitchcast.commentary.publisher.Publisher` the lanes are handed. A restarted or
new owner reuses stored lines, publishes those never published, and asks the LLM only
for the rest. The result of a batch (:meth:`Lanes.write`) is assembled from exactly
those lines; the agent publishes it. No Kafka or Redis here.
"""

from __future__ import annotations

from typing import Literal

import orjson

from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.desk import BatchWork, Desk
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.publisher import Publisher
from pitchcast.commentary.service import (
    AlreadyPublished,
    CommentaryService,
    current_line_source,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem, CommentaryLine, Usage, commentary_id_for
from pitchcast.schemas.timestamps import utc_now_iso
from pitchcast.settings import Persona, Settings

__all__ = ["RESTORED_REASON", "Lanes", "LineBook"]

Source = Literal["llm", "template"]


# The fallback reason of a record whose template lines were written before a restart.
RESTORED_REASON = "restored: template lines of an earlier owner"


class LineBook:
    """The lines of one (batch, persona): stored first, then published, in order."""

    def __init__(
        self,
        publisher: Publisher,
        metrics: Metrics,
        desk: Desk,
        work: BatchWork,
        persona: Persona,
        *,
        batch_size: int,
    ) -> None:
        self.publisher = publisher
        self.metrics = metrics
        self.desk = desk
        self.work = work
        self.persona = persona
        self.batch_size = batch_size
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
        stored = await self.publisher.stored_lines(self.cid)
        for position in sorted(stored):
            text, published = stored[position]
            self._take(position, text)
            self.restored += 1
            if not published:
                await self._publish(position)
        if stored:
            self.metrics.add("lines_restored", len(stored), persona=self.persona)

    async def emit(self, item: CommentaryItem, raw: str | None, source: Source | None) -> None:
        """Claim, publish and mark one line (a line already in the book stays as it is)."""
        position = self.work.position_of(item.action_id)
        if position is None or position in self.items:
            return
        if source is None:  # batch mode: the service says who wrote the line
            source = "template" if current_line_source() == "template" else "llm"
        payload = orjson.dumps({"item": item, "raw": raw, "source": source})
        stored = await self.publisher.claim_line(self.cid, position, payload)
        if stored != payload:
            self.metrics.add("lines_claimed_elsewhere", persona=self.persona)
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
        return position == self.batch_size - 1

    async def _publish(self, position: int) -> None:
        source = self.sources.get(position) or "llm"
        line = CommentaryLine(
            commentary_id=self.cid,
            line_index=position,
            game_id=self.work.game_id,
            batch_index=self.work.batch_index,
            persona=self.persona,
            item=self.items[position],
            final=self._is_final(position),
            created_at=utc_now_iso(),
            source=source,
        )
        await self.publisher.send_line(
            line,
            key=self.desk.key,
            source=source,
            appended_ms=self.work.appended_ms.get(position),
        )


class Lanes:
    """Writes each lane's batches: live as actions arrive, or whole once closed."""

    def __init__(
        self,
        *,
        settings: Settings,
        writer: CommentaryService,
        publisher: Publisher,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.publisher = publisher
        self.metrics = metrics
        self.mode = settings.llm_mode
        self._live = LiveWriter(
            writer,
            deadline_s=settings.llm_live_deadline_s,
            structured=settings.llm_structured_output,
            forks=settings.llm_live_forks,
        )

    async def run(self, desk: Desk, persona: Persona) -> None:
        """The lane: the desk's batches from the next one to publish on, in order; each
        result is handed to the work (the agent publishes it). Runs until cancelled;
        a failure no retry fixed raises."""
        index = desk.next_to_publish or 0
        slots = self.writer.guarded.slots
        slots.add_lane()  # forks of other lanes leave this lane a slot (in_flight.py)
        try:
            while True:
                work = await desk.get(index)
                work.results[persona] = await self.write(desk, work, persona)
                work.notify()
                index += 1
        finally:
            slots.add_lane(-1)

    async def write(
        self, desk: Desk, work: BatchWork, persona: Persona
    ) -> CommentaryResult | AlreadyPublished:
        """One batch of one persona: its lines published, its result assembled."""
        cid = commentary_id_for(work.game_id, work.batch_index, persona)
        if await self.publisher.is_published(cid):
            self.metrics.add("commentary_already_published")
            return AlreadyPublished(cid)
        book = LineBook(
            self.publisher, self.metrics, desk, work, persona,
            batch_size=self.settings.batch_size,
        )  # fmt: skip
        await book.restore()
        if self.mode == "live" and (work.opening is not None or work.close is None):
            while work.opening is None and work.close is None:
                await work.changed()
        if self.mode == "live" and work.opening is not None:
            return await self._write_live(work, persona, book)
        while work.close is None:
            await work.changed()
        return await self._write_whole(work, persona, book)

    async def _write_live(
        self, work: BatchWork, persona: Persona, book: LineBook
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
                rows = self.rows_to_write(start, known)

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

    @staticmethod
    def rows_to_write(start: int, known: int) -> list[int]:
        """The next burst of a live lane: the rows (1-based) after the ``start`` lines
        written, up to the ``known`` actions. The one place that says which rows a burst
        writes (a filter on which rows are shown belongs here)."""
        return list(range(start + 1, known + 1))

    async def _write_whole(
        self, work: BatchWork, persona: Persona, book: LineBook
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
        work: BatchWork,
        book: LineBook,
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
        reason = reasons[0] if reasons else None
        if reason is None and source != "llm" and book.restored:
            # Template lines an earlier owner stored: the store keeps who wrote a line,
            # not why, and a record not written by the LLM alone always says why.
            reason = RESTORED_REASON
        return CommentaryResult(
            items=items,
            source=source,  # type: ignore[arg-type]
            model=model,
            usage=usage,
            fallback_reason=reason,
        )
