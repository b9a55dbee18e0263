"""What a served model costs in GPU memory: its weights and KV cache per token.

Shared by the ``vllm serve`` sizing (:mod:`pitchcast.cli.serving`) and the simulated
vLLM engine of the test LLM server (:mod:`pitchcast.testing.engine`), so both size the
same cards the same way. Pure data and arithmetic; no imports from pitchcast.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_MODEL_SHAPE",
    "GIB",
    "MODEL_SHAPES",
    "RUNTIME_OVERHEAD_GIB",
    "ModelShape",
    "shape_for",
]

GIB = 1024**3
# Activations at the profiled batch, CUDA graphs, sampler and tokenizer buffers.
RUNTIME_OVERHEAD_GIB = 2.0


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What the memory sizing needs to know about a model."""

    params_billions: float
    layers: int
    kv_heads: int
    head_dim: int
    weight_bytes: float = 2.0  # bf16 / fp16
    kv_bytes: float = 2.0  # KV cache in the model dtype (no fp8 KV)

    @property
    def weights_gib(self) -> float:
        return self.params_billions * 1e9 * self.weight_bytes / GIB

    @property
    def kv_bytes_per_token(self) -> float:
        return 2 * self.layers * self.kv_heads * self.head_dim * self.kv_bytes


# From the models' config.json (num_hidden_layers, num_key_value_heads, head size).
MODEL_SHAPES: dict[str, ModelShape] = {
    "qwen/qwen2.5-7b-instruct": ModelShape(7.6, 28, 4, 128),
    "lgai-exaone/exaone-3.5-7.8b-instruct": ModelShape(7.8, 32, 8, 128),
    "meta-llama/llama-3.1-8b-instruct": ModelShape(8.0, 32, 8, 128),
    # LG AI Research's 4-bit checkpoint (W4A16, group 128): 5.31 GB of safetensors for
    # 7.8 B parameters (embeddings in 16 bits), 0.68 bytes a parameter.
    "lgai-exaone/exaone-3.5-7.8b-instruct-awq": ModelShape(7.8, 32, 8, 128, weight_bytes=0.68),
}
# Unknown 7-8B models (skt/A.X-4.0-Light included): the larger KV of the common shapes.
DEFAULT_MODEL_SHAPE = ModelShape(8.0, 32, 8, 128)


def shape_for(model: str) -> ModelShape:
    """The shape of ``model`` (case-insensitive), or :data:`DEFAULT_MODEL_SHAPE`."""
    return MODEL_SHAPES.get(model.lower(), DEFAULT_MODEL_SHAPE)
