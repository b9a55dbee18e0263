"""LLM-stage latency: batch close to the first and last valid line, vs the seeds' answer shape.

The fake LLM server (a test double: it writes commentary from phrase tables, with real
Qwen2.5 tokens) runs in-process, in its own thread, timed by its simulated vLLM engine
(``--profile a40`` by default: a 7-8B model on one A40; ``h100``; see BENCHMARKS.md,
"The test LLM server's timing model"), or by fixed pacing when ``--ttft``/``--tpot``
are given. pitchcast's real ``OpenAIBackend`` (streaming on, structured outputs on or
off) writes N real full batches of both sample matches, K at a time (K live matches,
started ``--stagger`` s apart). Per batch it records, from the call (= the batch
closing; the Kafka hop before it is not included):

* the first valid line handed to ``on_item``, the last one, and the complete result;
* the server's time on that batch, measured at the server (request read to last byte
  written, repairs included), and the timing model's share of it (per request, from
  its arrival to its last token, in the engine's own clock / the time scale);
* pitchcast's own share: complete result minus the server's measured time (prompt
  building, HTTP, SSE parsing, validation, slot filling, ``on_item``).

After each run, the engine's accounting per match (``user`` = ``game:<id>``): prompt
tokens prefilled vs served from the prefix cache, output tokens, modelled GPU-seconds.
Each run starts with an empty prefix cache.

Baseline, same server, same run: the seeds' request shape, non-streaming, answered with
the keyed JSON ``[{"action_id": .., "tone": .., "description": ..}]`` of the same texts
(the server's writer, re-shaped server-side and timed by the same engine), parsed
with orjson. Nothing is usable before the whole body arrives, so first line = complete.

    python bench/llm_latency.py --batches 40 --concurrency 4 --structured on
    python bench/llm_latency.py --profile h100 --time-scale 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from _common import percentile
from tokens import full_batches, keyed_json_answer

from pitchcast.commentary.backends.openai import OpenAIBackend, OpenAIConfig
from pitchcast.commentary.parsing import parse_answer
from pitchcast.commentary.prompt import build_messages
from pitchcast.schemas.records import Batch, CommentaryItem
from pitchcast.settings import PERSONAS
from pitchcast.testing.engine import EngineRequest
from pitchcast.testing.fake_llm import FakeLLMServer, qwen_encoding
from pitchcast.testing.profiles import GPU_PROFILES

MODEL = "bench-7b"
SEEDS_REPORTED_S = (20.0, 30.0)
_BATCH_HEADER = "x-bench-batch"
_GAME_HEADER = "x-bench-game"
_current_batch: contextvars.ContextVar[str] = contextvars.ContextVar("bench_batch", default="")
_current_game: contextvars.ContextVar[str] = contextvars.ContextVar("bench_game", default="")
# The batch a request belongs to, inside the server's handler task.
_server_key: contextvars.ContextVar[str] = contextvars.ContextVar("server_key", default="")


class TimedServer(FakeLLMServer):
    """The fake server, plus: the time spent on each request and its engine requests, by
    the batch it belongs to (the ``x-bench-batch`` header), the match as the request's
    ``user`` (the ``x-bench-game`` header, as pitchcast will send it), and the keyed-JSON
    answer shape for the baseline (a request carrying ``bench_keyed_action_ids``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._spans_lock = threading.Lock()
        self.spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.engine_by_key: dict[str, list[EngineRequest]] = defaultdict(list)
        self._open: dict[str, int] = defaultdict(int)

    async def _chat(self, request: Any, writer: asyncio.StreamWriter) -> bool:
        key = request.headers.get(_BATCH_HEADER, "")
        game = request.headers.get(_GAME_HEADER)
        if game:
            body = orjson.loads(request.body)
            body.setdefault("user", f"game:{game}")
            request.body = orjson.dumps(body)
        _server_key.set(key)
        started = time.monotonic()
        with self._spans_lock:
            self._open[key] += 1
        try:
            return await super()._chat(request, writer)
        finally:
            ended = time.monotonic()
            with self._spans_lock:
                self.spans[key].append((started, ended))
                self._open[key] -= 1

    def _prepare(self, payload: dict[str, Any], fault: Any, *args: Any, **kwargs: Any) -> Any:
        answer = super()._prepare(payload, fault, *args, **kwargs)
        with self._spans_lock:
            self.engine_by_key[_server_key.get()].append(answer.request)
        return answer

    def model_time(self, key: str) -> float:
        """Wall seconds the timing model gives the batch's requests (arrival to last token,
        in the engine's clock, divided by the time scale; fixed pacing: ttft + n x tpot)."""
        with self._spans_lock:
            requests = list(self.engine_by_key.get(key, ()))
        if self.fixed_pacing:
            tokens = sum(r.to_generate for r in requests)
            return len(requests) * self.ttft_s + self.tpot_s * max(tokens - len(requests), 0)
        spans = (r.finished - r.arrival for r in requests if r.finished is not None)
        return sum(spans) / self.time_scale

    async def settled(self, key: str, timeout_s: float = 2.0) -> None:
        """Wait until the server has booked every request of ``key`` (it books a span
        after its last write, which can be just after the client has the last byte)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._spans_lock:
                if self.spans.get(key) and not self._open.get(key):
                    return
            await asyncio.sleep(0.001)

    def _answer(self, payload: dict[str, Any], fault: Any) -> str:
        action_ids = payload.get("bench_keyed_action_ids")
        if action_ids is None:
            return super()._answer(payload, fault)
        plain = {k: v for k, v in payload.items() if k != "response_format"}
        lines = [(i.row, i.tone, i.text) for i in parse_answer(super()._answer(plain, fault))]
        return keyed_json_answer(lines, action_ids)

    def server_time(self, key: str) -> tuple[float, float, float, int]:
        """(first request read, last byte written, summed span, requests) of a batch."""
        with self._spans_lock:
            spans = list(self.spans.get(key, ()))
        if not spans:
            return float("nan"), float("nan"), float("nan"), 0
        return (
            min(s for s, _ in spans),
            max(e for _, e in spans),
            sum(e - s for s, e in spans),
            len(spans),
        )


async def _tag_request(request: httpx.Request) -> None:
    """httpx event hook: name the batch and match this request belongs to (context variables)."""
    key = _current_batch.get()
    if key:
        request.headers[_BATCH_HEADER] = key
    game = _current_game.get()
    if game:
        request.headers[_GAME_HEADER] = game


@dataclass(slots=True)
class Sample:
    """One batch's timings, seconds from the call."""

    first: float
    last: float
    done: float
    server: float  # measured at the server, summed over the batch's requests
    model: float  # what the timing model alone accounts for
    before: float  # call -> the server has read the first request
    after: float  # the server's last byte -> result returned
    requests: int
    completion_tokens: int

    @property
    def own(self) -> float:
        return self.done - self.server


def pick_batches(count: int, game_ids: Sequence[int]) -> list[Batch]:
    """``count`` full batches, alternating between the matches, spread over each match."""
    per_match = [full_batches([g]) for g in game_ids]
    shares = [count // len(game_ids) + (i < count % len(game_ids)) for i in range(len(game_ids))]
    spread = [
        [batches[j * len(batches) // share] for j in range(share)] if share else []
        for batches, share in zip(per_match, shares, strict=True)
    ]
    picked: list[Batch] = []
    for j in range(max(shares)):
        picked.extend(chosen[j] for chosen in spread if j < len(chosen))
    return picked


async def run_concurrently(
    batches: Sequence[Batch],
    concurrency: int,
    stagger_s: float,
    one: Callable[[int, Batch], Awaitable[Sample | None]],
) -> list[Sample]:
    """``one`` over every batch, at most ``concurrency`` at a time (K live matches); the
    k-th match starts ``k * stagger_s`` late (K matches rarely close batches together)."""
    queue: asyncio.Queue[tuple[int, Batch]] = asyncio.Queue()
    for item in enumerate(batches):
        queue.put_nowait(item)
    samples: list[Sample] = []

    async def worker(k: int) -> None:
        await asyncio.sleep(k * stagger_s)
        while not queue.empty():
            index, batch = queue.get_nowait()
            sample = await one(index, batch)
            if sample is not None:
                samples.append(sample)

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return samples


async def _sample(
    server: TimedServer,
    key: str,
    called: float,
    first: float,
    last: float,
    done: float,
    completion_tokens: int,
) -> Sample:
    await server.settled(key)
    read_at, written_at, span, requests = server.server_time(key)
    paced = server.model_time(key)
    return Sample(
        first=first - called,
        last=last - called,
        done=done - called,
        server=span,
        model=paced,
        before=read_at - called,
        after=done - written_at,
        requests=requests,
        completion_tokens=completion_tokens,
    )


async def measure_pitchcast(
    server: TimedServer, batches: Sequence[Batch], args: argparse.Namespace, structured: bool
) -> tuple[list[Sample], int]:
    config = OpenAIConfig(
        base_url=server.base_url,
        model=MODEL,
        stream=True,
        structured_output=structured,
        max_connections=max(args.concurrency, 8),
    )
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.read_timeout_s,
            write=config.connect_timeout_s,
            pool=config.connect_timeout_s,
        ),
        limits=httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
        ),
        event_hooks={"request": [_tag_request]},
    )
    backend = OpenAIBackend(config, client)
    failures = 0
    tag = "structured" if structured else "lines"

    async def one(index: int, batch: Batch) -> Sample | None:
        nonlocal failures
        key = f"{tag}-{index}"
        _current_batch.set(key)
        _current_game.set(str(batch.game_id))
        seen: list[float] = []

        async def on_item(item: CommentaryItem) -> None:
            seen.append(time.monotonic())

        called = time.monotonic()
        try:
            result = await backend.write(batch, args.persona, on_item=on_item)
        except Exception as exc:  # a benchmark reports failures, it does not stop on them
            failures += 1
            print(f"  batch {batch.game_id}/{batch.batch_index} failed: {exc!r}")
            return None
        done = time.monotonic()
        if len(seen) != len(batch.actions) or len(result.items) != len(batch.actions):
            raise AssertionError(f"{len(seen)} lines for {len(batch.actions)} actions")
        tokens = result.usage.completion_tokens
        return await _sample(server, key, called, seen[0], seen[-1], done, tokens)

    try:
        _current_batch.set("")
        await backend.warm_up(args.persona)  # one connection open, as a running worker has
        return await run_concurrently(batches, args.concurrency, args.stagger, one), failures
    finally:
        await backend.aclose()
        await client.aclose()


async def measure_seed_shape(
    server: TimedServer, batches: Sequence[Batch], args: argparse.Namespace
) -> tuple[list[Sample], int]:
    client = httpx.AsyncClient(
        base_url=server.base_url,
        timeout=httpx.Timeout(60.0, connect=5.0),
        limits=httpx.Limits(max_connections=max(args.concurrency, 8)),
        event_hooks={"request": [_tag_request]},
    )
    failures = 0

    async def one(index: int, batch: Batch) -> Sample | None:
        nonlocal failures
        key = f"seed-{index}"
        _current_batch.set(key)
        payload = {
            "model": MODEL,
            "messages": build_messages(batch, args.persona, structured=False),
            "temperature": 0.7,
            "top_p": 0.9,
            "max_tokens": 1000,
            "stream": False,
            "user": f"game:{batch.game_id}",
            "bench_keyed_action_ids": [a.action_id for a in batch.actions],
        }
        called = time.monotonic()
        try:
            response = await client.post("/chat/completions", content=orjson.dumps(payload))
            response.raise_for_status()
            body = orjson.loads(response.content)
            items = orjson.loads(body["choices"][0]["message"]["content"])
        except Exception as exc:
            failures += 1
            print(f"  seed-shape batch {batch.game_id}/{batch.batch_index} failed: {exc!r}")
            return None
        done = time.monotonic()
        if [i["action_id"] for i in items] != [a.action_id for a in batch.actions]:
            raise AssertionError("keyed JSON answer does not match the batch")
        tokens = int(body["usage"]["completion_tokens"])
        return await _sample(server, key, called, done, done, done, tokens)

    try:
        _current_batch.set("")
        await client.post(  # warm: one connection open
            "/chat/completions",
            content=orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "?"}]}),
        )
        return await run_concurrently(batches, args.concurrency, args.stagger, one), failures
    finally:
        await client.aclose()


def _row(label: str, values: Sequence[float], *, unit: str = "s") -> None:
    p50, p95, peak = percentile(list(values), 50), percentile(list(values), 95), max(values)
    if unit == "ms":
        print(f"  {label:<44} {p50 * 1e3:8.1f} {p95 * 1e3:8.1f} {peak * 1e3:8.1f}  ms")
    elif unit == "tok":
        print(f"  {label:<44} {p50:8.0f} {p95:8.0f} {peak:8.0f}  tokens")
    else:
        print(f"  {label:<44} {p50:8.2f} {p95:8.2f} {peak:8.2f}  s")


def report(title: str, samples: Sequence[Sample], failures: int, *, streamed: bool) -> None:
    requests = sum(s.requests for s in samples)
    print(f"\n{title}: {len(samples)} batches ok, {failures} failed, {requests} requests")
    if not samples:
        return
    print(f"  {'':<44} {'p50':>8} {'p95':>8} {'max':>8}")
    if streamed:
        _row("call -> first valid line (on_item)", [s.first for s in samples])
        _row("call -> last line (on_item)", [s.last for s in samples])
    _row("call -> complete result", [s.done for s in samples])
    _row("completion tokens per batch", [s.completion_tokens for s in samples], unit="tok")
    _row("server time, measured at the server", [s.server for s in samples])
    _row("  of which the timing model", [s.model for s in samples])
    _row("client's own share (complete - server)", [s.own for s in samples], unit="ms")
    _row("  call -> request read by the server", [s.before for s in samples], unit="ms")
    _row("  server's last byte -> result returned", [s.after for s in samples], unit="ms")
    _row(
        "fake server's own work (server - model)",
        [s.server - s.model for s in samples],
        unit="ms",
    )


def report_accounting(server: TimedServer) -> None:
    """The engine's accounting of the run, per match, then zeroed (prefix cache emptied)."""
    stats = server.stats()
    print(
        f"  engine accounting ({stats['server']['timing']} timing, profile "
        f"{stats['server']['profile']}), model seconds:"
    )
    print(
        f"    {'match':<14} {'requests':>8} {'prompt tok':>11} {'cached':>9} {'prefilled':>10} "
        f"{'output tok':>11} {'GPU-s':>8}"
    )
    rows = [*stats["matches"].items(), ("all", stats["totals"])]
    for name, m in rows:
        print(
            f"    {name:<14} {m['requests']:>8} {m['prompt_tokens']:>11} "
            f"{m['cached_prompt_tokens']:>9} {m['prefilled_tokens']:>10} "
            f"{m['output_tokens']:>11} {m['gpu_seconds']:>8.2f}"
        )
    engine = stats["engine"]
    print(
        f"    engine busy {engine['busy_s']:.1f} s of {engine['clock_s']:.1f} s, "
        f"peak {engine['peak_running']} running / {engine['peak_waiting']} waiting"
    )
    server.reset_stats(cache=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="full batches, both matches")
    parser.add_argument("--concurrency", type=int, default=4, help="batches at once (K)")
    parser.add_argument(
        "--profile", choices=GPU_PROFILES, default="a40", help="the server's timing model"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the model faster")
    parser.add_argument("--ttft", type=float, default=None, help="fixed pacing instead: s")
    parser.add_argument("--tpot", type=float, default=None, help="fixed pacing: s per token")
    parser.add_argument(
        "--stagger", type=float, default=0.5, help="seconds between the K matches' starts"
    )
    parser.add_argument("--structured", choices=("on", "off", "both"), default="on")
    parser.add_argument("--persona", choices=PERSONAS, default="CASTER")
    parser.add_argument(
        "--baseline-batches", type=int, default=8, help="batches for the seeds' shape (0: skip)"
    )
    parser.add_argument("--matches", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()

    if qwen_encoding() is None:
        raise SystemExit("the Qwen2.5 vocabulary is not available (pip install tiktoken dashscope)")
    batches = pick_batches(args.batches, args.matches)
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.structured]
    fixed = args.ttft is not None or args.tpot is not None
    if fixed:
        args.ttft, args.tpot = args.ttft or 0.0, args.tpot or 0.0
        timing = f"fixed pacing: ttft {args.ttft:g} s, {args.tpot * 1e3:g} ms per token"
        server = TimedServer(ttft_s=args.ttft, tpot_s=args.tpot, time_scale=args.time_scale)
    else:
        timing = f"timing model {args.profile}, time scale {args.time_scale:g}"
        server = TimedServer(profile=args.profile, time_scale=args.time_scale)
    print(
        f"fake LLM server (test double): {timing}, Qwen2.5 tokens; {len(batches)} full batches "
        f"of matches {args.matches}, {args.concurrency} at a time (starts {args.stagger:g} s "
        f"apart), persona {args.persona}"
    )
    server.start()
    try:
        results: dict[str, list[Sample]] = {}
        for structured in modes:
            name = f"pitchcast, stream on, structured {'on' if structured else 'off'}"
            started = time.monotonic()
            samples, failures = await measure_pitchcast(server, batches, args, structured)
            report(name, samples, failures, streamed=True)
            print(f"  ({time.monotonic() - started:.0f} s wall)")
            report_accounting(server)
            results[name] = samples
        seed: list[Sample] = []
        if args.baseline_batches > 0:
            started = time.monotonic()
            seed, failures = await measure_seed_shape(
                server, batches[: args.baseline_batches], args
            )
            report(
                "baseline, seeds' shape: non-streaming keyed JSON, same server",
                seed,
                failures,
                streamed=False,
            )
            print(f"  ({time.monotonic() - started:.0f} s wall)")
            report_accounting(server)
    finally:
        server.stop()

    low, high = SEEDS_REPORTED_S
    print(f"\nvs the seeds' reported {low:g}-{high:g} s per batch (p50 here):")
    seed_p50 = percentile([s.done for s in seed], 50) if seed else float("nan")
    if seed:
        tokens = statistics.fmean(s.completion_tokens for s in seed)
        print(f"  seeds' shape, measured here : {seed_p50:6.2f} s  ({tokens:.0f} tokens a batch)")
    if fixed:
        noted = args.ttft + 409 * args.tpot
        print(f"  seeds' shape at ~410 tokens : {noted:6.2f} s  (ttft + 409 x tpot, NOTES.md)")
    for name, samples in results.items():
        if not samples:
            continue
        first = percentile([s.first for s in samples], 50)
        last = percentile([s.last for s in samples], 50)
        own = percentile([s.own for s in samples], 50)
        print(
            f"  {name}: first line {first:.2f} s ({low / first:.0f}-{high / first:.0f}x sooner "
            f"than reported, {seed_p50 / first:.0f}x than the measured shape), "
            f"last line {last:.2f} s ({seed_p50 / last:.2f}x sooner than measured), "
            f"pitchcast's own share {own * 1e3:.0f} ms"
            if seed
            else f"  {name}: first line {first:.2f} s ({low / first:.0f}-{high / first:.0f}x "
            f"sooner than reported), last line {last:.2f} s ({low / last:.1f}-{high / last:.1f}x), "
            f"pitchcast's own share {own * 1e3:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
