"""The timing model of the test-double LLM server: what each engine step costs.

A :class:`Profile` holds what a simulated vLLM engine (:mod:`.engine`) charges for one
step: it carries one token of every decoding sequence plus prompt chunks, and takes::

    max(itl_min * (1 + KV bytes read / weight bytes), decoding / max_decode_tokens_per_s)
      + prompt tokens in the step / prefill_tokens_per_s

The first term is the decode roofline: a step reads the weights once (``itl_min``, one
stream alone) plus the KV cache of every decoding sequence, until the batch is large
enough to be bound by ``max_decode_tokens_per_s``. The second is prefill, charged per
*uncached* prompt token (the prefix cache, :mod:`.prefix_cache`, decides which are).

``answer_miss_blocks`` is what a real model's sampling costs the prefix cache: the
tokens it sampled are not always the canonical tokenization of the text the client sends
back in the next turn, so vLLM's cache misses from the first block that differs
(:mod:`.prefix_cache`). The engine treats the last ``answer_miss_blocks`` full blocks
holding answer tokens as different, so the next turn prefills them again.

:data:`PROFILES` are the calibrated ones (sources in BENCHMARKS.md, "The test LLM
server's timing model", and next to each figure below): ``a40`` and ``h100`` (a 7-8B
model in bf16 on one GPU, the KV cache sized like ``pitchcast serve-llm`` sizes it:
:func:`kv_cache_tokens`), ``a40-awq`` (EXAONE-3.5-7.8B-Instruct-AWQ, 4-bit weights) and
``a40-fp8`` (Qwen2.5-7B with FP8 weights through Marlin) on the A40, and ``instant`` (no
time at all, for unit tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from pitchcast.gpu_memory import GIB, MODEL_SHAPES, RUNTIME_OVERHEAD_GIB, ModelShape

__all__ = [
    "AWQ_DECODE_SPEEDUP",
    "BLOCK_SIZE",
    "FP8_DECODE_SPEEDUP",
    "GPU_PROFILES",
    "PROFILES",
    "Profile",
    "kv_cache_tokens",
    "profile_named",
]

# vLLM's KV block size on CUDA when --block-size is not given: the platform's
# check_and_update_config sets cache_config.block_size = 16 (vllm/platforms/cuda.py;
# the same in rocm.py). Prefix caching hashes whole blocks, so hits come in 16 tokens.
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
    # Full blocks at the end of each answer that its next turn misses (sampled tokens vs
    # the canonical re-tokenization); 0 = a model whose samples are always canonical.
    answer_miss_blocks: int = 1

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
            "answer_miss_blocks": self.answer_miss_blocks,
        }

    def saturated_seconds(self, prefilled_tokens: int, output_tokens: int) -> float:
        """GPU-seconds of these tokens on a GPU kept full by many sequences: decode at the
        throughput cap, prefill at its rate (the weights read once per step are shared)."""
        return (
            output_tokens / self.max_decode_tokens_per_s
            + prefilled_tokens / self.prefill_tokens_per_s
        )


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


# GPU memory as torch reports it (the serve-llm plan's figure for the A40; 80 GB H100).
_A40_GIB = 44.3
_H100_GIB = 79.1


def _shape(shape: ModelShape, weight_bytes: float) -> dict[str, float]:
    return {"weight_bytes": weight_bytes, "kv_bytes_per_token": shape.kv_bytes_per_token}


_QWEN_BF16_BYTES = _QWEN_7B.params_billions * 1e9 * _QWEN_7B.weight_bytes  # 15.2 GB
_SHAPE = _shape(_QWEN_7B, _QWEN_BF16_BYTES)

# --- 4-bit weights (AWQ, W4A16 through vLLM's Marlin kernels) ----------------------------
# RedHatAI/granite-3.1-8b-instruct-quantized.w4a16 model card (huggingface.co, release
# 2025-01-08, "Inference Performance", as quoted in pitchcast issue 15): single-stream
# latency on an RTX A6000 (GA102, the A40's chip) 9.8 ms per token in w4a16 against
# 25.2 ms in bf16 for the same 8B model and vLLM: the decode speed-up of 4-bit weights.
AWQ_DECODE_SPEEDUP = 25.2 / 9.8
# LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-AWQ (LG AI Research, huggingface.co; model card
# and file list read 2026-12): W4A16 group size 128, 32 layers, GQA with 8 KV heads of
# 128 (so 128 KiB of bf16 KV per token, 2.3x Qwen2.5-7B's), safetensors 4.47 GB +
# 0.839 GB = 5.31 GB of weights read per step.
_EXAONE_7B = MODEL_SHAPES["lgai-exaone/exaone-3.5-7.8b-instruct"]
_EXAONE_AWQ_BYTES = 5.31e9
_EXAONE_AWQ = replace(
    _EXAONE_7B, weight_bytes=_EXAONE_AWQ_BYTES / (_EXAONE_7B.params_billions * 1e9)
)

# --- 8-bit weights (FP8 weight-only, W8A16 through FP8 Marlin on Ampere) ----------------
# vLLM docs, "FP8 W8A8" (docs.vllm.ai, v0.32.0 pages): Ampere runs FP8 checkpoints as
# weight-only W8A16 through Marlin; FP8 halves the weight memory and gives "up to a 1.6x
# improvement in throughput". vLLM PR #5975 ("Expand FP8 support to Ampere GPUs using
# FP8 Marlin", merged 2024-07-03): "up to 2x in memory-bound scenarios". The profile
# takes the docs' 1.6x (the byte ratio alone would give 15.2 / 8.7 = 1.75x).
FP8_DECODE_SPEEDUP = 1.6
# Qwen2.5-7B in FP8: the 6.53 B parameters of the linear layers at 1 byte, the untied
# embedding and output head (2 x 152,064 x 3,584) kept in bf16: 8.7 GB.
_QWEN_FP8_BYTES = 6.53e9 + 2 * 152_064 * 3_584 * 2
_QWEN_FP8 = replace(_QWEN_7B, weight_bytes=_QWEN_FP8_BYTES / (_QWEN_7B.params_billions * 1e9))

# The A40 bf16 figures every A40 profile starts from (sources in BENCHMARKS.md).
_A40_ITL_S = 0.024
_A40_DECODE_CAP = 1390.0
_A40_PREFILL = 5500.0

PROFILES: dict[str, Profile] = {
    # Qwen2.5-7B-class, bf16, vLLM V1 on one A40 48 GB, as `pitchcast serve-llm` sizes it.
    "a40": Profile(
        name="a40",
        itl_min_s=_A40_ITL_S,
        max_decode_tokens_per_s=_A40_DECODE_CAP,
        prefill_tokens_per_s=_A40_PREFILL,
        max_num_seqs=48,
        max_num_batched_tokens=2048,
        kv_cache_tokens=kv_cache_tokens(_A40_GIB),
        **_SHAPE,
    ),
    # EXAONE-3.5-7.8B-Instruct-AWQ on one A40: one stream decodes AWQ_DECODE_SPEEDUP
    # times faster (9.3 ms). Under load the bf16 cap is kept: no published A40 figure at
    # 50 streams was found, and Marlin's gain shrinks as the batch grows (its GEMMs turn
    # compute-bound), so above ~15 streams this is on the safe side. Prefill: the bf16
    # rate (Marlin dequantizes in the GEMM; no faster on compute). The KV read term uses
    # EXAONE's larger KV per token against its smaller weights. Tokens are still counted
    # with Qwen's vocabulary (EXAONE's own writes Korean in fewer tokens: not credited).
    "a40-awq": Profile(
        name="a40-awq",
        itl_min_s=round(_A40_ITL_S / AWQ_DECODE_SPEEDUP, 5),
        max_decode_tokens_per_s=_A40_DECODE_CAP,
        prefill_tokens_per_s=_A40_PREFILL,
        max_num_seqs=48,
        max_num_batched_tokens=2048,
        kv_cache_tokens=kv_cache_tokens(_A40_GIB, _EXAONE_AWQ),
        **_shape(_EXAONE_AWQ, _EXAONE_AWQ_BYTES),
    ),
    # Qwen2.5-7B with FP8 weights on one A40 (W8A16, FP8 Marlin): FP8_DECODE_SPEEDUP.
    # Cap and prefill as bf16, for the reasons given for a40-awq.
    "a40-fp8": Profile(
        name="a40-fp8",
        itl_min_s=round(_A40_ITL_S / FP8_DECODE_SPEEDUP, 5),
        max_decode_tokens_per_s=_A40_DECODE_CAP,
        prefill_tokens_per_s=_A40_PREFILL,
        max_num_seqs=48,
        max_num_batched_tokens=2048,
        kv_cache_tokens=kv_cache_tokens(_A40_GIB, _QWEN_FP8),
        **_shape(_QWEN_FP8, _QWEN_FP8_BYTES),
    ),
    # The same bf16 model on one H100 SXM 80 GB.
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
# Profiles of a real GPU (everything but ``instant``), for the benchmarks' choices.
GPU_PROFILES = tuple(name for name in PROFILES if name != "instant")


def profile_named(name: str, **overrides: Any) -> Profile:
    """A profile of :data:`PROFILES` with some fields replaced (None values are ignored)."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}") from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **changes) if changes else base
