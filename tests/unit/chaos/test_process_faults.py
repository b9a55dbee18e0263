"""The broker-stop premise: an outage that missed either side of the worker fails."""

from __future__ import annotations

from pitchcast.chaos.check import Figures
from pitchcast.chaos.process_faults import outage_missed, stall_missed

FETCH = "ERROR aiokafka.consumer.fetcher Failed fetch messages from 1: NodeNotReadyError"
COORDINATOR = "WARNING aiokafka.consumer.group_coordinator Marking the coordinator dead (node 1)"


def _figures(**worker: float) -> Figures:
    figures = Figures("broker-stop", "ci")
    figures.worker = dict(worker)
    return figures


def test_an_outage_felt_by_sends_and_consumer_holds() -> None:
    figures = _figures(sends_acked_late=1)
    assert outage_missed(figures, [f"{FETCH}\n{FETCH}", COORDINATOR]) == []
    assert figures.extra["consumer: failed fetches / coordinator marked dead"] == "2 / 1"


def test_an_outage_the_consumer_never_saw_fails() -> None:
    assert outage_missed(_figures(send_retries=3), ["worker ready", ""]) == [
        "the outage missed the worker's consumer: no failed fetch, no coordinator lost"
    ]


def test_an_outage_no_send_felt_fails() -> None:
    assert outage_missed(_figures(), [FETCH]) == [
        "the outage missed the worker's sends: none retried or acked late"
    ]


# --- changelog-stall: the drop planted, and the watch's read-again, from worker 0's log ---

DROPPED = "WARNING pitchcast.chaos pitchcast.chaos.changelog_dropped partition=1 offset=38"
RESEEK = "WARNING pitchcast.recovery_watch pitchcast.recovery.reseek: changelog x[1] stood at"


def test_a_planted_drop_read_again_holds() -> None:
    figures = _figures()
    assert stall_missed(figures, f"{DROPPED}\n{RESEEK}\n") == []
    assert figures.extra["changelog drops planted / partitions read again"] == "1 / 1"


def test_a_drop_the_watch_never_read_again_fails() -> None:
    # What the scenario printed with the watch taken out (RELIABILITY.md).
    assert stall_missed(_figures(), f"{DROPPED}\nrecovery_reseeks: 0.0\n") == [
        "the recovery watch never read the dropped changelog partition again"
    ]


def test_a_run_where_no_drop_was_planted_fails() -> None:
    assert stall_missed(_figures(), "worker ready\n") == [
        "no changelog drop was planted: no recovery had records to replay"
    ]
