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
:class:`~pitchcast.commentary.publisher.Publisher` the lanes are handed; the book holds
a shown line only once it went out, so a send that failed is claimed and sent again. A restarted or
new owner reuses stored lines, publishes those never published, and asks the LLM only
for the rest. The result of a batch (:meth:`Lanes.write`) is assembled from exactly
those lines; the agent publishes it. No Kafka or Redis here.
"""

from __future__ import annotations

import logging
from typing import Literal

import orjson

from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.density import Density, decide, told_in
from pitchcast.commentary.desk import BatchWork, Desk
from pitchcast.commentary.guarded import CONTEXT_LENGTH_REASON
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.publisher import Publisher
from pitchcast.commentary.service import (
    AlreadyPublished,
    CommentaryService,
    current_line_source,
)
from pitchcast.commentary.template.moments import (
    MOMENT_LINE_INDEX,
    Moment,
    moment_after,
    moment_before,
    write_moment,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import (
    CommentaryItem,
    CommentaryLine,
    PeriodEnd,
    Story,
    Usage,
    commentary_id_for,
)
from pitchcast.schemas.timestamps import utc_now_iso
from pitchcast.settings import Persona, Settings

__all__ = ["RESTORED_REASON", "Lanes", "LineBook"]

log = logging.getLogger("pitchcast.commentary")

_MOMENT_INDEXES = frozenset(MOMENT_LINE_INDEX.values())

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
        density: Density = "every",
    ) -> None:
        self.publisher = publisher
        self.density = density
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
        # Lines of the match's flow (kick-off, half-time...): line index -> published.
        self.moments: dict[int, bool] = {}

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
        # In the order they were first published: a kick-off line before the batch's lines.
        for position in sorted(stored, key=lambda p: (p != MOMENT_LINE_INDEX["before"], p)):
            text, published = stored[position]
            if position in _MOMENT_INDEXES:
                self.moments[position] = published
                if not published:
                    await self._publish_moment(position, orjson.loads(text))
                continue
            self._take(position, text)
            self.restored += 1
            if not published and self.items[position].shown:
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
        # Density: an action told with another's line is stored (the record keeps one
        # item per action) but never published as a line.
        known = [self.work.actions.get(p) for p in range(position + 1)]
        item = told_in(item, known, self.density, self._story())
        payload = orjson.dumps({"item": item, "raw": raw, "source": source})
        stored = await self.publisher.claim_line(self.cid, position, payload)
        if stored != payload:
            self.metrics.add("lines_claimed_elsewhere", persona=self.persona)
        self._take(position, stored)
        if self.items[position].shown:
            try:
                await self._publish(position)
            except BaseException:
                # Not out: the book holds only lines that went out (or silent ones), so
                # the next emit claims it again and sends it, and no record assembled
                # from the book carries it unsent (a swallowed error used to leave it so).
                self._forget(position)
                raise

    def _story(self) -> Story | None:
        """The story when the batch opened: its tail decides the first actions."""
        opening, close = self.work.opening, self.work.close
        return opening.story if opening is not None else close.story if close else None

    def _take(self, position: int, stored: bytes) -> None:
        data = orjson.loads(stored)
        self.items[position] = CommentaryItem(**data["item"])
        self.raw[position] = data.get("raw") or self.items[position].description
        self.sources[position] = data.get("source")

    def _forget(self, position: int) -> None:
        for held in (self.items, self.raw, self.sources):
            held.pop(position, None)

    async def settle_silent(self, rows: range) -> list[int]:
        """Store the silent items of ``rows`` (1-based); return the shown rows to write."""
        actions = [self.work.actions.get(p) for p in range(rows.stop - 1)]
        if self.density == "every" or any(a is None for a in actions):
            return list(rows)
        told = decide([a for a in actions if a is not None], self.density, self._story())
        for row in rows:
            if not told[row - 1].shown:
                action = actions[row - 1]
                assert action is not None
                silent = CommentaryItem(action.action_id, action.time_seconds, "calm", "")
                await self.emit(silent, None, "template")
        return [row for row in rows if told[row - 1].shown]

    async def restore_moments(self) -> None:
        """Only the moment lines an earlier owner stored (the book of a batch published
        already): whether each went out, and those that did not, published now."""
        stored = await self.publisher.stored_lines(self.cid)
        for index in sorted(_MOMENT_INDEXES & stored.keys()):
            text, published = stored[index]
            self.moments[index] = published
            if not published:
                await self._publish_moment(index, orjson.loads(text))

    async def emit_moment(self, moment: Moment, item: CommentaryItem) -> None:
        """A line of the match's flow: claimed like a line (the first text wins), then
        published once; not an item of the record (it tells no action)."""
        index = moment.line_index
        if self.moments.get(index):
            return
        payload = orjson.dumps({"item": item, "raw": None, "source": "control"})
        stored = await self.publisher.claim_line(self.cid, index, payload)
        await self._publish_moment(index, orjson.loads(stored))

    async def _publish_moment(self, index: int, data: dict[str, object]) -> None:
        line = CommentaryLine(
            commentary_id=self.cid,
            line_index=index,
            game_id=self.work.game_id,
            batch_index=self.work.batch_index,
            persona=self.persona,
            item=CommentaryItem(**data["item"]),  # type: ignore[arg-type]
            final=False,
            created_at=utc_now_iso(),
            source="control",
        )
        await self.publisher.send_line(line, key=self.desk.key, source="control", appended_ms=None)
        self.moments[index] = True

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
            min_attempt_s=settings.llm_min_attempt_s,
            max_wait_s=settings.llm_live_max_wait_s,
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
                # The end of the period after the previous batch, when it came after that
                # batch had closed: told as it arrives, before any line of the next batch
                # (in the log it comes before the next batch's records).
                while True:
                    arrival = desk.next_arrival()
                    await self._tell_period_end(desk, index - 1, persona)
                    if index in desk.works:
                        break
                    await arrival.wait()
                work = desk.works[index]
                work.results[persona] = await self.write(desk, work, persona)
                work.notify()
                index += 1
        finally:
            slots.add_lane(-1)

    def _note_told_before(self, desk: Desk, work: BatchWork) -> None:
        """Once a match: its batches were published before, so none goes out again.
        A restart re-delivers a tail of batches told already (normal); a match's first
        batch told already is a replay over the same Redis, which would be silent."""
        if desk.told_before_noted:
            return
        desk.told_before_noted = True
        log.log(
            logging.WARNING if work.batch_index == 0 else logging.INFO,
            "pitchcast.commentary.told_before",
            extra={
                "game_id": work.game_id,
                "batch_index": work.batch_index,
                "hint": "batches marked published in Redis are not published again; to tell"
                " a match again (a replay onto new topics), give the run its own"
                f" PITCHCAST_REDIS_NAMESPACE (now {self.settings.redis_namespace!r})",
            },
        )

    def _book(self, desk: Desk, work: BatchWork, persona: Persona) -> LineBook:
        return LineBook(
            self.publisher, self.metrics, desk, work, persona,
            batch_size=self.settings.batch_size, density=self.settings.density,
        )  # fmt: skip

    async def write(
        self, desk: Desk, work: BatchWork, persona: Persona
    ) -> CommentaryResult | AlreadyPublished:
        """One batch of one persona: its lines published, its result assembled."""
        cid = commentary_id_for(work.game_id, work.batch_index, persona)
        if await self.publisher.is_published(cid):
            self.metrics.add("commentary_already_published")
            self._note_told_before(desk, work)
            return AlreadyPublished(cid)
        book = self._book(desk, work, persona)
        await book.restore()
        if self.mode == "live" and (work.opening is not None or work.close is None):
            while work.opening is None and work.close is None:
                await work.changed()
        result: CommentaryResult | AlreadyPublished
        if self.mode == "live" and work.opening is not None:
            await self._moment(book, work, persona, before=True)
            result = await self._write_live(work, persona, book)
        else:
            while work.close is None:
                await work.changed()
            await self._moment(book, work, persona, before=True)
            result = await self._write_whole(work, persona, book)
        await self._moment(book, work, persona, before=False)
        return result

    async def _moment(
        self, book: LineBook, work: BatchWork, persona: Persona, *, before: bool
    ) -> None:
        """Kick-off before the batch's first line, half-time or full time after its last
        (template/moments.py), at the densities that tell moments (not ``every``)."""
        if book.density == "every":
            return
        opening, close = work.opening, work.close
        info = opening.match_info if opening is not None else close.match_info if close else None
        if before:
            first = work.actions.get(0)
            story = opening.story if opening is not None else close.story if close else None
            moment = None if first is None else moment_before(first, story)
        else:
            moment = None if close is None else moment_after(close)
        if moment is not None:
            line = write_moment(moment, persona, info, self.settings.friend_supports)
            await book.emit_moment(moment, line)

    async def _tell_period_end(self, desk: Desk, batch_index: int, persona: Persona) -> None:
        end = desk.period_ends.get(batch_index)
        if end is None or persona in end.told:
            return
        await self.tell_period_end(desk, end.mark, (persona,))
        end.tell(persona, len(self.settings.personas))

    async def tell_period_end(
        self, desk: Desk, mark: PeriodEnd, personas: tuple[Persona, ...] | None = None
    ) -> None:
        """The end of a period whose batch had closed already (full, or idle, on the
        period's last action): the moment after that batch's last action, once that
        batch's lines are out (every persona by default). Claimed and published once like
        every moment line (a copy of the mark finds it published)."""
        if self.settings.density == "every":
            return
        moment = moment_after(mark)
        if moment is None:
            return
        work = BatchWork(mark.game_id, mark.batch_index)
        for persona in personas or self.settings.personas:
            book = self._book(desk, work, persona)
            await book.restore_moments()
            line = write_moment(moment, persona, mark.match_info, self.settings.friend_supports)
            await book.emit_moment(moment, line)

    async def _write_live(
        self, work: BatchWork, persona: Persona, book: LineBook
    ) -> CommentaryResult:
        turns: list[LiveTurn] = []
        done = book.next_position()
        # Lines of an earlier owner: one turn that holds them (the shown ones).
        restored = tuple(r for r in range(1, done + 1) if book.items[r - 1].shown)
        if restored:
            lines = [(r, book.items[r - 1].tone, book.raw[r - 1]) for r in restored]
            structured = self.settings.llm_structured_output
            turns.append(LiveTurn(restored, render_answer(lines, structured=structured)))
        usage = [0, 0]
        reasons: list[str] = []
        while True:
            start, known = book.next_position(), work.known()
            if start < known:
                rows = await self.rows_to_write(book, start, known)
                if not rows:
                    continue

                async def on_item(item: CommentaryItem, source: Source) -> None:
                    await book.emit(item, None, source)

                # With llm_live_max_wait_s, a line's wait counts from its row's arrival,
                # so a lane behind a slow LLM never holds a line longer than that.
                arrived = [work.arrived_at.get(row - 1) for row in rows]
                since = min((t for t in arrived if t is not None), default=None)
                written = await self._live.write_rows(
                    work.view(known), persona, turns, rows,
                    settled=book.settled_rows(), on_item=on_item, since=since,
                )  # fmt: skip
                # The line store may hold another owner's text: record sources and raw
                # text only for the lines this request really wrote.
                for row, item in written.items.items():
                    if book.items.get(row - 1) == item:
                        book.sources[row - 1] = written.sources[row]
                        book.raw[row - 1] = written.raw[row]
                turns.append(written.turn)
                if (written.fallback_reason or "").startswith(CONTEXT_LENGTH_REASON):
                    # The server's context cannot hold this conversation: every later
                    # request of the batch would be refused too. Start it again: the
                    # next burst's prompt holds the actions so far, not the earlier turns.
                    turns.clear()
                    self.metrics.add("live_conversation_restarts", persona=persona)
                    log.warning(
                        "pitchcast.live.conversation_restarted",
                        extra={
                            "game_id": work.game_id, "batch_index": work.batch_index,
                            "persona": persona, "row": rows[-1],
                        },
                    )  # fmt: skip
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
    async def rows_to_write(book: LineBook, start: int, known: int) -> list[int]:
        """The next burst of a live lane: of the rows (1-based) after the ``start`` lines
        written, up to the ``known`` actions, the shown ones. The one place that says
        which rows a burst writes: at a density below ``every`` the silent rows are
        stored at once as told with another line (:meth:`LineBook.settle_silent`), and
        the LLM is asked only for the shown ones."""
        return await book.settle_silent(range(start + 1, known + 1))

    async def _write_whole(
        self, work: BatchWork, persona: Persona, book: LineBook
    ) -> CommentaryResult | AlreadyPublished:
        batch = work.close
        assert batch is not None
        if book.next_position() >= len(batch.actions):
            return self._assemble(work, book, [], Usage(), None)

        async def on_item(item: CommentaryItem) -> None:
            await book.emit(item, None, None)

        # Density: the LLM is asked only for the shown rows (None: every row is shown).
        told = decide(batch.actions, book.density, batch.story)
        shown = [row for row, t in enumerate(told, start=1) if t.shown]
        rows = shown if len(shown) < len(told) else None
        if rows == []:  # nothing to tell (key density): no request at all
            await book.settle_silent(range(1, len(batch.actions) + 1))
            return self._assemble(work, book, [], Usage(), None)
        outcome = await self.writer.write(batch, persona, on_item=on_item, rows=rows)
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
            # Who wrote the shown lines (a silent item has no text: no writer).
            shown = [p for p in range(len(close.actions)) if items[p].shown]
            kinds = {book.sources.get(p) or "llm" for p in shown}
            if not kinds:  # no line (key density): the configured writer, no fallback
                kinds = {"template" if self.writer.primary.name == "template" else "llm"}
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
