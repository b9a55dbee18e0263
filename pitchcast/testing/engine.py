"""The timing model of the test-double LLM server: a simulated vLLM engine.

This is a TEST DOUBLE, not a model. It decides WHEN the fake server's tokens come out,
charging time the way vLLM (V1 engine, chunked prefill, automatic prefix caching) does:

* **Admission and queue.** At most ``max_num_seqs`` sequences run; the rest wait in a
  FIFO queue (head-of-line: a request that does not fit blocks the ones behind it). A
  request is admitted at a step boundary, only if the KV cache can hold its whole
  sequence (prompt + answer; vLLM allocates lazily and preempts instead, which a
  workload far below the cache size never triggers).
* **Prefix cache.** The prompt's tokens are cut into 16-token blocks, each hashed
  together with the hash of the block before it (so block *i* stands for tokens
  0..16i+15, and only a byte-identical prefix hits). At admission, the leading blocks
  found in the cache are reused for free, up to ``prompt - 1`` tokens (vLLM always
  recomputes the last prompt token for its logits). Blocks enter the cache as they are
  computed, answer tokens included. Blocks no running sequence uses are evicted least
  recently used first; a finished sequence's blocks are released tail first, so a
  shared head outlives it. Capacity: :func:`kv_cache_tokens`.
* **Steps.** The engine runs steps back to back while it has work. Each step carries
  one token of every decoding sequence, plus prompt chunks (up to
  ``max_num_batched_tokens`` tokens in the step, decodes first: vLLM's chunked
  prefill). A step takes::

      max(itl_min * (1 + KV bytes read / weight bytes), decoding / max_decode_tokens_per_s)
        + prompt tokens in the step / prefill_tokens_per_s

  The first term is the decode roofline: a step reads the weights once (``itl_min``,
  one stream alone) plus the KV cache of every decoding sequence, until the batch is
  large enough to be bound by ``max_decode_tokens_per_s``. The second is prefill,
  charged per *uncached* prompt token; decoding sequences in the same step wait for
  it (a mixed step). A prompt whose last chunk is in a step gets its first token at
  the end of that step; a decoding sequence gets one token per step; a finished answer
  costs one more token (the end-of-sequence token, counted in ``completion_tokens`` as
  vLLM does) unless it was cut by ``max_tokens``.

Accounting: ``busy_s`` is the engine's busy time (each step counted once, whatever
it carries): the modelled GPU-seconds. Each step's time is also split among its
sequences (the decode part equally, the prefill part by prompt tokens), which gives
the GPU-seconds of a request and, summed, of a match (the request's ``user``).

:class:`EngineCore` is the pure simulation on a model clock (tests drive it directly);
:class:`AsyncEngine` runs it against the wall clock, ``time_scale`` times faster.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pitchcast.gpu_memory import GIB, MODEL_SHAPES, RUNTIME_OVERHEAD_GIB, ModelShape

__all__ = [
    "PROFILES",
    "AsyncEngine",
    "EngineCore",
    "EngineRequest",
    "PrefixCache",
    "Profile",
    "Step",
    "kv_cache_tokens",
    "profile_named",
]

BLOCK_SIZE = 16
_QWEN_7B = MODEL_SHAPES["qwen/qwen2.5-7b-instruct"]


def kv_cache_tokens(
    gpu_memory_gib: float,
    shape: ModelShape = _QWEN_7B,
    *,
    gpu_memory_utilization: float = 0.90,
    runtime_overhead_gib: float = RUNTIME_OVERHEAD_GIB,
) -> int:
    """Tokens of KV cache vLLM gets on a GPU, sized like ``pitchcast serve-llm`` does:
    (memory x utilization - weights - runtime overhead) / KV bytes per token."""
    kv_bytes = (
        gpu_memory_gib * gpu_memory_utilization - shape.weights_gib - runtime_overhead_gib
    ) * GIB
    return max(0, int(kv_bytes // shape.kv_bytes_per_token))


@dataclass(frozen=True, slots=True)
class Profile:
    """What the engine charges (see the module docstring); sources in BENCHMARKS.md."""

    name: str
    itl_min_s: float  # one decode step with one short sequence: reads the weights once
    max_decode_tokens_per_s: float  # decode throughput the batch cannot exceed
    prefill_tokens_per_s: float  # uncached prompt tokens per second of a step
    max_num_seqs: int
    max_num_batched_tokens: int  # tokens per step (decodes + prompt chunks)
    kv_cache_tokens: int
    weight_bytes: float = 0.0  # bytes read per step; 0 leaves the KV read out
    kv_bytes_per_token: float = 0.0
    block_size: int = BLOCK_SIZE

    @property
    def kv_cache_blocks(self) -> int:
        return self.kv_cache_tokens // self.block_size

    @property
    def timed(self) -> bool:
        """False for the instant profile: every step takes no time."""
        return self.itl_min_s > 0 or not math.isinf(self.prefill_tokens_per_s)

    def decode_seconds(self, decoding: int, context_tokens: int = 0) -> float:
        """The decode part of a step with ``decoding`` sequences holding ``context_tokens``
        tokens of KV cache between them."""
        if decoding <= 0:
            return 0.0
        memory = self.itl_min_s
        if self.weight_bytes > 0:
            memory *= 1 + context_tokens * self.kv_bytes_per_token / self.weight_bytes
        return max(memory, decoding / self.max_decode_tokens_per_s)

    def step_seconds(self, decoding: int, prefill_tokens: int, context_tokens: int = 0) -> float:
        """How long a step carrying these tokens takes."""
        # A step with only prompt chunks still reads the weights once.
        fixed = self.decode_seconds(decoding, context_tokens) if decoding else self.itl_min_s
        return fixed + prefill_tokens / self.prefill_tokens_per_s

    def describe(self) -> dict[str, Any]:
        """The parameters, for ``GET /stats`` and banners."""
        return {
            "name": self.name,
            "itl_min_s": self.itl_min_s,
            "max_decode_tokens_per_s": _finite(self.max_decode_tokens_per_s),
            "prefill_tokens_per_s": _finite(self.prefill_tokens_per_s),
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "kv_cache_tokens": self.kv_cache_tokens,
            "block_size": self.block_size,
            "weight_bytes": self.weight_bytes,
            "kv_bytes_per_token": self.kv_bytes_per_token,
        }


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


# GPU memory as torch reports it (the serve-llm plan's figure for the A40; 80 GB H100).
_A40_GIB = 44.3
_H100_GIB = 79.1
_SHAPE = {
    "weight_bytes": _QWEN_7B.params_billions * 1e9 * _QWEN_7B.weight_bytes,
    "kv_bytes_per_token": _QWEN_7B.kv_bytes_per_token,
}

PROFILES: dict[str, Profile] = {
    # Qwen2.5-7B-class, bf16, vLLM V1 on one A40 48 GB, as `pitchcast serve-llm` sizes it.
    "a40": Profile(
        name="a40",
        itl_min_s=0.024,
        max_decode_tokens_per_s=1390.0,
        prefill_tokens_per_s=5500.0,
        max_num_seqs=48,
        max_num_batched_tokens=2048,
        kv_cache_tokens=kv_cache_tokens(_A40_GIB),
        **_SHAPE,
    ),
    # The same model on one H100 SXM 80 GB.
    "h100": Profile(
        name="h100",
        itl_min_s=0.0065,
        max_decode_tokens_per_s=12500.0,
        prefill_tokens_per_s=30000.0,
        max_num_seqs=48,
        max_num_batched_tokens=8192,
        kv_cache_tokens=kv_cache_tokens(_H100_GIB),
        **_SHAPE,
    ),
    # No time at all (unit tests); the A40's cache and limits, so accounting still means
    # something, but a large sequence limit so tests never queue by accident.
    "instant": Profile(
        name="instant",
        itl_min_s=0.0,
        max_decode_tokens_per_s=math.inf,
        prefill_tokens_per_s=math.inf,
        max_num_seqs=1024,
        max_num_batched_tokens=1 << 30,
        kv_cache_tokens=kv_cache_tokens(_A40_GIB),
    ),
}


def profile_named(name: str, **overrides: Any) -> Profile:
    """A profile of :data:`PROFILES` with some fields replaced (None values are ignored)."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}") from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **changes) if changes else base


# --- the prefix cache -----------------------------------------------------------------------


def block_hashes(tokens: Sequence[int], block_size: int = BLOCK_SIZE) -> list[int]:
    """One hash per full block, each chained to the one before (vLLM's scheme)."""
    hashes: list[int] = []
    previous = 0
    for start in range(0, len(tokens) - block_size + 1, block_size):
        previous = hash((previous, tuple(tokens[start : start + block_size])))
        hashes.append(previous)
    return hashes


class PrefixCache:
    """KV blocks: cached ones by hash (with the number of running sequences using each),
    plus blocks running sequences hold that are not (or not yet) cached."""

    def __init__(self, capacity_blocks: int) -> None:
        self.capacity_blocks = capacity_blocks
        self.refs: dict[int, int] = {}  # hash -> running sequences using it
        self.free: OrderedDict[int, None] = OrderedDict()  # unused cached blocks, LRU first
        self.private = 0  # held blocks that are no cache entry
        self.evictions = 0

    @property
    def used_blocks(self) -> int:
        return len(self.refs) + self.private

    def hits(self, hashes: Sequence[int], limit: int) -> int:
        """How many leading blocks of ``hashes`` (at most ``limit``) are cached."""
        count = 0
        for block in hashes[:limit]:
            if block not in self.refs:
                break
            count += 1
        return count

    def fits(self, hit_hashes: Sequence[int], new_blocks: int) -> bool:
        """Whether a sequence reusing ``hit_hashes`` and needing ``new_blocks`` more fits
        once unused blocks are evicted."""
        reusable_free = sum(1 for h in hit_hashes if self.refs[h] == 0)
        evictable = len(self.free) - reusable_free
        return self.used_blocks - evictable + new_blocks <= self.capacity_blocks

    def acquire(self, hit_hashes: Sequence[int], new_blocks: int) -> None:
        """Take the hit blocks and ``new_blocks`` fresh ones (evicting as needed)."""
        for block in hit_hashes:
            if self.refs[block] == 0:
                del self.free[block]
            self.refs[block] += 1
        while self.used_blocks + new_blocks > self.capacity_blocks and self.free:
            block, _ = self.free.popitem(last=False)
            del self.refs[block]
            self.evictions += 1
        self.private += new_blocks

    def register(self, block: int) -> bool:
        """A held private block was just computed: make it a cache entry. False when the
        hash is already cached (the block stays a private duplicate)."""
        if block in self.refs:
            return False
        self.refs[block] = 1
        self.private -= 1
        return True

    def release(self, held: Sequence[int], private: int) -> None:
        """A sequence ended: its cache entries become evictable, tail first."""
        self.private -= private
        for block in reversed(held):
            self.refs[block] -= 1
            if self.refs[block] == 0:
                self.free[block] = None


# --- requests and steps ------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class EngineRequest:
    """One chat request inside the engine. Times are model seconds."""

    request_id: int
    user: str
    prompt_ids: Sequence[int]
    output_ids: Sequence[int]  # the answer's tokens, already cut by max_tokens
    eos: bool  # an end-of-sequence token follows the answer (finish_reason "stop")
    arrival: float = 0.0
    admitted: float | None = None
    finished: float | None = None
    aborted: bool = False
    cached_tokens: int = 0  # prompt tokens served from the prefix cache
    computed: int = 0  # prompt tokens with KV (cached ones included)
    generated: int = 0  # tokens sampled (the end-of-sequence token included)
    token_times: list[float] = field(default_factory=list)
    gpu_s: float = 0.0  # share of the steps it was in
    hashes: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # cache entries it holds
    private: int = 0  # blocks it holds that are no cache entry
    registered: int = 0  # leading blocks of ``hashes`` it accounted for
    on_progress: Callable[[], None] | None = None

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt_ids)

    @property
    def to_generate(self) -> int:
        return len(self.output_ids) + (1 if self.eos else 0)

    @property
    def prefilled_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def done(self) -> bool:
        return self.finished is not None

    def record(self) -> dict[str, Any]:
        """The request's figures (model seconds), for ``/stats?requests=1`` and tests."""
        times = self.token_times
        gaps = sorted(b - a for a, b in itertools.pairwise(times))

        def seconds(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "id": self.request_id,
            "user": self.user,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "prefilled_tokens": self.prefilled_tokens if self.admitted is not None else 0,
            "output_tokens": self.generated,
            "arrival_s": seconds(self.arrival),
            "admitted_s": seconds(self.admitted),
            "queue_s": None if self.admitted is None else seconds(self.admitted - self.arrival),
            "ttft_s": seconds(times[0] - self.arrival) if times else None,
            "mean_itl_s": seconds((times[-1] - times[0]) / len(gaps)) if gaps else None,
            "median_itl_s": seconds(gaps[len(gaps) // 2]) if gaps else None,
            "finished_s": seconds(self.finished),
            "gpu_s": seconds(self.gpu_s),
            "aborted": self.aborted,
        }


@dataclass(slots=True)
class Step:
    """One engine step: who is in it and how long it takes (model seconds)."""

    start: float
    end: float
    decodes: list[EngineRequest]
    chunks: list[tuple[EngineRequest, int]]  # (request, prompt tokens computed)


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    prefilled_tokens: int = 0
    output_tokens: int = 0
    gpu_seconds: float = 0.0
    queue_seconds: float = 0.0
    ttft_seconds: float = 0.0
    first_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "prefilled_tokens": self.prefilled_tokens,
            "output_tokens": self.output_tokens,
            "gpu_seconds": round(self.gpu_seconds, 6),
            "mean_queue_s": round(self.queue_seconds / self.requests, 6) if self.requests else 0,
            "mean_ttft_s": round(self.ttft_seconds / self.first_tokens, 6)
            if self.first_tokens
            else 0,
        }


class EngineCore:
    """The simulation on a model clock; not thread-safe (callers hold a lock)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.cache = PrefixCache(profile.kv_cache_blocks)
        self.waiting: deque[EngineRequest] = deque()
        self.running: list[EngineRequest] = []
        self.clock = 0.0  # end of the last step
        self.busy_s = 0.0
        self.steps = 0
        self.peak_running = 0
        self.peak_waiting = 0
        self.records: list[EngineRequest] = []
        self.matches: defaultdict[str, _Tally] = defaultdict(_Tally)
        self._next_id = 0

    # --- requests ------------------------------------------------------------------------

    def submit(
        self,
        prompt_ids: Sequence[int],
        output_ids: Sequence[int],
        *,
        eos: bool,
        user: str = "unknown",
        now: float | None = None,
    ) -> EngineRequest:
        """Queue a request arriving at model time ``now`` (default: the engine's clock)."""
        size = self.profile.block_size
        blocks = math.ceil((len(prompt_ids) + len(output_ids) + (1 if eos else 0)) / size)
        if blocks > self.cache.capacity_blocks:
            raise ValueError(
                f"a sequence of {len(prompt_ids)} prompt tokens does not fit the KV cache "
                f"({self.profile.kv_cache_tokens} tokens)"
            )
        self._next_id += 1
        request = EngineRequest(
            request_id=self._next_id,
            user=user,
            prompt_ids=prompt_ids,
            output_ids=output_ids,
            eos=eos or not output_ids,  # at least one token comes out
            arrival=self.clock if now is None else now,
        )
        request.hashes = block_hashes([*prompt_ids, *output_ids], size)
        self.waiting.append(request)
        self.records.append(request)
        tally = self.matches[user]
        tally.requests += 1
        tally.prompt_tokens += request.prompt_tokens
        self.peak_waiting = max(self.peak_waiting, len(self.waiting))
        return request

    def abort(self, request: EngineRequest) -> None:
        """Drop a request (its client went away); its blocks are released."""
        if request.done:
            return
        request.aborted = True
        if request in self.waiting:
            self.waiting.remove(request)
            request.finished = self.clock
            return
        self._finish(request, self.clock)

    @property
    def has_work(self) -> bool:
        return bool(self.running or self.waiting)

    # --- scheduling ----------------------------------------------------------------------

    def schedule(self) -> Step | None:
        """The next step (None when idle). While sequences run, steps follow each other
        back to back; an idle engine starts at the arrival of the queue's head."""
        if self.running:
            start = self.clock
        elif self.waiting:
            start = max(self.clock, self.waiting[0].arrival)
        else:
            return None
        budget = self.profile.max_num_batched_tokens
        decodes: list[EngineRequest] = []
        chunks: list[tuple[EngineRequest, int]] = []
        for request in self.running:
            if request.computed < request.prompt_tokens:
                take = min(request.prompt_tokens - request.computed, budget)
                if take > 0:
                    chunks.append((request, take))
                    budget -= take
            elif budget > 0:
                decodes.append(request)
                budget -= 1
        while self.waiting and budget > 0 and len(self.running) < self.profile.max_num_seqs:
            head = self.waiting[0]
            if head.arrival > start:
                break  # arrived during the step before: it joins the next one
            if not self._admit(head, start):
                break  # FIFO: the head waits for room, and so does everyone behind it
            self.waiting.popleft()
            take = min(head.prompt_tokens - head.computed, budget)
            chunks.append((head, take))
            budget -= take
        if not decodes and not chunks:
            return None
        context = sum(r.computed + max(r.generated - 1, 0) for r in decodes)
        prefill = sum(take for _, take in chunks)
        duration = self.profile.step_seconds(len(decodes), prefill, context)
        return Step(start=start, end=start + duration, decodes=decodes, chunks=chunks)

    def _admit(self, request: EngineRequest, now: float) -> bool:
        size = self.profile.block_size
        limit = (request.prompt_tokens - 1) // size
        hits = request.hashes[: self.cache.hits(request.hashes, limit)]
        total = math.ceil((request.prompt_tokens + request.to_generate) / size)
        if not self.cache.fits(hits, total - len(hits)):
            return False
        self.cache.acquire(hits, total - len(hits))
        request.held = list(hits)
        request.private = total - len(hits)
        request.registered = len(hits)
        request.cached_tokens = request.computed = len(hits) * size
        request.admitted = now
        self.running.append(request)
        self.peak_running = max(self.peak_running, len(self.running))
        tally = self.matches[request.user]
        tally.cached_prompt_tokens += request.cached_tokens
        tally.prefilled_tokens += request.prefilled_tokens
        tally.queue_seconds += now - request.arrival
        return True

    # --- completing a step -----------------------------------------------------------------

    def complete(self, step: Step) -> list[EngineRequest]:
        """Apply ``step`` at its end; returns the requests that got a token or ended."""
        self.clock = step.end
        duration = step.end - step.start
        self.busy_s += duration
        self.steps += 1
        self._attribute(step, duration)
        touched: list[EngineRequest] = []
        for request, take in step.chunks:
            if request.done:
                continue  # aborted during the step
            request.computed += take
            if request.computed >= request.prompt_tokens:
                self._sample(request, step.end)
            self._register_blocks(request)
            touched.append(request)
        for request in step.decodes:
            if request.done:
                continue
            self._sample(request, step.end)
            self._register_blocks(request)
            touched.append(request)
        for request in touched:
            if request.generated >= request.to_generate:
                self._finish(request, step.end)
        return touched

    def _attribute(self, step: Step, duration: float) -> None:
        # The decode (weight-reading) part equally among the step's sequences, the
        # prefill part among the prompt chunks by their tokens.
        prefill = sum(take for _, take in step.chunks)
        prefill_s = prefill / self.profile.prefill_tokens_per_s if prefill else 0.0
        fixed_s = max(duration - prefill_s, 0.0) / (len(step.decodes) + len(step.chunks))
        shares = [(r, fixed_s) for r in step.decodes]
        shares += [(r, fixed_s + prefill_s * take / prefill) for r, take in step.chunks]
        for request, share in shares:
            request.gpu_s += share
            self.matches[request.user].gpu_seconds += share

    def _sample(self, request: EngineRequest, at: float) -> None:
        request.generated += 1
        request.token_times.append(at)
        tally = self.matches[request.user]
        tally.output_tokens += 1
        if request.generated == 1:
            tally.ttft_seconds += at - request.arrival
            tally.first_tokens += 1

    def _register_blocks(self, request: EngineRequest) -> None:
        # KV exists for the prompt and for every sampled token fed back (all but the last).
        kv_tokens = request.computed + max(request.generated - 1, 0)
        full = min(kv_tokens // self.profile.block_size, len(request.hashes))
        while request.registered < full:
            block = request.hashes[request.registered]
            if self.cache.register(block):
                request.held.append(block)
                request.private -= 1
            request.registered += 1

    def _finish(self, request: EngineRequest, at: float) -> None:
        request.finished = at
        self.running.remove(request)
        self.cache.release(request.held, request.private)
        request.held, request.private = [], 0

    def reset_counters(self, *, cache: bool = False) -> None:
        """Zero the accounting (requests in flight keep counting from now); with ``cache``,
        also forget every cached block (callers make sure nothing runs)."""
        self.busy_s = 0.0
        self.steps = 0
        self.peak_running = len(self.running)
        self.peak_waiting = len(self.waiting)
        self.records = [*self.running, *self.waiting]
        self.matches.clear()
        if cache:
            self.cache = PrefixCache(self.profile.kv_cache_blocks)

    # --- figures -------------------------------------------------------------------------------

    def stats(self, *, with_requests: bool = False) -> dict[str, Any]:
        """Totals, per match (``user``), and engine state; see BENCHMARKS.md."""
        totals = _Tally()
        for tally in self.matches.values():
            for name in (
                "requests",
                "prompt_tokens",
                "cached_prompt_tokens",
                "prefilled_tokens",
                "output_tokens",
                "queue_seconds",
                "ttft_seconds",
                "first_tokens",
            ):
                setattr(totals, name, getattr(totals, name) + getattr(tally, name))
        totals.gpu_seconds = self.busy_s
        result: dict[str, Any] = {
            "profile": self.profile.describe(),
            "engine": {
                "clock_s": round(self.clock, 6),
                "busy_s": round(self.busy_s, 6),
                "steps": self.steps,
                "running": len(self.running),
                "waiting": len(self.waiting),
                "peak_running": self.peak_running,
                "peak_waiting": self.peak_waiting,
                "kv_blocks_used": self.cache.used_blocks,
                "kv_blocks_total": self.cache.capacity_blocks,
                "kv_blocks_cached": len(self.cache.refs),
                "kv_evictions": self.cache.evictions,
            },
            "totals": totals.as_dict(),
            "matches": {user: t.as_dict() for user, t in sorted(self.matches.items())},
        }
        if with_requests:
            result["requests"] = [r.record() for r in self.records]
        return result


# --- against the wall clock ------------------------------------------------------------------


class AsyncEngine:
    """Runs an :class:`EngineCore` in the running event loop, ``time_scale`` times faster
    than the model says (model seconds = wall seconds since start x ``time_scale``).

    While busy, steps follow each other on the model clock even when the event loop is
    late, so the model's figures never depend on this machine's load; tokens are handed
    out when the wall clock reaches their step's end (or at once when late).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.profile = profile
        self.time_scale = time_scale
        self.core = EngineCore(profile)
        self.lock = threading.Lock()  # stats are read from other threads
        self._clock = clock
        self._origin = clock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def model_now(self) -> float:
        return (self._clock() - self._origin) * self.time_scale

    def _wall_at(self, model_time: float) -> float:
        return self._origin + model_time / self.time_scale

    def submit(
        self,
        prompt_ids: Sequence[int],
        output_ids: Sequence[int],
        *,
        eos: bool,
        user: str,
        arrival: float | None = None,
    ) -> EngineRequest:
        """Queue a request that arrived at model time ``arrival`` (default: now; the server
        passes the time it read the request, so its own work is not charged to the GPU);
        starts the engine's task in the running loop if needed."""
        with self.lock:
            now = self.model_now() if arrival is None else arrival
            request = self.core.submit(prompt_ids, output_ids, eos=eos, user=user, now=now)
        self._ensure_running()
        assert self._wake is not None
        self._wake.set()
        return request

    def abort(self, request: EngineRequest) -> None:
        with self.lock:
            self.core.abort(request)
        if request.on_progress is not None:
            request.on_progress()

    async def tokens(self, request: EngineRequest) -> AsyncIterator[list[int]]:
        """Indexes of the tokens of ``request`` as they come out, in groups (those that
        came out together, or while the reader was busy); ends when the request ends."""
        event = asyncio.Event()
        request.on_progress = event.set
        sent = 0
        while True:
            with self.lock:
                produced, done = request.generated, request.done
            if produced > sent:
                yield list(range(sent, produced))
                sent = produced
                continue
            if done:
                return
            await event.wait()
            event.clear()

    def stats(self, *, with_requests: bool = False) -> dict[str, Any]:
        with self.lock:
            result = self.core.stats(with_requests=with_requests)
        result["engine"]["time_scale"] = self.time_scale
        return result

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with self.lock:
                step = self.core.schedule()
            if step is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self._wall_at(step.end) - self._clock()
            await asyncio.sleep(delay if delay > 0 else 0)
            with self.lock:
                touched = self.core.complete(step)
            for request in touched:
                if request.on_progress is not None:
                    request.on_progress()
