"""FakeLLMServer: a TEST DOUBLE of an OpenAI-compatible chat-completions server (vLLM).

It is not a model. :mod:`.fake_writer` reads the rows out of the chat pitchcast sends
(batch mode, live multi-turn mode, repair turns) and writes valid commentary from phrase
tables, in the format asked (``n|tone|text`` lines, or the ``{"lines": [...]}`` JSON
when ``response_format`` is set). The server sends it like vLLM does: SSE chunks when
``stream`` is true (usage in a last chunk when ``stream_options.include_usage``), one
JSON body otherwise; ``max_tokens`` is honoured (``finish_reason: "length"``). With
``max_model_len`` a request whose prompt tokens plus ``max_tokens`` exceed it is refused
as vLLM's OpenAI server refuses it (HTTP 400, ``BadRequestError``, "This model's maximum
context length is ...").

How time is charged (the part benchmarks rely on; see :mod:`.engine`): every request
goes through a simulated vLLM engine. Its prompt is rendered with Qwen2.5's chat
template and tokenized with the real Qwen2.5 vocabulary (:mod:`.qwen_tokens`); prompt
tokens found in the prefix cache (16-token blocks, chained hashes, LRU, sized like the
profile's GPU) cost nothing, the others cost prefill time; answer tokens come out one
per engine step, and a step takes longer when more sequences decode at once; at most
``max_num_seqs`` run, the others queue. Profiles (:data:`.profiles.PROFILES`):

* ``instant`` (default): every step takes no time (unit tests), accounting still kept;
* ``a40`` / ``h100``: a 7-8B model in bf16 on one GPU, calibrated from published vLLM
  figures (BENCHMARKS.md, "The test LLM server's timing model").

``time_scale`` K runs the model K times faster. ``ttft_s`` / ``tpot_s`` (with the
instant profile only) replace the model by fixed pacing: the first token after
``ttft_s``, then one every ``tpot_s``.

Accounting per run and per match (the request's ``user`` field, e.g. ``game:126283``;
"unknown" without it): prompt tokens prefilled vs served from the cache, output tokens,
modelled GPU-seconds. ``GET /stats`` returns it as JSON (``?requests=1`` adds one record
per request), ``POST /stats/reset`` zeroes it (``?cache=1`` also empties the prefix
cache); :meth:`FakeLLMServer.stats` and :meth:`FakeLLMServer.reset_stats` do the same
in tests. ``usage`` carries ``prompt_tokens_details.cached_tokens`` and counts the
end-of-sequence token in ``completion_tokens``, as vLLM does.

Faults are scripted per request: :meth:`FakeLLMServer.script` queues :class:`Fault`
values (``None`` = a normal answer) that the next chat requests consume in order; when
the queue is empty, ``fault_rate`` picks a fault from ``random_faults`` with a seeded
RNG. Every chat request is counted and recorded (:attr:`FakeLLMServer.request_count`,
:attr:`FakeLLMServer.requests`).

In a test::

    with FakeLLMServer() as server:
        server.script(Fault("status", status=500), None)
        ...  # point the backend at server.base_url

From a shell (the demo, benchmarks)::

    python -m pitchcast.testing.fake_llm --port 8000 --profile a40
    python -m pitchcast.testing.fake_llm --port 8000 --profile h100 --time-scale 10

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies, chunked responses)
for httpx and curl; it is built on asyncio streams so hanging and slow answers do not
hold up other requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from pitchcast.testing.answer import Answer
from pitchcast.testing.engine import AsyncEngine
from pitchcast.testing.fake_writer import CONTENT_FAULTS, schema_rows, write_answer
from pitchcast.testing.faults import (
    DEFAULT_RANDOM_FAULTS,
    FAULT_KINDS,
    Fault,
    FaultKind,
    error_object,
)
from pitchcast.testing.mini_http import MiniHTTPServer, Request
from pitchcast.testing.profiles import PROFILES, Profile, profile_named
from pitchcast.testing.qwen_tokens import (
    chat_token_ids,
    count_tokens,
    qwen_encoding,
    split_tokens,
    tokenizer_name,
    tokens_and_pieces,
)

__all__ = [
    "DEFAULT_RANDOM_FAULTS",
    "FakeLLMServer",
    "Fault",
    "FaultKind",
    "count_tokens",
    "main",
    "qwen_encoding",
    "split_tokens",
]

# --- the server ----------------------------------------------------------------------


class FakeLLMServer(MiniHTTPServer):
    """A TEST DOUBLE of an OpenAI-compatible LLM server (see the module docstring)."""

    thread_name = "fake-llm-server"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ttft_s: float = 0.0,
        tpot_s: float = 0.0,
        model: str | None = None,
        fault_rate: float = 0.0,
        random_faults: Sequence[FaultKind] = DEFAULT_RANDOM_FAULTS,
        seed: int = 0,
        profile: str | Profile = "instant",
        time_scale: float = 1.0,
        slow_ttft_s: float | None = None,
        slow_tpot_s: float | None = None,
        max_model_len: int | None = None,
    ) -> None:
        super().__init__(host, port)
        self.model = model
        # Prompt plus max_tokens above this is refused with vLLM's 400 (None: no limit).
        self.max_model_len = max_model_len
        self.profile = profile_named(profile) if isinstance(profile, str) else profile
        self.time_scale = time_scale
        self._check_pacing(ttft_s, tpot_s)
        self._defaults = (ttft_s, tpot_s, fault_rate, seed)
        self.ttft_s = ttft_s
        self.tpot_s = tpot_s
        self.fault_rate = fault_rate
        self.random_faults: tuple[FaultKind, ...] = tuple(random_faults)
        # The pacing of a random ``slow`` fault (a request queued at a busy endpoint).
        self.slow_pacing = (slow_ttft_s, slow_tpot_s)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._script: deque[Fault | None] = deque()
        self._request_count = 0
        self._requests: list[dict[str, Any]] = []
        self._arrivals: list[float] = []  # time.monotonic() of each chat request
        self._faults_applied: list[FaultKind | None] = []
        self._engine = AsyncEngine(self.profile, time_scale=time_scale)
        self._old_engines: list[AsyncEngine] = []

    def _check_pacing(self, ttft_s: float, tpot_s: float) -> None:
        if (ttft_s > 0 or tpot_s > 0) and self.profile.timed:
            raise ValueError(
                f"fixed pacing (ttft/tpot) replaces the timing model: use it with the "
                f"instant profile, not {self.profile.name!r}"
            )

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for ``PITCHCAST_LLM_BASE_URL``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def fixed_pacing(self) -> bool:
        """True when ``ttft_s`` / ``tpot_s`` pace the answers instead of the engine."""
        return self.ttft_s > 0 or self.tpot_s > 0

    # --- scripting and observations ---------------------------------------------------

    def script(self, *faults: Fault | None) -> None:
        """Queue what the next chat requests get, one entry each (None = normal answer)."""
        with self._lock:
            self._script.extend(faults)

    def set_pacing(self, *, ttft_s: float | None = None, tpot_s: float | None = None) -> None:
        """Fixed pacing: the time to first token and the time per output token (instant
        profile only; 0 and 0 hand the timing back to the engine)."""
        ttft = self.ttft_s if ttft_s is None else ttft_s
        tpot = self.tpot_s if tpot_s is None else tpot_s
        self._check_pacing(ttft, tpot)
        self.ttft_s, self.tpot_s = ttft, tpot

    def reset(self) -> None:
        """Back to the constructor's pacing, fault rate and seed; script, records and the
        engine (prefix cache and accounting) cleared."""
        ttft_s, tpot_s, fault_rate, seed = self._defaults
        with self._lock:
            self._script.clear()
            self._request_count = 0
            self._requests.clear()
            self._arrivals.clear()
            self._faults_applied.clear()
            self.ttft_s, self.tpot_s, self.fault_rate = ttft_s, tpot_s, fault_rate
            self._rng = random.Random(seed)
            old, self._engine = self._engine, AsyncEngine(self.profile, time_scale=self.time_scale)
            self._old_engines.append(old)
        # Requests still in flight finish on the engine they started on, then it stops.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                asyncio.run_coroutine_threadsafe(self._retire(old), loop)

    async def _retire(self, engine: AsyncEngine) -> None:
        while engine.core.has_work:
            await asyncio.sleep(0.05)
        await engine.close()
        with self._lock:
            if engine in self._old_engines:
                self._old_engines.remove(engine)

    def stats(self, *, with_requests: bool = False) -> dict[str, Any]:
        """The engine's accounting (the ``GET /stats`` body); see BENCHMARKS.md."""
        with self._lock:
            engine = self._engine
            chat_requests = self._request_count
            faults = sum(1 for kind in self._faults_applied if kind is not None)
        result = engine.stats(with_requests=with_requests)
        result["server"] = {
            "profile": self.profile.name,
            "timing": "fixed" if self.fixed_pacing else "engine",
            "time_scale": self.time_scale,
            "chat_requests": chat_requests,
            "faults": faults,
            "tokenizer": tokenizer_name(),
        }
        return result

    @property
    def engine_requests(self) -> list[dict[str, Any]]:
        """One record per request the engine took (model seconds), oldest first."""
        return self.stats(with_requests=True)["requests"]

    def reset_stats(self, *, cache: bool = False) -> None:
        """Zero the accounting; with ``cache``, also empty the prefix cache (only when no
        request is in flight: raises RuntimeError otherwise)."""
        engine = self._engine
        with engine.lock:
            if cache and engine.core.has_work:
                raise RuntimeError("requests are in flight; the cache cannot be emptied")
            engine.core.reset_counters(cache=cache)

    async def _on_stop(self) -> None:
        with self._lock:
            engines = [*self._old_engines, self._engine]
            self._old_engines.clear()
        for engine in engines:
            await engine.close()

    @property
    def request_count(self) -> int:
        """Chat-completions requests received (``GET /v1/models`` is not counted)."""
        with self._lock:
            return self._request_count

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def arrivals(self) -> list[float]:
        """``time.monotonic()`` at which each request of :attr:`requests` arrived."""
        with self._lock:
            return list(self._arrivals)

    @property
    def faults_applied(self) -> list[FaultKind | None]:
        """The fault kind each chat request got (None = normal answer)."""
        with self._lock:
            return list(self._faults_applied)

    def pending_script(self) -> int:
        """Scripted entries not consumed yet."""
        with self._lock:
            return len(self._script)

    def _next_fault(self, payload: dict[str, Any]) -> Fault | None:
        with self._lock:
            self._request_count += 1
            self._requests.append(payload)
            self._arrivals.append(time.monotonic())
            if self._script:
                fault = self._script.popleft()
            elif self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                kind = self._rng.choice(self.random_faults)
                ttft, tpot = self.slow_pacing if kind == "slow" else (None, None)
                fault = Fault(kind, retry_after=0.1, ttft_s=ttft, tpot_s=tpot)
            else:
                fault = None
            self._faults_applied.append(fault.kind if fault else None)
            return fault

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        path = request.path.rstrip("/")
        if path.startswith("/v1/stats"):  # for clients that hold the /v1 base URL
            path = path[3:]
        if path == "/v1/models":
            if request.method != "GET":
                return await self._send_error(writer, 405, "use GET")
            listed = self.model or "pitchcast-fake-llm"
            body = {
                "object": "list",
                "data": [{"id": listed, "object": "model", "owned_by": "fake"}],
            }
            return await self._send_json(writer, 200, body)
        if path == "/v1/chat/completions":
            if request.method != "POST":
                return await self._send_error(writer, 405, "use POST")
            return await self._chat(request, writer)
        if path == "/stats":
            if request.method != "GET":
                return await self._send_error(writer, 405, "use GET")
            with_requests = _flag(request.query, "requests")
            return await self._send_json(writer, 200, self.stats(with_requests=with_requests))
        if path == "/stats/reset":
            if request.method != "POST":
                return await self._send_error(writer, 405, "use POST")
            try:
                self.reset_stats(cache=_flag(request.query, "cache"))
            except RuntimeError as exc:
                return await self._send_error(writer, 409, str(exc))
            return await self._send_json(writer, 200, {"reset": True})
        return await self._send_error(writer, 404, f"no route {request.path}")

    # --- chat completions ---------------------------------------------------------------

    async def _chat(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        engine = self._engine
        received = engine.model_now()
        try:
            payload = json.loads(request.body)
        except ValueError:
            return await self._send_error(writer, 400, "body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            return await self._send_error(writer, 400, "messages must be a list")
        fault = self._next_fault(payload)
        if self.model is not None and payload.get("model") != self.model:
            return await self._send_error(
                writer, 404, f"The model `{payload.get('model')}` does not exist."
            )

        if fault is not None and fault.kind == "status":
            message = f"fake failure {fault.status}"
            if fault.echo_headers:
                auth = request.headers.get("authorization", "")
                message = f"bad credentials: authorization={auth!r}; {message}"
            return await self._send_json(
                writer, fault.status, {"error": error_object(fault.status, message, fault)}
            )
        if fault is not None and fault.kind == "rate_limit":
            extra = {}
            if fault.retry_after is not None:
                extra["retry-after"] = f"{fault.retry_after:g}"
            return await self._send_error(writer, 429, "too many requests", extra)
        if fault is not None and fault.kind == "hang":
            if fault.delay_s is None:
                await asyncio.Event().wait()  # until stop() cancels this connection
            else:
                await asyncio.sleep(fault.delay_s)
            return False  # close without an answer
        stream = bool(payload.get("stream"))
        if fault is not None and fault.kind == "garbage":
            if stream:
                await self._write(
                    writer,
                    self._head(200, {"content-type": "text/event-stream", "connection": "close"})
                    + b"data: <html>this is not json</html>\n\n",
                )
                return False
            return await self._send_body(writer, 200, b"<html>502 upstream</html>", "text/html")

        if not stream and fault is not None and fault.kind == "stream_error":
            # Not streamed: the error object in a 200 body (a wrapper that does that).
            error_body = {"error": error_object(fault.status, "fake error body", fault)}
            return await self._send_json(writer, 200, error_body)
        try:
            answer = self._prepare(payload, fault, engine, received, stream=stream)
        except _ContextTooLong as exc:
            return await self._send_json(writer, 400, {"error": error_object(400, str(exc))})
        except ValueError as exc:  # longer than the whole KV cache: vLLM refuses it too
            return await self._send_error(writer, 400, str(exc))
        try:
            if not stream:
                await answer.generate()
                return await self._send_json(writer, 200, answer.body())
            options = payload.get("stream_options") or {}
            return await self._stream(
                writer, answer, include_usage=bool(options.get("include_usage"))
            )
        finally:
            if not answer.request.done:  # the client went away, or the stream was cut
                answer.engine.abort(answer.request)

    def _prepare(
        self,
        payload: dict[str, Any],
        fault: Fault | None,
        engine: AsyncEngine,
        received: float,
        *,
        stream: bool,
    ) -> Answer:
        messages = payload["messages"]
        ids, pieces = tokens_and_pieces(self._answer(payload, fault))
        max_tokens = payload.get("max_tokens")
        prompt_ids = chat_token_ids(
            messages, continue_final=bool(payload.get("continue_final_message"))
        )
        _check_context(len(prompt_ids), max_tokens, self.max_model_len)
        eos = True
        if isinstance(max_tokens, int) and 0 < max_tokens <= len(ids):
            # The answer fills max_tokens: no room for the end-of-sequence token.
            ids, pieces, eos = ids[:max_tokens], pieces[:max_tokens], False
        user = payload.get("user")
        engine_request = engine.submit(
            prompt_ids,
            ids,
            eos=eos,
            user=user if isinstance(user, str) and user else "unknown",
            arrival=received,
        )
        slow = fault is not None and fault.kind == "slow"
        ttft = fault.ttft_s if slow and fault.ttft_s is not None else self.ttft_s
        tpot = fault.tpot_s if slow and fault.tpot_s is not None else self.tpot_s
        with self._lock:
            number = self._request_count
        return Answer(
            engine=engine,
            request=engine_request,
            pieces=pieces,
            model=str(payload.get("model") or self.model or "pitchcast-fake-llm"),
            completion_id=f"chatcmpl-fake-{number}",
            pacing=(ttft / self.time_scale, tpot / self.time_scale)
            if ttft > 0 or tpot > 0
            else None,
            cut_after=fault.after_tokens
            if stream and fault and fault.kind in ("cut_stream", "stream_error")
            else None,
            error=error_object(fault.status, f"fake error event {fault.status}", fault)
            if stream and fault is not None and fault.kind == "stream_error"
            else None,
        )

    def _answer(self, payload: dict[str, Any], fault: Fault | None) -> str:
        """The text of the answer (subclasses may reshape it; the engine times its tokens)."""
        response_format = payload.get("response_format") or {}
        text = write_answer(
            payload["messages"],
            structured=response_format.get("type") in ("json_schema", "json_object"),
            fault=fault.kind if fault is not None and fault.kind in CONTENT_FAULTS else None,
            schema_rows=schema_rows(response_format),
            prefilled=bool(payload.get("continue_final_message")),
            **({"invented_name": fault.name} if fault is not None else {}),
        )
        return _until_stop(text, payload.get("stop"))

    async def _stream(
        self, writer: asyncio.StreamWriter, answer: Answer, *, include_usage: bool
    ) -> bool:
        head = self._head(
            200,
            {
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
            },
        )
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        await self._write(writer, head + answer.event([first]))

        async def emit(indexes: list[int]) -> None:
            data = b"".join(
                answer.event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
                for piece in (answer.pieces[i] for i in indexes if i < len(answer.pieces))
                if piece
            )
            if data:
                await self._write(writer, data)

        if not await answer.generate(emit):
            if answer.error is not None:
                # An error event, then the end of the stream, as vLLM does.
                data = b"data: " + json.dumps({"error": answer.error}).encode() + b"\n\n"
                done = b"data: [DONE]\n\n"
                await self._write(
                    writer,
                    f"{len(data):x}\r\n".encode() + data + b"\r\n"
                    + f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n",
                )  # fmt: skip
                return True
            return False  # drop the connection mid-stream, no terminating chunk
        final = answer.event([{"index": 0, "delta": {}, "finish_reason": answer.finish_reason}])
        tail = answer.event([], {"usage": answer.usage()}) if include_usage else b""
        done = b"data: [DONE]\n\n"
        await self._write(
            writer, final + tail + f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n"
        )
        return True


class _ContextTooLong(ValueError):
    """The prompt and ``max_tokens`` do not fit ``max_model_len`` (vLLM's 400)."""


def _check_context(prompt_tokens: int, max_tokens: Any, max_model_len: int | None) -> None:
    """Refuse as vLLM's OpenAI server does: the prompt alone, or with the ``max_tokens``
    asked for, longer than the model's context."""
    if max_model_len is None:
        return
    asked = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    if prompt_tokens + asked > max_model_len or prompt_tokens >= max_model_len:
        raise _ContextTooLong(
            f"This model's maximum context length is {max_model_len} tokens. However, you "
            f"requested {prompt_tokens + asked} tokens ({prompt_tokens} in the messages, "
            f"{asked} in the completion). Please reduce the length of the messages or "
            "completion."
        )


def _until_stop(text: str, stop: Any) -> str:
    """``text`` up to its first ``stop`` string (not included), as vLLM cuts it."""
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    cuts = [text.find(s) for s in stops if isinstance(s, str) and s and s in text]
    return text[: min(cuts)] if cuts else text


def _flag(query: str, name: str) -> bool:
    values = parse_qs(query).get(name, [])
    return bool(values) and values[-1].lower() in ("1", "true", "yes")


# --- command line ----------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pitchcast.testing.fake_llm",
        description="A fake OpenAI-compatible LLM server (a test double, not a model).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="instant",
        help="timing model: instant (no time), or a 7-8B model on a GPU (a40, a40-awq, "
        "a40-fp8, h100) (default: %(default)s)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run the model this many times faster (default: 1)",
    )
    model = parser.add_argument_group("profile overrides")
    for flag, kind, meaning in (
        ("--max-num-seqs", int, "sequences decoded at once"),
        ("--max-num-batched-tokens", int, "tokens per engine step"),
        ("--kv-cache-tokens", int, "tokens the KV cache holds"),
        ("--itl-min", float, "seconds a token, one stream alone"),
        ("--max-decode-tps", float, "decode tokens/s cap"),
        ("--prefill-tps", float, "prompt tokens/s"),
    ):
        model.add_argument(
            flag, type=kind, default=None, help=f"{meaning} (default: the profile's)"
        )
    fixed = parser.add_argument_group("fixed pacing (instant profile only)")
    fixed.add_argument(
        "--ttft", type=float, default=0.0, help="seconds to the first token (default: 0)"
    )
    fixed.add_argument(
        "--tpot", type=float, default=0.0, help="seconds per output token (default: 0)"
    )
    parser.add_argument(
        "--model", default=None, help="only accept this model name (default: any name)"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of faulty answers (default: 0)"
    )
    parser.add_argument(
        "--faults",
        type=_fault_kinds,
        default=DEFAULT_RANDOM_FAULTS,
        help="comma-separated fault kinds --fault-rate picks from, e.g. hang,cut_stream "
        f"(default: {','.join(DEFAULT_RANDOM_FAULTS)}; all: {','.join(FAULT_KINDS)})",
    )
    parser.add_argument(
        "--slow-ttft",
        type=float,
        default=None,
        help="with slow in --faults: seconds to the first token of a slow answer (a request "
        "queued at a busy endpoint, as RunPod's queue does now and then; default: none)",
    )
    parser.add_argument(
        "--slow-tpot",
        type=float,
        default=None,
        help="with slow in --faults: seconds a token (default: none)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random fault draws (default: 0)"
    )
    parser.add_argument(
        "--max-model-len",
        type=int,
        default=None,
        help="refuse a request whose prompt tokens plus max_tokens exceed this, with "
        "vLLM's HTTP 400 (default: no limit)",
    )
    args = parser.parse_args(argv)
    if "slow" in args.faults and args.slow_ttft is None and args.slow_tpot is None:
        parser.error("slow answers need their pacing: --slow-ttft and/or --slow-tpot")
    if (args.ttft > 0 or args.tpot > 0) and args.profile != "instant":
        parser.error("--ttft/--tpot replace the timing model: use them with --profile instant")
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake server in the foreground until Ctrl-C."""
    args = _parse_args(argv)
    profile = profile_named(
        args.profile,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
        kv_cache_tokens=args.kv_cache_tokens,
        itl_min_s=args.itl_min,
        max_decode_tokens_per_s=args.max_decode_tps,
        prefill_tokens_per_s=args.prefill_tps,
    )
    server = FakeLLMServer(
        host=args.host,
        port=args.port,
        ttft_s=args.ttft,
        tpot_s=args.tpot,
        model=args.model,
        fault_rate=args.fault_rate,
        random_faults=args.faults,
        seed=args.seed,
        profile=profile,
        time_scale=args.time_scale,
        slow_ttft_s=args.slow_ttft,
        slow_tpot_s=args.slow_tpot,
        max_model_len=args.max_model_len,
    )

    async def run() -> None:
        # Ctrl-C and SIGTERM stop the server the way its owner's stop() does, so serving
        # ends through its own path rather than by cancelling whatever the loop was in.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        # The vocabulary loads while the port opens; requests wait for it anyway.
        vocabulary = asyncio.create_task(asyncio.to_thread(qwen_encoding))
        task = asyncio.create_task(server.serve_forever())
        await asyncio.to_thread(server._ready.wait)
        await vocabulary
        timing = (
            f"fixed pacing ttft {args.ttft}s, tpot {args.tpot}s"
            if server.fixed_pacing
            else f"profile {profile.name} ({_profile_line(profile)})"
        )
        print(
            f"fake LLM server (a test double) on {server.base_url}: {timing}, "
            f"time scale {args.time_scale:g}, tokens: {tokenizer_name()}",
            flush=True,
        )
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _fault_kinds(text: str) -> tuple[FaultKind, ...]:
    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind {', '.join(unknown) or '(none)'}; expected some of "
            + ",".join(FAULT_KINDS)
        )
    return kinds  # type: ignore[return-value]


def _profile_line(profile: Profile) -> str:
    if not profile.timed:
        return "no time"
    return (
        f"itl_min {profile.itl_min_s * 1e3:g} ms, decode cap "
        f"{profile.max_decode_tokens_per_s:g} tok/s, prefill {profile.prefill_tokens_per_s:g} "
        f"tok/s, max_num_seqs {profile.max_num_seqs}, KV cache {profile.kv_cache_tokens} tokens"
    )


if __name__ == "__main__":
    main()
