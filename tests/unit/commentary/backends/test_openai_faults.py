"""OpenAIBackend's transport faults and error answers: retries, backoff and deadlines,
refusals without retry, bad bodies, error events (from the fake server, and from odd
servers through httpx.MockTransport)."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from pitchcast.commentary.backends.openai import OpenAIBackend
from pitchcast.exceptions import (
    LLMBadResponse,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
    PitchcastError,
)
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import korean_batch
from tests.support.llm import (
    TEST_MODEL,
    THREE_GOOD_LINES,
    ItemRecorder,
    MakeBackend,
    completion_body,
    config_for,
    mock_transport_backend,
)
from tests.support.pipeline import free_port

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()
ACTION_IDS = [a.action_id for a in BATCH.actions]


# --- transport faults ------------------------------------------------------------------


async def test_a_500_is_retried_then_succeeds(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A 5xx answer is retried; the second attempt's answer is used."""
    fake_llm.script(Fault("status", status=500), None)
    result = await make_backend().write(BATCH, "CASTER")
    assert len(result.items) == 10
    assert fake_llm.request_count == 2
    assert fake_llm.faults_applied == ["status", None]


async def test_persistent_5xx_gives_up_after_the_attempts(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Endless 503s end in LLMUnavailable after the capped number of attempts."""
    fake_llm.script(*[Fault("status", status=503)] * 10)
    with pytest.raises(LLMUnavailable, match="HTTP 503"):
        await make_backend(retry_attempts=3).write(BATCH, "CASTER")
    assert fake_llm.request_count == 3


async def test_429_waits_for_retry_after(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, real_backoff: None
) -> None:
    """A 429 with Retry-After: 0.4 is retried no sooner than 0.4 s later."""
    fake_llm.script(Fault("rate_limit", retry_after=0.4), None)
    started = time.monotonic()
    result = await make_backend().write(BATCH, "CASTER")
    assert time.monotonic() - started >= 0.4
    assert len(result.items) == 10
    assert fake_llm.request_count == 2


async def test_429_beyond_the_deadline_is_not_retried(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, real_backoff: None
) -> None:
    """A Retry-After longer than the time left raises LLMRateLimited at once."""
    fake_llm.script(Fault("rate_limit", retry_after=5), None)
    started = time.monotonic()
    with pytest.raises(LLMRateLimited) as caught:
        await make_backend(batch_deadline_s=2.0).write(BATCH, "CASTER")
    assert caught.value.retry_after == 5
    assert time.monotonic() - started < 1.0
    assert fake_llm.request_count == 1


async def test_a_read_timeout_is_retried(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A server that stops answering times out at the read timeout; the retry succeeds."""
    fake_llm.script(Fault("hang", delay_s=3.0), None)
    started = time.monotonic()
    result = await make_backend(read_timeout_s=0.3).write(BATCH, "CASTER")
    assert len(result.items) == 10
    assert fake_llm.request_count == 2
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
async def test_the_batch_deadline_bounds_everything(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, real_backoff: None, stream: bool
) -> None:
    """A hanging server: LLMTimeout by the deadline, never later (0.3 s slack), and the
    hung first attempt was cut in time for a retry."""
    fake_llm.script(*[Fault("hang", delay_s=5.0)] * 5)
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        await make_backend(batch_deadline_s=1.0, stream=stream).write(BATCH, "CASTER")
    assert time.monotonic() - started < 1.0 + 0.3
    assert fake_llm.request_count >= 2


async def test_retries_with_real_backoff_stop_before_the_deadline(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, real_backoff: None
) -> None:
    """Endless 500s with real backoff: no attempt starts that could not finish in time."""
    fake_llm.script(*[Fault("status", status=500)] * 50)
    backend = make_backend(
        batch_deadline_s=1.2,
        retry_attempts=50,
        backoff_initial_s=0.2,
        backoff_max_s=0.4,
        min_attempt_s=0.2,
    )
    started = time.monotonic()
    with pytest.raises(LLMUnavailable):
        await backend.write(BATCH, "CASTER")
    elapsed = time.monotonic() - started
    assert elapsed < 1.2 + 0.3
    assert 3 <= fake_llm.request_count < 10


async def test_connection_refused_is_unavailable(fake_llm: FakeLLMServer) -> None:
    """Nothing listening: LLMUnavailable, raised from the httpx error."""
    dead = replace(config_for(fake_llm), base_url=f"http://127.0.0.1:{free_port()}/v1")
    backend = OpenAIBackend(dead)
    with pytest.raises(LLMUnavailable, match="ConnectError") as caught:
        await backend.write(BATCH, "CASTER")
    assert caught.value.__cause__ is not None
    await backend.aclose()


@pytest.mark.parametrize("null_code", [False, True], ids=["vllm", "runpod"])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_permanent_4xx_is_refused_without_retry_or_breaker_failure(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, status: int, null_code: bool
) -> None:
    """A client error (not 408/429), with vLLM's code or RunPod's code null: refused at
    once, by HTTP status, and not counted against the endpoint's breaker."""
    fake_llm.script(*[Fault("status", status=status, null_code=null_code)] * 3, None)
    backend = make_backend(breaker_failures=2)
    for _ in range(3):
        with pytest.raises(LLMRequestRefused, match=f"HTTP {status}") as caught:
            await backend.write(BATCH, "CASTER")
        assert caught.value.status == status
    assert fake_llm.request_count == 3
    breaker = backend.ring.endpoints[0].breaker
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert backend.ring.endpoints[0].refusals == 3
    assert len((await backend.write(BATCH, "CASTER")).items) == 10


async def test_a_wrong_model_name_is_a_bad_response(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """vLLM answers 404 for a model it does not serve: no retry."""
    with pytest.raises(LLMBadResponse, match="does not exist"):
        await make_backend(model="someone/else").write(BATCH, "CASTER")
    assert fake_llm.request_count == 1


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
async def test_a_garbage_body_is_a_bad_response(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, stream: bool
) -> None:
    """A 200 whose body (or SSE data) is not JSON raises LLMBadResponse, not retried."""
    fake_llm.script(Fault("garbage"), None)
    with pytest.raises(LLMBadResponse, match="not JSON"):
        await make_backend(stream=stream).write(BATCH, "CASTER")
    assert fake_llm.request_count == 1


async def test_a_cut_stream_is_retried_without_repeating_lines(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A stream dropped mid-answer is retried; lines already emitted are not emitted again."""
    fake_llm.script(Fault("cut_stream", after_tokens=70), None)
    recorder = ItemRecorder()
    result = await make_backend(structured_output=False).write(BATCH, "CASTER", on_item=recorder)
    assert fake_llm.request_count == 2
    assert recorder.action_ids == ACTION_IDS
    assert tuple(recorder.items) == result.items


async def test_seeded_random_faults_replay_identically() -> None:
    """With fault_rate and a seed, the fake picks the same faults on every run."""
    runs = []
    with FakeLLMServer(model=TEST_MODEL, fault_rate=0.5, seed=7) as server:
        for _ in range(2):
            server.reset()
            outcomes = []
            backend = OpenAIBackend(config_for(server))
            for index in range(6):
                try:
                    result = await backend.write(korean_batch(3, first_action_id=index), "CASTER")
                    outcomes.append(len(result.items))
                except PitchcastError as exc:
                    outcomes.append(exc.kind)
            await backend.aclose()
            runs.append((server.faults_applied, outcomes))
    assert runs[0] == runs[1]
    assert any(kind is not None for kind in runs[0][0])
    assert 3 in runs[0][1]


# --- error events and odd servers, through httpx.MockTransport ----------------------


async def test_an_error_event_in_the_stream_is_translated() -> None:
    """vLLM's in-stream error events become LLMUnavailable (5xx-like) or LLMBadResponse (4xx)."""

    def handler(code: int) -> Callable[[httpx.Request], httpx.Response]:
        body = f'data: {{"error": {{"message": "boom", "code": {code}}}}}\n\n'.encode()
        return lambda request: httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"}
        )

    for code, kind in ((500, LLMUnavailable), (400, LLMRequestRefused)):
        backend, client = mock_transport_backend(handler(code), retry_attempts=1)
        with pytest.raises(kind, match="error event in the stream"):
            await backend.write(korean_batch(3), "CASTER")
        await client.aclose()


_SSE = {"content-type": "text/event-stream"}


@pytest.mark.parametrize(
    ("error", "kind", "requests"),
    [
        # RunPod's worker: vLLM's type kept, code null. By type, not as an outage.
        ({"message": "too long", "type": "BadRequestError", "code": None}, LLMRequestRefused, 1),
        ({"message": "x", "type": "invalid_request_error", "code": None}, LLMRequestRefused, 1),
        ({"message": "x", "type": "NotFoundError", "code": None}, LLMRequestRefused, 1),
        ({"type": "x", "code": "context_length_exceeded"}, LLMRequestRefused, 1),
        ({"message": "x", "type": "RateLimitError", "code": None}, LLMRateLimited, 3),
        ({"message": "x", "type": "InternalServerError", "code": None}, LLMUnavailable, 3),
        ({"message": "x", "code": "503"}, LLMUnavailable, 3),
        ({"message": "x", "code": "422"}, LLMRequestRefused, 1),
        # Says nothing about its class: an outage, retried.
        ({"message": "engine died", "code": None}, LLMUnavailable, 3),
        ("a bare string", LLMUnavailable, 3),
    ],
)
async def test_error_events_with_a_null_code_are_classified_by_type(
    error: object, kind: type[Exception], requests: int
) -> None:
    """An in-stream error event is a refusal (no retry) or an outage (retried) by its
    code when that is a status, else by its type; code null alone is not an outage
    verdict on a refusal."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = b"data: " + json.dumps({"error": error}).encode() + b"\n\ndata: [DONE]\n\n"
        return httpx.Response(200, content=body, headers=_SSE)

    backend, client = mock_transport_backend(handler, retry_attempts=3)
    with pytest.raises(kind, match="error event in the stream") as caught:
        await backend.write(korean_batch(3), "CASTER")
    assert type(caught.value) is kind
    assert len(seen) == requests
    breaker = backend.ring.endpoints[0].breaker
    assert breaker.consecutive_failures == (0 if kind is LLMRequestRefused else requests)
    await client.aclose()


async def test_an_error_body_with_status_200_is_classified_too() -> None:
    """A wrapper that answers 200 with {"error": ...} instead of a completion is read
    like an error event, not as a broken body."""
    body = {"error": {"message": "bad", "type": "BadRequestError", "code": None}}
    backend, client = mock_transport_backend(
        lambda request: httpx.Response(200, json=body), retry_attempts=3, stream=False
    )
    with pytest.raises(LLMRequestRefused, match="error body"):
        await backend.write(korean_batch(3), "CASTER")
    await client.aclose()


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
async def test_the_fake_servers_runpod_style_error_event_is_refused(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, stream: bool
) -> None:
    """The fake server's stream_error fault with code null (RunPod's shape) after some
    lines: a refusal, not retried; the lines before it already went out."""
    fake_llm.script(Fault("stream_error", status=400, null_code=True, after_tokens=40), None)
    recorder = ItemRecorder()
    with pytest.raises(LLMRequestRefused):
        await make_backend(stream=stream, structured_output=False).write(
            BATCH, "CASTER", on_item=recorder
        )
    assert fake_llm.request_count == 1
    assert (len(recorder.items) > 0) is stream


async def test_the_fake_servers_5xx_error_event_is_retried(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """An error event of class 5xx (code null, InternalServerError) is an outage: retried."""
    fake_llm.script(Fault("stream_error", status=500, null_code=True), None)
    result = await make_backend().write(BATCH, "CASTER")
    assert len(result.items) == 10 and fake_llm.request_count == 2


async def test_retry_after_as_an_http_date_is_understood() -> None:
    """Retry-After may be an HTTP date; it becomes seconds from now."""
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    backend, client = mock_transport_backend(
        lambda request: httpx.Response(429, headers={"retry-after": when}, json={}),
        retry_attempts=1,
    )
    with pytest.raises(LLMRateLimited) as caught:
        await backend.write(korean_batch(3), "CASTER")
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 31
    await client.aclose()


async def test_a_503_with_retry_after_is_retried_no_sooner(real_backoff: None) -> None:
    """A 503 with Retry-After: 0.4 waits that long before the same endpoint is asked
    again (not the 0.25 s backoff); one beyond the time left is not retried at all."""
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return httpx.Response(503, headers={"retry-after": "0.4"}, json={})
        return httpx.Response(200, json=completion_body(THREE_GOOD_LINES))

    backend, client = mock_transport_backend(handler, stream=False, backoff_jitter_s=0.0)
    result = await backend.write(korean_batch(3), "CASTER")
    assert len(result.items) == 3
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.4
    await client.aclose()

    arrivals.clear()
    backend, client = mock_transport_backend(
        lambda request: (
            arrivals.append(time.monotonic())
            or httpx.Response(503, headers={"retry-after": "30"}, json={})
        ),
        stream=False,
        batch_deadline_s=2.0,
    )
    with pytest.raises(LLMUnavailable):
        await backend.write(korean_batch(3), "CASTER")
    assert len(arrivals) == 1
    await client.aclose()


def _sse_pieces(text: str, finish: str = "length") -> bytes:
    """An answer streamed in 3-character pieces after a role-only chunk, its finish
    reason in a last empty delta, usage in a chunk of its own (length: cut at max_tokens)."""
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}]
    events += [
        {"choices": [{"index": 0, "delta": {"content": text[i : i + 3]}, "finish_reason": None}]}
        for i in range(0, len(text), 3)
    ]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    events.append({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 9}})
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + b"data: [DONE]\n\n"


async def test_a_plain_line_cut_at_max_tokens_is_not_taken_for_a_whole_line() -> None:
    """finish_reason "length": the last line, unterminated, stopped mid-word
    ("김민재가 짧"). It is not a line: batch mode asks for it again in the repair, a live
    fork leaves the row to the template; the whole lines before it stay."""
    bodies = [
        _sse_pieces("1|calm|{P1}이 짧게 내줍니다\n2|calm|{P1}이 짧"),
        _sse_pieces("2|calm|{P1}이 다시 잡습니다\n", finish="stop"),
    ]
    backend, client = mock_transport_backend(
        lambda request: httpx.Response(200, content=bodies.pop(0), headers=_SSE),
        structured_output=False,
    )
    recorder = ItemRecorder()
    result = await backend.write(korean_batch(2), "CASTER", on_item=recorder)
    lines = [item.description for item in result.items]
    assert lines == ["김민재가 짧게 내줍니다", "김민재가 다시 잡습니다"]
    assert [item.description for item in recorder.items] == lines
    await client.aclose()

    backend, client = mock_transport_backend(
        lambda request: httpx.Response(200, content=_sse_pieces("{P1}이 짧"), headers=_SSE),
        structured_output=False,
    )
    fork = await backend.write_rows(korean_batch(3), "CASTER", [], [1, 2, 3], settled={}, fork=2)
    assert fork.items == {}
    assert any("max_tokens" in problem for problem in fork.problems)
    await client.aclose()
