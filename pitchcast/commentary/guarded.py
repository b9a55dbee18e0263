"""The one guarded call to the primary LLM, for batch and live mode alike.

:meth:`GuardedLLM.call` wraps one backend request (a batch's :meth:`write`, a live
request's :meth:`write_rows`, later one fork of a burst) in everything a request to the
LLM owes the worker, in order:

1. the breaker: while it lets nothing through, nothing is sent (``circuit_open``);
2. the deadline (``asyncio.timeout_at``), which covers the wait for a slot too;
3. one of the worker's in-flight slots (:mod:`.in_flight`), held only while the
   request is in flight (``llm_in_flight``), so a hanging match never holds more than
   its own requests; a burst's extra forks bring a spare slot they already hold
   (``holding_slot``), taken only from idle capacity;
4. the breaker's verdict on what came back: an answer (even one judged invalid) is a
   success; a timeout, an outage or anything unexpected a failure; a refusal (a
   permanent 4xx), an open circuit met by the backend, a cancellation: no verdict, and
   a half-open probe taken is handed back;
5. the figures: ``llm_requests{outcome}``, ``llm_request_seconds``,
   ``llm_time_to_first_line_seconds``, ``llm_tokens``, ``breaker_opened``, and the
   reason the caller falls back with (:attr:`Guarded.reason`).

The lines the request streams reach the caller's ``on_item`` from a task of the call's
own (:class:`_Outbox`), in order and outside the deadline's scope; the call returns once
they are all handed on. A deadline that passed while a line was being published used to
cut its send after its claim: held as written, never sent.

Every call keeps its state in its own frame, so one lane may run several at once (each
takes its own slot). :meth:`GuardedLLM.record_fallback` is the one place that counts
``fallbacks`` and writes the ``pitchcast.commentary.fallback`` log, whatever the reason
(also one met before any call: the lock wait's deadline, a circuit open up front).

The breaker's verdicts on the service's breaker are recorded here and nowhere else. A
backend with several endpoints (openai) also records each attempt's verdict on its
endpoint's own breaker (:mod:`.backends.failover`); its service-level breaker is a view
that ignores the verdicts given here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pitchcast.commentary.backends.base import ItemCallback
from pitchcast.commentary.breaker import Breaker, FailureGroup
from pitchcast.commentary.in_flight import SlotPool
from pitchcast.commentary.validation import wording_refusals
from pitchcast.exceptions import (
    CommentaryRejected,
    DeliveryFailed,
    LLMCircuitOpen,
    LLMError,
    LLMRequestRefused,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem, Usage

__all__ = ["CONTEXT_LENGTH_REASON", "Guarded", "GuardedLLM", "refused_reason", "rejected_reason"]

logger = logging.getLogger("pitchcast.commentary")

_REASON_MAX_CHARS = 120


class _Answered(Protocol):
    @property
    def usage(self) -> Usage: ...


AnswerT = TypeVar("AnswerT", bound=_Answered)
# The request itself: called once, with the line callback to stream valid lines to.
Send = Callable[[ItemCallback], Awaitable[AnswerT]]
# A returned answer that is not good enough: the reason, else None.
Judge = Callable[[AnswerT], "str | None"]


@dataclass(frozen=True, slots=True)
class Guarded(Generic[AnswerT]):
    """What one guarded call came to.

    ``answer`` is what the backend returned (None when it raised or nothing was sent);
    ``reason`` the fallback reason when the caller must fill in with the template (None
    when the answer is good). Both are set for an answer the judge refused.
    """

    answer: AnswerT | None
    reason: str | None


class GuardedLLM:
    """Breaker, in-flight slots, deadline, verdicts and figures of the primary LLM.

    One per worker, shared by its batch and live requests.
    """

    def __init__(
        self,
        *,
        breaker: Breaker,
        metrics: Metrics,
        endpoint: str,
        backend: str,
        max_in_flight: int,
    ) -> None:
        self.breaker = breaker
        self.metrics = metrics
        # The endpoint as a metric label, and the backend's name for logs.
        self.endpoint = endpoint
        self.backend = backend
        # One bound for all matches of this worker: the LLM endpoint's concurrency.
        self.slots = SlotPool(max_in_flight)
        self._openings_seen = getattr(breaker, "times_opened", 0)
        self._refusals_said: set[int | None] = set()  # statuses whose hint was logged

    async def call(
        self,
        send: Send[AnswerT],
        *,
        deadline: float,
        persona: str,
        mode: str,
        context: Mapping[str, object],
        on_item: ItemCallback | None = None,
        judge: Judge[AnswerT] | None = None,
        holding_slot: bool = False,
        failures: FailureGroup | None = None,
    ) -> Guarded[AnswerT]:
        """``send(on_item)`` under the breaker, a slot and ``deadline`` (loop time).

        ``persona`` and ``mode`` label the timings; ``context`` names the request in
        logs (its ``commentary_id`` at least). ``holding_slot``: the caller holds a
        slot of :attr:`slots` already (a spare one), so none is taken here.
        ``failures``: the request's group (a burst's forks), whose failures count once
        on the breaker (the caller hands it to the backend too, whose endpoints'
        breakers count them once as well). Never
        raises for the backend's sake: cancellation and
        :class:`~pitchcast.exceptions.DeliveryFailed` (a line the agent could not
        publish, not the LLM's failure) go through.
        """
        # The lines go out from a task of their own: the deadline cuts the request, never
        # a line half-way through its publication (claimed, then its send cancelled).
        outbox = _Outbox(on_item) if on_item is not None else None
        try:
            called = await self._call(
                send, deadline=deadline, persona=persona, mode=mode, context=context,
                on_item=outbox.put if outbox is not None else None, judge=judge,
                holding_slot=holding_slot, failures=failures,
            )  # fmt: skip
        except BaseException:
            if outbox is not None:
                await outbox.abandon()
            raise
        if outbox is not None:  # every line the backend handed on is out before the caller goes on
            await outbox.drain()
        return called

    async def _call(
        self,
        send: Send[AnswerT],
        *,
        deadline: float,
        persona: str,
        mode: str,
        context: Mapping[str, object],
        on_item: ItemCallback | None,
        judge: Judge[AnswerT] | None,
        holding_slot: bool,
        failures: FailureGroup | None,
    ) -> Guarded[AnswerT]:
        if not self.breaker.allow():
            return Guarded(None, "circuit_open")
        metrics = self.metrics
        loop = asyncio.get_running_loop()
        timer = _LineTimer(metrics, on_item, persona=persona, mode=mode)
        called = False
        verdict = False
        outcome = "cancelled"  # what the call came to, for llm_requests
        try:
            async with asyncio.timeout_at(deadline) as scope:
                try:
                    async with contextlib.nullcontext() if holding_slot else self.slots.take():
                        called = True
                        timer.start(loop.time())
                        metrics.add("llm_in_flight", 1)
                        try:
                            answer = await send(timer)
                        finally:
                            metrics.add("llm_in_flight", -1)
                except TimeoutError:
                    if scope.expired():
                        raise
                    raise _BackendTimeout from None  # the backend's own, not the deadline
        except TimeoutError:
            # Only a request that was sent says something about the endpoint.
            outcome = "deadline"
            verdict = called and self._failed_once(context, failures)
            return Guarded(None, "deadline")
        except LLMCircuitOpen:
            outcome = "circuit_open"
            return Guarded(None, "circuit_open")
        except LLMRequestRefused as exc:
            # The endpoint is up and refused this request: no verdict on the breaker.
            outcome = exc.kind
            self._say_what_to_check(exc.status, str(exc))
            return Guarded(None, refused_reason(exc))
        except LLMError as exc:
            outcome = exc.kind
            verdict = self._failed_once(context, failures)
            return Guarded(None, exc.kind)
        except CommentaryRejected as exc:
            # The endpoint answered: it is up, the answer was bad. Not a breaker failure.
            verdict = True
            outcome = "rejected"
            self._succeeded(context)
            self._count_refusals(exc.reasons)
            return Guarded(None, rejected_reason(exc))
        except _BackendTimeout:
            outcome = "LLMTimeout"
            verdict = self._failed_once(context, failures)
            return Guarded(None, "LLMTimeout")
        except DeliveryFailed:
            raise  # a line could not be published: not the LLM's failure
        except Exception as exc:
            outcome = "unexpected"
            verdict = self._failed_once(context, failures)
            logger.exception(
                "pitchcast.commentary.backend_error",
                extra={**context, "backend": self.backend, "error_kind": type(exc).__name__},
            )
            return Guarded(None, f"unexpected: {type(exc).__name__}")
        else:
            verdict = True
            self._count_refusals(getattr(answer, "problems", ()))
            reason = judge(answer) if judge is not None else None
            outcome = "ok" if reason is None else "rejected"
        finally:
            if not verdict:
                self.breaker.release()  # cancelled or never sent: free a half-open probe
            if called:
                metrics.add("llm_requests", endpoint=self.endpoint, outcome=outcome)

        self._succeeded(context)
        timer.complete(loop.time(), first_line=reason is None)
        self.count_tokens(answer.usage)
        return Guarded(answer, reason)

    def count_tokens(self, usage: Usage) -> None:
        """Prompt tokens (served from the server's prefix cache or not) and completion."""
        cached = usage.cached_prompt_tokens
        tokens = {
            "prompt_cached": cached,
            "prompt_uncached": max(usage.prompt_tokens - cached, 0),
            "completion": usage.completion_tokens,
        }
        for kind, n in tokens.items():
            if n:
                self.metrics.add("llm_tokens", n, kind=kind)

    def _count_refusals(self, reasons: Iterable[str]) -> None:
        """``lines_refused{check}``: LLM lines refused for wording the data cannot support
        (the template writes them instead; their fallback is counted as ever)."""
        for kind in wording_refusals(reasons):
            self.metrics.add("lines_refused", check=kind)

    def record_fallback(self, reason: str, source: str, fields: Mapping[str, object]) -> None:
        """The template wrote (some of) a request's lines: ``fallbacks{reason, source}``
        (the reason's kind, before any ``:``) and the fallback log with ``fields``."""
        self.metrics.add("fallbacks", reason=reason.split(":", 1)[0], source=source)
        logger.warning(
            "pitchcast.commentary.fallback",
            extra={**fields, "reason": reason, "source": source},
        )

    def _say_what_to_check(self, status: int | None, server_said: str) -> None:
        """Once per status: a refusal that every request will meet (a wrong key or URL)
        says which setting to check, beside each batch's fallback warning, and what the
        server said (the wire's message: keys masked, its body cut to 200 characters;
        vLLM's names the cause of a 400, and RunPod's server log is out of reach)."""
        if status in self._refusals_said:
            return
        self._refusals_said.add(status)
        logger.error(
            "pitchcast.llm_refused",
            extra={
                "backend": self.backend,
                "status": status,
                "hint": _REFUSAL_HINTS.get(status, _REFUSAL_HINT_OTHER),
                "server_said": server_said,
            },
        )

    # --- verdicts ---------------------------------------------------------------------

    def _failed_once(self, context: Mapping[str, object], group: FailureGroup | None) -> bool:
        """A failure verdict, unless one request of ``group`` already gave one: forks
        sent together that time out together are one slow moment of the endpoint, not
        several (r forks would otherwise open the breaker for every match at once).
        False when no verdict was given (a half-open probe taken is then handed back)."""
        if group is not None and not group.first_failure(self.breaker):
            return False
        self._failed(context)
        return True

    def _failed(self, context: Mapping[str, object]) -> None:
        if self._count_openings(self.breaker.record_failure()):
            logger.warning(
                "pitchcast.breaker_opened",
                extra={
                    **context,
                    "backend": self.backend,
                    "failures": self.breaker.consecutive_failures,
                    "reset_after_s": self.breaker.reset_after_s,
                },
            )

    def _succeeded(self, context: Mapping[str, object]) -> None:
        if self.breaker.record_success():
            logger.info("pitchcast.breaker_closed", extra={**context, "backend": self.backend})
        self._count_openings(False)  # an endpoint may have tripped before a failover

    def _count_openings(self, tripped: bool) -> int:
        """Add the breaker's openings since the last call to ``breaker_opened``. The
        openai backend's breakers (one per endpoint) trip inside the backend, and its
        view answers False to these verdicts: its ``times_opened`` counts them."""
        total = getattr(self.breaker, "times_opened", None)
        if total is None:
            new = int(tripped)
        else:
            new, self._openings_seen = total - self._openings_seen, total
        if new:
            self.metrics.add("breaker_opened", new, endpoint=self.endpoint)
        return new


class _LineTimer:
    """Passes the backend's lines on; times the first one and the whole request."""

    def __init__(
        self, metrics: Metrics, on_item: ItemCallback | None, *, persona: str, mode: str
    ) -> None:
        self._metrics = metrics
        self._on_item = on_item
        self._labels = {"persona": persona, "mode": mode}
        self._started = 0.0
        self._first_seen = False

    def start(self, now: float) -> None:
        self._started = now

    async def __call__(self, item: CommentaryItem) -> None:
        if not self._first_seen:
            self._first_seen = True
            elapsed = asyncio.get_running_loop().time() - self._started
            self._metrics.observe("llm_time_to_first_line_seconds", elapsed, **self._labels)
        if self._on_item is not None:
            await self._on_item(item)

    def complete(self, now: float, *, first_line: bool) -> None:
        """The answer is in. A good answer that streamed no line (a non-streamed one)
        had its first line now."""
        elapsed = now - self._started
        if first_line and not self._first_seen:
            self._first_seen = True
            self._metrics.observe("llm_time_to_first_line_seconds", elapsed, **self._labels)
        self._metrics.observe("llm_request_seconds", elapsed, **self._labels)


_CREDENTIALS_HINT = (
    "the endpoint refused the credentials: check PITCHCAST_LLM_API_KEY"
    " (PITCHCAST_LLM_API_KEYS when each endpoint has its own)"
)
_REFUSAL_HINTS: Mapping[int | None, str] = {
    401: _CREDENTIALS_HINT,
    403: _CREDENTIALS_HINT,
    404: "no such route or model: check PITCHCAST_LLM_BASE_URL (it ends in /v1; RunPod:"
    " https://api.runpod.ai/v2/<endpoint id>/openai/v1) and PITCHCAST_LLM_MODEL (the"
    " name the server serves)",
    400: "the server refused the request as invalid: most often a prompt longer than its"
    " max_model_len (pitchcast serve-llm starts it at 8192; RunPod: MAX_MODEL_LEN) or structured"
    " outputs it was not started with; the server's log says which",
}
_REFUSAL_HINT_OTHER = "the server refused the request; its log says why"


class _Outbox:
    """The lines a request streams, handed to ``on_item`` in order by a task outside the
    request's deadline scope; the backend never waits for a line's publication."""

    def __init__(self, on_item: ItemCallback) -> None:
        self._on_item = on_item
        self._queue: asyncio.Queue[CommentaryItem | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def put(self, item: CommentaryItem) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            await self._on_item(item)

    async def drain(self) -> None:
        """Until every line put is handed on; raises what ``on_item`` raised."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def abandon(self) -> None:
        """The call was cancelled or failed: the lines not handed on yet never are."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class _BackendTimeout(Exception):
    """A bare TimeoutError from the backend itself (not the request's deadline)."""


def rejected_reason(exc: CommentaryRejected) -> str:
    """``CommentaryRejected: <first reason>``, on one line and at most 120 characters."""
    first = exc.reasons[0] if exc.reasons else "rejected"
    # Validation messages only: they never carry credentials, but they may be long.
    first = " ".join(first.split())
    if len(first) > _REASON_MAX_CHARS:
        first = first[: _REASON_MAX_CHARS - 1] + "…"
    return f"{exc.kind}: {first}"


# The fallback reason of a request refused for its length (longer than the model's
# context): counted apart, and a live lane starts its conversation again.
CONTEXT_LENGTH_REASON = "context_length"


def refused_reason(exc: LLMRequestRefused) -> str:
    """``LLMRequestRefused: HTTP <status>`` (or ``: error event`` without a status);
    ``context_length: HTTP 400`` when the server said the prompt is too long."""
    # The status only: the server's message may quote the request.
    kind = CONTEXT_LENGTH_REASON if exc.context_length else exc.kind
    return f"{kind}: HTTP {exc.status}" if exc.status else f"{kind}: error event"
