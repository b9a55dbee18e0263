"""Fixtures of the commentary service's integration tests: stores on the shared Redis in
one namespace per test, and services built on them (one store per 'worker')."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.service import CommentaryService
from tests.conftest import UniqueName
from tests.support.service_doubles import FakeLLM, FakeTemplate


@pytest.fixture
def namespace(unique_name: UniqueName) -> str:
    return unique_name("svc")


@pytest.fixture
async def stores(redis_url: str, namespace: str) -> AsyncIterator[Callable[..., RedisStore]]:
    """Factory of stores on the shared Redis in this test's namespace (one per 'worker')."""
    made: list[RedisStore] = []

    def make(url: str | None = None, **kwargs: Any) -> RedisStore:
        store = RedisStore(url or redis_url, namespace=namespace, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


@pytest.fixture
def services(
    stores: Callable[..., RedisStore],
) -> Callable[..., CommentaryService]:
    """Factory of services: a fresh store (a 'worker') unless one is given."""

    def make(
        primary: FakeLLM,
        fallback: FakeTemplate | None = None,
        *,
        store: RedisStore | None = None,
        **kwargs: Any,
    ) -> CommentaryService:
        kwargs.setdefault("deadline_s", 3.0)
        return CommentaryService(primary, fallback or FakeTemplate(), store or stores(), **kwargs)

    return make
