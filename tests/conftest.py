"""Fixtures shared by every test: a clean environment, and the real services.

Integration tests find Kafka and Redis the same way every time:

1. ``PITCHCAST_TEST_KAFKA`` (``host:port``) / ``PITCHCAST_TEST_REDIS`` (``redis://host:port/db``),
   checked with a socket connect (``scripts/test`` starts ``pitchcast stack up`` and sets both);
2. else testcontainers, when a Docker engine answers;
3. else the test fails when ``CI=true`` and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support.utils import CreateTopics, UniqueName, unavailable, wait_until_async

# Re-exported: some test modules import the fixture signatures from here.
__all__ = ["CreateTopics", "UniqueName"]

# The fake LLM server and backends on it (fixtures any test may ask for).
pytest_plugins = ["tests.support.llm_fixtures"]

KAFKA_ENV = "PITCHCAST_TEST_KAFKA"
REDIS_ENV = "PITCHCAST_TEST_REDIS"

# What testcontainers runs when there is Docker but no service in the environment.
# Kafka 3.9 (Confluent 7.9): testcontainers' KafkaContainer drives Confluent's images.
_KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
_REDIS_IMAGE = "redis:7.4"

_TOPIC_ERROR_ALREADY_EXISTS = 36


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from pitchcast's defaults; only the test-service variables stay.

    One exception: the density is ``every`` (one line per action), the contract most
    delivery tests count on; the density tests set ``story`` or ``key`` themselves."""
    for name in list(os.environ):
        if name.startswith("PITCHCAST_") and not name.startswith("PITCHCAST_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PITCHCAST_DENSITY", "every")


# --- services ---------------------------------------------------------------


def _answers(host: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _start_container(factory: Callable[[], Any]) -> tuple[Any | None, str]:
    """Start a testcontainers container, or say why not (no Docker engine, pull failed...)."""
    try:
        container = factory()
    except Exception as exc:  # docker.errors.DockerException and whatever else the SDK raises
        return None, f"{type(exc).__name__}: {exc}"
    try:
        container.start()
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return container, ""


def _kafka_container() -> Any:
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer(_KAFKA_IMAGE).with_kraft()
    # The same broker settings as the local stack: explicit topics, no replicas to wait for.
    for key, value in {
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    }.items():
        container.with_env(key, value)
    return container


def _redis_container() -> Any:
    from testcontainers.community.redis import RedisContainer

    return RedisContainer(_REDIS_IMAGE)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a real Kafka broker (auto.create.topics is off: use create_topics)."""
    configured = os.environ.get(KAFKA_ENV, "").strip()
    if configured:
        host, _, port = configured.split(",")[0].rpartition(":")
        if not port.isdigit() or not _answers(host or "127.0.0.1", int(port)):
            unavailable(
                f"{KAFKA_ENV}={configured} does not answer (is `pitchcast stack up` running?)"
            )
        yield configured
        return
    container, why = _start_container(_kafka_container)
    if container is None:
        unavailable(
            f"no Kafka for integration tests: set {KAFKA_ENV}=host:port "
            f"(`pitchcast stack up` serves 127.0.0.1:9092) or run a Docker engine ({why})"
        )
    try:
        yield container.get_bootstrap_server()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://host:port/db`` of a real Redis server."""
    configured = os.environ.get(REDIS_ENV, "").strip()
    if configured:
        parts = urlsplit(configured)
        if parts.scheme not in {"redis", "rediss"} or not _answers(
            parts.hostname or "127.0.0.1", parts.port or 6379
        ):
            # Only host and port are shown: the URL may carry a password.
            where = f"{parts.hostname}:{parts.port or 6379}"
            unavailable(f"{REDIS_ENV} ({where}) does not answer (is `pitchcast stack up` running?)")
        yield configured
        return
    container, why = _start_container(_redis_container)
    if container is None:
        unavailable(
            f"no Redis for integration tests: set {REDIS_ENV}=redis://host:port/0 "
            f"(`pitchcast stack up` serves redis://127.0.0.1:6379/0) or run a Docker engine ({why})"
        )
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"
    finally:
        container.stop()


# --- helpers ----------------------------------------------------------------


@pytest.fixture
def unique_name() -> UniqueName:
    """A factory of names no other test (or earlier run) uses: topics, groups, keys."""

    def make(kind: str = "topic") -> str:
        # Topic names allow [a-zA-Z0-9._-] only.
        safe = re.sub(r"[^a-zA-Z0-9._-]+", "-", kind).strip("-") or "name"
        return f"pitchcast-test-{safe}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
async def create_topics(kafka_bootstrap: str) -> AsyncIterator[CreateTopics]:
    """An async function creating topics (partitions each, replication 1); deleted afterwards.

    It returns once every partition of every topic has a leader, so a producer can send
    at once. The broker runs with auto.create.topics.enable=false.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=15000)
    await admin.start()
    created: list[str] = []

    async def create(
        *names: str, partitions: int = 1, config: dict[str, str] | None = None
    ) -> list[str]:
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=config or {}) for name in names]
        )
        # aiokafka returns per-topic error codes rather than raising.
        failed = [
            f"{entry['topic']}: {entry['error_code']} {entry.get('error_message') or ''}".strip()
            for entry in response.to_object()["topic_errors"]
            if entry["error_code"] not in (0, _TOPIC_ERROR_ALREADY_EXISTS)
        ]
        assert not failed, f"could not create topics: {failed}"
        created.extend(names)

        async def all_led() -> bool:
            described = await admin.describe_topics(list(names))
            return len(described) == len(names) and all(
                topic["error_code"] == 0
                and len(topic["partitions"]) == partitions
                and all(p["leader"] >= 0 for p in topic["partitions"])
                for topic in described
            )

        await wait_until_async(all_led, timeout=15.0, what=f"leaders for topics {names}")
        return list(names)

    try:
        yield create
    finally:
        try:
            if created:
                await admin.delete_topics(created)
        finally:
            await admin.close()
