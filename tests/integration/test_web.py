"""The worker's /metrics, /health and /ready on a real broker and Redis, during a replay."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.pipeline import WorkerProcess
from tests.support.sample_matches import replay_opening_then, wait_for_records_and_a_dead_letter

pytestmark = pytest.mark.integration

ACTIONS = 200  # the first 200 actions of match 1: 20 full batches


def _get(worker: WorkerProcess, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{worker.web_port}{path}", timeout=10)


def _scrape(worker: WorkerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = _get(worker, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str):  # type: ignore[no-untyped-def]
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def _wait_ready(worker: WorkerProcess, timeout: float = 60.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        response = _get(worker, "/ready")
        if response.status_code == 200:
            return dict(response.json())
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, response.text
        time.sleep(0.5)


def _wait_lag(worker: WorkerProcess, timeout: float = 30.0) -> dict:  # type: ignore[type-arg]
    """The consumer_lag samples, once the worker's lag task has read them once."""
    deadline = time.monotonic() + timeout
    while True:
        samples = _scrape(worker)
        if _total(samples, "pitchcast_lag_reads_total", outcome="ok") >= 1:
            return {ls: v for (n, ls), v in samples.items() if n == "pitchcast_consumer_lag"}
        assert _total(samples, "pitchcast_lag_reads_total", outcome="error") == 0
        assert time.monotonic() < deadline, "no lag read within 30 s"
        time.sleep(1)


async def test_metrics_and_readiness_move_during_a_replay(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """Part of a match and one bad message: events, batches, lines and dead letters move."""
    worker = start_worker(pipeline_env)
    assert _get(worker, "/health").json() == {"status": "ok"}
    ready = _wait_ready(worker)
    assert ready["status"] == "ready", ready
    assert ready["checks"]["broker"]["status"] == "ok"
    assert ready["checks"]["redis"]["state"] == "up"
    assert ready["checks"]["breaker"]["state"] == "closed"
    assigned = ready["checks"]["assignment"]["partitions"]
    assert sorted(assigned[pipeline_env["PITCHCAST_TOPIC_EVENTS"]]) == [0, 1, 2]

    before = _scrape(worker)
    assert _total(before, "pitchcast_events_in_total") == 0
    assert _total(before, "pitchcast_redis_up") == 1
    assert ("pitchcast_breaker_state", (("endpoint", "template"),)) in before
    assert ("pitchcast_lag_reads_total", (("outcome", "ok"),)) in before  # lag task wired
    # Label-less counters exist at 0 before their first event (an alert's increase() sees
    # the first one), and the process' start time shows restarts (WorkerRestarts).
    assert _total(before, "pitchcast_offset_gaps_total") == 0
    assert ("pitchcast_offset_gaps_total", ()) in before
    assert _total(before, "process_start_time_seconds") > 0

    await replay_opening_then(pipeline_env, ACTIONS, b"{not json")  # match_start + 200 actions
    wait_for_records_and_a_dead_letter(worker, ACTIONS // 10, timeout_s=120)

    after = _scrape(worker)
    assert _total(after, "pitchcast_events_in_total", kind="action") == ACTIONS
    assert _total(after, "pitchcast_events_in_total", kind="match_start") == 1
    assert _total(after, "pitchcast_batches_closed_total", reason="full") == ACTIONS // 10
    assert _total(after, "pitchcast_handoff_records_out_total", kind="batch") == ACTIONS // 10
    assert _total(after, "pitchcast_handoff_records_out_total", kind="batch_action") == ACTIONS
    assert _total(after, "pitchcast_commentary_published_total", source="template") == 20
    assert _total(after, "pitchcast_lines_published_total", persona="CASTER") == ACTIONS
    assert _total(after, "pitchcast_dead_letters_total", reason="UndecodableMessage") == 1
    # Live mode with the template: every line written at once, no LLM request at all.
    assert _total(after, "pitchcast_llm_requests_total") == 0
    assert _total(after, "pitchcast_line_lag_seconds_count", mode="live") == ACTIONS
    assert _total(after, "pitchcast_commentary_latency_seconds_count") == ACTIONS // 10
    assert _total(after, "pitchcast_cache_lookups_total") == 0  # the template is not cached
    assert _total(after, "pitchcast_llm_in_flight") == 0
    # faust's own sensor is on the same page, and it saw the records too.
    received = "faust_messages_received_per_topic_total"
    events = pipeline_env["PITCHCAST_TOPIC_EVENTS"]
    assert _total(after, received, topic=events) >= ACTIONS + 2
    assert _total(after, received, topic=events) > _total(before, received, topic=events)

    # The group's lag, read from the broker every 15 s: a gauge per input topic and
    # partition, 0 once everything is committed.
    lag = _wait_lag(worker)
    topics = {pipeline_env["PITCHCAST_TOPIC_EVENTS"], pipeline_env["PITCHCAST_TOPIC_BATCHES"]}
    assert {dict(labels)["topic"] for labels in lag} == topics
    assert len(lag) == 2 * 3  # 3 partitions each
    assert all(value >= 0 for value in lag.values())

    # The JSON view holds the same figures.
    stats = worker.stats()
    assert stats["events_in{kind=action}"] == ACTIONS
    assert stats["dead_letters{reason=UndecodableMessage}"] == 1

    ready = _wait_ready(worker)
    assert ready["status"] == "ready", ready
    assert _get(worker, "/health").status_code == 200


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_ready_says_redis_is_down_before_any_match(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """A worker started against a Redis that does not answer (a wrong port) says
    `degraded`, Redis `down`, on /ready before the first match: it used to say `up` until
    a line needed Redis, so a pre-match check showed all green."""
    env = {**pipeline_env, "PITCHCAST_REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    worker = start_worker(env)
    deadline = time.monotonic() + 60
    while True:
        ready = _wait_ready(worker)
        if (
            ready["checks"]["assignment"]["status"] == "ok"
            and ready["checks"]["redis"]["state"] == "down"
        ):
            break
        assert time.monotonic() < deadline, ready
        time.sleep(0.5)
    assert ready["status"] == "degraded", ready
