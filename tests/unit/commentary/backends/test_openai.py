"""OpenAIBackend against the fake OpenAI-compatible server: answers, faults, repair, secrets."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from pydantic import SecretStr

from pitchcast.commentary import prompt
from pitchcast.commentary.backends.base import CommentaryBackend
from pitchcast.commentary.backends.openai import OpenAIBackend, OpenAIConfig
from pitchcast.commentary.prompt import system_prompt
from pitchcast.exceptions import (
    CommentaryRejected,
    LLMBadResponse,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
    PitchcastError,
)
from pitchcast.schemas.records import CommentaryItem, Score
from pitchcast.settings import load_settings
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import OUTSIDER, korean_batch
from tests.support.llm import TEST_API_KEY, TEST_MODEL, MakeBackend, config_for

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()
ACTION_IDS = [a.action_id for a in BATCH.actions]


class Recorder:
    """An on_item callback that keeps what it got and when."""

    def __init__(self) -> None:
        self.items: list[CommentaryItem] = []
        self.times: list[float] = []

    async def __call__(self, item: CommentaryItem) -> None:
        self.items.append(item)
        self.times.append(time.monotonic())

    @property
    def action_ids(self) -> list[int]:
        return [item.action_id for item in self.items]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_user_message(request: dict) -> str:
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


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
    asked = _last_user_message(fake_llm.requests[0])
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
    recorder = Recorder()
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
    recorder = Recorder()
    started = time.monotonic()
    await make_backend(structured_output=True).write(BATCH, "ANALYST", on_item=recorder)
    finished = time.monotonic()
    assert recorder.action_ids == ACTION_IDS
    assert recorder.times[0] - started < 0.5 * (finished - started)


async def test_plain_responses_emit_every_item_in_order(make_backend: MakeBackend) -> None:
    """Without streaming, on_item still gets every item once, in action order."""
    recorder = Recorder()
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
    dead = replace(config_for(fake_llm), base_url=f"http://127.0.0.1:{_free_port()}/v1")
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
    recorder = Recorder()
    result = await make_backend(structured_output=False).write(BATCH, "CASTER", on_item=recorder)
    assert fake_llm.request_count == 2
    assert recorder.action_ids == ACTION_IDS
    assert tuple(recorder.items) == result.items


# --- invalid answers and the repair -----------------------------------------------------


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_a_missing_line_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """Nine lines for ten actions: one repair asks for row 10 only, and the batch completes."""
    fake_llm.script(Fault("wrong_count"), None)
    recorder = Recorder()
    result = await make_backend(structured_output=structured).write(
        BATCH, "CASTER", on_item=recorder
    )
    assert [i.action_id for i in result.items] == ACTION_IDS
    assert recorder.action_ids == ACTION_IDS
    assert fake_llm.request_count == 2
    repair = fake_llm.requests[1]
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    review = _last_user_message(repair)
    assert "missing n=10" in review and "[요청] 10번, 1줄" in review
    if structured:
        lines = repair["response_format"]["json_schema"]["schema"]["properties"]["lines"]
        assert [item["prefixItems"][0]["const"] for item in lines["prefixItems"]] == [10]
    assert result.usage.completion_tokens > 0


async def test_wrong_twice_is_rejected(make_backend: MakeBackend, fake_llm: FakeLLMServer) -> None:
    """Exactly one repair: a second wrong answer raises CommentaryRejected with the reasons."""
    fake_llm.script(Fault("wrong_count"), Fault("wrong_count"), None)
    with pytest.raises(CommentaryRejected) as caught:
        await make_backend().write(BATCH, "CASTER")
    assert caught.value.reasons == ["missing n=10"]
    assert fake_llm.request_count == 2


async def test_malformed_json_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Content that breaks the format gets one repair for every row, then succeeds."""
    fake_llm.script(Fault("malformed"), None)
    result = await make_backend().write(BATCH, "CASTER")
    assert len(result.items) == 10
    review = _last_user_message(fake_llm.requests[1])
    assert "[요청] 1~10번, 10줄" in review


async def test_invented_names_are_rejected(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A roster name outside the batch fails validation, twice means CommentaryRejected."""
    fake_llm.script(Fault("invented_name", name=OUTSIDER), Fault("invented_name", name=OUTSIDER))
    with pytest.raises(CommentaryRejected) as caught:
        await make_backend().write(BATCH, "CASTER")
    assert caught.value.reasons == [f"n=1: names someone not in this batch: {OUTSIDER}"]
    assert OUTSIDER in _last_user_message(fake_llm.requests[1])


async def test_an_invented_name_is_repaired_on_that_row_only(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A content problem on row 1 keeps rows 2-10; the repair asks for row 1 alone."""
    fake_llm.script(Fault("invented_name", name=OUTSIDER), None)
    recorder = Recorder()
    result = await make_backend().write(BATCH, "CASTER", on_item=recorder)
    assert OUTSIDER not in " ".join(i.description for i in result.items)
    assert "[요청] 1번, 1줄" in _last_user_message(fake_llm.requests[1])
    assert recorder.action_ids == ACTION_IDS


@pytest.mark.parametrize("kind", ["unknown_row", "unknown_ref", "bad_tone"])
async def test_unknown_rows_references_and_tones_are_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, kind: str
) -> None:
    """An invented row number, an undefined {P99} or a tone off the list gets one repair."""
    fake_llm.script(Fault(kind), None)  # type: ignore[arg-type]
    result = await make_backend().write(BATCH, "CASTER")
    assert [i.action_id for i in result.items] == ACTION_IDS
    assert fake_llm.request_count == 2


async def test_extra_lines_after_a_complete_answer_need_no_repair(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Every row valid plus a line for a row that does not exist: accepted, with a warning."""
    fake_llm.script(Fault("extra_line"))
    with caplog.at_level(logging.WARNING, logger="pitchcast.llm"):
        result = await make_backend(structured_output=False).write(BATCH, "CASTER")
    assert len(result.items) == 10
    assert fake_llm.request_count == 1
    assert any(r.getMessage() == "pitchcast.llm.extra_lines_ignored" for r in caplog.records)


async def test_a_cut_at_max_tokens_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """finish_reason "length": the rows past the cut are asked for in the repair."""
    backend = make_backend(max_tokens=120, structured_output=False)
    recorder = Recorder()
    with pytest.raises(CommentaryRejected) as caught:
        await backend.write(BATCH, "CASTER", on_item=recorder)
    assert any("cut at its max_tokens" in reason for reason in caught.value.reasons)
    assert fake_llm.request_count == 2
    # The lines that made it before the cut went out, in order, and stay out.
    assert recorder.action_ids == ACTION_IDS[: len(recorder.items)]
    assert len(recorder.items) >= 2


# --- secrets, warm-up, cache key, random faults ----------------------------------------------


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
    dead = replace(config_for(fake_llm), base_url=f"http://127.0.0.1:{_free_port()}/v1")
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


# --- odd servers, through httpx.MockTransport ---------------------------------------------


def _mock_backend(
    handler: Callable[[httpx.Request], httpx.Response], **overrides: object
) -> tuple[OpenAIBackend, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = OpenAIConfig(base_url="http://llm.test/v1", model=TEST_MODEL, **overrides)  # type: ignore[arg-type]
    return OpenAIBackend(config, client=client), client


def _completion(content: str) -> dict[str, object]:
    return {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7},
    }


_GOOD_LINES = "\n".join(f"{n}|calm|{{P1}}이 {n}번 장면" for n in range(1, 4))


async def test_a_server_that_ignores_stream_is_read_as_one_body() -> None:
    """stream=true answered with a plain JSON completion works; a given client stays open."""
    backend, client = _mock_backend(
        lambda request: httpx.Response(200, json=_completion(_GOOD_LINES))
    )
    result = await backend.write(korean_batch(3), "CASTER")
    assert result.items[0].description == "김민재가 1번 장면"
    assert result.usage.prompt_tokens == 11
    await backend.aclose()
    assert not client.is_closed
    await client.aclose()


async def test_an_error_event_in_the_stream_is_translated() -> None:
    """vLLM's in-stream error events become LLMUnavailable (5xx-like) or LLMBadResponse (4xx)."""

    def handler(code: int) -> Callable[[httpx.Request], httpx.Response]:
        body = f'data: {{"error": {{"message": "boom", "code": {code}}}}}\n\n'.encode()
        return lambda request: httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"}
        )

    for code, kind in ((500, LLMUnavailable), (400, LLMRequestRefused)):
        backend, client = _mock_backend(handler(code), retry_attempts=1)
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

    backend, client = _mock_backend(handler, retry_attempts=3)
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
    backend, client = _mock_backend(
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
    recorder = Recorder()
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
    backend, client = _mock_backend(
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
        return httpx.Response(200, json=_completion(_GOOD_LINES))

    backend, client = _mock_backend(handler, stream=False, backoff_jitter_s=0.0)
    result = await backend.write(korean_batch(3), "CASTER")
    assert len(result.items) == 3
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.4
    await client.aclose()

    arrivals.clear()
    backend, client = _mock_backend(
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
    backend, client = _mock_backend(
        lambda request: httpx.Response(200, content=bodies.pop(0), headers=_SSE),
        structured_output=False,
    )
    recorder = Recorder()
    result = await backend.write(korean_batch(2), "CASTER", on_item=recorder)
    lines = [item.description for item in result.items]
    assert lines == ["김민재가 짧게 내줍니다", "김민재가 다시 잡습니다"]
    assert [item.description for item in recorder.items] == lines
    await client.aclose()

    backend, client = _mock_backend(
        lambda request: httpx.Response(200, content=_sse_pieces("{P1}이 짧"), headers=_SSE),
        structured_output=False,
    )
    fork = await backend.write_rows(korean_batch(3), "CASTER", [], [1, 2, 3], settled={}, fork=2)
    assert fork.items == {}
    assert any("max_tokens" in problem for problem in fork.problems)
    await client.aclose()


async def test_every_request_carries_the_bearer_key_and_sampling() -> None:
    """The Bearer key and temperature/top_p/max_tokens go with every request, even a repair
    (max_tokens: the setting, or less for fewer lines: 200 tokens a line)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        lines = _GOOD_LINES if len(seen) > 1 else "1|calm|하나"
        return httpx.Response(200, json=_completion(lines))

    backend, client = _mock_backend(handler, api_key=SecretStr(TEST_API_KEY), stream=False)
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
