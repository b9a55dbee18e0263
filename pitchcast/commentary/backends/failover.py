"""One exchange over a match's endpoints: retries, failover, each attempt's verdict.

What :class:`~.openai.OpenAIBackend` needs between "ask this" and the wire: which
endpoint each attempt goes to (the match's ring order, :mod:`.endpoints`), whether and
when a failed attempt is retried (:mod:`.timing`: the budget of each attempt, the
backoff between them; stamina runs the loop), and the verdict of each attempt on its
endpoint's breaker:

* an answer (even one that then fails validation): the endpoint is up;
* a timeout, a connection error, 408, 429, 5xx, a broken body, or the request's
  deadline cutting the attempt before any of its answer arrived: a failure of that
  endpoint;
* the deadline cutting an attempt whose answer was streaming in, or one that started
  with less than two ``min_attempt_s`` left (the dregs of a deadline, which no retry
  could have followed): no verdict. The endpoint is up, or was not given a fair chance
  (a live burst that waited for its lane has little of its deadline left): counted as
  failures, lanes behind a slow but healthy endpoint opened its breaker and sent every
  match to the template. A hung endpoint still counts: an attempt that may be
  followed is cut by its own budget (``LLMTimeout``) before the deadline;
* a permanent 4xx (:class:`~pitchcast.exceptions.LLMRequestRefused`): no verdict, not
  retried: the endpoint is up and this request is wrong;
* cancelled from outside: no verdict (a half-open probe it held is handed back).

These per-endpoint verdicts are the only ones recorded inside a backend; the service's
breaker gets its verdict from the guarded call (:mod:`pitchcast.commentary.guarded`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import stamina

from pitchcast.commentary.backends.endpoints import Endpoint, EndpointRing
from pitchcast.commentary.backends.timing import attempt_budget, backoff
from pitchcast.commentary.breaker import FailureGroup
from pitchcast.exceptions import (
    LLMCircuitOpen,
    LLMError,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
    PitchcastError,
)

__all__ = ["Answering", "Failover", "RetrySettings"]

logger = logging.getLogger("pitchcast.llm")

_RETRYABLE = (LLMUnavailable, LLMTimeout, LLMRateLimited)

T = TypeVar("T")


class Answering:
    """What one attempt tells its judge while it runs: whether its answer started
    arriving (set by the attempt on its first piece of answer)."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


# One attempt: send to this endpoint within this budget (seconds), noting in Answering
# when the answer starts to arrive.
Attempt = Callable[[Endpoint, float, Answering], Awaitable[T]]


class RetrySettings(Protocol):
    """What the retry loop reads of the backend's config (:class:`~.openai.OpenAIConfig`)."""

    retry_attempts: int
    read_timeout_s: float
    min_attempt_s: float
    backoff_initial_s: float
    backoff_max_s: float
    backoff_jitter_s: float


class Failover:
    """Runs one exchange over a match's endpoints; see the module docstring."""

    def __init__(self, ring: EndpointRing, settings: RetrySettings) -> None:
        self.ring = ring
        self.settings = settings

    async def run(
        self,
        attempt: Attempt[T],
        *,
        game_id: int,
        deadline: float,
        context: Mapping[str, Any],
        failures: FailureGroup | None = None,
    ) -> T:
        """``attempt(endpoint, budget, answering)`` on the match's first available endpoint, then
        again on the next one of its order after each retryable failure, while another
        attempt can still start before ``deadline`` (absolute ``loop.time()``). The
        caller bounds the whole exchange by the deadline (``asyncio.timeout_at``).
        ``failures``: the group of requests sent with this one (a burst's forks), whose
        failed attempts give an endpoint's breaker one verdict."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        made = 0
        last: Endpoint | None = None

        def decide_retry(exc: Exception) -> bool | float:
            # stamina's hook: False = give up, a float = wait that long, then retry.
            if not isinstance(exc, LLMError) or isinstance(exc, LLMCircuitOpen | LLMRequestRefused):
                return False
            following = None if last is None else self.ring.after(game_id, last, reserve=False)
            if following is None:
                _abandon(context, exc, "every endpoint's breaker is open", 0.0, loop, deadline)
                return False
            if not isinstance(exc, _RETRYABLE) and following is last:
                return False  # a broken body: only another endpoint may do better
            if following is not last:
                # Another endpoint: the failed one's Retry-After and backoff are not its.
                wait = random.uniform(0, settings.backoff_jitter_s)
            elif isinstance(exc, LLMRateLimited | LLMUnavailable) and exc.retry_after is not None:
                wait = exc.retry_after  # a 429's or a 503's Retry-After
            else:
                wait = backoff(
                    made,
                    initial_s=settings.backoff_initial_s,
                    max_s=settings.backoff_max_s,
                    jitter_s=settings.backoff_jitter_s,
                )
            if wait + settings.min_attempt_s > deadline - loop.time():
                _abandon(context, exc, "no time left", wait, loop, deadline)
                return False
            return wait

        async for retry in stamina.retry_context(
            on=decide_retry, attempts=settings.retry_attempts, timeout=None
        ):
            with retry:
                previous = last
                endpoint = (
                    self.ring.first(game_id)
                    if previous is None
                    else self.ring.after(game_id, previous)
                )
                if endpoint is None:
                    raise LLMCircuitOpen("every LLM endpoint's circuit breaker is open")
                if previous is not None and endpoint is not previous:
                    logger.info(
                        "pitchcast.llm.failover",
                        extra={**context, "from": previous.label, "to": endpoint.label},
                    )
                made += 1
                last = endpoint
                budget = attempt_budget(
                    deadline - loop.time(),
                    read_timeout_s=settings.read_timeout_s,
                    min_attempt_s=settings.min_attempt_s,
                    last=made >= settings.retry_attempts,
                )
                # An attempt given less than this is not judged by the deadline's cut.
                fair = deadline - loop.time() >= 2 * settings.min_attempt_s
                return await self._judged(
                    attempt, endpoint, budget, deadline, context, failures, fair=fair
                )
        raise AssertionError("stamina ended the retries without an outcome")  # pragma: no cover

    async def _judged(
        self,
        attempt: Attempt[T],
        endpoint: Endpoint,
        budget: float,
        deadline: float,
        context: Mapping[str, Any],
        failures: FailureGroup | None = None,
        *,
        fair: bool = True,
    ) -> T:
        """One attempt on ``endpoint``; its outcome is the endpoint breaker's verdict
        (a deadline cut only when the attempt was ``fair``: see the module doc)."""
        endpoint.requests += 1
        verdict = False
        answering = Answering()
        try:
            answer = await attempt(endpoint, budget, answering)
        except LLMRequestRefused as exc:
            verdict = True
            endpoint.refused()
            logger.warning(
                "pitchcast.llm.request_refused",
                extra={**context, "endpoint": endpoint.label, "status": exc.status},
            )
            raise
        except LLMError as exc:
            verdict = True
            endpoint.failed(exc.kind, group=failures)
            raise
        except asyncio.CancelledError:
            cut = asyncio.get_running_loop().time() >= deadline
            if cut and fair and not answering.started:
                verdict = True  # the deadline cut this attempt before it answered at all
                endpoint.failed("deadline", group=failures)
            raise
        finally:
            if not verdict:
                endpoint.no_verdict()  # cancelled from outside, or a bug: no evidence
        endpoint.succeeded()
        return answer


def _abandon(
    context: Mapping[str, Any],
    exc: PitchcastError,
    why: str,
    wait: float,
    loop: asyncio.AbstractEventLoop,
    deadline: float,
) -> None:
    logger.warning(
        "pitchcast.llm.retry_abandoned",
        extra={
            **context,
            "error_kind": exc.kind,
            "why": why,
            "wait_s": round(wait, 3),
            "left_s": round(deadline - loop.time(), 3),
        },
    )
