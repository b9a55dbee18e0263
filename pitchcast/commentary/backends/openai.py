"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint, over httpx.

Targets a self-hosted ``vllm serve`` (``http://127.0.0.1:8000/v1``) or RunPod Serverless
(``https://api.runpod.ai/v2/<endpoint>/openai/v1``, Bearer key). ``POST
{base}/chat/completions`` with temperature, top_p and max_tokens always sent (RunPod
defaults max_tokens to 16), streamed (SSE, usage in the last event through
``stream_options.include_usage``) or not, with ``response_format`` json_schema when
structured outputs are on.

``base_url`` may list several endpoints: a match sticks to one by consistent hashing
of its game_id, fails over to the next of its ring order, and comes back when the first
one's breaker closes (:mod:`.endpoints`). Each endpoint has its own key and its own
circuit breaker; :attr:`OpenAIBackend.breaker` is the view the commentary service uses
(open only while every endpoint's breaker is). Every request carries ``user:
"game:<game_id>"`` (vLLM accepts it; the fake server attributes GPU time by it).

What :meth:`OpenAIBackend.write` does, in order, all inside the batch deadline
(``llm_batch_deadline_s``, counted from the call, or the ``deadline`` given):

1. sends the prompt (:mod:`..prompt`); lines are parsed as they complete in the stream
   and checked one by one (:class:`~..validation.LineAssembler`); each valid line goes
   to ``on_item`` as soon as every earlier line went, so lines leave in action order;
2. retries connection errors, timeouts, 408, 429 (waiting ``Retry-After`` when given)
   and 5xx with exponential backoff and jitter (stamina), on the next endpoint of the
   match's order (the same one when it is the only one that takes requests), while the
   next attempt can still start before the deadline. Each attempt waits at most its
   budget for the first byte and between chunks (:mod:`.timing`: half the time left
   while a retry may follow), so a hung request is cut in time for a retry. A
   permanent 4xx (by HTTP status, or an error object of that class: :mod:`.errors`)
   is :class:`~pitchcast.exceptions.LLMRequestRefused` at once: not retried, and no
   verdict on the endpoint's breaker. A body that is not a completion is
   :class:`~pitchcast.exceptions.LLMBadResponse`: a failure of that endpoint, retried
   only on another one. A retry re-asks the same prompt; lines already sent to
   ``on_item`` are not sent again;
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

The HTTP exchange itself is :mod:`.wire` (bytes in, text pieces and usage out, every
httpx error translated into the :class:`~pitchcast.exceptions.LLMError` family);
endpoint choice, retries and each attempt's verdict on its endpoint are
:mod:`.failover`; this module reads the text (:class:`~..parsing.AnswerParser`) and
checks the lines (:class:`~..validation.LineAssembler`). API keys are sent per
request, only to their own endpoint, never logged, and removed from any text a server
sends back before it reaches a message; logs and errors name an endpoint by
``scheme://host:port/path``.

:meth:`OpenAIBackend._complete` is the entry point for any exchange (messages, rows,
assembler, game_id, deadline); the batch path and the live path share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback, RowsAnswer
from pitchcast.commentary.backends.endpoints import (
    Endpoint,
    EndpointBreakers,
    EndpointRing,
    pair_keys,
)
from pitchcast.commentary.backends.failover import Answering, Failover
from pitchcast.commentary.backends.wire import ChatWire, Completion
from pitchcast.commentary.breaker import FailureGroup
from pitchcast.commentary.conversation import LiveTurn, build_live_messages, fork_request
from pitchcast.commentary.density import silent_items
from pitchcast.commentary.parsing import AnswerParser, ParsedItem
from pitchcast.commentary.prompt import (
    PROMPT_VERSION,
    build_messages,
    build_repair_messages,
    response_format,
    system_prompt,
)
from pitchcast.commentary.validation import MAX_DESCRIPTION_CHARS, LineAssembler
from pitchcast.exceptions import CommentaryRejected, LLMCircuitOpen, LLMTimeout
from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona, Settings, split_list

__all__ = ["OpenAIBackend", "OpenAIConfig"]

logger = logging.getLogger("pitchcast.llm")

_WARMUP_PROMPT = "준비"


@dataclass(frozen=True, slots=True)
class OpenAIConfig:
    """What the backend needs from the settings (see :meth:`from_settings`)."""

    # One endpoint, or several separated by commas.
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "skt/A.X-4.0-Light"
    # The same key for every endpoint, or (api_keys) one per endpoint in URL order.
    api_key: SecretStr | None = field(default=None, repr=False)
    api_keys: tuple[SecretStr | None, ...] | None = field(default=None, repr=False)
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 600
    stream: bool = True
    structured_output: bool = True
    connect_timeout_s: float = 3.0
    # Longest wait for the first byte and between chunks (capped per attempt: timing.py).
    read_timeout_s: float = 10.0
    batch_deadline_s: float = 25.0
    retry_attempts: int = 4
    max_connections: int = 8
    max_description_chars: int = MAX_DESCRIPTION_CHARS
    # The team FRIEND backs (PITCHCAST_FRIEND_SUPPORTS): its system prompt names the side.
    friend_supports: str = ""
    # Backoff between attempts: initial * 2**(n-1), capped, plus up to jitter seconds.
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 4.0
    backoff_jitter_s: float = 0.25
    # No new attempt starts with less than this left before the deadline.
    min_attempt_s: float = 0.5
    # A serverless cold start can take a minute or more.
    warmup_timeout_s: float = 120.0
    # Per endpoint: consecutive failed requests that open its breaker, and for how long.
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIConfig:
        """The ``llm_*`` settings as a config."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            api_keys=settings.llm_endpoint_keys() if settings.llm_api_keys else None,
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
            min_attempt_s=settings.llm_min_attempt_s,
            backoff_initial_s=settings.llm_backoff_initial_s,
            backoff_max_s=settings.llm_backoff_max_s,
            breaker_failures=settings.llm_breaker_failures,
            breaker_reset_s=settings.llm_breaker_reset_s,
            friend_supports=settings.friend_supports,
        )

    def endpoint_keys(self) -> list[str]:
        """One key per endpoint of ``base_url`` ("" = none); see :func:`.endpoints.pair_keys`."""
        single = self.api_key.get_secret_value() if self.api_key else None
        listed = (
            [key.get_secret_value() if key else "" for key in self.api_keys]
            if self.api_keys
            else None
        )
        return pair_keys(len(split_list(self.base_url)), api_key=single, api_keys=listed)


@dataclass(slots=True)
class _Answer:
    """One completion as received and read."""

    text: str
    finish_reason: str | None
    usage: Usage = field(default_factory=Usage)
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _UsageSum:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0

    def add(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens

    def freeze(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens,
        )


class OpenAIBackend:
    """Commentary from one or more OpenAI-compatible endpoints. See the module docstring."""

    name = "openai"

    def __init__(
        self,
        config: OpenAIConfig | Settings,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(config, Settings):
            config = OpenAIConfig.from_settings(config)
        self.config = config
        keys = config.endpoint_keys()
        self.ring = EndpointRing(
            split_list(config.base_url),
            keys,
            breaker_failures=config.breaker_failures,
            breaker_reset_s=config.breaker_reset_s,
            clock=clock,
        )
        self._owns_client = client is None
        # Timeouts are set per request (timing.py); these apply to nothing else.
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
        self._wire = ChatWire(
            self._client, secrets=keys, connect_timeout_s=config.connect_timeout_s
        )
        self._failover = Failover(self.ring, config)

    @classmethod
    def from_settings(
        cls, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> OpenAIBackend:
        """A backend configured by the ``llm_*`` settings."""
        return cls(OpenAIConfig.from_settings(settings), client)

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def breaker(self) -> EndpointBreakers:
        """The commentary service's breaker: open only while every endpoint's is."""
        return self.ring.breakers

    def endpoint_stats(self) -> list[dict[str, object]]:
        """Per endpoint: breaker state, requests, failures, refusals, times opened."""
        return self.ring.stats()

    def __repr__(self) -> str:
        labels = [endpoint.label for endpoint in self.ring.endpoints]
        return f"OpenAIBackend(endpoints={labels!r}, model={self.config.model!r})"

    # --- the CommentaryBackend seam ------------------------------------------------------

    def cache_key(self, batch: Batch, persona: Persona, rows: Sequence[int] | None = None) -> str:
        """sha256 of everything that shapes the answer: model, sampling settings, persona,
        prompt version, structured flag and the full prompt (plus the batch's identity,
        since the prompt holds no action ids and the cached items do). Not the endpoint:
        every endpoint serves the same model."""
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
            "messages": build_messages(
                batch,
                persona,
                structured=config.structured_output,
                rows=rows,
                supports=config.friend_supports,
            ),
            "batch": [batch.game_id, [a.action_id for a in batch.actions]],
        }
        return hashlib.sha256(orjson.dumps(material, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def write(
        self,
        batch: Batch,
        persona: Persona,
        *,
        on_item: ItemCallback | None = None,
        deadline: float | None = None,
        rows: Sequence[int] | None = None,
    ) -> CommentaryResult:
        """One validated item per action of ``batch``; see the module docstring.

        ``deadline`` is an absolute ``loop.time()``; by default the batch deadline from now.
        ``rows`` (density): only these rows are asked for; the others get a silent item
        (no text) at once.
        """
        config = self.config
        if not batch.actions:
            return CommentaryResult(items=(), source="llm", model=config.model)
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + config.batch_deadline_s
            allowed = f"{config.batch_deadline_s:g}s"
        else:
            allowed = f"{max(deadline - loop.time(), 0.0):.3g}s"
        assembler = LineAssembler(
            batch, max_chars=config.max_description_chars, persona=persona,
            settled=silent_items(batch.actions, rows), supports=config.friend_supports,
        )  # fmt: skip
        asked = list(rows) if rows is not None else assembler.rows
        if not asked:  # every row silent: nothing to ask
            return CommentaryResult(items=assembler.items(), source="llm", model=config.model)
        usage = _UsageSum()
        game_id = batch.game_id
        context = {"game_id": game_id, "batch_index": batch.batch_index, "persona": persona}
        structured = config.structured_output

        async def attempt(
            messages: list[dict[str, str]], wanted: Sequence[int]
        ) -> tuple[_Answer, list[str]]:
            """One request for the lines of ``wanted``, its answer and the reasons of the
            lines the assembler refused."""
            answer = await self._complete(
                messages,
                wanted,
                assembler,
                game_id=game_id,
                deadline=deadline,
                on_item=on_item,
                usage=usage,
                context=context,
            )
            return answer, assembler.end_attempt(note=self._note(answer))

        try:
            async with asyncio.timeout_at(deadline):
                messages = build_messages(
                    batch, persona, structured=structured, rows=rows,
                    supports=config.friend_supports,
                )  # fmt: skip
                answer, reasons = await attempt(messages, asked)
                if not assembler.complete:
                    rows = assembler.missing_rows()
                    logger.info(
                        "pitchcast.llm.repair",
                        extra={**context, "rows": rows, "reasons": reasons[:10]},
                    )
                    repair = build_repair_messages(
                        batch, persona, answer.text, reasons, rows, structured=structured,
                        asked=asked, supports=config.friend_supports,
                    )  # fmt: skip
                    answer, reasons = await attempt(repair, rows)
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
            raise LLMTimeout(f"no valid answer within the batch deadline of {allowed}") from exc
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
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
        fork: int | None = None,
        failures: FailureGroup | None = None,
    ) -> RowsAnswer:
        """Live mode: the lines of ``rows`` of a batch still filling, in its conversation.

        ``batch`` holds the actions so far; ``turns`` the earlier requests and their
        answers; ``settled`` the rows already written. Valid lines go to ``on_item`` in
        row order as they stream in. Retries as :meth:`write` does, until ``deadline``
        (loop time; by default the batch deadline from now); no repair round (a line
        is wanted within seconds: the caller fills what is missing). Raises
        :class:`~pitchcast.exceptions.LLMError` on failure.

        With ``fork`` (one of ``rows``): one fork of the burst ``rows``, the line of that
        row alone. Its prompt is every other fork's up to the last part
        (:func:`~pitchcast.commentary.conversation.fork_request`):
        the same messages, then a JSON schema of that one row (structured outputs), or
        an assistant turn pre-filled with the row's marker that the model continues to
        the end of the line. ``failures``: the burst's group; its forks' failed attempts
        give each endpoint's breaker one failure verdict (:class:`~..breaker.FailureGroup`).
        """
        config = self.config
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + config.batch_deadline_s
        structured = config.structured_output
        asked = list(rows) if fork is None else [fork]
        # A fork's line settles without its neighbours' (another fork writes them).
        others = {row: _NEIGHBOUR for row in rows if row not in asked}
        assembler = LineAssembler(
            batch,
            max_chars=config.max_description_chars,
            settled={**settled, **others},
            persona=persona,
            supports=config.friend_supports,
        )
        usage = _UsageSum()
        context = {"game_id": batch.game_id, "batch_index": batch.batch_index, "persona": persona}
        messages = build_live_messages(
            batch, persona, turns, rows, structured=structured, supports=config.friend_supports
        )
        extra: dict[str, Any] = {}
        prefill = ""
        if fork is not None:
            messages, extra, prefill = fork_request(messages, fork, structured=structured)
        try:
            async with asyncio.timeout_at(deadline):
                answer = await self._complete(
                    messages,
                    asked,
                    assembler,
                    game_id=batch.game_id,
                    deadline=deadline,
                    on_item=on_item,
                    usage=usage,
                    context=context,
                    extra=extra,
                    prefill=prefill,
                    failures=failures,
                )
        except TimeoutError as exc:
            raise LLMTimeout("no answer within the live deadline") from exc
        problems = assembler.end_attempt(note=self._note(answer))
        wanted = set(asked)
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

    async def warm_up(self, persona: Persona = "CASTER", *, game_id: int | None = None) -> None:
        """A one-token request with ``persona``'s system prompt: wakes a serverless worker
        (and fills the prefix cache) so the first batch does not pay the cold start.

        With ``game_id``, the match's first available endpoint is warmed (the one its
        batches will use); without, every endpoint. Breakers are left alone: a cold
        start is not an outage. The first error is raised after every warm-up ended.
        """
        if game_id is not None:
            endpoint = self.ring.first(game_id, reserve=False)
            if endpoint is None:
                raise LLMCircuitOpen("every LLM endpoint's circuit breaker is open")
            targets: Sequence[Endpoint] = (endpoint,)
        else:
            targets = self.ring.endpoints
        outcomes = await asyncio.gather(
            *(self._warm_one(endpoint, persona, game_id) for endpoint in targets),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _warm_one(self, endpoint: Endpoint, persona: Persona, game_id: int | None) -> None:
        config = self.config
        payload: dict[str, Any] = {
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
        if game_id is not None:
            payload["user"] = f"game:{game_id}"
        timeout = httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.warmup_timeout_s,
            write=config.connect_timeout_s,
            pool=config.connect_timeout_s,
        )
        started = time.monotonic()
        endpoint.requests += 1
        await self._wire.ping(endpoint, payload, timeout)
        logger.info(
            "pitchcast.llm.warmed_up",
            extra={
                "persona": persona,
                "game_id": game_id,
                "endpoint": endpoint.label,
                "seconds": round(time.monotonic() - started, 3),
            },
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this backend created it."""
        if self._owns_client:
            await self._client.aclose()

    # --- one exchange, with retries and failover --------------------------------------------

    async def _complete(
        self,
        messages: list[dict[str, str]],
        rows: Sequence[int],
        assembler: LineAssembler,
        *,
        game_id: int,
        deadline: float,
        on_item: ItemCallback | None = None,
        usage: _UsageSum | None = None,
        context: dict[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        prefill: str = "",
        failures: FailureGroup | None = None,
    ) -> _Answer:
        """One answer to ``messages`` for ``rows``, fed line by line to ``assembler``.

        The match's endpoints are tried in its ring order (``game_id``), with retries
        while one can still start before ``deadline`` (absolute ``loop.time()``):
        :class:`~.failover.Failover`. The caller bounds the whole exchange by the
        deadline (``asyncio.timeout_at``). ``extra`` goes into the request body as is;
        ``prefill`` is the start of the answer the request already holds (read first).
        """
        payload = self._payload(messages, rows, game_id=game_id)
        payload.update(extra or {})

        async def attempt(endpoint: Endpoint, budget: float, answering: Answering) -> _Answer:
            # Rows settled by an earlier, interrupted attempt stay as they went out.
            assembler.begin_attempt()
            answer = await self._read(
                endpoint, payload, budget, assembler, on_item, prefill, answering=answering
            )
            if usage is not None:
                usage.add(answer.usage)
            return answer

        return await self._failover.run(
            attempt,
            game_id=game_id,
            deadline=deadline,
            context=context if context is not None else {"game_id": game_id},
            failures=failures,
        )

    async def _read(
        self,
        endpoint: Endpoint,
        payload: dict[str, Any],
        budget: float,
        assembler: LineAssembler,
        on_item: ItemCallback | None,
        prefill: str = "",
        *,
        answering: Answering | None = None,
    ) -> _Answer:
        """One request's answer: its text parsed into lines as it arrives, each line
        checked by ``assembler``, the settled ones handed to ``on_item`` in row order.
        ``prefill`` (the pre-filled start of the answer) is read before the stream;
        ``answering`` is told when the first piece of the answer arrives."""
        parser = AnswerParser()
        parsed_count = 0

        async def take(parsed: list[ParsedItem]) -> None:
            nonlocal parsed_count
            parsed_count += len(parsed)
            for item in parsed:
                for settled in assembler.add(item):
                    if on_item is not None:
                        await on_item(settled)

        completion = Completion(None, Usage())
        if prefill:
            await take(parser.feed(prefill))
        async with contextlib.aclosing(self._wire.exchange(endpoint, payload, budget)) as pieces:
            async for piece in pieces:
                if answering is not None:
                    answering.started = True
                if isinstance(piece, Completion):
                    completion = piece
                else:
                    await take(parser.feed(piece))
        tail = parser.finish()  # a last line without its newline
        cut = completion.finish_reason == "length"
        if not cut:
            await take(tail)
        answer = _Answer(parser.text, completion.finish_reason, completion.usage)
        if cut and tail:
            # Stopped at max_tokens, maybe mid-word ("김민재가 짧"): not a whole line.
            answer.problems.append("the last line stopped at max_tokens, unfinished: not used")
        if parser.undecodable_items:
            answer.problems.append(f"{parser.undecodable_items} JSON item(s) are not valid JSON")
        if parsed_count == 0 and not tail and not parser.json_values and answer.text.strip():
            answer.problems.append(
                "no line in the requested format (n|tone|text lines, or the JSON shape)"
            )
        return answer

    def _payload(
        self, messages: list[dict[str, str]], rows: Sequence[int], *, game_id: int
    ) -> dict[str, Any]:
        config = self.config
        payload: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": self._max_tokens(len(rows)),
            "stream": config.stream,
            # OpenAI's end-user id: GPU time and abuse limits per match.
            "user": f"game:{game_id}",
        }
        if config.stream:
            payload["stream_options"] = {"include_usage": True}
        if config.structured_output:
            payload["response_format"] = response_format(
                rows, max_chars=config.max_description_chars
            )
        return payload

    def _max_tokens(self, rows: int) -> int:
        """``max_tokens`` of a request for ``rows`` lines: the setting (sized for a batch),
        or less when fewer lines are asked for. vLLM refuses a request whose prompt
        plus max_tokens exceed its max_model_len, and a live batch's conversation grows
        to most of that: a fork asking for 600 tokens to write one line was refused."""
        per_line = self.config.max_description_chars + _LINE_TOKENS_OVER_CHARS
        return min(self.config.max_tokens, per_line * max(rows, 1))

    def _note(self, answer: _Answer) -> str | None:
        notes = list(answer.problems)
        if answer.finish_reason == "length":
            notes.append("the answer was cut at its max_tokens (or the model's context)")
        return "; ".join(notes) or None


# One line's tokens beyond its text's character cap (row marker, tone, JSON punctuation,
# end of sequence). A Hangul syllable is about one token or less in the Korean-capable
# vocabularies (the test server's Qwen2.5: a ~30-character line is ~38 tokens), so a line
# that fits the cap fits its tokens.
_LINE_TOKENS_OVER_CHARS = 40

# Stands for a burst row another fork writes: settled as far as this fork's line goes.
_NEIGHBOUR = CommentaryItem(0, 0.0, "calm", "")
