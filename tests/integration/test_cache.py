"""RedisStore against a real redis-server: cache, lock, published marker, outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from pitchcast.cache import NO_LOCK, RedisStore
from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from tests.conftest import UniqueName
from tests.support.redis_fixtures import (  # noqa: F401  (fixtures register on import)
    RedisServer,
    free_port,
    own_redis_fixture,
    redis_server_bin_fixture,
)

pytestmark = pytest.mark.integration

SECRET = "pw-Zq9!never-log-me"


@pytest.fixture
def namespace(unique_name: UniqueName) -> str:
    return unique_name("ns")


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[RedisStore]:
    s = RedisStore(redis_url, namespace=namespace)
    yield s
    await s.aclose()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == name]


async def test_answer_roundtrip_with_default_ttl(store: RedisStore, raw: aioredis.Redis) -> None:
    """A cached answer comes back byte for byte under a namespaced key with a 1 h TTL."""
    value = "골! 손흥민의 왼발 슈팅".encode()
    await store.set_answer("k1", value)
    assert await store.get_answer("k1") == value
    assert await store.get_answer("absent") is None
    ttl = await raw.ttl(f"{store.namespace}:answer:k1")
    assert 3590 <= ttl <= 3600
    m = store.metrics
    assert m.get("cache_lookups", result="hit") == m.get("cache_lookups", result="miss") == 1
    assert m.get("redis_errors") == 0 and m.get("redis_up") == 1


async def test_answer_expires_after_its_ttl(store: RedisStore) -> None:
    """An answer set with a 1 s TTL is gone after that second."""
    await store.set_answer("short", b"x", ttl_s=1)
    assert await store.get_answer("short") == b"x"
    await asyncio.sleep(1.1)
    assert await store.get_answer("short") is None


async def test_store_from_settings_uses_cache_ttl(
    redis_url: str, namespace: str, raw: aioredis.Redis
) -> None:
    """from_settings takes the URL and cache_ttl_s from Settings."""
    store = RedisStore.from_settings(
        load_settings(redis_url=redis_url, cache_ttl_s=120), namespace=namespace
    )
    try:
        await store.set_answer("k", b"v")
        assert 110 <= await raw.ttl(f"{namespace}:answer:k") <= 120
        assert await store.ping() is True
    finally:
        await store.aclose()


async def test_lock_is_exclusive(store: RedisStore) -> None:
    """Only one of many concurrent acquirers gets the lock; the rest get None."""
    first = await store.acquire_lock("batch-a", 5)
    assert first is not None and first != NO_LOCK and len(first) == 32
    assert await store.acquire_lock("batch-a", 5) is None
    assert await store.lock_exists("batch-a") is True
    tokens = await asyncio.gather(*(store.acquire_lock("batch-b", 5) for _ in range(20)))
    assert sum(t is not None for t in tokens) == 1


async def test_release_only_by_owner(store: RedisStore) -> None:
    """Release with a foreign token leaves the lock; the owner's token deletes it once."""
    token = await store.acquire_lock("batch", 5)
    assert token is not None
    assert await store.release_lock("batch", "0" * 32) is False
    assert await store.lock_exists("batch") is True
    assert await store.release_lock("batch", token) is True
    assert await store.lock_exists("batch") is False
    assert await store.release_lock("batch", token) is False


async def test_lock_expires_and_old_owner_cannot_release_new_one(store: RedisStore) -> None:
    """An expired lock can be taken by another owner, whose lock the old token cannot delete."""
    old = await store.acquire_lock("batch", 0.2)
    assert old is not None
    await asyncio.sleep(0.35)
    assert await store.lock_exists("batch") is False
    new = await store.acquire_lock("batch", 5)
    assert new is not None and new != old
    assert await store.release_lock("batch", old) is False
    assert await store.lock_exists("batch") is True


async def test_published_marker(store: RedisStore, raw: aioredis.Redis) -> None:
    """mark_published makes is_published true, kept for the 7-day default TTL."""
    cid = "6f1c0c36-4b7e-5b55-9a8e-000000000001"
    assert await store.is_published(cid) is False
    await store.mark_published(cid)
    assert await store.is_published(cid) is True
    ttl = await raw.ttl(f"{store.namespace}:published:{cid}")
    assert 7 * 86400 - 10 <= ttl <= 7 * 86400
    await store.mark_published("other", ttl_s=60)
    assert await raw.ttl(f"{store.namespace}:published:other") <= 60


async def test_command_error_is_not_an_outage(
    store: RedisStore, raw: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused command (WRONGTYPE) degrades that call only, logged once, no outage."""
    caplog.set_level(logging.INFO, logger="pitchcast")
    await raw.rpush(f"{store.namespace}:answer:listy", "x")
    assert await store.get_answer("listy") is None
    assert await store.get_answer("listy") is None  # the same failure is not logged again
    assert store.metrics.get("redis_errors", operation="get_answer") == 2
    assert store.metrics.get("redis_outages") == 0
    assert store.available is True
    assert len(_events(caplog, "pitchcast.redis_command_failed")) == 1
    assert not _events(caplog, "pitchcast.redis_unavailable")


async def test_disabled_store_is_a_silent_noop(caplog: pytest.LogCaptureFixture) -> None:
    """redis_enabled=False behaves as a permanently absent Redis, without any warning."""
    caplog.set_level(logging.DEBUG, logger="pitchcast")
    store = RedisStore.from_settings(load_settings(redis_enabled=False))
    await store.set_answer("k", b"v")
    assert await store.get_answer("k") is None
    assert await store.acquire_lock("l", 1) == NO_LOCK
    assert await store.release_lock("l", NO_LOCK) is False
    assert await store.lock_exists("l") is False
    await store.mark_published("c")
    assert await store.is_published("c") is False
    assert await store.ping() is False
    await store.aclose()
    assert caplog.records == []
    assert set(store.metrics.snapshot().values()) == {0.0}


async def test_outage_degrades_logs_once_and_recovers(
    own_redis: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stopped mid-test: every call degrades fast, one warning, counted; restart recovers."""
    caplog.set_level(logging.INFO, logger="pitchcast")
    server = own_redis()
    store = RedisStore(server.url, probe_interval_s=0.05)
    try:
        await store.set_answer("k", b"v")
        assert await store.get_answer("k") == b"v"

        server.stop()
        started = time.perf_counter()
        assert await store.get_answer("k") is None
        await store.set_answer("k2", b"v2")
        assert await store.acquire_lock("batch", 5) == NO_LOCK
        assert await store.release_lock("batch", NO_LOCK) is False
        assert await store.lock_exists("batch") is False
        assert await store.is_published("c") is False
        await store.mark_published("c")
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"7 calls to a dead Redis took {elapsed:.3f} s"
        await asyncio.sleep(0.06)  # the next call is a probe, which fails again
        assert await store.get_answer("k") is None
        assert await store.ping() is False

        assert len(_events(caplog, "pitchcast.redis_unavailable")) == 1
        m = store.metrics
        assert m.get("redis_outages") == 1 and m.get("redis_up") == 0
        # Each call either failed (first one, probes, ping) or was skipped; release of
        # NO_LOCK never touches Redis.
        assert m.get("redis_errors") >= 3
        assert m.get("redis_errors") + m.get("redis_calls_skipped") == 8
        assert store.available is False

        server.start()
        await asyncio.sleep(0.06)
        assert await store.get_answer("k") is None  # no persistence: the data is gone
        await store.set_answer("k", b"again")
        assert await store.get_answer("k") == b"again"
        token = await store.acquire_lock("batch", 5)
        assert token is not None and token != NO_LOCK
        recovered = _events(caplog, "pitchcast.redis_recovered")
        assert len(recovered) == 1
        assert recovered[0].target == f"127.0.0.1:{server.port}/0"  # type: ignore[attr-defined]
        assert store.available is True and m.get("redis_up") == 1

        server.stop()  # a second outage is a second warning
        assert await store.is_published("c") is False
        assert len(_events(caplog, "pitchcast.redis_unavailable")) == 2
        assert store.metrics.get("redis_outages") == 2
    finally:
        await store.aclose()


async def test_dead_redis_costs_milliseconds() -> None:
    """A Redis that never answers (closed port) costs well under a millisecond per call."""
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        started = time.perf_counter()
        for i in range(200):
            assert await store.get_answer(f"k{i}") is None
        per_call = (time.perf_counter() - started) / 200
        assert per_call < 0.005, f"{per_call * 1000:.2f} ms per call"
        assert store.metrics.get("redis_outages") == 1
        assert (
            store.metrics.get("redis_calls_skipped") >= 190
        )  # inside the probe interval nothing is sent
    finally:
        await store.aclose()


async def test_credentials_never_reach_logs(
    own_redis: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """Neither a password argument nor one inside the URL appears in any log record."""
    caplog.set_level(logging.DEBUG)
    server = own_redis(password=SECRET)
    with_arg = RedisStore(server.url, password=SECRET, probe_interval_s=0.01)
    in_url = RedisStore(f"redis://:{SECRET}@127.0.0.1:{server.port}/0", probe_interval_s=0.01)
    wrong = RedisStore(server.url, password="wrong-" + SECRET, probe_interval_s=0.01)
    try:
        for store in (with_arg, in_url):
            await store.set_answer("k", b"v")
            assert await store.get_answer("k") == b"v"
        assert await wrong.get_answer("k") is None  # AuthenticationError: an outage
        server.stop()
        for store in (with_arg, in_url):
            assert await store.get_answer("k") is None
        assert _events(caplog, "pitchcast.redis_unavailable")
        for store in (with_arg, in_url, wrong):
            assert SECRET not in repr(store)
            assert SECRET not in store.target
    finally:
        for store in (with_arg, in_url, wrong):
            await store.aclose()
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.__dict__)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        # An unencoded '#' ends the netloc early, so urllib reads the password as a port.
        "redis://:Sekr3t#tail@127.0.0.1:6379/0",
        "http://127.0.0.1:6379",
        "redis://h:port/0",
    ],
)
def test_invalid_url_is_a_configuration_error_without_the_password(url: str) -> None:
    """A malformed URL fails at construction, and the error does not quote the password."""
    with pytest.raises(ConfigurationError) as info:
        RedisStore(url)
    assert "Sekr3t" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
