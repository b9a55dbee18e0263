"""Live mode: the lines of a few actions of a batch that is still filling.

:meth:`LiveWriter.write_rows` is what the commentary agent calls each time actions
arrived since its previous request for a (match, persona): it never raises for a batch
(only cancellation goes through) and returns one line per asked row. In order:

1. while the circuit breaker is open, or with no LLM configured, the template writes
   the rows at once; so it does, with ``max_wait_s`` set, when the rows waited for
   their lane until less than ``min_attempt_s`` of it is left (``overdue``);
2. otherwise the primary backend writes them in the batch's growing conversation
   (:mod:`.conversation`), holding one of the worker's in-flight slots only while the
   request is really in flight, within ``deadline_s`` (and, with ``max_wait_s``, within
   that long of the oldest row's arrival at the worker, ``since``, so a lane behind a
   slow LLM never holds a line longer); valid lines go to ``on_item`` in row order as
   they stream in;
3. a row the LLM did not write validly (an invalid line, a cut answer, an error, the
   deadline) is written by the template at once, in row order: a live line is wanted
   within seconds, so there is no repair round here (batch mode keeps it).

With ``forks`` > 1 (``llm_live_forks``), step 2 is a burst of forks instead of one
request (:meth:`LiveWriter._write_forks`): one request per row, at most ``forks`` in
flight at once, each taking its own slot, all from the same prompt up to their last
part (the backend's ``fork``; one that would start with less than ``min_attempt_s``
left, having waited for a slot, is not sent: ``overdue``); lines are released in row
order, and a line that repeats an earlier line of its burst
(:mod:`pitchcast.checks.bursts`) is rewritten by the template (``live_burst_repeats``).
Whatever wrote them, the burst's lines become one assistant turn
(:class:`RowsWritten.turn`), so the next request extends the prompt.

The request goes through the :class:`~.service.CommentaryService`'s guarded call
(:mod:`.guarded`: breaker, in-flight slot, deadline, verdict, figures), so batch and
live requests of one worker share the breaker and the slots. An answer with problems
is a success for the breaker and ``rejected`` in ``llm_requests``; its valid rows stay.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pitchcast.checks.bursts import repeats_in_burst
from pitchcast.commentary.backends.base import ItemCallback, RowsAnswer
from pitchcast.commentary.breaker import FailureGroup
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.guarded import Guarded
from pitchcast.commentary.service import CommentaryService
from pitchcast.schemas.records import Batch, CommentaryItem, Usage, commentary_id_for
from pitchcast.settings import Persona

__all__ = ["OVERDUE_REASON", "LineCallback", "LiveWriter", "RowsWritten"]

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

    def __init__(
        self,
        service: CommentaryService,
        *,
        deadline_s: float,
        structured: bool,
        forks: int = 1,
        min_attempt_s: float = 0.5,
        max_wait_s: float | None = None,
    ) -> None:
        self.service = service
        self.deadline_s = deadline_s
        # A burst with less than this left of its deadline is not sent: the template
        # writes it at once (``overdue``), and no request is cut for a verdict.
        self.min_attempt_s = min_attempt_s
        # The longest a row waits from its arrival (None: each request gets deadline_s).
        self.max_wait_s = max_wait_s
        self.structured = structured
        # Requests of one burst in flight at once (1: the burst is one request of r lines).
        self.forks = forks

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem],
        on_item: LineCallback,
        since: float | None = None,
    ) -> RowsWritten:
        """One line per row of ``rows`` (1-based positions of ``batch``, which holds the
        actions so far). ``settled`` are the rows written before, ``turns`` their requests.
        ``since``: loop time the oldest row arrived; with :attr:`max_wait_s` the burst
        runs until ``since + max_wait_s`` at the latest, and one already too close to it
        is written by the template."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        if self.max_wait_s is not None and since is not None:
            deadline = min(deadline, since + self.max_wait_s)
        llm = self.service.primary.name != "template"
        overdue = llm and deadline - loop.time() < self.min_attempt_s
        if self.forks > 1 and llm and not overdue:
            return await self._write_forks(
                batch, persona, turns, rows, settled=settled, on_item=on_item, deadline=deadline
            )
        emitted: dict[int, CommentaryItem] = {}

        async def sink(item: CommentaryItem) -> None:
            row = _row_of(batch, item, rows)
            if row is not None and row not in emitted:
                emitted[row] = item
                await on_item(item, "llm")

        answer: RowsAnswer | None = None
        reason: str | None = OVERDUE_REASON if overdue else None
        service = self.service
        if llm and not overdue:  # else the template writes below

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

    async def _write_forks(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem],
        on_item: LineCallback,
        deadline: float,
    ) -> RowsWritten:
        """The burst ``rows`` as forks: one request per row, oldest row first, under one
        ``deadline`` (loop time). One runner sends them one after the other on the lane's own slot;
        up to :attr:`forks` - 1 more send the next rows on spare slots, when the worker
        has some (:mod:`.in_flight`). Lines are released in row order, each as soon as
        it and every earlier one is in (a fork that failed, or a line that repeats an
        earlier one of the burst, is written by the template there and then)."""
        service = self.service
        guarded = service.guarded
        loop = asyncio.get_running_loop()
        cid = commentary_id_for(batch.game_id, batch.batch_index, persona)
        pending = deque(rows)
        outcomes: dict[int, asyncio.Future[Guarded[RowsAnswer]]] = {
            row: loop.create_future() for row in rows
        }

        started = loop.time()
        running: dict[int, asyncio.Task[None]] = {}  # row -> the task writing it
        failures = FailureGroup()  # the burst's forks: one failure verdict at most

        async def fork(row: int, *, holding_slot: bool) -> None:
            task = asyncio.current_task()
            if task is not None:
                running[row] = task
            if deadline - loop.time() < self.min_attempt_s:
                # A fork that waited for a slot until too little is left is not sent, as
                # a burst or a retry would not be: the template writes its row now.
                outcomes[row].set_result(Guarded(None, OVERDUE_REASON))
                return

            def send(on_line: ItemCallback) -> Awaitable[RowsAnswer]:
                return service.primary.write_rows(
                    batch, persona, turns, rows,
                    settled=settled, deadline=deadline, on_item=on_line, fork=row,
                    failures=failures,
                )  # fmt: skip

            called = await guarded.call(
                send,
                deadline=deadline,
                persona=persona,
                mode="live",
                context={
                    "commentary_id": cid,
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                    "row": row,
                },
                judge=_rejected,
                holding_slot=holding_slot,
                failures=failures,
            )
            outcomes[row].set_result(called)

        async def runner() -> None:  # the lane's own slot: every row, if need be
            while pending:
                await fork(pending.popleft(), holding_slot=False)

        async def helper() -> None:  # a spare slot, only while rows are left
            while pending:
                async with guarded.slots.take(spare=True):
                    if not pending:
                        return
                    await fork(pending.popleft(), holding_slot=True)

        helpers = min(self.forks, len(rows)) - 1
        tasks = [asyncio.ensure_future(runner())]
        tasks += [asyncio.ensure_future(helper()) for _ in range(helpers)]
        for task in tasks:  # a bug in a runner must not leave the lane waiting forever
            task.add_done_callback(lambda t: _fail_pending(t, outcomes))
        items: dict[int, CommentaryItem] = {}
        raw: dict[int, str] = {}
        sources: dict[int, Source] = {}
        prompt_tokens = completion_tokens = cached_tokens = 0
        reason: str | None = None
        # The template's rows by the kind of their reason: (its first reason, rows).
        by_reason: dict[str, tuple[str, list[int]]] = {}
        template: RowsAnswer | None = None
        try:
            for row in rows:
                called = await _outcome(row, outcomes, running, started)
                answer = called.answer
                if answer is not None:
                    prompt_tokens += answer.usage.prompt_tokens
                    completion_tokens += answer.usage.completion_tokens
                    cached_tokens += answer.usage.cached_prompt_tokens
                item = answer.items.get(row) if answer is not None else None
                row_reason = called.reason if item is None else None
                if item is not None and answer is not None:
                    earlier = [items[r].description for r in rows if r in items]
                    repeat = repeats_in_burst(item.description, earlier, batch.roster)
                    if repeat is None:
                        items[row] = item
                        raw[row] = answer.raw.get(row, item.description)
                        sources[row] = "llm"
                    else:
                        service.metrics.add("live_burst_repeats", persona=persona, kind=repeat)
                        row_reason = f"repeated_in_burst: {repeat}"
                if row not in items:
                    if template is None:
                        template = await service.fallback.write_rows(
                            batch, persona, turns, rows, settled=settled
                        )
                    items[row] = template.items[row]
                    raw[row] = template.raw[row]
                    sources[row] = "template"
                    row_reason = row_reason or "invalid_line"
                    reason = reason or row_reason
                    kind = row_reason.split(":", 1)[0]
                    by_reason.setdefault(kind, (row_reason, []))[1].append(row)
                await on_item(items[row], sources[row])
        finally:
            for task in tasks:
                task.cancel()  # a cancelled lane, a line not published, idle helpers
            await asyncio.gather(*tasks, return_exceptions=True)
        # Each reason counted with its rows (the record keeps the first): behind a slow
        # endpoint a burst's repeat and its deadline cuts are different stories.
        source = "template" if all(s == "template" for s in sources.values()) else "mixed"
        for why, why_rows in by_reason.values():
            service.guarded.record_fallback(
                why,
                source,
                {
                    "game_id": batch.game_id,
                    "batch_index": batch.batch_index,
                    "persona": persona,
                    "rows": why_rows,
                    "mode": "live",
                },
            )
        # One assistant turn for the whole burst, however its lines were written.
        text = render_answer(
            [(row, items[row].tone, raw[row]) for row in rows], structured=self.structured
        )
        return RowsWritten(
            items={row: items[row] for row in rows},
            raw={row: raw[row] for row in rows},
            sources=sources,
            turn=LiveTurn(tuple(rows), text),
            usage=Usage(prompt_tokens, completion_tokens, cached_tokens),
            fallback_reason=reason,
        )


# The fallback reason of a burst whose rows waited for their lane until too little of
# their longest wait was left to ask the LLM (a lane behind a slow endpoint).
OVERDUE_REASON = "overdue"

# A fork still out when every other fork of its burst is in gets as long again as the
# burst took so far (at least this), then the template writes its row: the next burst
# waits for this one's turn, and one hung fork must not hold the lane to the deadline.
STRAGGLER_MIN_S = 0.25
STRAGGLER_REASON = "straggler"


async def _outcome(
    row: int,
    outcomes: Mapping[int, asyncio.Future[Guarded[RowsAnswer]]],
    running: Mapping[int, asyncio.Task[None]],
    started: float,
) -> Guarded[RowsAnswer]:
    """The fork of ``row``'s outcome, or, once it is the burst's last one out and its
    grace ran out, its task cancelled and ``straggler`` (the template writes the row)."""
    outcome = outcomes[row]
    others = [future for other, future in outcomes.items() if other != row]
    while not outcome.done():
        waiting = [future for future in others if not future.done()]
        if not waiting and others:
            loop = asyncio.get_running_loop()
            grace = max(STRAGGLER_MIN_S, loop.time() - started)
            try:
                # Not asyncio.wait_for: on Python 3.11 it returns the result and drops a
                # cancellation (a revoke) that lands in the turn the answer comes in.
                async with asyncio.timeout(grace):
                    return await asyncio.shield(outcome)
            except TimeoutError:
                task = running.get(row)
                if task is not None:
                    task.cancel()
                return Guarded(None, STRAGGLER_REASON)
        await asyncio.wait([outcome, *waiting], return_when=asyncio.FIRST_COMPLETED)
    return outcome.result()


def _fail_pending(
    task: asyncio.Future[None], outcomes: Mapping[int, asyncio.Future[Guarded[RowsAnswer]]]
) -> None:
    """A runner that raised (not cancelled): the rows nobody will answer fail with it."""
    if task.cancelled() or task.exception() is None:
        return
    for outcome in outcomes.values():
        if not outcome.done():
            outcome.set_exception(task.exception())  # type: ignore[arg-type]


def _rejected(answer: RowsAnswer) -> str | None:
    """A live answer with problems was answered (a success for the breaker), but some
    rows need the template: ``rejected: <first problem>``."""
    return "rejected: " + answer.problems[0][:120] if answer.problems else None


def _row_of(batch: Batch, item: CommentaryItem, rows: Sequence[int]) -> int | None:
    for row in rows:
        if batch.actions[row - 1].action_id == item.action_id:
            return row
    return None
