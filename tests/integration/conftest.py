"""Fixtures for pipeline tests: per-test topic names and a real worker subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pipeline import WorkerProcess

PARTITIONS = 3


@pytest.fixture
def pipeline_env(
    kafka_bootstrap: str, redis_url: str, unique_name: Callable[[str], str]
) -> dict[str, str]:
    """PITCHCAST_* settings of one test: its own topics, group and Redis namespace."""
    prefix = unique_name("p")
    return {
        "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "PITCHCAST_REDIS_URL": redis_url,
        "PITCHCAST_REDIS_NAMESPACE": prefix,
        "PITCHCAST_APP_ID": f"{prefix}-app",
        "PITCHCAST_TOPIC_EVENTS": f"{prefix}-events",
        "PITCHCAST_TOPIC_BATCHES": f"{prefix}-batches",
        "PITCHCAST_TOPIC_COMMENTARY": f"{prefix}-commentary",
        "PITCHCAST_TOPIC_LINES": f"{prefix}-lines",
        "PITCHCAST_TOPIC_DLQ": f"{prefix}-dlq",
        "PITCHCAST_PARTITIONS": str(PARTITIONS),
        "PITCHCAST_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``pitchcast worker`` subprocesses; every one is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], name: str = "worker") -> WorkerProcess:
        data_dir = tmp_path / name
        env = {**env, "PITCHCAST_DATA_DIR": str(data_dir)}
        worker = WorkerProcess(env=env, log_path=tmp_path / f"{name}.log").start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
