"""CommentaryService on a real Redis: every LLM failure falls back to the template with
its reason, deadlines cut slow calls, concurrency is bounded, the breaker opens and
probes, and a partial answer is completed by the template (``mixed``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.breaker import CircuitBreaker
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import (
    CommentaryRejected,
    LLMCircuitOpen,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
)
from pitchcast.schemas.records import CommentaryItem, commentary_id_for
from tests.support.service_doubles import (
    FakeClock,
    FakeLLM,
    FakeTemplate,
    Lines,
    is_result,
    make_batch,
)

pytestmark = pytest.mark.integration


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
