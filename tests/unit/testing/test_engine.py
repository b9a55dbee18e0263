"""The test LLM server's timing model (a simulated vLLM engine), driven on its model clock."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import pytest

from pitchcast.testing.engine import (
    EngineCore,
    EngineRequest,
)
from pitchcast.testing.profiles import PROFILES, Profile, kv_cache_tokens, profile_named

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

# A small made-up GPU: easy numbers, no KV-read term unless a test adds it.
TOY = Profile(
    name="toy",
    itl_min_s=0.02,
    max_decode_tokens_per_s=100.0,
    prefill_tokens_per_s=1000.0,
    max_num_seqs=8,
    max_num_batched_tokens=4096,
    kv_cache_tokens=16 * 1000,
)


def _tokens(length: int, start: int = 0) -> list[int]:
    return list(range(start, start + length))


def _drain(core: EngineCore) -> None:
    """Run steps back to back until nothing is left."""
    while core.has_work:
        step = core.schedule()
        assert step is not None
        core.complete(step)


def _gaps(request: EngineRequest) -> list[float]:
    return [round(b - a, 9) for a, b in itertools.pairwise(request.token_times)]


def _run(core: EngineCore, prompt: Sequence[int], output: Sequence[int] = (1, 2)) -> EngineRequest:
    request = core.submit(prompt, output, eos=True, now=core.clock)
    _drain(core)
    return request


def test_a_repeated_prompt_is_served_from_the_cache_but_its_last_token() -> None:
    """The same 100-token prompt again: the full blocks below token 99 hit, 4 are prefilled."""
    core = EngineCore(TOY)
    first = _run(core, _tokens(100))
    again = _run(core, _tokens(100))
    assert first.cached_tokens == 0 and first.prefilled_tokens == 100
    assert again.cached_tokens == 96 and again.prefilled_tokens == 4
    # Exactly 32 tokens: the last token is recomputed, so only the first block hits.
    exact = EngineCore(TOY)
    _run(exact, _tokens(32))
    assert _run(exact, _tokens(32)).cached_tokens == 16


def test_an_extended_prompt_reuses_the_earlier_prompt_and_its_answer() -> None:
    """A chat that grows (live mode): the next prompt starts with the last prompt and answer.
    With a model whose samples are always canonical, every full block of them hits."""
    core = EngineCore(replace(TOY, answer_miss_blocks=0))
    prompt, answer = _tokens(200), _tokens(45, start=5000)
    _run(core, prompt, answer)
    grown = [*prompt, *answer, *_tokens(80, start=9000)]
    second = _run(core, grown)
    # KV exists for the prompt and every answer token (245 tokens: 15 full blocks).
    assert second.cached_tokens == 240
    assert second.prefilled_tokens == len(grown) - 240


def test_a_changed_early_token_misses_everything_after_it() -> None:
    """Chained block hashes: a difference at token 5 misses every block; at 40, blocks 0-1 hit."""
    core = EngineCore(TOY)
    _run(core, _tokens(200))
    early = _tokens(200)
    early[5] = -1
    assert _run(core, early).cached_tokens == 0
    middle = _tokens(200)
    middle[40] = -1
    assert _run(core, middle).cached_tokens == 32


def test_lru_eviction_at_capacity_drops_the_least_recently_used_tails_first() -> None:
    """A 20-block cache, 127-token prompts (7 cached blocks each, 8 held while running): the
    third sequence evicts the first one's last 2 blocks; a reused sequence becomes recent."""
    core = EngineCore(profile_named("instant", kv_cache_tokens=20 * 16))
    a, b, c = _tokens(127, 0), _tokens(127, 1000), _tokens(127, 2000)
    for prompt in (a, b, c):
        _run(core, prompt, output=())
    assert core.cache.evictions == 2
    assert core.cache.used_blocks <= 20
    assert _run(core, b, output=()).cached_tokens == 7 * 16  # whole
    # a lost its tail; making room for it evicts c's tail (b was just used).
    assert _run(core, a, output=()).cached_tokens == 5 * 16
    assert core.cache.evictions == 4
    assert _run(core, c, output=()).cached_tokens == 5 * 16
    assert core.cache.used_blocks <= 20


def test_a_sequence_that_cannot_fit_the_cache_is_refused() -> None:
    """A request larger than the whole KV cache is an error, not a queue that never moves."""
    core = EngineCore(profile_named("instant", kv_cache_tokens=64))
    with pytest.raises(ValueError, match="does not fit"):
        core.submit(_tokens(100), (), eos=True)


def test_itl_follows_the_roofline_as_sequences_are_added() -> None:
    """max(itl_min, running / max_decode_tokens_per_s): 20 ms for 1 and 2 streams, 40 ms for 4,
    80 ms for 8 (100 tokens/s of decode shared)."""
    for streams, expected in ((1, 0.02), (2, 0.02), (4, 0.04), (8, 0.08)):
        core = EngineCore(TOY)
        requests = [
            core.submit(_tokens(16, 100 * i), _tokens(30), eos=True, now=0.0)
            for i in range(streams)
        ]
        _drain(core)
        for request in requests:
            assert _gaps(request) == [pytest.approx(expected)] * 30


def test_the_kv_read_term_slows_long_contexts() -> None:
    """With weight and KV sizes, a step also reads every decoding sequence's KV cache."""
    profile = profile_named("a40")
    short = profile.decode_seconds(1, context_tokens=100)
    long = profile.decode_seconds(18, context_tokens=18 * 2500)
    assert short == pytest.approx(0.024, rel=0.01)
    expected = 0.024 * (1 + 18 * 2500 * profile.kv_bytes_per_token / profile.weight_bytes)
    assert long == pytest.approx(expected)
    assert 1.15 < long / short < 1.2


def test_a_prefill_delays_the_sequences_decoding_in_the_same_step() -> None:
    """A 500-token prompt arriving mid-stream makes the decoders' next gap 20 ms + 0.5 s."""
    core = EngineCore(TOY)
    decoding = core.submit(_tokens(16), _tokens(20, 500), eos=True, now=0.0)
    for _ in range(5):
        step = core.schedule()
        assert step is not None
        core.complete(step)
    newcomer = core.submit(_tokens(500, 7000), _tokens(5), eos=True, now=core.clock)
    _drain(core)
    gaps = _gaps(decoding)
    assert max(gaps) == pytest.approx(0.02 + 500 / 1000)
    assert gaps.count(max(gaps)) == 1
    assert newcomer.token_times[0] - newcomer.arrival == pytest.approx(0.02 + 0.5)


def test_a_long_prompt_is_prefilled_in_chunks_of_the_step_budget() -> None:
    """max_num_batched_tokens 2048: a 5000-token prompt needs 3 steps before its first token."""
    profile = profile_named("instant", max_num_batched_tokens=2048)
    core = EngineCore(profile)
    request = core.submit(_tokens(5000), _tokens(3), eos=True, now=0.0)
    steps = 0
    while request.generated == 0:
        step = core.schedule()
        assert step is not None
        assert sum(take for _, take in step.chunks) <= 2048
        core.complete(step)
        steps += 1
    assert steps == 3


def test_requests_beyond_max_num_seqs_wait_in_a_fifo_queue() -> None:
    """max_num_seqs 2: the third request starts when the first one ends, in arrival order."""
    core = EngineCore(replace(TOY, max_num_seqs=2))
    first = core.submit(_tokens(16, 0), _tokens(4), eos=True, now=0.0)
    second = core.submit(_tokens(16, 100), _tokens(10), eos=True, now=0.0)
    third = core.submit(_tokens(16, 200), _tokens(4), eos=True, now=0.0)
    _drain(core)
    assert core.peak_running == 2 and core.peak_waiting == 3
    assert first.admitted == second.admitted == 0.0
    assert third.admitted == first.finished
    assert third.record()["queue_s"] == pytest.approx(first.finished)


def test_accounting_per_match_adds_up_to_the_engine_busy_time() -> None:
    """GPU-seconds: busy time counts each step once; the per-match shares add up to it."""
    core = EngineCore(TOY)
    for i in range(3):
        core.submit(_tokens(300, 10_000 * i), _tokens(40), eos=True, user="game:1", now=0.0)
    core.submit(_tokens(300, 50_000), _tokens(20), eos=True, user="game:2", now=0.0)
    core.submit(_tokens(50, 70_000), _tokens(5), eos=False, now=0.0)
    _drain(core)
    stats = core.stats(with_requests=True)
    matches = stats["matches"]
    assert set(matches) == {"game:1", "game:2", "unknown"}
    assert matches["game:1"]["requests"] == 3
    assert matches["game:1"]["output_tokens"] == 3 * 41  # the end-of-sequence token counts
    assert matches["unknown"]["output_tokens"] == 5  # cut by max_tokens: no EOS
    assert matches["game:2"]["prefilled_tokens"] == 300
    total = sum(m["gpu_seconds"] for m in matches.values())
    assert total == pytest.approx(stats["totals"]["gpu_seconds"], rel=1e-6)
    assert stats["totals"]["gpu_seconds"] == pytest.approx(core.busy_s)
    assert core.busy_s == pytest.approx(core.clock)  # one busy stretch from t=0
    assert sum(r["gpu_s"] for r in stats["requests"]) == pytest.approx(core.busy_s)
    assert stats["totals"]["prompt_tokens"] == 3 * 300 + 300 + 50


def test_the_profiles_are_sized_like_the_serve_llm_plan() -> None:
    """KV cache of the A40: (44.3 GiB x 0.9 - 14.2 GiB weights - 2 GiB) / 56 KiB per token."""
    a40, h100 = PROFILES["a40"], PROFILES["h100"]
    expected = (44.3 * 0.9 - 7.6e9 * 2 / 2**30 - 2) * 2**30 / (28 * 4 * 128 * 2 * 2)
    assert a40.kv_cache_tokens == math.floor(expected)
    assert 440_000 < a40.kv_cache_tokens < 450_000
    assert h100.kv_cache_tokens > 2 * a40.kv_cache_tokens
    assert kv_cache_tokens(10.0) == 0  # weights alone do not fit: no cache, not negative
    # A cold 1.2k-token prompt alone: ~0.24 s on the A40, under 50 ms on the H100.
    assert a40.step_seconds(0, 1200) == pytest.approx(0.024 + 1200 / 5500)
    assert h100.step_seconds(0, 1200) < 0.05
    assert PROFILES["instant"].step_seconds(40, 5000, 100_000) == 0


def test_an_aborted_request_frees_its_slot_and_blocks() -> None:
    """A client that goes away: its sequence leaves the batch and its blocks are released."""
    core = EngineCore(replace(TOY, max_num_seqs=1))
    gone = core.submit(_tokens(64), _tokens(50), eos=True, now=0.0)
    waiting = core.submit(_tokens(64, 500), _tokens(3), eos=True, now=0.0)
    core.complete(core.schedule())
    core.abort(gone)
    _drain(core)
    assert gone.aborted and waiting.done and not core.running
    assert core.cache.private == 0
    assert all(refs == 0 for refs in core.cache.refs.values())


def _conversation(core: EngineCore, turns: int) -> list[EngineRequest]:
    """A live chat: each prompt is the previous prompt, its answer and a new 37-token row."""
    prompt, done = _tokens(300), []
    for turn in range(turns):
        answer = _tokens(41 + 7 * turn, start=10_000 * (turn + 1))
        done.append(_run(core, prompt, answer))
        prompt = [*prompt, *answer, *_tokens(37, start=500_000 + 1000 * turn)]
    return done


def test_the_honest_miss_reprefills_exactly_one_block_per_answer_turn() -> None:
    """Against a model whose samples are always canonical, every later turn prefills exactly
    16 tokens more (the answer's last full block) and is served 16 fewer from the cache."""
    canonical = _conversation(EngineCore(replace(TOY, answer_miss_blocks=0)), 6)
    honest = _conversation(EngineCore(TOY), 6)
    assert canonical[0].prefilled_tokens == honest[0].prefilled_tokens == 300
    for ideal, real in zip(canonical[1:], honest[1:], strict=True):
        assert real.prefilled_tokens - ideal.prefilled_tokens == 16
        assert ideal.cached_tokens - real.cached_tokens == 16


def test_concurrent_forks_share_the_prefix_and_prefill_only_their_tails() -> None:
    """A burst's forks sent at once (same conversation and burst turn, a 5-token row marker
    each): the first admitted prefills the new burst turn, the others only their tail,
    even in the same step (vLLM V1 caches blocks as it schedules them)."""
    core = EngineCore(TOY)
    history = _tokens(320)
    _run(core, history, output=())  # the conversation so far is cached
    burst = [*history, *_tokens(90, start=7000)]  # + the burst's user turn (410 tokens)
    forks = [
        core.submit([*burst, *_tokens(5, start=90_000 + 100 * k)], _tokens(30), eos=True)
        for k in range(4)
    ]
    step = core.schedule()
    assert step is not None and len(step.chunks) == 4  # all four admitted in one step
    _drain(core)
    first, *others = forks
    assert first.cached_tokens == 320 and first.prefilled_tokens == 95
    for fork in others:  # 25 full blocks (400 tokens) shared: 15 tokens of tail each
        assert fork.cached_tokens == 400 and fork.prefilled_tokens == 15


def test_saturated_and_serial_gpu_seconds_price_the_tokens_not_the_load() -> None:
    """The same requests cost the same saturated and serial GPU-seconds whether they come
    one after the other or all at once, while the busy time (shared steps) does not."""

    def load(at_once: bool) -> dict[str, float]:
        core = EngineCore(TOY)
        for k in range(4):
            core.submit(_tokens(64, start=1000 * k), _tokens(20), eos=True, now=0.0)
            if not at_once:
                _drain(core)
        _drain(core)
        return core.stats()["totals"]

    serial, together = load(False), load(True)
    for key in ("saturated_gpu_seconds", "serial_gpu_seconds"):
        assert serial[key] == pytest.approx(together[key])
    # 4 x (64 prefilled at 1000/s + 21 tokens at 100/s), and 4 x (one prefill step of
    # 0.02 + 0.064 s, then 20 decode steps of 0.02 s).
    assert together["saturated_gpu_seconds"] == pytest.approx(4 * (0.064 + 0.21))
    assert together["serial_gpu_seconds"] == pytest.approx(4 * (0.084 + 20 * 0.02))
    assert together["gpu_seconds"] < serial["gpu_seconds"]  # shared steps
    assert together["prefix_hit_rate"] == 0.0
