"""The broker-stop premise: an outage that missed either side of the worker fails."""

from __future__ import annotations

from pitchcast.chaos.check import Figures
from pitchcast.chaos.process_faults import outage_missed

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
