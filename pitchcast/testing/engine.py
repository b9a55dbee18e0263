"""The simulated vLLM engine of the test-double LLM server: when tokens come out.

This is a TEST DOUBLE, not a model. It decides WHEN the fake server's tokens come out,
charging time the way vLLM (V1 engine, chunked prefill, automatic prefix caching) does:

* **Admission and queue.** At most ``max_num_seqs`` sequences run; the rest wait in a
  FIFO queue (head-of-line: a request that does not fit blocks the ones behind it). A
  request is admitted at a step boundary, only if the KV cache can hold its whole
  sequence (prompt + answer; vLLM allocates lazily and preempts instead, which a
  workload far below the cache size never triggers).
* **Prefix cache** (:mod:`.prefix_cache`). At admission, the leading prompt blocks
  found in the cache are reused for free, up to ``prompt - 1`` tokens (vLLM always
  recomputes the last prompt token for its logits); blocks enter the cache as they are
  computed, answer tokens included. Capacity: the profile's ``kv_cache_tokens``.
* **Steps.** The engine runs steps back to back while it has work. Each step carries
  one token of every decoding sequence, plus prompt chunks (up to
  ``max_num_batched_tokens`` tokens in the step, decodes first: vLLM's chunked
  prefill); what a step costs is the profile's (:mod:`.profiles`, the timing model:
  a decode roofline plus prefill per uncached prompt token). Decoding sequences in a
  step with prompt chunks wait for them (a mixed step). A prompt whose last chunk is in
  a step gets its first token at the end of that step; a decoding sequence gets one
  token per step; a finished answer costs one more token (the end-of-sequence token,
  counted in ``completion_tokens`` as vLLM does) unless it was cut by ``max_tokens``.

Accounting: ``busy_s`` is the engine's busy time (each step counted once, whatever
it carries): the modelled GPU-seconds of this run, at this load. Each step's time is
also split among its sequences (the decode part equally, the prefill part by prompt
tokens), which gives the GPU-seconds of a request and, summed, of a match (the
request's ``user``). Two figures do not depend on who else shared the steps, so a cost
comparison can fail: ``saturated_gpu_seconds`` (the tokens prefilled and decoded priced
on a GPU kept full: :meth:`Profile.saturated_seconds`) and ``serial_gpu_seconds`` (each
request as if alone on the GPU, one after the other: its prompt chunks, then one decode
step per further token; requests that overlap, like a burst's forks, would share steps,
so for them this is an upper bound).

:class:`EngineCore` is the pure simulation on a model clock (tests drive it directly);
:class:`AsyncEngine` runs it against the wall clock, ``time_scale`` times faster.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pitchcast.testing.prefix_cache import PrefixCache, answer_divergence, block_hashes
from pitchcast.testing.profiles import Profile

__all__ = ["AsyncEngine", "EngineCore", "EngineRequest", "Step"]


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
    serial_gpu_seconds: float = 0.0
    queue_seconds: float = 0.0
    ttft_seconds: float = 0.0
    first_tokens: int = 0

    def as_dict(self, profile: Profile) -> dict[str, Any]:
        saturated = profile.saturated_seconds(self.prefilled_tokens, self.output_tokens)
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "prefilled_tokens": self.prefilled_tokens,
            "output_tokens": self.output_tokens,
            "prefix_hit_rate": round(self.cached_prompt_tokens / self.prompt_tokens, 4)
            if self.prompt_tokens
            else 0.0,
            "gpu_seconds": round(self.gpu_seconds, 6),
            "saturated_gpu_seconds": round(saturated, 6),
            "serial_gpu_seconds": round(self.serial_gpu_seconds, 6),
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
        # The answer's last full block(s) stand for sampled tokens that the next turn's
        # canonical tokenization does not reproduce (the profile's answer_miss_blocks).
        diverge = answer_divergence(
            len(prompt_ids), len(output_ids), self.profile.answer_miss_blocks, size
        )
        request.hashes = block_hashes(
            [*prompt_ids, *output_ids],
            size,
            diverge_at=diverge,
            salt=("sampled", request.request_id),
        )
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
                    self._register_blocks(request, request.computed + take)
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
            # vLLM V1 caches a prompt's blocks when it schedules them (they are computed
            # in this step, before any attention reads them), so a request admitted
            # after it in the same step, like the next fork of a burst, hits them
            # (vllm/v1/core/kv_cache_manager.py, KVCacheManager.allocate_slots: it calls
            # coordinator.cache_blocks(request, num_tokens_to_cache) before the forward).
            self._register_blocks(head, head.computed + take)
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
        # Alone on the GPU, its prompt would take one step per chunk of the token budget.
        chunks = max(1, math.ceil(request.prefilled_tokens / self.profile.max_num_batched_tokens))
        tally.serial_gpu_seconds += (
            self.profile.step_seconds(0, request.prefilled_tokens)
            + (chunks - 1) * self.profile.itl_min_s
        )
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
        tally = self.matches[request.user]
        if request.generated:  # a decode step of its own, had it been alone on the GPU
            context = request.computed + request.generated - 1
            tally.serial_gpu_seconds += self.profile.decode_seconds(1, context)
        request.generated += 1
        request.token_times.append(at)
        tally.output_tokens += 1
        if request.generated == 1:
            tally.ttft_seconds += at - request.arrival
            tally.first_tokens += 1

    def _register_blocks(self, request: EngineRequest, kv_tokens: int | None = None) -> None:
        # KV exists for the prompt and for every sampled token fed back (all but the last);
        # the scheduler passes what a step it is building will have computed.
        if kv_tokens is None:
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
                "serial_gpu_seconds",
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
            "totals": totals.as_dict(self.profile),
            "matches": {user: t.as_dict(self.profile) for user, t in sorted(self.matches.items())},
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
