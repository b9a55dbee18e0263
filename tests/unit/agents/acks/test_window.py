"""The hand-off window: records committed only as a prefix whose sends are acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pitchcast.agents.acks.window import HandoffWindow, Pending
from pitchcast.exceptions import DeliveryFailed


class _Log:
    """Records commits and acks, in the order they happen."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def pending(self, n: int, sends: list[asyncio.Future[Any]]) -> Pending:
        async def ack() -> None:
            self.events.append(("ack", n))

        return Pending(sends, lambda: self.events.append(("commit", n)), ack)


def _futures(n: int) -> list[asyncio.Future[Any]]:
    loop = asyncio.get_running_loop()
    return [loop.create_future() for _ in range(n)]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_only_the_contiguous_acked_prefix_is_committed() -> None:
    """Acks arrive out of order (record 2's before record 0's): nothing is committed
    past the first record still waiting, and each commit precedes its ack."""
    window, log = HandoffWindow(limit=10), _Log()
    sends = _futures(4)
    window.add(log.pending(0, [sends[0]]))
    window.add(log.pending(1, [sends[1], sends[2]]))  # an action and the batch it closed
    window.add(log.pending(2, [sends[3]]))
    runner = asyncio.create_task(window.run())
    sends[3].set_result("meta")
    sends[1].set_result("meta")
    await _settle()
    assert log.events == [] and len(window) == 3
    sends[0].set_result("meta")
    await _settle()
    assert log.events == [("commit", 0), ("ack", 0)], "record 1 still waits for its close"
    sends[2].set_result("meta")
    await _settle()
    # Records 1 and 2 are ready together: committed as one run, then acked in order.
    assert log.events[2:] == [("commit", 1), ("commit", 2), ("ack", 1), ("ack", 2)]
    assert len(window) == 0
    runner.cancel()


async def test_a_run_of_ready_records_is_flushed_once_before_its_acks() -> None:
    """One produce response acknowledges several records: their commits, one flush (the
    agent writes the newest state per match once), then their acks; a record behind a
    send not yet acknowledged is not part of the run."""
    log = _Log()
    window = HandoffWindow(limit=10, flush=lambda: log.events.append(("flush", -1)))
    sends = _futures(4)
    for n, send in enumerate(sends):
        window.add(log.pending(n, [send]))
    for send in (sends[0], sends[1], sends[3]):
        send.set_result("meta")
    runner = asyncio.create_task(window.run())
    await _settle()
    assert log.events == [
        ("commit", 0), ("commit", 1), ("flush", -1), ("ack", 0), ("ack", 1)
    ]  # fmt: skip
    sends[2].set_result("meta")
    await _settle()
    assert log.events[5:] == [
        ("commit", 2), ("commit", 3), ("flush", -1), ("ack", 2), ("ack", 3)
    ]  # fmt: skip
    runner.cancel()


async def test_a_record_without_sends_waits_for_those_before_it() -> None:
    """A redelivery or a dead-lettered record has nothing to send, but is acked only in
    its turn (faust's commit must never pass a record still in work)."""
    window, log = HandoffWindow(limit=10), _Log()
    first = _futures(1)
    window.add(log.pending(0, first))
    window.add(log.pending(1, []))
    runner = asyncio.create_task(window.run())
    await _settle()
    assert log.events == []
    first[0].set_result("meta")
    await _settle()
    assert log.events == [("commit", 0), ("commit", 1), ("ack", 0), ("ack", 1)]
    runner.cancel()


async def test_a_failed_send_stops_the_advance_for_good() -> None:
    """A send whose budget ran out: nothing at or after its record is committed or
    acked, even when later sends were acknowledged; run raises it and stays failed."""
    window, log = HandoffWindow(limit=10), _Log()
    sends = _futures(3)
    for n, send in enumerate(sends):
        window.add(log.pending(n, [send]))
    runner = asyncio.create_task(window.run())
    sends[0].set_result("meta")
    sends[2].set_result("meta")
    sends[1].set_exception(DeliveryFailed("t: not acknowledged after 3 attempt(s) in 1 s"))
    with pytest.raises(DeliveryFailed):
        await runner
    assert log.events == [("commit", 0), ("ack", 0)]
    assert isinstance(window.failure, DeliveryFailed)
    with pytest.raises(DeliveryFailed):
        await window.admit()
    with pytest.raises(DeliveryFailed):
        window.add(log.pending(3, []))
    await window.settled()  # returns: a failed window never settles otherwise
    assert window.abandon() == 2 and len(window) == 0


async def test_a_retried_send_holds_the_window_until_it_is_acked() -> None:
    """A send being retried (its task still running) is waited for, not skipped."""
    window, log = HandoffWindow(limit=10), _Log()
    attempts: list[int] = []

    async def retried_send() -> str:
        for attempt in range(3):
            attempts.append(attempt)
            await asyncio.sleep(0.01)  # two attempts fail, the third is acknowledged
        return "meta"

    window.add(log.pending(0, [asyncio.ensure_future(retried_send())]))
    later = _futures(1)
    window.add(log.pending(1, later))
    later[0].set_result("meta")
    runner = asyncio.create_task(window.run())
    await asyncio.sleep(0.015)
    assert log.events == []
    await window.settled()
    assert attempts == [0, 1, 2]
    assert log.events == [("commit", 0), ("commit", 1), ("ack", 0), ("ack", 1)]
    runner.cancel()


async def test_the_window_is_bounded_and_a_stall_holds_the_intake_back() -> None:
    """At the limit, admit waits until the head is committed: a broker that stops
    acknowledging stops the intake instead of growing the window."""
    window, log = HandoffWindow(limit=2), _Log()
    sends = _futures(3)
    runner = asyncio.create_task(window.run())
    for n in range(2):
        await window.admit()
        window.add(log.pending(n, [sends[n]]))
    admitted = asyncio.create_task(window.admit())
    await asyncio.sleep(0.02)
    assert not admitted.done() and len(window) == 2
    sends[0].set_result("meta")
    await asyncio.wait_for(admitted, 1)
    window.add(log.pending(2, [sends[2]]))
    assert len(window) == 2
    runner.cancel()


async def test_abandon_cancels_the_sends_and_commits_nothing() -> None:
    """The worker stops: what is in the window is neither committed nor acked (it is
    read again after the restart)."""
    window, log = HandoffWindow(limit=4), _Log()
    sends = _futures(2)
    window.add(log.pending(0, [sends[0]]))
    window.add(log.pending(1, [sends[1]]))
    runner = asyncio.create_task(window.run())
    await _settle()
    assert window.abandon() == 2
    assert all(s.cancelled() for s in sends) and log.events == []
    await window.settled()
    runner.cancel()


def test_a_window_holds_at_least_one_record() -> None:
    with pytest.raises(ValueError):
        HandoffWindow(limit=0)


async def test_with_an_interval_records_acked_meanwhile_wait_for_one_run() -> None:
    """A commit interval: the first run goes at once; records acknowledged within the
    interval after it are committed together, as one run with one flush."""
    log = _Log()
    window = HandoffWindow(limit=10, flush=lambda: log.events.append(("flush", -1)), interval_s=0.2)
    sends = _futures(3)
    runner = asyncio.create_task(window.run())
    window.add(log.pending(0, [sends[0]]))
    sends[0].set_result("meta")
    await _settle()
    assert log.events == [("commit", 0), ("flush", -1), ("ack", 0)]
    for n in (1, 2):
        window.add(log.pending(n, [sends[n]]))
        sends[n].set_result("meta")
        await _settle()
    assert len(log.events) == 3, "acknowledged within the interval: not committed yet"
    await asyncio.sleep(0.25)
    assert log.events[3:] == [
        ("commit", 1), ("commit", 2), ("flush", -1), ("ack", 1), ("ack", 2)
    ]  # fmt: skip
    assert log.events.count(("flush", -1)) == 2  # two runs
    runner.cancel()


async def test_settling_or_a_full_window_cuts_the_interval_short() -> None:
    """A revoke (settled) and a full window (admit) do not wait out the interval."""
    window, log = HandoffWindow(limit=2, interval_s=60), _Log()
    sends = _futures(4)
    runner = asyncio.create_task(window.run())
    window.add(log.pending(0, [sends[0]]))
    sends[0].set_result("meta")
    await _settle()  # the first run: at once
    window.add(log.pending(1, [sends[1]]))
    sends[1].set_result("meta")
    await asyncio.wait_for(window.settled(), 1)
    assert ("ack", 1) in log.events
    window.add(log.pending(2, [sends[2]]))
    window.add(log.pending(3, [sends[3]]))
    sends[2].set_result("meta")
    sends[3].set_result("meta")
    await asyncio.wait_for(window.admit(), 1)  # full: hurried, room again
    assert ("ack", 3) in log.events and len(window) == 0
    runner.cancel()


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        HandoffWindow(limit=1, interval_s=-1)


async def test_a_committer_cancelled_as_it_is_hurried_stays_cancelled() -> None:
    """A revoke hurries the window and the worker's stop cancels its committer in the
    same turn of the loop. asyncio.wait_for (Python 3.11) returns the hurried wait and
    drops the cancellation: the committer went on and committed a run after it was
    cancelled. It stays cancelled, and commits nothing more."""
    window, log = HandoffWindow(limit=10, interval_s=60), _Log()
    sends = _futures(2)
    runner = asyncio.create_task(window.run())
    window.add(log.pending(0, [sends[0]]))
    sends[0].set_result("meta")
    await _settle()  # the first run: at once; the next waits out the interval
    window.add(log.pending(1, [sends[1]]))
    sends[1].set_result("meta")
    await _settle()
    assert log.events == [("commit", 0), ("ack", 0)]
    window._hurry.set()  # what settled() and admit() do
    runner.cancel()
    await asyncio.wait([runner], timeout=1)
    try:
        assert runner.cancelled(), "the committer went on after its cancellation"
        assert log.events == [("commit", 0), ("ack", 0)]
    finally:
        runner.cancel()
