"""CommentaryService on a real Redis with scripted fake backends.

The LLM backend here is a small in-process fake (the real OpenAI backend has its own
tests against an HTTP server); Redis is real, because the lock and cache semantics are
what is being tested. The fallback to the template and the breaker:
``test_service_fallback.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.service import AlreadyPublished, CommentaryService
from pitchcast.exceptions import LLMError, LLMUnavailable
from pitchcast.schemas.records import Usage, commentary_id_for
from pitchcast.settings import load_settings
from tests.support.redis_fixtures import (  # noqa: F401  (fixtures register on import)
    RedisServer,
    free_port,
    own_redis_fixture,
    redis_server_bin_fixture,
)
from tests.support.service_doubles import FakeLLM, FakeTemplate, Lines, is_result, make_batch

pytestmark = pytest.mark.integration

SECRET = "pw-K7#service-never-log"


# --- cache --------------------------------------------------------------------


async def test_llm_answer_is_cached_and_a_hit_skips_the_backend(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """A second worker finds the validated answer in Redis and never calls the LLM."""
    llm = FakeLLM()
    batch = make_batch()
    first = is_result(await services(llm).write(batch, "CASTER"))
    assert first.source == "llm" and llm.calls == 1

    other = services(llm)
    lines = Lines()
    hit = is_result(await other.write(batch, "CASTER", on_item=lines))
    assert llm.calls == 1
    assert hit.source == "llm" and hit.fallback_reason is None
    assert hit.items == first.items and hit.model == first.model
    assert hit.usage == Usage()  # no tokens were spent for the hit
    assert lines.action_ids == [a.action_id for a in batch.actions]
    assert other.metrics.get("cache_lookups", result="hit") == 1
    assert other.metrics.get("llm_requests") == 0
    assert other.store.metrics is other.metrics  # one object holds the stage's figures


async def test_cache_key_covers_the_persona(services: Callable[..., CommentaryService]) -> None:
    """Another persona of the same batch is another answer: the LLM is called again."""
    llm = FakeLLM()
    service = services(llm)
    await service.write(make_batch(), "CASTER")
    await service.write(make_batch(), "ANALYST")
    assert llm.calls == 2


async def test_template_output_is_never_cached(
    services: Callable[..., CommentaryService],
) -> None:
    """After a fallback the next worker asks the LLM again instead of reusing template lines."""
    llm = FakeLLM()
    llm.error = LLMUnavailable("down")
    batch = make_batch()
    assert is_result(await services(llm).write(batch, "CASTER")).source == "template"
    llm.error = None
    again = is_result(await services(llm).write(batch, "CASTER"))
    assert again.source == "llm" and llm.calls == 2


async def test_corrupt_cache_entry_is_a_miss(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """A cache entry that does not decode (or is another batch's) is ignored, not trusted."""
    llm = FakeLLM()
    batch = make_batch()
    store = stores()
    await store.set_answer(llm.cache_key(batch, "CASTER"), b'{"v": 1, "items": "nope"}')
    result = is_result(await services(llm, store=store).write(batch, "CASTER"))
    assert result.source == "llm" and llm.calls == 1


# --- lock ---------------------------------------------------------------------


async def test_two_workers_on_one_batch_call_the_llm_once(
    services: Callable[..., CommentaryService],
) -> None:
    """Two workers writing the same batch at once: one LLM call, both return its answer."""
    llm = FakeLLM(delay=0.3)
    batch = make_batch()
    a, b = services(llm), services(llm)
    lines_a, lines_b = Lines(), Lines()
    ra, rb = await asyncio.gather(
        a.write(batch, "CASTER", on_item=lines_a), b.write(batch, "CASTER", on_item=lines_b)
    )
    assert llm.calls == 1
    assert is_result(ra).items == is_result(rb).items
    assert {is_result(ra).source, is_result(rb).source} == {"llm"}
    assert a.metrics.get("lock_waits") + b.metrics.get("lock_waits") == 1
    hits = [m.get("cache_lookups", result="hit") for m in (a.metrics, b.metrics)]
    assert sum(hits) == 1
    assert len(lines_a.items) == len(lines_b.items) == 10


async def test_many_workers_on_one_batch_call_the_llm_once(
    services: Callable[..., CommentaryService],
) -> None:
    """Eight concurrent workers on one batch still make a single LLM call."""
    llm = FakeLLM(delay=0.2)
    workers = [services(llm) for _ in range(8)]
    results = await asyncio.gather(*(w.write(make_batch(), "CASTER") for w in workers))
    assert llm.calls == 1
    assert all(is_result(r).source == "llm" for r in results)


async def test_loser_sees_the_published_marker(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """A worker that loses the lock returns AlreadyPublished once the holder publishes."""
    llm = FakeLLM()
    batch = make_batch()
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    holder = stores()
    token = await holder.acquire_lock(cid, 10)
    assert token is not None
    service = services(llm)
    task = asyncio.create_task(service.write(batch, "CASTER"))
    await asyncio.sleep(0.2)
    assert not task.done()
    await holder.mark_published(cid)
    outcome = await asyncio.wait_for(task, 2)
    assert outcome == AlreadyPublished(cid)
    assert llm.calls == 0
    assert service.metrics.get("lock_waits") == 1
    assert await holder.release_lock(cid, token) is True


async def test_loser_takes_over_an_expired_lock(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """When the holder dies, its lock expires and the waiting worker writes the batch itself."""
    llm = FakeLLM()
    batch = make_batch()
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    assert await stores().acquire_lock(cid, 0.4) is not None  # a holder that never releases
    service = services(llm)
    started = time.perf_counter()
    result = is_result(await service.write(batch, "CASTER"))
    assert result.source == "llm" and llm.calls == 1
    assert time.perf_counter() - started >= 0.3
    assert await service.store.lock_exists(cid) is False  # released after the takeover


async def test_lock_wait_ends_at_the_deadline_with_the_template(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """A loser whose holder outlives the deadline writes from the template: never skips."""
    llm = FakeLLM()
    batch = make_batch()
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    assert await stores().acquire_lock(cid, 10) is not None
    service = services(llm, deadline_s=0.4)
    started = time.perf_counter()
    result = is_result(await service.write(batch, "CASTER"))
    elapsed = time.perf_counter() - started
    assert result.source == "template" and result.fallback_reason == "lock_wait_deadline"
    assert len(result.items) == 10 and llm.calls == 0
    assert 0.35 <= elapsed < 0.8


async def test_already_published_batch_is_not_written_again(
    services: Callable[..., CommentaryService],
) -> None:
    """A redelivered batch whose commentary was published returns AlreadyPublished at once."""
    llm = FakeLLM()
    batch = make_batch()
    service = services(llm)
    cid = commentary_id_for(batch.game_id, batch.batch_index, "FRIEND")
    assert await service.is_published(cid) is False
    await service.mark_published(cid)
    assert await service.is_published(cid) is True
    assert await service.write(batch, "FRIEND") == AlreadyPublished(cid)
    assert llm.calls == 0


async def test_cancellation_propagates_and_releases_the_lock(
    services: Callable[..., CommentaryService],
) -> None:
    """A cancelled write (rebalance) raises CancelledError and leaves no lock behind."""
    llm = FakeLLM(delay=5)
    batch = make_batch()
    service = services(llm)
    task = asyncio.create_task(service.write(batch, "CASTER"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    assert await service.store.lock_exists(cid) is False
    assert service.breaker.state == "closed"


# --- Redis absent, logs ---------------------------------------------------------


async def test_without_redis_the_service_still_writes(
    services: Callable[..., CommentaryService],
    stores: Callable[..., RedisStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Redis unreachable, batches are written (no cache, no lock) and nothing raises."""
    caplog.set_level(logging.INFO, logger="pitchcast")
    llm = FakeLLM()
    dead = stores(f"redis://127.0.0.1:{free_port()}/0")
    service = services(llm, store=dead)
    for index in range(3):
        assert is_result(await service.write(make_batch(index), "CASTER")).source == "llm"
    assert await service.is_published("x") is False
    await service.mark_published("x")
    assert llm.calls == 3
    assert dead.metrics.get("redis_outages") == 1
    warnings = [r for r in caplog.records if r.getMessage() == "pitchcast.redis_unavailable"]
    assert len(warnings) == 1


async def test_warm_up_is_passed_through_and_never_raises(
    services: Callable[..., CommentaryService], caplog: pytest.LogCaptureFixture
) -> None:
    """warm_up reaches the primary; its failure is logged, not raised."""
    llm = FakeLLM()
    service = services(llm)
    await service.warm_up()
    llm.warm_error = LLMError("cold")
    await service.warm_up()
    assert llm.warmed == 2
    assert any(r.getMessage() == "pitchcast.commentary.warm_up_failed" for r in caplog.records)


async def test_warm_up_passes_the_game_on_to_a_primary_that_takes_it(
    services: Callable[..., CommentaryService],
) -> None:
    """On match_start the service hands the game id over, so a backend with several
    endpoints warms the one that match will use."""
    seen: list[int | None] = []

    class GameAware(FakeLLM):
        async def warm_up(self, *, game_id: int | None = None) -> None:  # type: ignore[override]
            seen.append(game_id)

    service = services(GameAware())
    await service.warm_up(126283)
    await service.warm_up()
    assert seen == [126283, None]


async def test_from_settings_wires_deadline_bound_and_breaker(
    redis_url: str, namespace: str
) -> None:
    """from_settings takes the deadline, in-flight bound, breaker and lock TTL from Settings."""
    settings = load_settings(
        redis_url=redis_url,
        llm_batch_deadline_s=7.5,
        llm_max_in_flight=3,
        llm_breaker_failures=4,
        llm_breaker_reset_s=12,
        lock_ttl_margin_s=2.5,
    )
    store = RedisStore.from_settings(settings, namespace=namespace)
    service = CommentaryService.from_settings(settings, FakeLLM(), FakeTemplate(), store)
    try:
        assert service.deadline_s == 7.5 and service.lock_ttl_s == 10.0
        assert service.breaker.failure_threshold == 4 and service.breaker.reset_after_s == 12
        assert is_result(await service.write(make_batch(), "CASTER")).source == "llm"
    finally:
        await service.aclose()


async def test_password_never_reaches_the_logs(
    own_redis: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """Through success, fallback, lock waits and an outage, no log record carries the password."""
    caplog.set_level(logging.DEBUG)
    server = own_redis(password=SECRET)
    settings = load_settings(
        redis_url=f"redis://:{quote(SECRET, safe='')}@127.0.0.1:{server.port}/0",
        llm_batch_deadline_s=0.5,
        redis_probe_interval_s=0.01,
    )
    llm = FakeLLM()
    services_ = [
        CommentaryService.from_settings(
            settings, llm, FakeTemplate(), RedisStore.from_settings(settings)
        )
        for _ in range(2)
    ]
    try:
        a, b = services_
        await a.write(make_batch(0), "CASTER")  # LLM, cached
        await b.write(make_batch(0), "CASTER")  # cache hit
        llm.delay = 0.2
        await asyncio.gather(a.write(make_batch(1), "CASTER"), b.write(make_batch(1), "CASTER"))
        llm.delay = 0
        llm.error = LLMUnavailable(f"connect failed (key {SECRET[:3]}...)")
        await a.write(make_batch(2), "CASTER")  # fallback
        server.stop()
        llm.error = None
        await a.write(make_batch(3), "CASTER")  # Redis down
        assert any(r.getMessage() == "pitchcast.redis_unavailable" for r in caplog.records)
    finally:
        for service in services_:
            await service.aclose()
    assert caplog.records
    for secret in (SECRET, quote(SECRET, safe="")):
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in repr(record.__dict__)
        assert secret not in caplog.text
