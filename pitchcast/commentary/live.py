"""Live mode: the lines of a few actions of a batch that is still filling.

:meth:`LiveWriter.write_rows` is what the commentary agent calls each time actions
arrived since its previous request for a (match, persona): it never raises for a batch
(only cancellation goes through) and returns one line per asked row. In order:

1. while the circuit breaker is open, or with no LLM configured, the template writes
   the rows at once;
2. otherwise the primary backend writes them in the batch's growing conversation
   (:mod:`.conversation`), holding one of the worker's in-flight slots only while the
   request is really in flight, within ``deadline_s``; valid lines go to ``on_item``
   in row order as they stream in;
3. a row the LLM did not write validly (an invalid line, a cut answer, an error, the
   deadline) is written by the template at once, in row order: a live line is wanted
   within seconds, so there is no repair round here (batch mode keeps it).

The request goes through the :class:`~.service.CommentaryService`'s guarded call
(:mod:`.guarded`: breaker, in-flight slot, deadline, verdict, figures), so batch and
live requests of one worker share the breaker and the slots. An answer with problems
is a success for the breaker and ``rejected`` in ``llm_requests``; its valid rows stay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pitchcast.commentary.backends.base import ItemCallback, RowsAnswer
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.service import CommentaryService
from pitchcast.schemas.records import Batch, CommentaryItem, Usage, commentary_id_for
from pitchcast.settings import Persona

__all__ = ["LineCallback", "LiveWriter", "RowsWritten"]

Source = Literal["llm", "template"]
# Called with each line, in row order, and who wrote it.
LineCallback = Callable[[CommentaryItem, Source], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RowsWritten:
    """One line per asked row, where each came from, and the turn to keep in history."""

    items: dict[int, CommentaryItem]
    raw: dict[int, str]
    sources: dict[int, Source]
    turn: LiveTurn
    usage: Usage = field(default_factory=Usage)
    fallback_reason: str | None = None


class LiveWriter:
    """Writes rows of a filling batch with the service's primary, the template filling in."""

    def __init__(self, service: CommentaryService, *, deadline_s: float, structured: bool) -> None:
        self.service = service
        self.deadline_s = deadline_s
        self.structured = structured

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem],
        on_item: LineCallback,
    ) -> RowsWritten:
        """One line per row of ``rows`` (1-based positions of ``batch``, which holds the
        actions so far). ``settled`` are the rows written before, ``turns`` their requests."""
        emitted: dict[int, CommentaryItem] = {}

        async def sink(item: CommentaryItem) -> None:
            row = _row_of(batch, item, rows)
            if row is not None and row not in emitted:
                emitted[row] = item
                await on_item(item, "llm")

        answer: RowsAnswer | None = None
        reason: str | None = None
        service = self.service
        if service.primary.name != "template":  # else the template, the primary, writes below
            deadline = asyncio.get_running_loop().time() + self.deadline_s

            def send(on_line: ItemCallback) -> Awaitable[RowsAnswer]:
                return service.primary.write_rows(
                    batch, persona, turns, rows, settled=settled, deadline=deadline, on_item=on_line
                )

            called = await service.guarded.call(
                send,
                deadline=deadline,
                persona=persona,
                mode="live",
                context={
                    "commentary_id": commentary_id_for(batch.game_id, batch.batch_index, persona),
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                },
                on_item=sink,
                judge=_rejected,
            )
            answer, reason = called.answer, called.reason
        # What the LLM left out, the template writes, in row order after the valid lines.
        missing = [row for row in rows if row not in emitted]
        llm_items = dict(answer.items) if answer is not None else {}
        sources: dict[int, Source] = dict.fromkeys(emitted, "llm")
        raw = dict(answer.raw) if answer is not None else {}
        if missing:
            template = await service.fallback.write_rows(
                batch, persona, turns, rows, settled=settled
            )
            for row in missing:
                item = llm_items.get(row)
                if item is None:
                    item = template.items[row]
                    raw[row] = template.raw[row]
                    sources[row] = "template"
                    if service.primary.name != "template":
                        reason = reason or "invalid_line"
                else:
                    sources[row] = "llm"
                emitted[row] = item
                await on_item(item, sources[row])
        if reason is not None:
            source = "template" if all(s == "template" for s in sources.values()) else "mixed"
            service.guarded.record_fallback(
                reason,
                source,
                {
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                    "rows": [row for row, s in sources.items() if s == "template"],
                    "mode": "live",
                },
            )
        every_row_from_llm = answer is not None and all(s == "llm" for s in sources.values())
        if every_row_from_llm and answer is not None and not answer.problems and answer.answer:
            text = answer.answer  # the model's own bytes: the prefix cache keeps them
        else:
            text = render_answer(
                [(row, emitted[row].tone, raw.get(row, emitted[row].description)) for row in rows],
                structured=self.structured,
            )
        return RowsWritten(
            items={row: emitted[row] for row in rows},
            raw={row: raw.get(row, emitted[row].description) for row in rows},
            sources=sources,
            turn=LiveTurn(tuple(rows), text),
            usage=answer.usage if answer is not None else Usage(),
            fallback_reason=reason,
        )


def _rejected(answer: RowsAnswer) -> str | None:
    """A live answer with problems was answered (a success for the breaker), but some
    rows need the template: ``rejected: <first problem>``."""
    return "rejected: " + answer.problems[0][:120] if answer.problems else None


def _row_of(batch: Batch, item: CommentaryItem, rows: Sequence[int]) -> int | None:
    for row in rows:
        if batch.actions[row - 1].action_id == item.action_id:
            return row
    return None
