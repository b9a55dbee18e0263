"""The LLM circuit breaker as a pure state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from pitchcast.commentary.breaker import CircuitBreaker
from tests.support.utils import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(3, 30.0, clock=clock)


def test_starts_closed_and_allows(breaker: CircuitBreaker) -> None:
    """A new breaker is closed and lets every call through."""
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(10))


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    """It opens on the Nth consecutive failure, not before, and then refuses calls."""
    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    assert breaker.state == "closed"
    assert breaker.record_failure() is True
    assert breaker.state == "open"
    assert breaker.times_opened == 1
    assert breaker.allow() is False


def test_success_resets_the_failure_count(breaker: CircuitBreaker) -> None:
    """Failures must be consecutive: a success in between starts the count again."""
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_half_open_after_reset_admits_exactly_one_probe(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """After reset_after_s the breaker reads half_open and admits one probe at a time."""
    for _ in range(3):
        breaker.record_failure()
    clock.now += 29.9
    assert breaker.state == "open"
    assert breaker.allow() is False
    clock.now += 0.1
    assert breaker.state == "half_open"
    assert breaker.allow() is True
    assert breaker.allow() is False
    assert breaker.allow() is False


def test_probe_success_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """A successful probe closes the breaker and every call goes through again."""
    for _ in range(3):
        breaker.record_failure()
    clock.now += 30
    assert breaker.allow() is True
    assert breaker.record_success() is True
    assert breaker.state == "closed"
    assert breaker.allow() is True and breaker.allow() is True


def test_probe_failure_reopens_and_restarts_the_timer(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """A failed probe reopens the breaker for a whole new reset period."""
    for _ in range(3):
        breaker.record_failure()
    clock.now += 30
    assert breaker.allow() is True
    assert breaker.record_failure() is True
    assert breaker.state == "open"
    assert breaker.times_opened == 2
    clock.now += 29
    assert breaker.allow() is False
    clock.now += 1
    assert breaker.allow() is True


def test_released_probe_can_be_taken_again(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """A probe that ended without a verdict (cancelled) frees the slot for another."""
    for _ in range(3):
        breaker.record_failure()
    clock.now += 30
    assert breaker.allow() is True
    assert breaker.allow() is False
    breaker.release()
    assert breaker.state == "half_open"
    assert breaker.allow() is True


def test_late_verdicts_while_open_are_ignored(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """Results of calls admitted before the breaker opened change nothing while it is open."""
    for _ in range(3):
        breaker.record_failure()
    assert breaker.record_success() is False
    assert breaker.state == "open"
    assert breaker.record_failure() is False
    assert breaker.times_opened == 1
    clock.now += 30
    assert breaker.state == "half_open"


def test_threshold_of_one(clock: FakeClock) -> None:
    """With a threshold of 1 a single failure opens the breaker."""
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    assert breaker.record_failure() is True
    assert breaker.state == "open"


@pytest.mark.parametrize(("failures", "reset"), [(0, 1.0), (1, 0.0), (2, -1.0)])
def test_rejects_nonsense_configuration(failures: int, reset: float) -> None:
    """A threshold below 1 or a non-positive reset time is a configuration error."""
    with pytest.raises(ValueError):
        CircuitBreaker(failures, reset)
