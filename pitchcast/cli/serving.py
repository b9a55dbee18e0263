"""``vllm serve`` flags for pitchcast's workload, sized from the GPU's memory.

The workload: prompts of ~3.1-3.7k tokens in batch mode (a static system prompt of
2.6-2.8k shared by every request of a persona, then the batch data; a repair turn adds
the first answer) and up to ~4.5k in live mode (a batch's whole conversation:
:data:`DEFAULT_MAX_MODEL_LEN`), answers of ~300 tokens capped at ``llm_max_tokens`` (600;
a live fork asks for 200), at most 6 matches x
3 personas at once, each match sending a batch every ~20 s that takes ~10 s to write
(so two batches of one match can overlap).

Sizing, in :func:`plan_vllm`:

* vLLM takes ``--gpu-memory-utilization`` (0.90) of the card; from that it keeps the
  weights (parameters x 2 bytes in bf16: ~14-15 GiB for a 7-8B model) and ~2 GiB of
  activations, CUDA graphs and sampler buffers; the rest is the KV cache;
* one sequence needs ``(own prompt + output) x KV bytes per token`` of KV cache, its
  own prompt being what follows the system prompt (:data:`OWN_PROMPT_TOKENS`). Per token:
  2 (K and V) x layers x KV heads x head size x 2 bytes. Qwen2.5-7B (28 layers, 4 KV
  heads, 128): 56 KiB; a Llama-shaped 8B with 8 KV heads (32 layers): 128 KiB, the
  default for models not listed in :data:`~pitchcast.gpu_memory.MODEL_SHAPES`. A 2,048
  + 600 token sequence is then 145-331 MiB;
* ``--max-num-seqs`` = how many such sequences fit, capped at :data:`WORKLOAD_MAX_SEQS`
  (6 matches x 3 personas x 2 overlapping batches = 36, plus repairs and warm-ups).
  More would only lengthen each decoding step. Prefix caching shares the system
  prompt's blocks between sequences (and a live lane's conversation between its forks),
  so the real headroom is larger than counted;
* ``--max-model-len`` below one batch-mode request (:data:`BATCH_PROMPT_TOKENS` + 600)
  is refused: vLLM would refuse every request.

On a 48 GB A40 (44.3 GiB visible): 39.9 GiB usable - 14.9 weights - 2 overhead = 23 GiB
of KV cache, ~70 sequences of an 8B model: the cap (48) applies. On a 24 GB card
(~22 GiB visible) only ~8 fit.

Faster decoding (what each buys, from the test server's profiles: README, "Live or
batch"; BENCHMARKS.md):

* **a 4-bit or 8-bit checkpoint**: serve it as the model (e.g.
  ``LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-AWQ``); vLLM reads its ``quantization_config``
  and picks the kernel (AWQ runs as ``awq_marlin`` on Ampere and newer). ``quantization``
  (``--quantization``) forces a method, e.g. ``fp8`` to quantize a bf16 checkpoint's
  weights at load: weight-only through FP8 Marlin on Ampere (A40), W8A8 on Hopper. The
  weights shrink (:data:`QUANTIZED_WEIGHT_BYTES`), so more KV cache fits;
* **speculative decoding** (``--speculative-config``, a JSON object with ``method``: an
  ``ngram`` prompt lookup, a draft model or an EAGLE head): passed through as given; no
  profile of the test server models it.

:func:`build_vllm_command` returns the argv; ``pitchcast serve-llm`` runs it. The API
key is never a flag (argv is visible to every user of the host): vLLM reads
``VLLM_API_KEY`` from its environment.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass, replace
from typing import Any

from pitchcast.exceptions import ConfigurationError
from pitchcast.gpu_memory import (
    DEFAULT_MODEL_SHAPE,
    GIB,
    MODEL_SHAPES,
    RUNTIME_OVERHEAD_GIB,
    ModelShape,
    shape_for,
)

__all__ = [
    "DEFAULT_MODEL_SHAPE",
    "MODEL_SHAPES",
    "QUANTIZATION_METHODS",
    "QUANTIZED_WEIGHT_BYTES",
    "STRUCTURED_OUTPUTS_CONFIG",
    "WORKLOAD_MAX_SEQS",
    "ModelShape",
    "VllmPlan",
    "build_vllm_command",
    "detect_gpu_memory_gib",
    "plan_vllm",
]

#: ``--structured-outputs-config``; also the RunPod / compose value (docs/operations.md).
STRUCTURED_OUTPUTS_CONFIG = {"backend": "xgrammar", "disable_any_whitespace": True}
WORKLOAD_MAX_SEQS = 48
#: ``--quantization`` values offered (vLLM's names: ``QuantizationMethods`` in
#: vllm/model_executor/layers/quantization/__init__.py). ``awq_marlin`` / ``gptq_marlin``
#: for 4-bit checkpoints (vLLM picks them itself for such a checkpoint), ``fp8`` for 8-bit
#: weights (a bf16 checkpoint is quantized at load).
QUANTIZATION_METHODS = ("awq_marlin", "gptq_marlin", "fp8")
#: Bytes a parameter with each method, embeddings kept in 16 bits: EXAONE-3.5-7.8B AWQ
#: is 5.31 GB for 7.8 B parameters; Qwen2.5-7B with FP8 linear layers 8.7 GB for 7.6 B.
QUANTIZED_WEIGHT_BYTES = {"awq_marlin": 0.68, "gptq_marlin": 0.68, "fp8": 1.15}
DEFAULT_GPU_MEMORY_UTILIZATION = 0.90
#: A sequence's own prompt blocks in the KV cache: a batch's data and a repair's turn
#: (batch mode), a live lane's conversation past the system prompt; the system prompt's
#: blocks are one copy per voice, shared by prefix caching (which serve-llm turns on).
OWN_PROMPT_TOKENS = 2048
OUTPUT_TOKENS = 600
#: The longest batch-mode prompt, whole: the system prompt (2.6-2.8k tokens) and a batch.
#: Measured with Qwen2.5's tokenizer over the 247 batches of the sample matches, every
#: voice, structured or not, a backing FRIEND's too: 3,705 tokens at most.
BATCH_PROMPT_TOKENS = 3800
#: ``--max-model-len``: the longest request, prompt plus max_tokens. Live mode's prompt
#: is a batch's whole conversation so far (system prompt ~2.9k tokens, then ~130 a
#: line): a line per action late in a sample match reaches ~4.5k, plus a fork's 200.
#: 4096 held a batch-mode prompt but refused the last forks of every batch.
DEFAULT_MAX_MODEL_LEN = 8192


@dataclass(frozen=True, slots=True)
class VllmPlan:
    """The sizing behind a ``vllm serve`` command, for logs and ``--help`` output."""

    model: str
    served_model_name: str
    gpu_memory_gib: float
    gpu_memory_utilization: float
    max_model_len: int
    max_num_seqs: int
    sequences_that_fit: int
    weights_gib: float
    kv_cache_gib: float
    kv_per_sequence_mib: float
    dtype: str

    def explain(self) -> str:
        """One line per figure, in the order of the sizing."""
        return "\n".join(
            (
                f"GPU memory {self.gpu_memory_gib:.1f} GiB x {self.gpu_memory_utilization:.2f}"
                f" utilization = {self.gpu_memory_gib * self.gpu_memory_utilization:.1f} GiB",
                f"weights {self.weights_gib:.1f} GiB + runtime {RUNTIME_OVERHEAD_GIB:.1f} GiB;"
                f" KV cache {self.kv_cache_gib:.1f} GiB",
                f"KV per sequence ({OWN_PROMPT_TOKENS} own prompt + {OUTPUT_TOKENS} output tokens)"
                f" {self.kv_per_sequence_mib:.0f} MiB: {self.sequences_that_fit} fit",
                f"--max-num-seqs {self.max_num_seqs} (workload cap {WORKLOAD_MAX_SEQS})",
            )
        )


def plan_vllm(
    gpu_memory_gib: float,
    model: str,
    served_model_name: str,
    max_model_len: int = DEFAULT_MAX_MODEL_LEN,
    *,
    shape: ModelShape | None = None,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    dtype: str = "bfloat16",
    quantization: str | None = None,
) -> VllmPlan:
    """Size the server for this workload (see the module docstring).

    Raises :class:`ConfigurationError` when the model and one full-length sequence do
    not fit in the memory given, or for a quantization method not offered.
    """
    if gpu_memory_gib <= 0:
        raise ConfigurationError(f"GPU memory must be positive, got {gpu_memory_gib} GiB")
    if not 0 < gpu_memory_utilization <= 1:
        raise ConfigurationError("gpu_memory_utilization must be in (0, 1]")
    if max_model_len < BATCH_PROMPT_TOKENS + OUTPUT_TOKENS:
        raise ConfigurationError(
            f"max_model_len {max_model_len} is below one batch-mode request: a prompt of up"
            f" to {BATCH_PROMPT_TOKENS} tokens and {OUTPUT_TOKENS} of answer (live mode needs"
            f" more: the default is {DEFAULT_MAX_MODEL_LEN})"
        )
    shape = shape or shape_for(model)
    if quantization is not None:
        if quantization not in QUANTIZED_WEIGHT_BYTES:
            raise ConfigurationError(
                f"quantization {quantization!r} is not one of {', '.join(QUANTIZATION_METHODS)}"
            )
        bytes_per_param = min(shape.weight_bytes, QUANTIZED_WEIGHT_BYTES[quantization])
        shape = replace(shape, weight_bytes=bytes_per_param)
    usable_gib = gpu_memory_gib * gpu_memory_utilization
    kv_cache_gib = usable_gib - shape.weights_gib - RUNTIME_OVERHEAD_GIB
    per_sequence_bytes = (OWN_PROMPT_TOKENS + OUTPUT_TOKENS) * shape.kv_bytes_per_token
    full_length_gib = max_model_len * shape.kv_bytes_per_token / GIB
    if kv_cache_gib < full_length_gib:
        raise ConfigurationError(
            f"{model} does not fit on {gpu_memory_gib:.1f} GiB: {usable_gib:.1f} GiB usable,"
            f" weights {shape.weights_gib:.1f} GiB + runtime {RUNTIME_OVERHEAD_GIB:.1f} GiB leave"
            f" {kv_cache_gib:.1f} GiB of KV cache, one {max_model_len}-token sequence needs"
            f" {full_length_gib:.2f} GiB; use a larger GPU, a quantized model or a shorter"
            " --max-model-len"
        )
    fit = math.floor(kv_cache_gib * GIB / per_sequence_bytes)
    return VllmPlan(
        model=model,
        served_model_name=served_model_name,
        gpu_memory_gib=gpu_memory_gib,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
        max_num_seqs=max(1, min(fit, WORKLOAD_MAX_SEQS)),
        sequences_that_fit=fit,
        weights_gib=shape.weights_gib,
        kv_cache_gib=kv_cache_gib,
        kv_per_sequence_mib=per_sequence_bytes / 1024**2,
        dtype=dtype,
    )


def build_vllm_command(
    gpu_memory_gib: float,
    model: str,
    served_model_name: str,
    max_model_len: int = DEFAULT_MAX_MODEL_LEN,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    shape: ModelShape | None = None,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    dtype: str = "bfloat16",
    quantization: str | None = None,
    speculative_config: dict[str, Any] | None = None,
) -> list[str]:
    """The ``vllm serve`` argv for this workload on a GPU of ``gpu_memory_gib``.

    ``dtype`` bfloat16 suits Ampere and newer (A40, A100, L40, H100); pre-Ampere cards
    (T4, V100) need ``"half"``. Structured outputs use the xgrammar backend with
    whitespace disabled, so a JSON answer costs no indentation tokens. (vLLM refuses
    ``disable_any_whitespace`` with ``backend: auto``: only xgrammar and guidance support
    it, see ``vllm/config/structured_outputs.py``.) ``quantization`` and
    ``speculative_config`` add ``--quantization`` and ``--speculative-config`` (module
    docstring); without them the argv is the compose file's.
    """
    plan = plan_vllm(
        gpu_memory_gib,
        model,
        served_model_name,
        max_model_len,
        shape=shape,
        gpu_memory_utilization=gpu_memory_utilization,
        dtype=dtype,
        quantization=quantization,
    )
    if speculative_config is not None and not isinstance(speculative_config.get("method"), str):
        raise ConfigurationError(
            'the speculative config needs a "method" (e.g. {"method": "ngram", '
            '"num_speculative_tokens": 3, "prompt_lookup_max": 4})'
        )
    structured = json.dumps(STRUCTURED_OUTPUTS_CONFIG, separators=(",", ":"))
    extra: list[str] = []
    if quantization is not None:
        extra += ["--quantization", quantization]
    if speculative_config is not None:
        extra += ["--speculative-config", json.dumps(speculative_config, separators=(",", ":"))]
    return [
        "vllm",
        "serve",
        model,
        "--served-model-name",
        served_model_name,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        dtype,
        "--max-model-len",
        str(max_model_len),
        "--max-num-seqs",
        str(plan.max_num_seqs),
        "--gpu-memory-utilization",
        f"{gpu_memory_utilization:.2f}",
        # On by default in vLLM V1; explicit so an older or changed default cannot
        # silently drop the reuse of the static system prompt.
        "--enable-prefix-caching",
        "--structured-outputs-config",
        structured,
        *extra,
    ]


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def detect_gpu_memory_gib(device: int = 0) -> float:
    """Total memory of CUDA device ``device`` in GiB, read through torch.

    Raises :class:`ConfigurationError` naming what is missing: torch, vllm (both come
    with ``pip install -e ".[gpu]"`` in the checkout) or a CUDA GPU visible to torch.
    """
    missing = [name for name in ("torch", "vllm") if not _module_available(name)]
    if missing:
        raise ConfigurationError(
            f"cannot serve the model here: {' and '.join(missing)} not installed"
            ' (pip install -e ".[gpu]" in the checkout, on a machine with an NVIDIA GPU)'
        )
    import torch  # only on GPU hosts

    if not torch.cuda.is_available():
        raise ConfigurationError(
            "cannot serve the model here: torch sees no CUDA GPU"
            " (torch.cuda.is_available() is False: no GPU, no driver, or a CPU-only torch)"
        )
    count = torch.cuda.device_count()
    if not 0 <= device < count:
        raise ConfigurationError(f"no CUDA device {device}: torch sees {count}")
    return float(torch.cuda.get_device_properties(device).total_memory) / GIB
