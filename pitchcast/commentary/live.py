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

The breaker and the in-flight bound are the :class:`~.service.CommentaryService`'s, so
batch and live requests of one worker share them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pitchcast.commentary.backends.base import ItemCallback, RowsAnswer
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import DeliveryFailed, LLMCircuitOpen, LLMError, LLMRequestRefused
from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona

__all__ = ["LineCallback", "LiveWriter", "RowsWritten"]

logger = logging.getLogger("pitchcast.live")

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
        if self.service.primary.name == "template":
            pass  # the template is the primary: it writes below
        elif self.service.breaker.state == "open" or not self.service.breaker.allow():
            reason = "circuit_open"
        else:
            answer, reason = await self._ask(batch, persona, turns, rows, settled, sink)
        # What the LLM left out, the template writes, in row order after the valid lines.
        missing = [row for row in rows if row not in emitted]
        llm_items = dict(answer.items) if answer is not None else {}
        sources: dict[int, Source] = dict.fromkeys(emitted, "llm")
        raw = dict(answer.raw) if answer is not None else {}
        if missing:
            template = await self.service.fallback.write_rows(  # type: ignore[attr-defined]
                batch, persona, turns, rows, settled=settled
            )
            for row in missing:
                item = llm_items.get(row)
                if item is None:
                    item = template.items[row]
                    raw[row] = template.raw[row]
                    sources[row] = "template"
                    if self.service.primary.name != "template":
                        reason = reason or "invalid_line"
                else:
                    sources[row] = "llm"
                emitted[row] = item
                await on_item(item, sources[row])
        if reason is not None:
            source = "template" if all(s == "template" for s in sources.values()) else "mixed"
            self.service.metrics.add("fallbacks", reason=reason.split(":", 1)[0], source=source)
            logger.warning(
                "pitchcast.commentary.fallback",
                extra={
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                    "reason": reason,
                    "source": source,
                    "rows": [row for row, s in sources.items() if s == "template"],
                    "mode": "live",
                },
            )
        if answer is not None:
            self.service.count_tokens(answer.usage)
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

    async def _ask(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        settled: Mapping[int, CommentaryItem],
        sink: ItemCallback,
    ) -> tuple[RowsAnswer | None, str | None]:
        service = self.service
        metrics = service.metrics
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        labels = {"persona": persona, "mode": "live"}
        verdict = False
        called = False
        outcome = "cancelled"
        started = 0.0
        first_line = False

        async def timed(item: CommentaryItem) -> None:
            nonlocal first_line
            if not first_line:
                first_line = True
                metrics.observe("llm_time_to_first_line_seconds", loop.time() - started, **labels)
            await sink(item)

        try:
            async with asyncio.timeout_at(deadline), service.in_flight:
                called = True
                started = loop.time()
                metrics.add("llm_in_flight", 1)
                try:
                    answer: RowsAnswer = await service.primary.write_rows(  # type: ignore[attr-defined]
                        batch, persona, turns, rows, settled=settled, deadline=deadline,
                        on_item=timed,
                    )  # fmt: skip
                finally:
                    metrics.add("llm_in_flight", -1)
            verdict = True
            outcome = "ok"
            metrics.observe("llm_request_seconds", loop.time() - started, **labels)
            service.record_success()
            reason = None
            if answer.problems:
                outcome = "rejected"
                reason = "rejected: " + answer.problems[0][:120]
            return answer, reason
        except TimeoutError:
            verdict = True
            outcome = "deadline"
            service.record_failure()
            return None, "deadline"
        except LLMCircuitOpen:
            outcome = "circuit_open"
            return None, "circuit_open"
        except LLMRequestRefused as exc:
            # The endpoint is up and refused this request: no verdict on the breaker.
            outcome = exc.kind
            return None, f"{exc.kind}: HTTP {exc.status}"
        except LLMError as exc:
            verdict = True
            outcome = exc.kind
            service.record_failure(exc)
            return None, exc.kind
        except (asyncio.CancelledError, DeliveryFailed):
            raise  # a line that could not be published is not the LLM's failure
        except Exception as exc:
            verdict = True
            outcome = "unexpected"
            service.record_failure()
            logger.exception(
                "pitchcast.live.backend_error",
                extra={
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                    "error_kind": type(exc).__name__,
                },
            )
            return None, f"unexpected: {type(exc).__name__}"
        finally:
            if not verdict:
                service.breaker.release()  # cancelled: free a half-open probe
            if called:
                metrics.add("llm_requests", endpoint=service.endpoint, outcome=outcome)


def _row_of(batch: Batch, item: CommentaryItem, rows: Sequence[int]) -> int | None:
    for row in rows:
        if batch.actions[row - 1].action_id == item.action_id:
            return row
    return None
