"""OpenAIBackend against the fake OpenAI-compatible server: valid answers (streamed or
not, lines or JSON), the requests' shape, cache keys, warm-up, and the API key kept secret."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import httpx
import pytest
from pydantic import SecretStr

from pitchcast.commentary import prompt
from pitchcast.commentary.backends.base import CommentaryBackend
from pitchcast.commentary.backends.openai import OpenAIBackend
from pitchcast.commentary.prompt import system_prompt
from pitchcast.exceptions import LLMUnavailable, PitchcastError
from pitchcast.schemas.records import Score
from pitchcast.settings import load_settings
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import korean_batch
from tests.support.llm import (
    TEST_API_KEY,
    TEST_MODEL,
    THREE_GOOD_LINES,
    ItemRecorder,
    MakeBackend,
    completion_body,
    config_for,
    last_user_message,
    mock_transport_backend,
)
from tests.support.pipeline import free_port

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()
ACTION_IDS = [a.action_id for a in BATCH.actions]


# --- valid answers ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_a_valid_answer_becomes_one_item_per_action(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, stream: bool, structured: bool
) -> None:
    """Stream or not, structured or not: ten items in action order, names filled, usage counted."""
    backend = make_backend(stream=stream, structured_output=structured)
    result = await backend.write(BATCH, "CASTER")
    assert [i.action_id for i in result.items] == ACTION_IDS
    assert result.source == "llm" and result.model == TEST_MODEL
    assert result.usage.prompt_tokens > 500 and result.usage.completion_tokens > 100
    assert all("{" not in i.description for i in result.items)
    assert any(name in result.items[0].description for name in ("김민재가", "김민재"))
    assert fake_llm.request_count == 1
    request = fake_llm.requests[0]
    assert request["model"] == TEST_MODEL
    assert (request["temperature"], request["top_p"], request["max_tokens"]) == (0.7, 0.9, 600)
    assert request["stream"] is stream
    assert ("stream_options" in request) is stream
    if stream:
        assert request["stream_options"] == {"include_usage": True}
    assert ("response_format" in request) is structured
    assert request["messages"][0]["content"] == system_prompt("CASTER", structured=structured)


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_a_density_asks_only_for_the_shown_rows(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """Density: the request asks for the shown rows only; the others come back silent
    (no text) without being asked; the cache key tells the two requests apart."""
    backend = make_backend(structured_output=structured)
    rows = [1, 4, 7]
    result = await backend.write(BATCH, "CASTER", rows=rows)
    assert [i.action_id for i in result.items] == ACTION_IDS
    for row, item in enumerate(result.items, start=1):
        assert bool(item.description) is (row in rows)
        assert item.shown is (row in rows)
    assert fake_llm.request_count == 1
    asked = last_user_message(fake_llm.requests[0])
    assert asked.rstrip().endswith(prompt.request_line(rows))
    assert backend.cache_key(BATCH, "CASTER", rows) != backend.cache_key(BATCH, "CASTER")
    assert backend.cache_key(BATCH, "CASTER", None) == backend.cache_key(BATCH, "CASTER")
    # Nothing shown: nothing asked.
    silent = await backend.write(BATCH, "CASTER", rows=[])
    assert fake_llm.request_count == 1
    assert [i.shown for i in silent.items] == [False] * len(ACTION_IDS)


async def test_lines_reach_on_item_in_order_before_the_stream_ends(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Streaming: each valid line goes to on_item while the model is still writing the rest."""
    fake_llm.set_pacing(ttft_s=0.05, tpot_s=0.004)
    recorder = ItemRecorder()
    started = time.monotonic()
    result = await make_backend(structured_output=False).write(BATCH, "FRIEND", on_item=recorder)
    finished = time.monotonic()
    assert recorder.action_ids == ACTION_IDS
    assert tuple(recorder.items) == result.items
    # ~300 tokens at 4 ms: the first line is out long before the last token.
    assert recorder.times[0] - started < 0.5 * (finished - started)
    assert recorder.times == sorted(recorder.times)


async def test_json_items_also_stream_out_one_by_one(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Structured outputs: each [n, tone, text] item is emitted as soon as it closes."""
    fake_llm.set_pacing(tpot_s=0.004)
    recorder = ItemRecorder()
    started = time.monotonic()
    await make_backend(structured_output=True).write(BATCH, "ANALYST", on_item=recorder)
    finished = time.monotonic()
    assert recorder.action_ids == ACTION_IDS
    assert recorder.times[0] - started < 0.5 * (finished - started)


async def test_plain_responses_emit_every_item_in_order(make_backend: MakeBackend) -> None:
    """Without streaming, on_item still gets every item once, in action order."""
    recorder = ItemRecorder()
    result = await make_backend(stream=False).write(BATCH, "CASTER", on_item=recorder)
    assert tuple(recorder.items) == result.items


async def test_the_backend_fits_the_seam_and_settings(fake_llm: FakeLLMServer) -> None:
    """Built from Settings it is a CommentaryBackend named openai, and closes its own client."""
    settings = load_settings(
        llm_base_url=fake_llm.base_url + "/", llm_model=TEST_MODEL, llm_stream=False
    )
    backend = OpenAIBackend.from_settings(settings)
    assert isinstance(backend, OpenAIBackend)
    seam: CommentaryBackend = backend
    assert seam.name == "openai"
    result = await seam.write(korean_batch(3), "CASTER")
    assert len(result.items) == 3
    await backend.aclose()
    assert backend._client.is_closed


async def test_a_server_that_ignores_stream_is_read_as_one_body() -> None:
    """stream=true answered with a plain JSON completion works; a given client stays open."""
    backend, client = mock_transport_backend(
        lambda request: httpx.Response(200, json=completion_body(THREE_GOOD_LINES))
    )
    result = await backend.write(korean_batch(3), "CASTER")
    assert result.items[0].description == "김민재가 1번 장면"
    assert result.usage.prompt_tokens == 11
    await backend.aclose()
    assert not client.is_closed
    await client.aclose()


# --- requests: shape, secrets, warm-up, cache key -------------------------------------


def _texts_of(exc: BaseException) -> list[str]:
    texts = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), *(str(a) for a in seen.args)]
        seen = seen.__cause__ or seen.__context__
    return texts


async def test_the_api_key_never_reaches_errors_or_logs(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Even when the server echoes the Authorization header, no message or log has the key."""
    caplog.set_level(logging.DEBUG)
    fake_llm.script(
        Fault("status", status=401, echo_headers=True),
        *[Fault("status", status=500, echo_headers=True)] * 4,
        Fault("garbage"),
        Fault("rate_limit", retry_after=60),
        Fault("hang", delay_s=2.0),
    )
    errors: list[BaseException] = []
    for overrides in ({}, {}, {}, {}, {"read_timeout_s": 0.2, "retry_attempts": 1}):
        with pytest.raises(PitchcastError) as caught:
            await make_backend(batch_deadline_s=3.0, **overrides).write(BATCH, "CASTER")
        errors.append(caught.value)
    dead = replace(config_for(fake_llm), base_url=f"http://127.0.0.1:{free_port()}/v1")
    refused = OpenAIBackend(dead)
    with pytest.raises(LLMUnavailable) as caught:
        await refused.write(BATCH, "CASTER")
    await refused.aclose()
    errors.append(caught.value)
    kinds = [type(e).__name__ for e in errors]
    assert kinds == [
        "LLMRequestRefused",
        "LLMUnavailable",
        "LLMBadResponse",
        "LLMRateLimited",
        "LLMTimeout",
        "LLMUnavailable",
    ]
    assert "***" in str(errors[0])  # the echoed header was there, and was masked
    for error in errors:
        for text in _texts_of(error):
            assert TEST_API_KEY not in text
    assert caplog.records
    for record in caplog.records:
        assert TEST_API_KEY not in record.getMessage()
        assert all(TEST_API_KEY not in str(value) for value in record.__dict__.values())
    assert TEST_API_KEY not in repr(make_backend().config)


async def test_warm_up_is_one_tiny_request_with_the_system_prompt(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """warm_up sends max_tokens 1 with the persona's system prompt, nothing else."""
    await make_backend().warm_up("ANALYST")
    assert fake_llm.request_count == 1
    request = fake_llm.requests[0]
    assert request["max_tokens"] == 1
    assert request["messages"][0]["content"] == system_prompt("ANALYST", structured=True)
    fake_llm.script(Fault("status", status=503))
    with pytest.raises(LLMUnavailable):
        await make_backend().warm_up()


async def test_cache_key_covers_model_sampling_persona_version_and_prompt(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same inputs, same sha256; any input that shapes the answer changes it; no request."""
    backend = make_backend()
    key = backend.cache_key(BATCH, "CASTER")
    assert len(key) == 64 and int(key, 16) >= 0
    assert make_backend().cache_key(BATCH, "CASTER") == key
    variants = [
        make_backend(temperature=0.2).cache_key(BATCH, "CASTER"),
        make_backend(top_p=0.5).cache_key(BATCH, "CASTER"),
        make_backend(max_tokens=300).cache_key(BATCH, "CASTER"),
        make_backend(model="other").cache_key(BATCH, "CASTER"),
        make_backend(structured_output=False).cache_key(BATCH, "CASTER"),
        backend.cache_key(BATCH, "FRIEND"),
        backend.cache_key(replace(BATCH, score=Score(2, 0)), "CASTER"),
        backend.cache_key(replace(BATCH, game_id=1), "CASTER"),
    ]
    monkeypatch.setattr("pitchcast.commentary.backends.openai.PROMPT_VERSION", "next")
    variants.append(backend.cache_key(BATCH, "CASTER"))
    assert len({key, *variants}) == len(variants) + 1
    # The stream flag does not change the answer, so it does not change the key.
    monkeypatch.setattr(
        "pitchcast.commentary.backends.openai.PROMPT_VERSION", prompt.PROMPT_VERSION
    )
    assert make_backend(stream=False).cache_key(BATCH, "CASTER") == key
    assert fake_llm.request_count == 0


async def test_every_request_carries_the_bearer_key_and_sampling() -> None:
    """The Bearer key and temperature/top_p/max_tokens go with every request, even a repair
    (max_tokens: the setting, or less for fewer lines: 200 tokens a line)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        lines = THREE_GOOD_LINES if len(seen) > 1 else "1|calm|하나"
        return httpx.Response(200, json=completion_body(lines))

    backend, client = mock_transport_backend(handler, api_key=SecretStr(TEST_API_KEY), stream=False)
    await backend.write(korean_batch(3), "CASTER")
    assert len(seen) == 2
    for request, max_tokens in zip(seen, (600, 400), strict=True):  # 3 lines, then 2
        assert request.headers["authorization"] == f"Bearer {TEST_API_KEY}"
        body = json.loads(request.content)
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.9, max_tokens)
    await client.aclose()


async def test_a_backing_friend_has_its_own_cache_key_and_the_others_do_not(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """PITCHCAST_FRIEND_SUPPORTS changes FRIEND's prompt (so its key) when the match has
    the team; CASTER's key, and FRIEND's for a match without that team, stay the same."""
    neutral = make_backend()
    backing = make_backend(friend_supports="울산 HD")
    elsewhere = make_backend(friend_supports="FC서울")
    assert backing.cache_key(BATCH, "FRIEND") != neutral.cache_key(BATCH, "FRIEND")
    assert backing.cache_key(BATCH, "CASTER") == neutral.cache_key(BATCH, "CASTER")
    assert elsewhere.cache_key(BATCH, "FRIEND") == neutral.cache_key(BATCH, "FRIEND")


async def test_a_backing_friend_s_requests_carry_its_side_in_batch_and_live_mode(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """The batch request and the live request of FRIEND open with the system prompt of
    the side it backs (the home team here: T1); CASTER's open with the neutral one."""
    backend = make_backend(friend_supports="ulsan hd")
    await backend.write(BATCH, "FRIEND")
    await backend.write_rows(BATCH, "FRIEND", [], [1, 2], settled={})
    await backend.write(BATCH, "CASTER")
    batch_mode, live_mode, caster = (r["messages"][0]["content"] for r in fake_llm.requests[:3])
    assert batch_mode == system_prompt("FRIEND", structured=True, backs="home")
    assert live_mode == system_prompt("FRIEND", structured=True, live=True, backs="home")
    assert "T1(홈 팀)의 팬" in batch_mode and "T1(홈 팀)의 팬" in live_mode
    assert caster == system_prompt("CASTER", structured=True)
