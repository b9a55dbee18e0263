"""The per-attempt budget rule and the retry arithmetic the settings check against."""

from __future__ import annotations

import pytest

from pitchcast.commentary.backends.timing import (
    attempt_budget,
    attempt_timeouts,
    backoff,
    max_attempts_within,
    min_time_for_attempts,
)


def budget(left: float, *, read: float = 10.0, minimum: float = 0.5, last: bool = False) -> float:
    return attempt_budget(left, read_timeout_s=read, min_attempt_s=minimum, last=last)


def test_a_first_attempt_gets_at_most_half_of_the_time_left() -> None:
    """25 s left: the read timeout (10 s) applies; 12 s left: half of it (6 s)."""
    assert budget(25.0) == 10.0
    assert budget(12.0) == 6.0
    assert budget(2.0, read=30.0) == 1.0  # a live request's 2 s deadline


def test_the_last_attempt_may_use_everything_left_up_to_the_read_timeout() -> None:
    """No retry can follow: the whole remainder, still capped by the read timeout."""
    assert budget(8.0, last=True) == 8.0
    assert budget(25.0, last=True) == 10.0


def test_when_half_would_leave_no_room_for_a_retry_the_attempt_takes_all() -> None:
    """0.8 s left with 0.5 s minimum per attempt: halves of 0.4 s are useless, take 0.8."""
    assert budget(0.8) == 0.8
    assert budget(1.0) == 0.5


def test_no_time_left_is_a_zero_budget() -> None:
    """A deadline already past gives 0, never a negative timeout."""
    assert budget(0.0) == 0.0
    assert budget(-3.0) == 0.0


def test_the_hung_request_of_the_issue_is_cut_in_time_for_a_retry() -> None:
    """Issue 7 item 6: 25 s deadline, a hang. The first attempt is cut at 10 s and the
    retry still has 14.75 s, more than the 10 s the first one waited (it may wait half)."""
    first = budget(25.0)
    assert first == 10.0
    left = 25.0 - first - 0.25
    assert left > first and budget(left) == left / 2


def test_httpx_timeouts_never_exceed_the_budget() -> None:
    """Connect and write are the smaller of their setting and the budget; read and pool
    are the budget."""
    limits = attempt_timeouts(1.0, connect_timeout_s=3.0)
    assert (limits.connect, limits.read, limits.write, limits.pool) == (1.0, 1.0, 1.0, 1.0)
    limits = attempt_timeouts(10.0, connect_timeout_s=3.0)
    assert (limits.connect, limits.read, limits.write, limits.pool) == (3.0, 10.0, 3.0, 10.0)


def test_backoff_doubles_up_to_its_cap_plus_jitter() -> None:
    """0.25, 0.5, 1, 2, 4, 4 ... and the jitter adds at most jitter_s."""
    waits = [backoff(n, initial_s=0.25, max_s=4.0) for n in range(1, 8)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = backoff(1, initial_s=0.25, max_s=4.0, jitter_s=0.25)
    assert 0.25 <= jittered <= 0.5


@pytest.mark.parametrize(
    ("attempts", "needed"),
    [(1, 0.5), (2, 1.25), (4, 2.0 + 0.25 + 0.5 + 1.0), (6, 3.0 + 0.25 + 0.5 + 1 + 2 + 4)],
)
def test_min_time_for_attempts(attempts: int, needed: float) -> None:
    """N attempts of 0.5 s plus the jitter-free backoff between them."""
    timing = {"min_attempt_s": 0.5, "backoff_initial_s": 0.25, "backoff_max_s": 4.0}
    assert min_time_for_attempts(attempts, **timing) == pytest.approx(needed)


def test_max_attempts_within_a_deadline() -> None:
    """A 2 s deadline fits 2 attempts with the defaults; 25 s fits 9; 0.3 s none."""
    timing = {"min_attempt_s": 0.5, "backoff_initial_s": 0.25, "backoff_max_s": 4.0}
    assert max_attempts_within(2.0, **timing) == 2
    assert max_attempts_within(25.0, **timing) == 9
    assert max_attempts_within(0.3, **timing) == 0
