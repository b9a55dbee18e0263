"""Several LLM endpoints against two real fake servers: a match sticks to one endpoint,
fails over when it fails mid-match, and comes back when its breaker closes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.openai import OpenAIBackend, OpenAIConfig
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import LLMRequestRefused, LLMUnavailable
from pitchcast.schemas.records import Batch
from pitchcast.settings import load_settings
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import korean_batch
from tests.support.llm import TEST_MODEL, ItemRecorder, config_for
from tests.support.utils import FakeClock

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")


@pytest.fixture
def server_b() -> Iterator[FakeLLMServer]:
    """A second fake endpoint, for this test only."""
    server = FakeLLMServer(model=TEST_MODEL).start()
    yield server
    server.stop()


@pytest.fixture
async def two(
    fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> AsyncIterator[Callable[..., OpenAIBackend]]:
    """Factory of backends on both servers (A = the session's server, B = server_b)."""
    made: list[OpenAIBackend] = []

    def make(clock: FakeClock | None = None, **overrides: Any) -> OpenAIBackend:
        overrides.setdefault("base_url", f"{fake_llm.base_url},{server_b.base_url}")
        backend = OpenAIBackend(config_for(fake_llm, **overrides), clock=clock or FakeClock(1000.0))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


def game_preferring(backend: OpenAIBackend, server: FakeLLMServer) -> int:
    """A game_id whose first choice is ``server``."""
    return next(g for g in range(1, 10_000) if backend.ring.order(g)[0].base_url == server.base_url)


def batch_of(game_id: int, index: int, size: int = 10) -> Batch:
    batch = korean_batch(size, first_action_id=1000 + 10 * index)
    return replace(batch, game_id=game_id, batch_index=index)


async def test_each_match_sticks_to_one_endpoint_and_says_which_match_it_is(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """Twelve matches, three batches each: every request of a match lands on its first
    choice, both endpoints get matches, and every request carries user=game:<id>."""
    backend = two()
    games = list(range(500, 512))
    for index in range(3):
        await asyncio.gather(*(backend.write(batch_of(g, index), "CASTER") for g in games))
    by_server = {
        server.base_url: {r["user"] for r in server.requests} for server in (fake_llm, server_b)
    }
    for game_id in games:
        first = backend.ring.order(game_id)[0].base_url
        assert f"game:{game_id}" in by_server[first]
        other = next(url for url in by_server if url != first)
        assert f"game:{game_id}" not in by_server[other]
    assert all(by_server.values()), "both endpoints serve some matches"
    assert fake_llm.request_count + server_b.request_count == 36


async def test_failover_mid_match_and_back_when_the_first_endpoint_recovers(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """A match on A: A starts failing mid-match, each batch's retry goes to B and the
    lines are complete; after two failures A's breaker opens and batches go straight to
    B; after the reset the next batch probes A, which answers, and the match is back."""
    clock = FakeClock(1000.0)
    backend = two(clock, breaker_failures=2, breaker_reset_s=30.0)
    game = game_preferring(backend, fake_llm)
    a, b = backend.ring.order(game)
    served: list[str] = []

    async def batch(index: int) -> None:
        lines = ItemRecorder()
        before = (fake_llm.request_count, server_b.request_count)
        result = await backend.write(batch_of(game, index), "CASTER", on_item=lines)
        assert len(result.items) == 10 and lines.items == list(result.items)
        served.append(
            "".join(
                name
                for name, server, count in (("A", fake_llm, before[0]), ("B", server_b, before[1]))
                if server.request_count > count
            )
        )

    await batch(0)
    await batch(1)
    fake_llm.script(*[Fault("status", status=503)] * 20)  # A fails from here on
    await batch(2)  # A fails once, the retry goes to B
    await batch(3)  # A fails again: its breaker opens; B answers
    assert a.breaker.state == "open" and b.breaker.state == "closed"
    await batch(4)  # straight to B: A is not asked
    await batch(5)
    fake_llm.reset()  # A recovers...
    clock.now += 30  # ...and its reset time passes
    await batch(6)  # the half-open probe: A answers, its breaker closes
    assert a.breaker.state == "closed"
    await batch(7)
    assert served == ["A", "A", "AB", "AB", "B", "B", "A", "A"]
    users = {r["user"] for server in (fake_llm, server_b) for r in server.requests}
    assert users == {f"game:{game}"}
    assert a.breaker.times_opened == 1 and a.failures == 2


async def test_a_hung_endpoint_is_cut_in_time_and_the_other_answers(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """A hangs mid-match: with a 3 s deadline its attempt is cut at half of it (1.5 s,
    below the 2 s read timeout) and B answers well before the deadline."""
    backend = two(batch_deadline_s=3.0, read_timeout_s=2.0)
    game = game_preferring(backend, fake_llm)
    fake_llm.script(Fault("hang", delay_s=10.0))
    started = time.monotonic()
    result = await backend.write(batch_of(game, 0), "CASTER")
    elapsed = time.monotonic() - started
    assert len(result.items) == 10
    assert (fake_llm.request_count, server_b.request_count) == (1, 1)
    assert 1.3 <= elapsed < 2.5, elapsed


async def test_a_refusal_is_not_failed_over(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """A 400 on A (RunPod's code null) is the request's fault: B is not asked and A's
    breaker does not count it."""
    backend = two(breaker_failures=1)
    game = game_preferring(backend, fake_llm)
    fake_llm.script(Fault("status", status=400, null_code=True))
    with pytest.raises(LLMRequestRefused):
        await backend.write(batch_of(game, 0), "CASTER")
    assert server_b.request_count == 0
    assert backend.ring.order(game)[0].breaker.state == "closed"


async def test_the_service_falls_back_only_when_every_endpoint_is_open(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """Through CommentaryService.from_settings: with one endpoint down batches still get
    LLM lines; with both down their breakers open and batches go straight to the
    template (circuit_open) without a request; one endpoint back, LLM lines again."""
    clock = FakeClock(1000.0)
    backend = two(clock, breaker_failures=2)
    settings = load_settings(llm_backend="openai", llm_batch_deadline_s=10.0, llm_read_timeout_s=5)
    service = CommentaryService.from_settings(
        settings, backend, TemplateBackend(), RedisStore(enabled=False)
    )
    assert service.breaker is backend.breaker
    game = game_preferring(backend, fake_llm)
    fake_llm.script(*[Fault("status", status=500)] * 50)
    first = await service.write(batch_of(game, 0), "CASTER")
    assert first.source == "llm"  # type: ignore[union-attr]
    server_b.script(*[Fault("status", status=500)] * 50)
    second = await service.write(batch_of(game, 1), "CASTER")
    assert second.fallback_reason == "LLMUnavailable"  # type: ignore[union-attr]
    assert service.breaker.state == "open"
    # Each endpoint's breaker opened once: counted although they trip inside the backend.
    assert service.metrics.get("breaker_opened") == 2
    sent = fake_llm.request_count + server_b.request_count
    skipped = await service.write(batch_of(game, 2), "CASTER")
    assert skipped.fallback_reason == "circuit_open"  # type: ignore[union-attr]
    assert fake_llm.request_count + server_b.request_count == sent
    server_b.reset()
    clock.now += 30
    back = await service.write(batch_of(game, 3), "CASTER")
    assert back.source == "llm"  # type: ignore[union-attr]
    assert service.breaker.state == "closed"
    # The first endpoint's probe failed (still scripted to fail): it opened again.
    assert service.metrics.get("breaker_opened") == 3
    await service.aclose()


async def test_each_endpoint_gets_only_its_own_key() -> None:
    """api_keys pair with the URLs: the RunPod key goes to RunPod only, the local vLLM
    gets no Authorization header, even when a request fails over between them."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "runpod.test":
            return httpx.Response(503, json={"error": {"message": "cold", "code": None}})
        lines = "\n".join(f"{n}|calm|{{P1}}이 {n}번 장면" for n in range(1, 4))
        body = {"choices": [{"message": {"content": lines}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=body)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = OpenAIConfig(
        base_url="https://runpod.test/v2/x/openai/v1,http://vllm.test:8000/v1",
        model=TEST_MODEL,
        api_keys=(SecretStr("rpa_RUNPOD_ONLY"), None),
        stream=False,
    )
    backend = OpenAIBackend(config, client=client)
    for game_id in range(1, 40):
        await backend.write(batch_of(game_id, 0, 3), "CASTER")
    assert {host for host, _ in seen} == {"runpod.test", "vllm.test"}
    for host, auth in seen:
        assert auth == ("Bearer rpa_RUNPOD_ONLY" if host == "runpod.test" else None)
    body = json.dumps(backend.endpoint_stats())
    assert "rpa_RUNPOD_ONLY" not in body and "rpa_RUNPOD_ONLY" not in repr(backend)
    await client.aclose()


async def test_warm_up_wakes_the_matchs_endpoint_or_every_endpoint(
    two: Callable[..., OpenAIBackend], fake_llm: FakeLLMServer, server_b: FakeLLMServer
) -> None:
    """On match_start only the match's first choice is warmed (with its user id); without
    a game every endpoint is; a failing warm-up leaves the breakers alone."""
    backend = two(breaker_failures=1)
    game = game_preferring(backend, server_b)
    await backend.warm_up("FRIEND", game_id=game)
    assert (fake_llm.request_count, server_b.request_count) == (0, 1)
    assert server_b.requests[0]["user"] == f"game:{game}"
    assert server_b.requests[0]["max_tokens"] == 1
    await backend.warm_up()
    assert (fake_llm.request_count, server_b.request_count) == (1, 2)
    assert "user" not in fake_llm.requests[0]
    fake_llm.script(Fault("status", status=503))
    with pytest.raises(LLMUnavailable):
        await backend.warm_up()
    assert all(e.breaker.state == "closed" for e in backend.ring.endpoints)
