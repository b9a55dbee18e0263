"""The fake LLM server's timing model over HTTP: prefix cache, queue, roofline, time scale,
accounting per match. Timing asserts use the model's own reported times, and wall-clock
bounds only in the direction a loaded machine cannot break (a token is never early)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pitchcast.commentary.prompt import build_messages
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.profiles import profile_named
from pitchcast.testing.qwen_tokens import chat_token_ids
from tests.support.commentary_batches import korean_batch
from tests.support.live_conversations import LIVE_TURNS, live_chat
from tests.support.llm import TEST_MODEL

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()
# A made-up GPU with round numbers: 10 ms a step alone, 400 decode tokens/s at most.
TOY = replace(
    profile_named("a40"),
    name="toy",
    itl_min_s=0.01,
    max_decode_tokens_per_s=400.0,
    prefill_tokens_per_s=20_000.0,
    weight_bytes=0.0,
)


def _payload(messages: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "model": TEST_MODEL,
        "messages": messages if messages is not None else build_messages(BATCH, "CASTER"),
        "max_tokens": 600,
        **extra,
    }


@pytest.fixture
def toy_server() -> Iterator[FakeLLMServer]:
    """A server on the toy profile, at wall-clock speed."""
    with FakeLLMServer(model=TEST_MODEL, profile=TOY) as server:
        yield server


async def _post_all(server: FakeLLMServer, payloads: list[dict[str, Any]]) -> list[dict]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post("/chat/completions", json=p) for p in payloads)
        )
    return [r.raise_for_status().json() for r in responses]


def test_a_repeated_prompt_hits_the_prefix_cache(fake_llm: FakeLLMServer) -> None:
    """The same chat twice: usage reports the cached prompt tokens, as vLLM's does."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        first = client.post("/chat/completions", json=_payload()).json()["usage"]
        again = client.post("/chat/completions", json=_payload()).json()["usage"]
    prompt = len(chat_token_ids(build_messages(BATCH, "CASTER")))
    assert first["prompt_tokens"] == again["prompt_tokens"] == prompt
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert again["prompt_tokens_details"]["cached_tokens"] == (prompt - 1) // 16 * 16


def test_a_live_chat_reuses_the_previous_prompt_and_answer(fake_llm: FakeLLMServer) -> None:
    """Live mode: the second request's prompt starts with the first prompt and the server's
    own answer, so every full block of them is served from the cache but the answer's last
    (the a40 profile's honest miss: sampled tokens vs the re-tokenized text)."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        first = client.post("/chat/completions", json=_payload(live_chat(1))).json()
        answer = first["choices"][0]["message"]["content"]
        messages = [
            *live_chat(1),
            {"role": "assistant", "content": answer},
            {"role": "user", "content": LIVE_TURNS[1][0]},
        ]
        second = client.post("/chat/completions", json=_payload(messages)).json()
    assert second["choices"][0]["message"]["content"].startswith("3|")
    # KV exists for the first prompt and every answer token (the end-of-sequence one aside).
    computed = first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"] - 1
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] == (computed // 16 - 1) * 16


def test_a_changed_early_byte_misses_the_cache(fake_llm: FakeLLMServer) -> None:
    """A different score in the header changes everything after it: only the system prompt
    and the first header line are reused."""
    changed = build_messages(BATCH, "CASTER")
    changed[1]["content"] = changed[1]["content"].replace("[스코어] T1 1:0", "[스코어] T1 2:0")
    with httpx.Client(base_url=fake_llm.base_url) as client:
        client.post("/chat/completions", json=_payload())
        usage = client.post("/chat/completions", json=_payload(changed)).json()["usage"]
    system_only = len(chat_token_ids([*changed[:1], {"role": "user", "content": ""}]))
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    assert system_only - 32 < cached < usage["prompt_tokens"] - 300


def test_stats_account_per_match_and_reset(fake_llm: FakeLLMServer) -> None:
    """GET /stats: prompt tokens (cached vs prefilled), output tokens and GPU-seconds per
    ``user``; requests without one are "unknown"; POST /stats/reset zeroes them."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        usages = [
            client.post("/chat/completions", json=_payload(user=user)).json()["usage"]
            for user in ("game:1", "game:1", "game:2", None)
        ]
        stats = client.get("/stats").json()
        with_requests = client.get("/stats", params={"requests": "1"}).json()
        assert client.post("/stats/reset").json() == {"reset": True}
        after = client.get("/stats").json()
    matches = stats["matches"]
    assert set(matches) == {"game:1", "game:2", "unknown"}
    assert matches["game:1"]["requests"] == 2
    assert matches["game:1"]["prompt_tokens"] == usages[0]["prompt_tokens"] * 2
    assert matches["game:1"]["output_tokens"] == sum(u["completion_tokens"] for u in usages[:2])
    cached = sum(u["prompt_tokens_details"]["cached_tokens"] for u in usages)
    totals = stats["totals"]
    assert totals["cached_prompt_tokens"] == cached
    assert totals["prefilled_tokens"] + cached == totals["prompt_tokens"]
    assert totals["gpu_seconds"] == 0  # the instant profile
    assert stats["server"]["profile"] == "instant" and stats["server"]["chat_requests"] == 4
    assert [r["user"] for r in with_requests["requests"]] == [
        "game:1",
        "game:1",
        "game:2",
        "unknown",
    ]
    assert after["totals"]["requests"] == 0 and after["matches"] == {}
    assert fake_llm.stats()["totals"]["requests"] == 0


async def test_itl_grows_with_the_number_of_concurrent_streams(toy_server: FakeLLMServer) -> None:
    """Toy GPU (10 ms alone, 400 tokens/s of decode): 1 stream decodes at 10 ms a token,
    16 at about 40 ms; the wall clock cannot beat the model."""
    started = time.monotonic()
    await _post_all(toy_server, [_payload(max_tokens=20)])
    alone_wall = time.monotonic() - started
    (alone,) = toy_server.engine_requests
    assert alone["mean_itl_s"] == pytest.approx(0.01)
    toy_server.reset_stats()
    started = time.monotonic()
    await _post_all(toy_server, [_payload(max_tokens=40, user=f"game:{i}") for i in range(16)])
    crowd_wall = time.monotonic() - started
    records = toy_server.engine_requests
    assert len(records) == 16
    # 16 x 1/400 s = 40 ms a step; the requests arrive a little apart (a few tokens
    # decoded among fewer streams), and each arrival's prefill step holds the others.
    # How far apart depends on the machine's load (the first ones may decode a while
    # among few), so each request is only bounded loosely, their median tightly.
    itls = sorted(r["mean_itl_s"] for r in records)
    assert all(0.02 < itl < 0.07 for itl in itls), itls
    assert 0.03 < statistics.median(itls) < 0.06, itls
    assert crowd_wall >= 39 * 0.03
    assert alone_wall >= 19 * 0.01
    stats = toy_server.stats()
    assert stats["engine"]["peak_running"] == 16
    assert sum(m["gpu_seconds"] for m in stats["matches"].values()) == pytest.approx(
        stats["totals"]["gpu_seconds"], abs=1e-4
    )


async def test_requests_beyond_max_num_seqs_queue() -> None:
    """max_num_seqs 2 (toy GPU): of 5 requests at once, never more than 2 run; the other 3
    start only when a running one ends."""
    with FakeLLMServer(model=TEST_MODEL, profile=replace(TOY, max_num_seqs=2)) as server:
        await _post_all(server, [_payload(max_tokens=10) for _ in range(5)])
        stats = server.stats(with_requests=True)
    records = sorted(stats["requests"], key=lambda r: r["admitted_s"])
    assert stats["engine"]["peak_running"] == 2
    ends = {r["finished_s"] for r in records}
    assert all(r["admitted_s"] in ends for r in records[2:])
    assert all(r["queue_s"] > 9 * 0.01 for r in records[2:])  # a whole answer's wait
    assert all(r["ttft_s"] > r["queue_s"] for r in records)


async def test_time_scale_runs_the_model_faster() -> None:
    """--time-scale 8 on the A40 profile: the wall time is the model time / 8 (never less,
    and not much more), while the model's figures stay those of the A40."""
    with FakeLLMServer(model=TEST_MODEL, profile="a40", time_scale=8) as server:
        started = time.monotonic()
        await _post_all(server, [_payload(max_tokens=60, stream=False)])
        wall = time.monotonic() - started
        (record,) = server.engine_requests
    model = record["finished_s"] - record["arrival_s"]
    # Cold ~3k-token prompt (prompt 5: ~2.4k of system prompt) then 59 decode steps of
    # ~24 ms: ~2.0 s of model time.
    assert 1.2 < model < 2.3
    assert record["mean_itl_s"] == pytest.approx(0.024, rel=0.05)
    assert model / 8 <= wall < model / 8 + 1.5


def test_fixed_pacing_is_refused_on_a_timed_profile() -> None:
    """ttft/tpot replace the timing model, so they only go with the instant profile."""
    with pytest.raises(ValueError, match="instant"):
        FakeLLMServer(profile="a40", ttft_s=0.2)
    server = FakeLLMServer(profile="h100")
    with pytest.raises(ValueError, match="instant"):
        server.set_pacing(tpot_s=0.01)


def test_a_prompt_larger_than_the_kv_cache_is_refused() -> None:
    """A sequence longer than the whole KV cache gets a 400, like vLLM's length check."""
    tiny = profile_named("instant", kv_cache_tokens=256)
    with FakeLLMServer(model=TEST_MODEL, profile=tiny) as server:
        response = httpx.post(server.base_url + "/chat/completions", json=_payload())
    assert response.status_code == 400
    assert "KV cache" in response.json()["error"]["message"]
