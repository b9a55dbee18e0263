"""The test LLM server's profiles: the published ratios they are built from hold."""

from __future__ import annotations

import pytest

from pitchcast.testing.profiles import (
    AWQ_DECODE_SPEEDUP,
    BLOCK_SIZE,
    FP8_DECODE_SPEEDUP,
    GPU_PROFILES,
    PROFILES,
)


def test_the_awq_profile_decodes_faster_than_bf16_by_the_sourced_ratio() -> None:
    """Granite-3.1-8B on an A6000: 25.2 ms per token in bf16, 9.8 ms in w4a16."""
    bf16, awq = PROFILES["a40"], PROFILES["a40-awq"]
    assert bf16.decode_seconds(1) / awq.decode_seconds(1) == pytest.approx(25.2 / 9.8, rel=1e-3)
    assert awq.decode_seconds(1) == pytest.approx(AWQ_DECODE_SPEEDUP**-1 * 0.024, rel=1e-3)


def test_the_fp8_profile_sits_between_bf16_and_awq() -> None:
    """FP8 weight-only (Marlin on Ampere): the vLLM docs' 1.6x, less than 4-bit weights."""
    bf16, fp8, awq = PROFILES["a40"], PROFILES["a40-fp8"], PROFILES["a40-awq"]
    assert bf16.itl_min_s / fp8.itl_min_s == pytest.approx(FP8_DECODE_SPEEDUP)
    assert awq.decode_seconds(1) < fp8.decode_seconds(1) < bf16.decode_seconds(1)
    # Half the weight bytes of bf16 (the embeddings stay bf16), so a larger KV cache.
    assert 0.5 < fp8.weight_bytes / bf16.weight_bytes < 0.6
    assert fp8.kv_cache_tokens > bf16.kv_cache_tokens


def test_quantization_buys_little_once_the_batch_is_throughput_bound() -> None:
    """At 48 streams every A40 profile is at the same decode cap (no published figure says
    otherwise), while one stream alone is 2.6x faster with 4-bit weights."""
    steps = {name: PROFILES[name].decode_seconds(48) for name in ("a40", "a40-fp8", "a40-awq")}
    assert len(set(steps.values())) == 1
    assert steps["a40"] == pytest.approx(48 / 1390)


def test_exaone_reads_more_kv_per_token_than_qwen() -> None:
    """EXAONE-3.5-7.8B: 32 layers x 8 KV heads (128 KiB a token) against Qwen2.5-7B's
    28 x 4 (56 KiB): with a long context its KV read weighs more against its 5.3 GB."""
    awq, bf16 = PROFILES["a40-awq"], PROFILES["a40"]
    assert awq.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2
    context = 6 * 3000  # six streams of ~3k tokens
    assert awq.decode_seconds(6, context) / awq.itl_min_s > bf16.decode_seconds(6, context) / (
        bf16.itl_min_s
    )


def test_every_gpu_profile_misses_one_answer_block_and_uses_vllms_block_size() -> None:
    assert BLOCK_SIZE == 16
    assert "instant" not in GPU_PROFILES and "a40-awq" in GPU_PROFILES
    for name in GPU_PROFILES:
        assert PROFILES[name].answer_miss_blocks == 1
        assert PROFILES[name].block_size == 16


def test_saturated_seconds_price_decode_at_the_cap_and_prefill_at_its_rate() -> None:
    a40 = PROFILES["a40"]
    assert a40.saturated_seconds(5500, 1390) == pytest.approx(2.0)
    assert PROFILES["instant"].saturated_seconds(10**6, 10**6) == 0
