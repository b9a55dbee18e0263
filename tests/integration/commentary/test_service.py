"""CommentaryService on a real Redis with scripted fake backends.

The LLM backend here is a small in-process fake (the real OpenAI backend has its own
tests against an HTTP server); Redis is real, because the lock and cache semantics are
what is being tested.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback
from pitchcast.commentary.breaker import CircuitBreaker
from pitchcast.commentary.service import AlreadyPublished, CommentaryService, WriteOutcome
from pitchcast.exceptions import (
    CommentaryRejected,
    LLMCircuitOpen,
    LLMError,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
)
from pitchcast.schemas.records import (
    Action,
    Batch,
    CommentaryItem,
    Score,
    Usage,
    commentary_id_for,
)
from pitchcast.settings import Persona, load_settings
from tests.conftest import UniqueName
from tests.support.redis_fixtures import (  # noqa: F401  (fixtures register on import)
    RedisServer,
    free_port,
    own_redis_fixture,
    redis_server_bin_fixture,
)

pytestmark = pytest.mark.integration

SECRET = "pw-K7#service-never-log"
PLAYERS = ("손흥민", "이강인", "조규성", "김민재", "황희찬")


def make_batch(batch_index: int = 0, *, game_id: int = 126283, size: int = 10) -> Batch:
    first = 1000 + batch_index * size
    actions = tuple(
        Action(
            game_id=game_id,
            action_id=first + i,
            period_id=1,
            time_seconds=60.0 * batch_index + i * 3.5,
            team_id=4220,
            player_id=float(500 + i),
            result_name="Successful",
            start_x=30.0 + i,
            start_y=34.0,
            end_x=40.0 + i,
            end_y=30.0,
            dx=10.0,
            dy=-4.0,
            type_name="Pass",
            player_name_ko=PLAYERS[i % len(PLAYERS)],
            team_name_ko="울산 HD",
        )
        for i in range(size)
    )
    return Batch(
        game_id=game_id,
        batch_index=batch_index,
        period_id=1,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason="full",
        actions=actions,
        score=Score(1, 0),
        roster=PLAYERS,
    )


class FakeLLM:
    """Scripted primary: answers, fails with ``error`` after emitting ``emit_before_error``
    lines, or sleeps ``delay`` first. Counts calls and concurrency."""

    name = "openai"
    model = "fake-llm-7b"

    def __init__(self, *, delay: float = 0.0, stream: bool = True) -> None:
        self.delay = delay
        self.stream = stream
        self.error: Exception | None = None
        self.emit_before_error = 0
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.warmed = 0
        self.warm_error: Exception | None = None

    def cache_key(self, batch: Batch, persona: Persona) -> str:
        ids = ",".join(str(a.action_id) for a in batch.actions)
        raw = f"{self.model}|v1|{persona}|{batch.game_id}|{batch.batch_index}|{ids}"
        return hashlib.sha256(raw.encode()).hexdigest()

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            items = tuple(
                CommentaryItem(
                    action_id=a.action_id,
                    time_seconds=a.time_seconds,
                    tone="excited",
                    description=f"{a.player_name_ko}의 날카로운 패스! ({a.action_id})",
                )
                for a in batch.actions
            )
            for index, item in enumerate(items):
                if self.error is not None and index == self.emit_before_error:
                    raise self.error
                if self.stream and on_item is not None:
                    await on_item(item)
            if self.error is not None:
                raise self.error
            return CommentaryResult(items, "llm", self.model, Usage(480, 270))
        finally:
            self.in_flight -= 1

    async def warm_up(self) -> None:
        self.warmed += 1
        if self.warm_error is not None:
            raise self.warm_error

    async def aclose(self) -> None:
        pass


class FakeTemplate:
    """Deterministic fallback: one calm line per action, never fails, never cached."""

    name = "template"
    model = "template-v1"

    def __init__(self) -> None:
        self.calls = 0

    def cache_key(self, batch: Batch, persona: Persona) -> None:
        return None

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        self.calls += 1
        items = tuple(
            CommentaryItem(a.action_id, a.time_seconds, "calm", f"{a.player_name_ko}, 패스.")
            for a in batch.actions
        )
        for item in items:
            if on_item is not None:
                await on_item(item)
        return CommentaryResult(items, "template", self.model)

    async def aclose(self) -> None:
        pass


class Lines:
    """An on_item that records what would have been published on commentary-lines."""

    def __init__(self) -> None:
        self.items: list[CommentaryItem] = []

    async def __call__(self, item: CommentaryItem) -> None:
        self.items.append(item)

    @property
    def action_ids(self) -> list[int]:
        return [i.action_id for i in self.items]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def is_result(outcome: WriteOutcome) -> CommentaryResult:
    assert isinstance(outcome, CommentaryResult), outcome
    return outcome


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


# --- fallback -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (LLMUnavailable("connection refused"), "LLMUnavailable"),
        (LLMTimeout("read timeout"), "LLMTimeout"),
        (LLMRateLimited("429", retry_after=3), "LLMRateLimited"),
        (
            CommentaryRejected(["missing action_id 1004", "bad tone"]),
            "CommentaryRejected: missing action_id 1004",
        ),
        (RuntimeError("bug in a backend"), "unexpected: RuntimeError"),
    ],
)
async def test_failure_falls_back_to_the_template_with_its_reason(
    services: Callable[..., CommentaryService], error: Exception, reason: str
) -> None:
    """Every LLM failure kind ends in template commentary with the kind as fallback_reason."""
    llm = FakeLLM()
    llm.error = error
    template = FakeTemplate()
    service = services(llm, template)
    lines = Lines()
    result = is_result(await service.write(make_batch(), "CASTER", on_item=lines))
    assert result.source == "template" and result.fallback_reason == reason
    assert result.model == "template-v1" and template.calls == 1
    assert result.items[0].description == "손흥민, 패스."
    assert lines.items == list(result.items)
    assert service.metrics.get("fallbacks") == 1
    assert service.metrics.get("fallbacks", reason=reason.split(":")[0], source="template") == 1


async def test_slow_backend_is_cut_at_the_deadline(
    services: Callable[..., CommentaryService],
) -> None:
    """A backend slower than the batch deadline is abandoned in time for the template."""
    llm = FakeLLM(delay=5)
    batch = make_batch()
    service = services(llm, deadline_s=0.3)
    started = time.perf_counter()
    result = is_result(await service.write(batch, "CASTER"))
    elapsed = time.perf_counter() - started
    assert result.source == "template" and result.fallback_reason == "deadline"
    assert 0.25 <= elapsed < 0.6, elapsed
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    assert await service.store.lock_exists(cid) is False
    assert service.breaker.consecutive_failures == 1


async def test_waiting_for_a_free_llm_slot_counts_toward_the_deadline(
    services: Callable[..., CommentaryService],
) -> None:
    """A batch that gets no LLM slot within its deadline goes to the template, uncounted."""
    llm = FakeLLM()
    service = services(llm, deadline_s=0.3, max_in_flight=1)
    async with service.in_flight.take():  # every slot busy (as with other matches' calls)
        started = time.perf_counter()
        result = is_result(await service.write(make_batch(), "CASTER"))
        elapsed = time.perf_counter() - started
    assert result.fallback_reason == "deadline" and llm.calls == 0
    assert 0.25 <= elapsed < 0.6, elapsed
    # The LLM was never asked, so this is not evidence against it.
    assert service.breaker.consecutive_failures == 0


async def test_a_slow_match_does_not_stall_another_beyond_the_deadline(
    services: Callable[..., CommentaryService],
) -> None:
    """Two matches behind one slot and a slow LLM both finish within about one deadline."""
    llm = FakeLLM(delay=1.0)
    service = services(llm, deadline_s=0.4, max_in_flight=1)
    started = time.perf_counter()
    first, second = await asyncio.gather(
        service.write(make_batch(0, game_id=1), "CASTER"),
        service.write(make_batch(0, game_id=2), "CASTER"),
    )
    assert time.perf_counter() - started < 0.8
    assert {is_result(first).fallback_reason, is_result(second).fallback_reason} == {"deadline"}


async def test_in_flight_llm_calls_are_bounded(
    services: Callable[..., CommentaryService],
) -> None:
    """Across matches, no more than max_in_flight LLM calls run at once."""
    llm = FakeLLM(delay=0.1)
    service = services(llm, max_in_flight=2)
    results = await asyncio.gather(
        *(service.write(make_batch(0, game_id=g), "CASTER") for g in range(6))
    )
    assert all(is_result(r).source == "llm" for r in results)
    assert llm.max_in_flight == 2 and llm.calls == 6


async def test_breaker_opens_after_n_failures_and_probes_later(
    services: Callable[..., CommentaryService],
) -> None:
    """N failures open the breaker (LLM skipped); after the reset one probe closes it again."""
    clock = FakeClock()
    llm = FakeLLM()
    llm.error = LLMUnavailable("503")
    service = services(llm, breaker=CircuitBreaker(2, 30.0, clock=clock))

    for index in (0, 1):
        result = is_result(await service.write(make_batch(index), "CASTER"))
        assert result.fallback_reason == "LLMUnavailable"
    assert service.breaker.state == "open" and service.metrics.get("breaker_opened") == 1
    assert service.metrics.get("breaker_state") == 2  # open

    skipped = is_result(await service.write(make_batch(2), "CASTER"))
    assert skipped.fallback_reason == "circuit_open" and llm.calls == 2

    clock.now += 30
    llm.error = None
    probe = is_result(await service.write(make_batch(3), "CASTER"))
    assert probe.source == "llm" and llm.calls == 3
    assert service.breaker.state == "closed"
    assert is_result(await service.write(make_batch(4), "CASTER")).source == "llm"
    assert service.metrics.get("fallbacks", reason="LLMUnavailable") == 2
    assert service.metrics.get("fallbacks", reason="circuit_open") == 1
    assert service.metrics.get("breaker_state") == 0  # closed again
    assert service.metrics.get("llm_requests", outcome="LLMUnavailable") == 2
    assert service.metrics.get("llm_requests", outcome="ok") == 2


async def test_half_open_lets_exactly_one_probe_through(
    services: Callable[..., CommentaryService],
) -> None:
    """While the half-open probe runs, other batches still go to the template."""
    clock = FakeClock()
    llm = FakeLLM()
    llm.error = LLMUnavailable("503")
    service = services(llm, breaker=CircuitBreaker(1, 10.0, clock=clock))
    await service.write(make_batch(0), "CASTER")
    assert service.breaker.state == "open"
    clock.now += 10
    llm.error = None
    llm.delay = 0.3
    results = await asyncio.gather(
        *(service.write(make_batch(i, game_id=7), "CASTER") for i in range(1, 5))
    )
    assert llm.calls == 2  # the failure, then one probe
    sources = sorted(is_result(r).source for r in results)
    assert sources == ["llm", "template", "template", "template"]


async def test_a_refused_request_is_no_verdict_on_the_breaker(
    services: Callable[..., CommentaryService],
) -> None:
    """A permanent 4xx falls back with its status as the reason, never opens the breaker,
    and hands a half-open probe back instead of closing or reopening it."""
    clock = FakeClock()
    llm = FakeLLM()
    llm.error = LLMRequestRefused("HTTP 400 from http://llm/v1: too long", status=400)
    service = services(llm, breaker=CircuitBreaker(1, 30.0, clock=clock))
    for index in range(3):
        result = is_result(await service.write(make_batch(index), "CASTER"))
        assert result.fallback_reason == "LLMRequestRefused: HTTP 400"
    assert service.breaker.state == "closed" and service.breaker.consecutive_failures == 0
    assert llm.calls == 3
    assert service.metrics.get("fallbacks") == 3
    assert service.metrics.get("fallbacks", reason="LLMRequestRefused") == 3

    llm.error = LLMUnavailable("503")
    await service.write(make_batch(3), "CASTER")
    assert service.breaker.state == "open"
    clock.now += 30
    llm.error = LLMRequestRefused("HTTP 422 from http://llm/v1", status=422)
    await service.write(make_batch(4), "CASTER")  # the probe, refused: no verdict
    assert service.breaker.state == "half_open" and service.breaker.allow()


async def test_a_backend_whose_endpoints_are_all_open_means_circuit_open(
    services: Callable[..., CommentaryService],
) -> None:
    """LLMCircuitOpen from the backend (every endpoint's breaker open) is the
    circuit_open fallback, not a failure."""
    llm = FakeLLM()
    llm.error = LLMCircuitOpen("every LLM endpoint's circuit breaker is open")
    service = services(llm)
    result = is_result(await service.write(make_batch(), "CASTER"))
    assert result.fallback_reason == "circuit_open"
    assert service.breaker.consecutive_failures == 0


async def test_partial_emission_becomes_mixed(
    services: Callable[..., CommentaryService], stores: Callable[..., RedisStore]
) -> None:
    """Lines already published stay; the template fills only the remaining items."""
    llm = FakeLLM()
    llm.error = CommentaryRejected(["item 4: name 'Player19' is not in the roster"])
    llm.emit_before_error = 3
    batch = make_batch()
    service = services(llm)
    lines = Lines()
    result = is_result(await service.write(batch, "CASTER", on_item=lines))

    assert result.source == "mixed"
    assert result.fallback_reason is not None
    assert result.fallback_reason.startswith("CommentaryRejected: item 4")
    assert [i.action_id for i in result.items] == [a.action_id for a in batch.actions]
    assert all(i.tone == "excited" for i in result.items[:3])
    assert all(i.tone == "calm" for i in result.items[3:])
    # Every line published exactly once, the first three by the LLM.
    assert lines.action_ids == [a.action_id for a in batch.actions]
    assert lines.items == list(result.items)
    assert service.metrics.get("fallbacks", source="mixed") == 1
    # Neither the partial answer nor the template lines are cached.
    assert await service.store.get_answer(llm.cache_key(batch, "CASTER")) is None


async def test_non_streaming_answer_lines_are_emitted_by_the_service(
    services: Callable[..., CommentaryService],
) -> None:
    """A primary that does not call on_item still gets every line published, in order."""
    llm = FakeLLM(stream=False)
    lines = Lines()
    result = is_result(await services(llm).write(make_batch(), "CASTER", on_item=lines))
    assert lines.items == list(result.items)


async def test_failing_on_item_does_not_fail_the_batch(
    services: Callable[..., CommentaryService],
) -> None:
    """An on_item that raises is logged and counted; the batch record is still complete."""
    llm = FakeLLM()
    seen: list[int] = []

    async def flaky(item: CommentaryItem) -> None:
        seen.append(item.action_id)
        if len(seen) == 2:
            raise RuntimeError("line topic unavailable")

    service = services(llm)
    result = is_result(await service.write(make_batch(), "CASTER", on_item=flaky))
    assert result.source == "llm" and len(result.items) == 10
    assert service.metrics.get("line_callback_errors") == 1


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
