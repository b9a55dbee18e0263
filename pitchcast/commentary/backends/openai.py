"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint, over httpx.

Targets a self-hosted ``vllm serve`` (``http://127.0.0.1:8000/v1``) or RunPod Serverless
(``https://api.runpod.ai/v2/<endpoint>/openai/v1``, Bearer key). ``POST
{base}/chat/completions`` with temperature, top_p and max_tokens always sent (RunPod
defaults max_tokens to 16), streamed (SSE, usage in the last event through
``stream_options.include_usage``) or not, with ``response_format`` json_schema when
structured outputs are on.

What :meth:`OpenAIBackend.write` does, in order, all inside the batch deadline
(``llm_batch_deadline_s``, counted from the call):

1. sends the prompt (:mod:`..prompt`); lines are parsed as they complete in the stream
   and checked one by one (:class:`~..validation.LineAssembler`); each valid line goes
   to ``on_item`` as soon as every earlier line went, so lines leave in action order;
2. retries connection errors, timeouts, 429 (waiting ``Retry-After`` when given) and
   5xx with exponential backoff and jitter (stamina), while the next attempt can still
   start before the deadline; any other 4xx, or a body that is not a completion, is
   :class:`~pitchcast.exceptions.LLMBadResponse` at once. A retry re-asks the same
   prompt; lines already sent to ``on_item`` are not sent again;
3. if the answer is not valid, makes exactly one repair request: the first exchange,
   the validation reasons, and the rows still missing. Lines already sent to
   ``on_item`` are final: the repair asks only for the other rows, and its own
   version of a sent row is ignored (a published line is never rewritten, as the
   design asks). After a structural problem (a missing, duplicate or unknown row) the
   repair asks for every unsent row; after content problems only (tone, text, names)
   it asks only for the failing rows and keeps the valid ones;
4. if the repair fails too: :class:`~pitchcast.exceptions.CommentaryRejected`. The
   caller knows which lines went out (it saw them through ``on_item``).

When every row has a valid line, extra lines (a row that does not exist, written after
the last one) are ignored with a warning rather than rejected: there is nothing left
to repair and every line already left.

Every httpx error is translated here (``raise ... from exc``) into the
:class:`~pitchcast.exceptions.LLMError` family. The API key is sent per request, never
logged, and removed from any text the server sends back before it reaches a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import stamina
from pydantic import SecretStr

from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback, RowsAnswer
from pitchcast.commentary.conversation import LiveTurn, build_live_messages
from pitchcast.commentary.parsing import AnswerParser, ParsedItem
from pitchcast.commentary.prompt import (
    PROMPT_VERSION,
    build_messages,
    build_repair_messages,
    response_format,
    system_prompt,
)
from pitchcast.commentary.validation import MAX_DESCRIPTION_CHARS, LineAssembler
from pitchcast.exceptions import (
    CommentaryRejected,
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    PitchcastError,
)
from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona, Settings

__all__ = ["OpenAIBackend", "OpenAIConfig"]

logger = logging.getLogger("pitchcast.llm")

_RETRYABLE = (LLMUnavailable, LLMTimeout, LLMRateLimited)
_ERROR_SNIPPET_CHARS = 200
_ERROR_BODY_MAX_BYTES = 4096
_WARMUP_PROMPT = "준비"


@dataclass(frozen=True, slots=True)
class OpenAIConfig:
    """What the backend needs from the settings (see :meth:`from_settings`)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "skt/A.X-4.0-Light"
    api_key: SecretStr | None = field(default=None, repr=False)
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 600
    stream: bool = True
    structured_output: bool = True
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    batch_deadline_s: float = 25.0
    retry_attempts: int = 4
    max_connections: int = 8
    max_description_chars: int = MAX_DESCRIPTION_CHARS
    # Backoff between attempts: initial * 2**(n-1), capped, plus up to jitter seconds.
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 4.0
    backoff_jitter_s: float = 0.25
    # No new attempt starts with less than this left before the deadline.
    min_attempt_s: float = 0.5
    # A serverless cold start can take a minute or more.
    warmup_timeout_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIConfig:
        """The ``llm_*`` settings as a config."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            temperature=settings.llm_temperature,
            top_p=settings.llm_top_p,
            max_tokens=settings.llm_max_tokens,
            stream=settings.llm_stream,
            structured_output=settings.llm_structured_output,
            connect_timeout_s=settings.llm_connect_timeout_s,
            read_timeout_s=settings.llm_read_timeout_s,
            batch_deadline_s=settings.llm_batch_deadline_s,
            retry_attempts=settings.llm_retry_attempts,
            max_connections=settings.llm_max_in_flight,
        )


@dataclass(slots=True)
class _Answer:
    """One completion as received."""

    text: str
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _UsageSum:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, answer: _Answer) -> None:
        self.prompt_tokens += answer.prompt_tokens
        self.completion_tokens += answer.completion_tokens

    def freeze(self) -> Usage:
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class OpenAIBackend:
    """Commentary from an OpenAI-compatible endpoint. See the module docstring."""

    name = "openai"

    def __init__(
        self, config: OpenAIConfig | Settings, client: httpx.AsyncClient | None = None
    ) -> None:
        if isinstance(config, Settings):
            config = OpenAIConfig.from_settings(config)
        self.config = config
        self._secret = config.api_key.get_secret_value() if config.api_key else ""
        self._base_url = config.base_url.rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=config.connect_timeout_s,
                read=config.read_timeout_s,
                write=config.connect_timeout_s,
                pool=config.connect_timeout_s,
            ),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
                keepalive_expiry=30.0,
            ),
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> OpenAIBackend:
        """A backend configured by the ``llm_*`` settings."""
        return cls(OpenAIConfig.from_settings(settings), client)

    @property
    def model(self) -> str:
        return self.config.model

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self._base_url!r}, model={self.config.model!r})"

    # --- the CommentaryBackend seam ------------------------------------------------------

    def cache_key(self, batch: Batch, persona: Persona) -> str:
        """sha256 of everything that shapes the answer: model, sampling settings, persona,
        prompt version, structured flag and the full prompt (plus the batch's identity,
        since the prompt holds no action ids and the cached items do)."""
        config = self.config
        material = {
            "backend": self.name,
            "model": config.model,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": config.max_tokens,
            "persona": persona,
            "prompt_version": PROMPT_VERSION,
            "structured": config.structured_output,
            "max_chars": config.max_description_chars,
            "messages": build_messages(batch, persona, structured=config.structured_output),
            "batch": [batch.game_id, [a.action_id for a in batch.actions]],
        }
        return hashlib.sha256(orjson.dumps(material, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        """One validated item per action of ``batch``; see the module docstring."""
        config = self.config
        if not batch.actions:
            return CommentaryResult(items=(), source="llm", model=config.model)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.batch_deadline_s
        assembler = LineAssembler(batch, max_chars=config.max_description_chars)
        usage = _UsageSum()
        context = {"game_id": batch.game_id, "batch_index": batch.batch_index, "persona": persona}
        structured = config.structured_output
        try:
            async with asyncio.timeout_at(deadline):
                messages = build_messages(batch, persona, structured=structured)
                answer = await self._complete(
                    messages, assembler.rows, assembler, on_item, usage, deadline, context
                )
                reasons = assembler.end_attempt(note=self._note(answer))
                if not assembler.complete:
                    rows = assembler.missing_rows()
                    logger.info(
                        "pitchcast.llm.repair",
                        extra={**context, "rows": rows, "reasons": reasons[:10]},
                    )
                    repair = build_repair_messages(
                        batch, persona, answer.text, reasons, rows, structured=structured
                    )
                    answer = await self._complete(
                        repair, rows, assembler, on_item, usage, deadline, context
                    )
                    reasons = assembler.end_attempt(note=self._note(answer))
                    if not assembler.complete:
                        raise CommentaryRejected(
                            reasons or [f"no valid line for rows {assembler.missing_rows()}"]
                        )
                elif reasons:
                    logger.warning(
                        "pitchcast.llm.extra_lines_ignored",
                        extra={**context, "reasons": reasons[:10]},
                    )
        except TimeoutError as exc:
            raise LLMTimeout(
                f"no valid answer within the batch deadline of {config.batch_deadline_s:g}s"
            ) from exc
        return CommentaryResult(
            items=assembler.items(), source="llm", model=config.model, usage=usage.freeze()
        )

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem],
        deadline: float,
        on_item: ItemCallback | None = None,
    ) -> RowsAnswer:
        """Live mode: the lines of ``rows`` of a batch still filling, in its conversation.

        ``batch`` holds the actions so far; ``turns`` the earlier requests and their
        answers; ``settled`` the rows already written. Valid lines go to ``on_item`` in
        row order as they stream in. Retries as :meth:`write` does, until ``deadline``
        (loop time); no repair round (a line is wanted within seconds: the caller fills
        what is missing). Raises :class:`~pitchcast.exceptions.LLMError` on failure.
        """
        config = self.config
        structured = config.structured_output
        assembler = LineAssembler(batch, max_chars=config.max_description_chars, settled=settled)
        usage = _UsageSum()
        context = {"game_id": batch.game_id, "batch_index": batch.batch_index, "persona": persona}
        messages = build_live_messages(batch, persona, turns, rows, structured=structured)
        try:
            async with asyncio.timeout_at(deadline):
                answer = await self._complete(
                    messages, rows, assembler, on_item, usage, deadline, context
                )
        except TimeoutError as exc:
            raise LLMTimeout("no answer within the live deadline") from exc
        problems = assembler.end_attempt(note=self._note(answer))
        wanted = set(rows)
        items = {
            row: item
            for row, item in zip(assembler.rows, assembler.settled, strict=False)
            if row in wanted
        }
        return RowsAnswer(
            items=items,
            raw={row: assembler.raw[row] for row in items if row in assembler.raw},
            answer=answer.text,
            usage=usage.freeze(),
            problems=tuple(problems),
        )

    async def warm_up(self, persona: Persona = "CASTER") -> None:
        """A one-token request with ``persona``'s system prompt: wakes a serverless worker
        (and fills the prefix cache) so the first batch does not pay the cold start."""
        config = self.config
        payload = {
            "model": config.model,
            "messages": [
                {
                    "role": "system",
                    "content": system_prompt(persona, structured=config.structured_output),
                },
                {"role": "user", "content": _WARMUP_PROMPT},
            ],
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": 1,
            "stream": False,
        }
        timeout = httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.warmup_timeout_s,
            write=config.connect_timeout_s,
            pool=config.connect_timeout_s,
        )
        started = time.monotonic()
        with self._translated():
            response = await self._client.post(
                self._url,
                content=orjson.dumps(payload),
                headers=self._headers(stream=False),
                timeout=timeout,
            )
            await self._raise_for_status(response)
        logger.info(
            "pitchcast.llm.warmed_up",
            extra={"persona": persona, "seconds": round(time.monotonic() - started, 3)},
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this backend created it."""
        if self._owns_client:
            await self._client.aclose()

    # --- one completion, with retries ---------------------------------------------------

    async def _complete(
        self,
        messages: list[dict[str, str]],
        rows: Sequence[int],
        assembler: LineAssembler,
        on_item: ItemCallback | None,
        usage: _UsageSum,
        deadline: float,
        context: dict[str, Any],
    ) -> _Answer:
        loop = asyncio.get_running_loop()
        config = self.config
        attempts_made = 0

        def decide_retry(exc: Exception) -> bool | float:
            # stamina's hook: False = give up, a float = wait that long, then retry.
            if not isinstance(exc, _RETRYABLE):
                return False
            if isinstance(exc, LLMRateLimited) and exc.retry_after is not None:
                wait = exc.retry_after
            else:
                wait = self._backoff(attempts_made)
            left = deadline - loop.time()
            if wait + config.min_attempt_s > left:
                logger.warning(
                    "pitchcast.llm.retry_abandoned",
                    extra={
                        **context,
                        "error_kind": exc.kind,
                        "wait_s": round(wait, 3),
                        "left_s": round(left, 3),
                    },
                )
                return False
            return wait

        payload = self._payload(messages, rows)
        async for attempt in stamina.retry_context(
            on=decide_retry, attempts=config.retry_attempts, timeout=None
        ):
            with attempt:
                attempts_made += 1
                # Rows settled by an earlier, interrupted attempt stay as they went out.
                assembler.begin_attempt()
                answer = await self._request(payload, assembler, on_item)
                usage.add(answer)
                return answer
        raise AssertionError("stamina ended the retries without an outcome")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        config = self.config
        base = min(config.backoff_max_s, config.backoff_initial_s * 2 ** max(attempt - 1, 0))
        return base + random.uniform(0, config.backoff_jitter_s)

    def _payload(self, messages: list[dict[str, str]], rows: Sequence[int]) -> dict[str, Any]:
        config = self.config
        payload: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": config.max_tokens,
            "stream": config.stream,
        }
        if config.stream:
            payload["stream_options"] = {"include_usage": True}
        if config.structured_output:
            payload["response_format"] = response_format(
                rows, max_chars=config.max_description_chars
            )
        return payload

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if self._secret:
            headers["authorization"] = f"Bearer {self._secret}"
        return headers

    async def _request(
        self,
        payload: dict[str, Any],
        assembler: LineAssembler,
        on_item: ItemCallback | None,
    ) -> _Answer:
        parser = AnswerParser()
        parsed_count = 0

        async def take(parsed: list[ParsedItem]) -> None:
            nonlocal parsed_count
            parsed_count += len(parsed)
            for item in parsed:
                for settled in assembler.add(item):
                    if on_item is not None:
                        await on_item(settled)

        body = orjson.dumps(payload)
        stream = bool(payload["stream"])
        with self._translated():
            if stream:
                async with self._client.stream(
                    "POST", self._url, content=body, headers=self._headers(stream=True)
                ) as response:
                    await self._raise_for_status(response)
                    if response.headers.get("content-type", "").startswith("application/json"):
                        # A server that ignores "stream": one ordinary completion body.
                        await response.aread()
                        answer = self._read_body(response)
                        await take(parser.feed(answer.text))
                    else:
                        answer = await self._read_stream(response, parser, take)
            else:
                response = await self._client.post(
                    self._url, content=body, headers=self._headers(stream=False)
                )
                await self._raise_for_status(response)
                answer = self._read_body(response)
                await take(parser.feed(answer.text))
        await take(parser.finish())
        if parser.undecodable_items:
            answer.problems.append(f"{parser.undecodable_items} JSON item(s) are not valid JSON")
        if parsed_count == 0 and not parser.json_values and answer.text.strip():
            answer.problems.append(
                "no line in the requested format (n|tone|text lines, or the JSON shape)"
            )
        return answer

    async def _read_stream(
        self,
        response: httpx.Response,
        parser: AnswerParser,
        take: Callable[[list[ParsedItem]], Awaitable[None]],
    ) -> _Answer:
        finish_reason: str | None = None
        prompt_tokens = completion_tokens = 0
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
                    f"a stream event is not JSON: {self._redact(data)[:_ERROR_SNIPPET_CHARS]!r}"
                ) from exc
            if not isinstance(event, dict):
                raise LLMBadResponse("a stream event is not a JSON object")
            if event.get("error"):
                raise self._stream_error(event["error"])
            usage = event.get("usage")
            if isinstance(usage, dict):
                prompt_tokens = int(usage.get("prompt_tokens") or 0)
                completion_tokens = int(usage.get("completion_tokens") or 0)
            for choice in event.get("choices") or ():
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if content:
                    await take(parser.feed(content))
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
        if not done and finish_reason is None:
            raise LLMUnavailable("the stream ended before the answer was complete")
        return _Answer(parser.text, finish_reason, prompt_tokens, completion_tokens)

    def _read_body(self, response: httpx.Response) -> _Answer:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise LLMBadResponse(
                f"the body is not JSON: {self._snippet(response.content)!r}"
            ) from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise LLMBadResponse(f"no choices in the body: {self._snippet(response.content)!r}")
        message = choices[0].get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        usage = data.get("usage") or {}
        return _Answer(
            text=content if isinstance(content, str) else "",
            finish_reason=choices[0].get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )

    def _note(self, answer: _Answer) -> str | None:
        notes = list(answer.problems)
        if answer.finish_reason == "length":
            notes.append(f"the answer was cut at max_tokens={self.config.max_tokens}")
        return "; ".join(notes) or None

    # --- errors ---------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    def _snippet(self, raw: bytes) -> str:
        text = raw[:_ERROR_BODY_MAX_BYTES].decode("utf-8", "replace")
        return self._redact(text)[:_ERROR_SNIPPET_CHARS]

    async def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        raw = await response.aread()
        where = f"HTTP {status} from {self._base_url}"
        detail = self._snippet(raw)
        if status == 429:
            raise LLMRateLimited(
                f"{where}: {detail}",
                retry_after=_parse_retry_after(response.headers.get("retry-after")),
            )
        if status == 408:
            raise LLMTimeout(f"{where}: {detail}")
        if status >= 500:
            raise LLMUnavailable(f"{where}: {detail}")
        raise LLMBadResponse(f"{where}: {detail}")

    def _stream_error(self, error: Any) -> LLMError:
        detail = self._redact(str(error))[:_ERROR_SNIPPET_CHARS]
        code = error.get("code") if isinstance(error, dict) else None
        if code == 429:
            return LLMRateLimited(f"error event in the stream: {detail}")
        if isinstance(code, int) and 400 <= code < 500:
            return LLMBadResponse(f"error event in the stream: {detail}")
        return LLMUnavailable(f"error event in the stream: {detail}")

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """httpx errors in, LLMError out (the message never carries the key)."""
        try:
            yield
        except PitchcastError:
            raise
        except httpx.TimeoutException as exc:
            raise LLMTimeout(
                f"{type(exc).__name__} talking to {self._base_url}: {self._redact(str(exc))}"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise LLMBadResponse(f"cannot call {self._base_url}: {self._redact(str(exc))}") from exc
        except httpx.TransportError as exc:
            raise LLMUnavailable(
                f"{type(exc).__name__} talking to {self._base_url}: {self._redact(str(exc))}"
            ) from exc
        except httpx.HTTPError as exc:
            raise LLMBadResponse(
                f"{type(exc).__name__} from {self._base_url}: {self._redact(str(exc))}"
            ) from exc
