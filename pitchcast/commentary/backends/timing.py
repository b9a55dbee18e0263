"""How long one LLM attempt may wait, derived from the deadline it runs under. Pure.

A request to the LLM (a whole batch, or later a few "live" rows) has a deadline: an
absolute time by which its answer must be in, retries included. Every attempt gets a
*budget*, computed when it starts from the time left (``left = deadline - now``)::

    budget = min(read_timeout_s, left / 2)    if another attempt may follow
    budget = min(read_timeout_s, left)        on the last attempt

An attempt "may be followed" when it is not the last of ``retry_attempts`` and half of
what is left is still at least ``min_attempt_s`` (a retry with less than that would be
pointless). The budget bounds the time to the first byte and every wait between two
chunks of the answer (httpx's read timeout), and the connect, write and connection-pool
waits too (``min(connect_timeout_s, budget)``). A hung attempt is therefore cut while
at least as much time is left as it was given, so the retry has a real chance; an
attempt that keeps streaming is never cut by its budget, only by the deadline itself.

Without streaming the server sends nothing until the whole answer is written, so there
the budget bounds the whole answer: keep ``read_timeout_s`` above the answer time, or
stream (the default).

Backoff between attempts is ``min(backoff_max_s, backoff_initial_s * 2**(n-1))`` plus
up to ``jitter_s`` after the n-th failed attempt. :func:`min_time_for_attempts` is what
``retry_attempts`` attempts need at the least (each ``min_attempt_s``, jitter-free
backoff between them); the settings refuse a retry count that cannot fit the deadline.

The deadline is always a parameter: a batch request and a live request use the same
rule under different deadlines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The settings refuse a retry count that cannot fit the deadline with the same rules.
from pitchcast.settings import base_backoff, max_attempts_within, min_time_for_attempts

__all__ = [
    "AttemptTimeouts",
    "attempt_budget",
    "attempt_timeouts",
    "backoff",
    "max_attempts_within",
    "min_time_for_attempts",
]


def attempt_budget(
    left: float,
    *,
    read_timeout_s: float,
    min_attempt_s: float,
    last: bool,
) -> float:
    """Seconds the attempt may wait for its first byte and between chunks (see module doc).

    ``left`` is the time to the deadline; ``last`` says no retry can follow whatever
    happens (the attempt count is used up). Never negative.
    """
    if left <= 0:
        return 0.0
    retry_may_follow = not last and left / 2 >= min_attempt_s
    share = left / 2 if retry_may_follow else left
    return max(0.0, min(read_timeout_s, share))


@dataclass(frozen=True, slots=True)
class AttemptTimeouts:
    """The httpx timeouts of one attempt (seconds)."""

    connect: float
    read: float
    write: float
    pool: float


def attempt_timeouts(budget: float, *, connect_timeout_s: float) -> AttemptTimeouts:
    """httpx timeouts for an attempt with ``budget``: nothing waits longer than it."""
    connect = min(connect_timeout_s, budget)
    return AttemptTimeouts(connect=connect, read=budget, write=connect, pool=budget)


def backoff(
    failed_attempts: int,
    *,
    initial_s: float,
    max_s: float,
    jitter_s: float = 0.0,
) -> float:
    """The wait after the ``failed_attempts``-th failed attempt (1-based), with jitter."""
    base = base_backoff(failed_attempts, initial_s=initial_s, max_s=max_s)
    return base + (random.uniform(0, jitter_s) if jitter_s > 0 else 0.0)
