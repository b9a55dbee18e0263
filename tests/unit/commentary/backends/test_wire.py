"""ChatWire, the byte seam: pieces and usage out, every failure as an LLMError, no key
in any message. httpx.MockTransport stands in for the server (no network)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from pitchcast.commentary.backends.endpoints import Endpoint
from pitchcast.commentary.backends.wire import ChatWire, Completion, Piece
from pitchcast.commentary.breaker import CircuitBreaker
from pitchcast.exceptions import (
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
)
from pitchcast.schemas.records import Usage

KEY = "rp-K3y/never-in-a-message-7781"
URL = "https://api.runpod.ai/v2/abc123/openai/v1"
Handler = Callable[[httpx.Request], httpx.Response]


def _endpoint(secret: str = KEY) -> Endpoint:
    return Endpoint(index=0, base_url=URL, secret=secret, breaker=CircuitBreaker(5, 30.0))


def _payload(*, stream: bool) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "안녕"}], "stream": stream}


async def _exchange(
    handler: Handler, *, stream: bool = True, endpoint: Endpoint | None = None
) -> list[Piece]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        wire = ChatWire(client, secrets=[KEY], connect_timeout_s=1.0)
        out: list[Piece] = []
        target = endpoint or _endpoint()
        async with contextlib.aclosing(wire.exchange(target, _payload(stream=stream), 2.0)) as it:
            async for piece in it:
                out.append(piece)
        return out


def _sse(*events: object, done: bool = True) -> bytes:
    lines = [b": keep-alive comment\n\n", b"event: message\n"]
    for event in events:
        lines.append(b"data: " + orjson.dumps(event) + b"\n\n")
    if done:
        lines.append(b"data: [DONE]\n\n")
    return b"".join(lines)


def _delta(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


USAGE = {
    "prompt_tokens": 900,
    "completion_tokens": 42,
    "prompt_tokens_details": {"cached_tokens": 768},
}


def _sse_response(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": "text/event-stream"})


async def test_a_stream_yields_its_pieces_in_order_then_how_it_ended() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = _sse(
            _delta("1|excited|{P1}"),
            _delta("의 슛!\n2|calm|"),
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": USAGE},
        )
        return _sse_response(body)

    pieces = await _exchange(handler)
    assert pieces == [
        "1|excited|{P1}",
        "의 슛!\n2|calm|",
        Completion(
            "stop", Usage(prompt_tokens=900, completion_tokens=42, cached_prompt_tokens=768)
        ),
    ]
    request = seen[0]
    assert request.url == f"{URL}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept"] == "text/event-stream"
    assert orjson.loads(request.content)["stream"] is True


async def test_a_plain_body_is_one_piece_then_its_completion() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/json"
        body = {
            "choices": [{"message": {"content": "1|calm|패스"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3},
        }
        return httpx.Response(200, json=body)

    pieces = await _exchange(handler, stream=False)
    assert pieces == ["1|calm|패스", Completion("length", Usage(10, 3, 0))]


async def test_a_server_that_ignores_stream_answers_with_a_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"choices": [{"message": {"content": "본문"}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=body)

    assert await _exchange(handler) == ["본문", Completion("stop", Usage())]


async def test_an_endpoint_without_a_key_gets_no_authorization_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return _sse_response(_sse(_delta("x", "stop")))

    pieces = await _exchange(handler, endpoint=_endpoint(secret=""))
    assert pieces == ["x", Completion("stop", Usage())]


async def test_a_consumer_that_stops_early_closes_the_stream() -> None:
    closed = False

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield _sse(_delta("첫 줄"), done=False)
            yield _sse(_delta("둘째 줄"), done=False)

        async def aclose(self) -> None:
            nonlocal closed
            closed = True

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Body(), headers={"content-type": "text/event-stream"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        wire = ChatWire(client, secrets=[KEY], connect_timeout_s=1.0)
        async with contextlib.aclosing(
            wire.exchange(_endpoint(), _payload(stream=True), 2.0)
        ) as it:
            async for piece in it:
                assert piece == "첫 줄"
                break
        assert closed


def _raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _status(status: int, body: object, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


def _stream_of(body: bytes) -> Handler:
    return lambda request: _sse_response(body)


RUNPOD_400 = {
    "error": {"message": f"bad max_tokens (key {KEY})", "type": "BadRequestError", "code": None}
}
RUNPOD_500 = {"error": {"message": "engine dead", "type": "InternalServerError", "code": None}}


@pytest.mark.parametrize(
    ("handler", "stream", "error", "says"),
    [
        (_raising(httpx.ConnectTimeout(f"connect to {KEY}")), True, LLMTimeout, "ConnectTimeout"),
        (_raising(httpx.ReadTimeout("no byte")), True, LLMTimeout, "ReadTimeout"),
        (_raising(httpx.PoolTimeout("pool")), False, LLMTimeout, "PoolTimeout"),
        (_raising(httpx.ConnectError(f"refused {KEY}")), True, LLMUnavailable, "ConnectError"),
        (_raising(httpx.RemoteProtocolError("cut")), False, LLMUnavailable, "RemoteProtocolError"),
        (_raising(httpx.UnsupportedProtocol("ftp")), True, LLMBadResponse, "cannot call"),
        (_status(400, RUNPOD_400), True, LLMRequestRefused, "HTTP 400"),
        (_status(401, {"error": "no"}), False, LLMRequestRefused, "HTTP 401"),
        (_status(404, {"error": {"code": None}}), True, LLMRequestRefused, "HTTP 404"),
        (_status(422, {"detail": "x"}), True, LLMRequestRefused, "HTTP 422"),
        (_status(408, {}), True, LLMTimeout, "HTTP 408"),
        (_status(429, {}, {"retry-after": "3"}), True, LLMRateLimited, "HTTP 429"),
        (_status(500, RUNPOD_500), True, LLMUnavailable, "HTTP 500"),
        (_status(503, {}), False, LLMUnavailable, "HTTP 503"),
        (
            _stream_of(_sse(_delta("1|calm|"), {"error": RUNPOD_500["error"]})),
            True,
            LLMUnavailable,
            "error event",
        ),
        (_stream_of(_sse({"error": RUNPOD_400["error"]})), True, LLMRequestRefused, "error event"),
        (
            _stream_of(_sse({"error": {"message": "slow down", "code": 429}})),
            True,
            LLMRateLimited,
            "error event",
        ),
        (
            _stream_of(b"data: {not json " + KEY.encode() + b"\n\n"),
            True,
            LLMBadResponse,
            "not JSON",
        ),
        (_stream_of(b"data: [1, 2]\n\n"), True, LLMBadResponse, "not a JSON object"),
        (_stream_of(_sse(_delta("1|calm|"), done=False)), True, LLMUnavailable, "ended before"),
        (_status(200, {"choices": []}), False, LLMBadResponse, "no choices"),
        (_status(200, {"error": RUNPOD_400["error"]}), False, LLMRequestRefused, "error body"),
        (
            lambda r: httpx.Response(200, content=b"<html>" + KEY.encode()),
            False,
            LLMBadResponse,
            "not JSON",
        ),
    ],
)
async def test_every_failure_is_an_llm_error_of_its_class_and_never_quotes_the_key(
    handler: Handler, stream: bool, error: type[LLMError], says: str
) -> None:
    with pytest.raises(LLMError) as caught:
        await _exchange(handler, stream=stream)
    assert type(caught.value) is error
    message = str(caught.value)
    assert says in message
    assert KEY not in message and KEY not in repr(caught.value)
    assert "api.runpod.ai" in message or "talking to" in message or "cannot call" in message


async def test_a_refusal_carries_its_status_and_a_rate_limit_its_wait() -> None:
    with pytest.raises(LLMRequestRefused) as refused:
        await _exchange(_status(403, RUNPOD_400))
    assert refused.value.status == 403
    with pytest.raises(LLMRateLimited) as limited:
        await _exchange(_status(429, {}, {"retry-after": "7"}))
    assert limited.value.retry_after == 7.0
    with pytest.raises(LLMRequestRefused) as event:
        await _exchange(_stream_of(_sse({"error": {"type": "BadRequestError", "code": 400}})))
    assert event.value.status == 400


async def test_a_refusal_for_the_context_length_says_so() -> None:
    """vLLM's 400 for a prompt (plus max_tokens) longer than max_model_len, as a body or
    an error event, is a refusal that says so; another 400 is not."""
    too_long = {
        "error": {
            "message": "This model's maximum context length is 4096 tokens. However, you "
            "requested 4201 tokens (4001 in the messages, 200 in the completion).",
            "type": "BadRequestError",
            "code": 400,
        }
    }
    with pytest.raises(LLMRequestRefused) as body:
        await _exchange(_status(400, too_long))
    assert body.value.context_length
    with pytest.raises(LLMRequestRefused) as event:
        await _exchange(_stream_of(_sse(too_long)))
    assert event.value.context_length
    with pytest.raises(LLMRequestRefused) as other:
        await _exchange(_status(400, RUNPOD_400))
    assert not other.value.context_length


async def test_a_503_carries_its_retry_after_too() -> None:
    """Retry-After is not only for 429: a 503 with it says how long the endpoint expects
    to be out (a proxy or a scaling serverless route); without it, no wait is known."""
    with pytest.raises(LLMUnavailable) as told:
        await _exchange(_status(503, {}, {"retry-after": "3"}))
    assert told.value.retry_after == 3.0
    with pytest.raises(LLMUnavailable) as untold:
        await _exchange(_status(503, {}))
    assert untold.value.retry_after is None


async def test_pieces_before_a_failure_were_yielded() -> None:
    """Lines already streamed stay streamed: the error comes after them."""
    body = _sse(_delta("1|calm|패스\n"), {"error": RUNPOD_500["error"]})
    got: list[Piece] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(_stream_of(body))) as client:
        wire = ChatWire(client, secrets=[KEY], connect_timeout_s=1.0)
        with pytest.raises(LLMUnavailable):
            async with contextlib.aclosing(
                wire.exchange(_endpoint(), _payload(stream=True), 2.0)
            ) as it:
                async for piece in it:
                    got.append(piece)
    assert got == ["1|calm|패스\n"]


async def test_a_warm_up_ping_needs_only_a_success_status() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_status(200, {"odd": 1}))) as client:
        wire = ChatWire(client, secrets=[KEY], connect_timeout_s=1.0)
        await wire.ping(_endpoint(), _payload(stream=False), httpx.Timeout(1.0))
    async with httpx.AsyncClient(transport=httpx.MockTransport(_status(503, RUNPOD_500))) as client:
        wire = ChatWire(client, secrets=[KEY], connect_timeout_s=1.0)
        with pytest.raises(LLMUnavailable):
            await wire.ping(_endpoint(), _payload(stream=False), httpx.Timeout(1.0))


def test_redact_masks_the_longest_key_first() -> None:
    wire = ChatWire(httpx.AsyncClient(), secrets=["abc", "abcdef", ""], connect_timeout_s=1.0)
    assert wire.redact("x abcdef y abc z") == "x *** y *** z"
