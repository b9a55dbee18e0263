"""RedisStore against a real TLS redis-server (Debian's is built with TLS) with a
password and client certificates, all made for the test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import pytest

from pitchcast.cache import RedisStore
from pitchcast.settings import load_settings
from tests.conftest import UniqueName
from tests.support.redis_fixtures import (  # noqa: F401  (fixtures register on import)
    RedisServer,
    own_redis_fixture,
    redis_server_bin_fixture,
)
from tests.support.tls import TLSFiles, tls_files_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

SECRET = "pw-TLS!redis-never-log"


@pytest.fixture
async def stores(unique_name: UniqueName) -> AsyncIterator[Callable[..., RedisStore]]:
    """Factory of stores from settings (one namespace per test), closed after."""
    made: list[RedisStore] = []
    namespace = unique_name("tls")

    def make(**values: object) -> RedisStore:
        store = RedisStore.from_settings(
            load_settings(redis_probe_interval_s=0.05, **values), namespace=namespace
        )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


async def test_mutual_tls_with_a_password_works_end_to_end(
    own_redis: Callable[..., RedisServer],
    tls_files: TLSFiles,
    stores: Callable[..., RedisStore],
) -> None:
    """A server that requires TLS, client certificates and a password: the store pings,
    caches, locks and marks over rediss://."""
    server = own_redis(password=SECRET, tls=tls_files, tls_auth_clients="yes")
    store = stores(
        redis_url=server.url,
        redis_password=SECRET,
        redis_ssl_cafile=tls_files.ca,
        redis_ssl_certfile=tls_files.client_cert,
        redis_ssl_keyfile=tls_files.client_key,
    )
    assert store.tls and await store.ping()
    await store.set_answer("k", "골!".encode())
    assert await store.get_answer("k") == "골!".encode()
    token = await store.acquire_lock("batch", 5)
    assert token is not None and await store.release_lock("batch", token)
    await store.mark_published("cid")
    assert await store.is_published("cid")
    assert store.metrics.get("redis_errors") == 0


@pytest.mark.parametrize("problem", ["no_client_cert", "other_ca", "wrong_password"])
async def test_a_tls_connection_that_cannot_be_made_degrades_without_leaking(
    own_redis: Callable[..., RedisServer],
    tls_files: TLSFiles,
    stores: Callable[..., RedisStore],
    caplog: pytest.LogCaptureFixture,
    problem: str,
) -> None:
    """Missing client certificate, an untrusted server, or a wrong password: the store
    reports an outage (no exception) and no log record carries a password."""
    caplog.set_level(logging.DEBUG)
    server = own_redis(password=SECRET, tls=tls_files, tls_auth_clients="yes")
    values: dict[str, object] = {
        "redis_url": server.url,
        "redis_password": SECRET,
        "redis_ssl_cafile": tls_files.ca,
        "redis_ssl_certfile": tls_files.client_cert,
        "redis_ssl_keyfile": tls_files.client_key,
    }
    if problem == "no_client_cert":
        del values["redis_ssl_certfile"], values["redis_ssl_keyfile"]
    elif problem == "other_ca":
        values["redis_ssl_cafile"] = tls_files.other_ca
    else:
        values["redis_password"] = "not-" + SECRET
    store = stores(**values)
    assert await store.ping() is False
    assert await store.get_answer("k") is None
    assert store.metrics.get("redis_errors") >= 1
    assert any(r.getMessage() == "pitchcast.redis_unavailable" for r in caplog.records)
    for record in caplog.records:
        assert SECRET not in record.getMessage() and SECRET not in repr(record.__dict__)
    assert SECRET not in caplog.text
