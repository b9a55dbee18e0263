"""``pitchcast serve-llm``: vLLM's OpenAI-compatible server, sized for this workload."""

from __future__ import annotations

import json

import click

from pitchcast.cli.options import clear_errors, option, settings_with
from pitchcast.cli.serving import DEFAULT_MAX_MODEL_LEN, QUANTIZATION_METHODS

__all__ = ["serve_llm"]


@click.command("serve-llm", short_help="vLLM sized for this workload (GPU hosts).")
@option("--model", setting="llm_model", help="Hugging Face model to serve.")
@option("--served-model-name", default_text="--model", help="Name clients send as `model`.")
@option("--host", default="0.0.0.0", help="Address to listen on.")
@option("--port", type=click.IntRange(1, 65535), default=8000, help="Port to listen on.")
@option(
    "--max-model-len",
    type=int,
    default=DEFAULT_MAX_MODEL_LEN,
    help="Longest prompt + answer, in tokens (a live batch's conversation reaches ~4.7k).",
)
@option("--gpu-memory-gib", type=float, default_text="read via torch",
        help="Size for this much GPU memory.")  # fmt: skip
@option("--dtype", default="bfloat16", help="`half` before Ampere.")
@option("--quantization", type=click.Choice(QUANTIZATION_METHODS), default_text="the checkpoint's",
        help="Force vLLM's method: fp8 quantizes a bf16 checkpoint's weights at load.")  # fmt: skip
@option("--speculative-config", "speculative", default_text="off",
        help='vLLM speculative decoding, JSON: {"method": "ngram", ...}.')  # fmt: skip
@option("--dry-run", is_flag=True, help="Print the command and its sizing; do not run it.")
def serve_llm(
    model: str | None,
    served_model_name: str | None,
    host: str,
    port: int,
    max_model_len: int,
    gpu_memory_gib: float | None,
    dtype: str,
    quantization: str | None,
    speculative: str | None,
    dry_run: bool,
) -> None:
    """Run vLLM's OpenAI-compatible server sized for this workload (GPU hosts).

    Needs the `gpu` extra (`pip install -e ".[gpu]"`) and an NVIDIA GPU. Sizes
    --max-num-seqs and --gpu-memory-utilization from the GPU's memory, turns on prefix
    caching (the static system prompts) and structured outputs. Point workers at it
    with PITCHCAST_LLM_BACKEND=openai and PITCHCAST_LLM_BASE_URL=http://HOST:PORT/v1.

    A 4-bit or 8-bit checkpoint decodes faster (README, "Live or batch"): serve it as
    --model (vLLM reads its quantization), or quantize a bf16 one with --quantization fp8.

    \b
    Examples:
      pitchcast serve-llm
      pitchcast serve-llm --gpu-memory-gib 24 --dry-run
      pitchcast serve-llm --model LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-AWQ
      pitchcast serve-llm --model Qwen/Qwen2.5-7B-Instruct --quantization fp8
    """
    import os
    import shlex
    import shutil

    from pitchcast.cli.serving import build_vllm_command, detect_gpu_memory_gib, plan_vllm
    from pitchcast.exceptions import ConfigurationError

    model = model or settings_with().llm_model
    served = served_model_name or model
    try:
        spec = json.loads(speculative) if speculative else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--speculative-config") from None
    if spec is not None and not isinstance(spec, dict):
        raise click.BadParameter("a JSON object", param_hint="--speculative-config")
    with clear_errors():
        try:
            memory = gpu_memory_gib if gpu_memory_gib is not None else detect_gpu_memory_gib()
        except ConfigurationError as error:
            if not dry_run:
                raise
            # A dry run needs no GPU, only its size: say how to give it.
            raise ConfigurationError(
                f"{error}; for a dry run without a GPU give its memory, e.g. "
                "--gpu-memory-gib 48 (an A40)"
            ) from error
        plan = plan_vllm(
            memory, model, served, max_model_len, dtype=dtype, quantization=quantization
        )
        command = build_vllm_command(
            memory,
            model,
            served,
            max_model_len,
            host=host,
            port=port,
            dtype=dtype,
            quantization=quantization,
            speculative_config=spec,
        )
    click.echo(plan.explain())
    click.echo(shlex.join(command))
    if dry_run:
        return
    if shutil.which(command[0]) is None:
        raise click.ClickException(
            "vllm is not installed: pip install -e '.[gpu]' on a machine with an NVIDIA GPU"
        )
    # vLLM reads its API key from VLLM_API_KEY in the environment, never from argv.
    os.execvp(command[0], command)
