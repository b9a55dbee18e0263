"""The timing model of the test-double LLM server: what each engine step costs.

A :class:`Profile` holds what a simulated vLLM engine (:mod:`.engine`) charges for one
step: it carries one token of every decoding sequence plus prompt chunks, and takes::

    max(itl_min * (1 + KV bytes read / weight bytes), decoding / max_decode_tokens_per_s)
      + prompt tokens in the step / prefill_tokens_per_s

The first term is the decode roofline: a step reads the weights once (``itl_min``, one
stream alone) plus the KV cache of every decoding sequence, until the batch is large
enough to be bound by ``max_decode_tokens_per_s``. The second is prefill, charged per
*uncached* prompt token (the prefix cache, :mod:`.prefix_cache`, decides which are).

:data:`PROFILES` are the calibrated ones (sources in BENCHMARKS.md, "The test LLM
server's timing model"): ``a40`` and ``h100`` (a 7-8B model in bf16 on one GPU, the KV
cache sized like ``pitchcast serve-llm`` sizes it: :func:`kv_cache_tokens`) and
``instant`` (no time at all, for unit tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from pitchcast.gpu_memory import GIB, MODEL_SHAPES, RUNTIME_OVERHEAD_GIB, ModelShape

__all__ = ["BLOCK_SIZE", "PROFILES", "Profile", "kv_cache_tokens", "profile_named"]

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
