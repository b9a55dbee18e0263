"""Test helpers: bounded waits, and the signatures of the factory fixtures in conftest."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, Protocol, TypeVar

import pytest

__all__ = [
    "CreateTopics",
    "FakeClock",
    "UniqueName",
    "in_ci",
    "unavailable",
    "wait_until",
    "wait_until_async",
]

T = TypeVar("T")


class FakeClock:
    """A clock that stands still until a test moves ``now`` (pass it as ``clock=``)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def in_ci() -> bool:
    """CI sets ``CI=true``: there a missing service or tool is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """A test's service or tool is missing: fail in CI, skip elsewhere (with the reason)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a test must not be skipped)", pytrace=False)
    pytest.skip(reason)


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "the condition",
) -> T:
    """Call ``predicate`` until it returns something truthy; return that value.

    Raises AssertionError naming ``what`` and the last value after ``timeout`` seconds.
    Exceptions from ``predicate`` propagate: a broken check should not look like a slow one.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.1f} s waiting for {what}; last value: {value!r}"
            )
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "the condition",
) -> T:
    """Like :func:`wait_until` inside an event loop; ``predicate`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:.1f} s waiting for {what}; last value: {value!r}"
            )
        await asyncio.sleep(interval)


class UniqueName(Protocol):
    """Signature of the ``unique_name`` fixture."""

    def __call__(self, kind: str = "topic") -> str: ...


class CreateTopics(Protocol):
    """Signature of the ``create_topics`` fixture."""

    async def __call__(
        self, *names: str, partitions: int = 1, config: dict[str, str] | None = None
    ) -> list[str]: ...
