"""A circuit breaker for the LLM: pure state, injectable clock, no I/O.

::

    closed ──(failure_threshold consecutive failures)──► open
    open ──(reset_after_s elapsed)──► half_open        (checked lazily, on read)
    half_open ──allow() admits ONE probe; others are refused until it ends
    half_open ──probe succeeds──► closed
    half_open ──probe fails─────► open (timer restarts)

While open, callers skip the LLM and write from the template. Verdicts that arrive
while the breaker is open come from calls admitted before it opened; they are ignored,
so only the half-open probe decides when the LLM is back. A probe that ends without a
verdict (cancelled, never sent) must be handed back with :meth:`CircuitBreaker.release`.

:class:`Breaker` is what the commentary service needs of a breaker: a
:class:`CircuitBreaker` for a single LLM, or the openai backend's view over one breaker
per endpoint (open only when every endpoint's breaker is).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

__all__ = ["Breaker", "BreakerState", "CircuitBreaker", "FailureGroup"]

BreakerState = Literal["closed", "open", "half_open"]


@runtime_checkable
class Breaker(Protocol):
    """The breaker interface the commentary service uses."""

    failure_threshold: int
    reset_after_s: float

    @property
    def state(self) -> BreakerState: ...

    @property
    def consecutive_failures(self) -> int: ...

    def allow(self) -> bool: ...

    def record_success(self) -> bool: ...

    def record_failure(self) -> bool: ...

    def release(self) -> None: ...


class CircuitBreaker:
    """Counts consecutive LLM failures and decides whether the next call may go out."""

    def __init__(
        self,
        failure_threshold: int,
        reset_after_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if reset_after_s <= 0:
            raise ValueError("reset_after_s must be > 0")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose reset time has passed reads half_open."""
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_after_s:
            self._state = "half_open"
            self._probe_in_flight = False
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def available(self) -> bool:
        """Whether :meth:`allow` would let a call through now, without reserving a probe."""
        state = self.state
        return state == "closed" or (state == "half_open" and not self._probe_in_flight)

    def allow(self) -> bool:
        """Whether a call may go to the LLM now. In half_open this reserves the one probe."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def record_success(self) -> bool:
        """A call succeeded. Returns True if this closed the breaker (probe succeeded)."""
        state = self.state
        if state == "open":
            return False  # a late verdict from before it opened: the probe decides
        self._failures = 0
        self._probe_in_flight = False
        if state == "half_open":
            self._state = "closed"
            return True
        return False

    def record_failure(self) -> bool:
        """A call failed. Returns True if this opened the breaker."""
        state = self.state
        if state == "open":
            return False
        if state == "half_open":
            self._trip()  # the probe failed: stay away for another reset period
            return True
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._trip()
            return True
        return False

    def release(self) -> None:
        """Hand back a half-open probe that ended without a verdict."""
        if self._state == "half_open":
            self._probe_in_flight = False

    def _trip(self) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        self._probe_in_flight = False
        self.times_opened += 1

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(state={self.state!r}, failures={self._failures}/"
            f"{self.failure_threshold}, reset_after_s={self.reset_after_s})"
        )


class FailureGroup:
    """Requests sent together (the forks of one live burst): their failures give each
    breaker one verdict at most. r forks cut together (an endpoint stalling longer than
    the live deadline) are one slow moment of the endpoint; counted r times they opened
    its breaker, and so the LLM for every match of the worker, after one burst.

    Both layers that record verdicts ask it: the guarded call (the service's breaker)
    and the openai backend's retry loop (each endpoint's breaker)."""

    __slots__ = ("_counted",)

    def __init__(self) -> None:
        self._counted: set[int] = set()

    def first_failure(self, breaker: object) -> bool:
        """Whether a failure of this group is the first one ``breaker`` gets (record it),
        or one more of a moment it was already told about (give no verdict)."""
        key = id(breaker)  # breakers live as long as the worker: identity is enough
        if key in self._counted:
            return False
        self._counted.add(key)
        return True
