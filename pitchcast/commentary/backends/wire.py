"""One HTTP exchange with an OpenAI-compatible chat-completions endpoint: bytes only.

What :class:`~.openai.OpenAIBackend` needs of the wire, apart from choosing endpoints,
retrying and reading the answer: send one request (streamed SSE or a plain body) within
an attempt's budget, yield the answer's text in pieces as they arrive, then how it
ended (:class:`Completion`: finish reason and usage, prompt, cached and completion
tokens), and turn every HTTP status, error object and httpx error into the
:class:`~pitchcast.exceptions.LLMError` family. What the text says (lines, rows, JSON)
is not the wire's business: :mod:`.openai` parses and checks it. API keys go only into
their own endpoint's ``authorization`` header and are removed from any text a server
sends back before it reaches a message.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from pitchcast.commentary.backends.endpoints import Endpoint
from pitchcast.commentary.backends.errors import (
    error_class,
    parse_retry_after,
    says_context_length,
)
from pitchcast.commentary.backends.timing import attempt_timeouts
from pitchcast.exceptions import (
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMRequestRefused,
    LLMTimeout,
    LLMUnavailable,
    PitchcastError,
)
from pitchcast.schemas.records import Usage

__all__ = ["ChatWire", "Completion", "Piece", "cached_tokens"]

_ERROR_SNIPPET_CHARS = 200
_ERROR_BODY_MAX_BYTES = 4096


def cached_tokens(usage: dict[str, Any]) -> int:
    """vLLM's ``usage.prompt_tokens_details.cached_tokens`` (prefix cache hits), else 0."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict):
        return int(details.get("cached_tokens") or 0)
    return 0


def _usage(usage: dict[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_prompt_tokens=cached_tokens(usage),
    )


@dataclass(frozen=True, slots=True)
class Completion:
    """How an answer ended: the last thing :meth:`ChatWire.exchange` yields."""

    finish_reason: str | None
    usage: Usage


# What an exchange yields: pieces of the answer's text, then its Completion.
Piece = str | Completion


class ChatWire:
    """Requests to chat-completions endpoints over one shared httpx client."""

    def __init__(
        self, client: httpx.AsyncClient, *, secrets: Sequence[str], connect_timeout_s: float
    ) -> None:
        self._client = client
        # Longest first, so a key that contains another is masked whole.
        self._secrets = sorted({key for key in secrets if key}, key=len, reverse=True)
        self._connect_timeout_s = connect_timeout_s

    def headers(self, endpoint: Endpoint, *, stream: bool) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if endpoint.secret:
            headers["authorization"] = f"Bearer {endpoint.secret}"
        return headers

    async def exchange(
        self, endpoint: Endpoint, payload: dict[str, Any], budget: float
    ) -> AsyncIterator[Piece]:
        """Send ``payload`` to ``endpoint`` (streamed when ``payload["stream"]``) within
        ``budget`` seconds per wait (:func:`.timing.attempt_timeouts`); yield the text
        as it arrives, then a :class:`Completion`. Raises the ``LLMError`` family.

        Iterate it inside ``contextlib.aclosing`` so that a consumer that stops early
        closes the response at once."""
        body = orjson.dumps(payload)
        limits = attempt_timeouts(budget, connect_timeout_s=self._connect_timeout_s)
        timeout = httpx.Timeout(
            connect=limits.connect, read=limits.read, write=limits.write, pool=limits.pool
        )
        with self.translated(endpoint):
            if not payload["stream"]:
                response = await self._client.post(
                    endpoint.chat_url,
                    content=body,
                    headers=self.headers(endpoint, stream=False),
                    timeout=timeout,
                )
                await self.raise_for_status(response, endpoint)
                text, completion = self._read_body(response, endpoint)
                if text:
                    yield text
                yield completion
                return
            async with self._client.stream(
                "POST",
                endpoint.chat_url,
                content=body,
                headers=self.headers(endpoint, stream=True),
                timeout=timeout,
            ) as response:
                await self.raise_for_status(response, endpoint)
                if response.headers.get("content-type", "").startswith("application/json"):
                    # A server that ignores "stream": one ordinary completion body.
                    await response.aread()
                    text, completion = self._read_body(response, endpoint)
                    if text:
                        yield text
                    yield completion
                    return
                async for piece in self._read_stream(response, endpoint):
                    yield piece

    async def ping(
        self, endpoint: Endpoint, payload: dict[str, Any], timeout: httpx.Timeout
    ) -> None:
        """A request whose answer needs only a success status (a warm-up)."""
        with self.translated(endpoint):
            response = await self._client.post(
                endpoint.chat_url,
                content=orjson.dumps(payload),
                headers=self.headers(endpoint, stream=False),
                timeout=timeout,
            )
            await self.raise_for_status(response, endpoint)

    async def _read_stream(
        self, response: httpx.Response, endpoint: Endpoint
    ) -> AsyncIterator[Piece]:
        finish_reason: str | None = None
        usage = Usage()
        done = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, comments, event names
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise LLMBadResponse(
                    f"a stream event from {endpoint.label} is not JSON: "
                    f"{self.redact(data)[:_ERROR_SNIPPET_CHARS]!r}"
                ) from exc
            if not isinstance(event, dict):
                raise LLMBadResponse(f"a stream event from {endpoint.label} is not a JSON object")
            if event.get("error"):
                raise self._error_object(
                    event["error"], f"error event in the stream from {endpoint.label}"
                )
            if isinstance(event.get("usage"), dict):
                usage = _usage(event["usage"])
            for choice in event.get("choices") or ():
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if content:
                    yield content
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
        if not done and finish_reason is None:
            raise LLMUnavailable(
                f"the stream from {endpoint.label} ended before the answer was complete"
            )
        yield Completion(finish_reason, usage)

    def _read_body(self, response: httpx.Response, endpoint: Endpoint) -> tuple[str, Completion]:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise LLMBadResponse(
                f"the body from {endpoint.label} is not JSON: {self._snippet(response.content)!r}"
            ) from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if isinstance(data, dict) and data.get("error"):
                # An error object with a success status (a wrapper that does that).
                raise self._error_object(data["error"], f"error body from {endpoint.label}")
            raise LLMBadResponse(
                f"no choices in the body from {endpoint.label}: {self._snippet(response.content)!r}"
            )
        message = choices[0].get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        usage = data.get("usage") or {}
        return (
            content if isinstance(content, str) else "",
            Completion(choices[0].get("finish_reason"), _usage(usage)),
        )

    # --- errors ---------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _snippet(self, raw: bytes) -> str:
        text = raw[:_ERROR_BODY_MAX_BYTES].decode("utf-8", "replace")
        return self.redact(text)[:_ERROR_SNIPPET_CHARS]

    async def raise_for_status(self, response: httpx.Response, endpoint: Endpoint) -> None:
        """By HTTP status only (RunPod's worker sends ``code: null`` in error bodies):
        429 rate limited, 408 timeout, 5xx unavailable, any other 4xx refused; a 429's
        or 5xx's ``Retry-After`` goes with the error."""
        status = response.status_code
        if status < 400:
            return
        raw = await response.aread()
        message = f"HTTP {status} from {endpoint.label}: {self._snippet(raw)}"
        # RFC 9110: Retry-After goes with a 429 and with a 503 (out for that long).
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            raise LLMRateLimited(message, retry_after=retry_after)
        if status == 408:
            raise LLMTimeout(message)
        if status >= 500:
            raise LLMUnavailable(message, retry_after=retry_after)
        raise LLMRequestRefused(message, status=status, context_length=says_context_length(message))

    def _error_object(self, error: Any, where: str) -> LLMError:
        kind, status = error_class(error)
        message = f"{where}: {self.redact(str(error))[:_ERROR_SNIPPET_CHARS]}"
        if kind == "refused":
            return LLMRequestRefused(
                message, status=status, context_length=says_context_length(message)
            )
        if kind == "rate_limited":
            return LLMRateLimited(message)
        if kind == "timeout":
            return LLMTimeout(message)
        return LLMUnavailable(message)

    @contextlib.contextmanager
    def translated(self, endpoint: Endpoint) -> Iterator[None]:
        """httpx errors in, LLMError out (the message never carries a key)."""
        where = endpoint.label
        try:
            yield
        except PitchcastError:
            raise
        except httpx.TimeoutException as exc:
            raise LLMTimeout(
                f"{type(exc).__name__} talking to {where}: {self.redact(str(exc))}"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise LLMBadResponse(f"cannot call {where}: {self.redact(str(exc))}") from exc
        except httpx.TransportError as exc:
            raise LLMUnavailable(
                f"{type(exc).__name__} talking to {where}: {self.redact(str(exc))}"
            ) from exc
        except httpx.HTTPError as exc:
            raise LLMBadResponse(
                f"{type(exc).__name__} from {where}: {self.redact(str(exc))}"
            ) from exc
