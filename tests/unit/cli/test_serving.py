"""vllm serve flags sized from GPU memory, and GPU detection errors."""

from __future__ import annotations

import json
import sys
import types

import pytest

from pitchcast.cli import serving
from pitchcast.cli.serving import (
    WORKLOAD_MAX_SEQS,
    ModelShape,
    build_vllm_command,
    detect_gpu_memory_gib,
    plan_vllm,
)
from pitchcast.commentary.conversation import LiveTurn, render_answer
from pitchcast.commentary.prompt import build_messages
from pitchcast.exceptions import ConfigurationError
from pitchcast.schemas.records import CommentaryItem
from pitchcast.settings import PERSONAS
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.qwen_tokens import chat_token_ids
from tests.support.commentary_batches import sample_batches
from tests.support.llm import MakeBackend

A40_GIB = 44.3  # what torch reports for a 48 GB A40


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_a40_command_has_every_flag_the_workload_needs() -> None:
    """Model, served name, prefix caching, structured outputs, lengths, sequences, dtype."""
    argv = build_vllm_command(A40_GIB, "skt/A.X-4.0-Light", "ax-light", 8192, port=8011)
    assert argv[:3] == ["vllm", "serve", "skt/A.X-4.0-Light"]
    assert _flag(argv, "--served-model-name") == "ax-light"
    assert _flag(argv, "--max-model-len") == "8192"
    assert _flag(argv, "--dtype") == "bfloat16"
    assert _flag(argv, "--gpu-memory-utilization") == "0.90"
    assert _flag(argv, "--port") == "8011"
    assert "--enable-prefix-caching" in argv
    structured = json.loads(_flag(argv, "--structured-outputs-config"))
    # vLLM allows disable_any_whitespace with xgrammar or guidance only (not "auto").
    assert structured == {"backend": "xgrammar", "disable_any_whitespace": True}
    # ~70 sequences of an 8B model fit in 23 GiB of KV cache: the workload cap applies.
    assert _flag(argv, "--max-num-seqs") == str(WORKLOAD_MAX_SEQS)
    assert not any("key" in part.lower() for part in argv)


def test_a24_gib_card_fits_fewer_sequences() -> None:
    """A 24 GB card leaves ~3 GiB of KV cache: about 8 sequences of 2,648 tokens."""
    plan = plan_vllm(22.0, "skt/A.X-4.0-Light", "ax")
    assert plan.max_num_seqs == plan.sequences_that_fit == 8
    assert plan.kv_cache_gib == pytest.approx(22.0 * 0.9 - plan.weights_gib - 2.0)
    assert "--max-num-seqs 8" in plan.explain()


def test_a_smaller_kv_per_token_fits_more_sequences() -> None:
    """Qwen2.5-7B's 4 KV heads need less KV cache per token than the 8-head default."""
    qwen = plan_vllm(22.0, "Qwen/Qwen2.5-7B-Instruct", "qwen")
    default = plan_vllm(22.0, "some/unknown-8b", "x")
    assert qwen.kv_per_sequence_mib < default.kv_per_sequence_mib
    assert qwen.sequences_that_fit > default.sequences_that_fit
    custom = plan_vllm(22.0, "x", "x", shape=ModelShape(3.0, 20, 2, 64))
    assert custom.max_num_seqs == WORKLOAD_MAX_SEQS


def test_a_model_that_does_not_fit_is_a_clear_error() -> None:
    """16 GiB cannot hold an 8B model in bf16 plus its runtime: the error gives the numbers."""
    with pytest.raises(ConfigurationError, match=r"does not fit on 16.0 GiB.*weights 14.9 GiB"):
        plan_vllm(16.0, "skt/A.X-4.0-Light", "ax")


def test_max_model_len_must_hold_a_batch() -> None:
    """A context shorter than one prompt plus its answer is refused."""
    with pytest.raises(ConfigurationError, match="max_model_len 2048"):
        plan_vllm(A40_GIB, "skt/A.X-4.0-Light", "ax", 2048)


def test_detection_names_missing_torch_and_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without torch and vllm the error names both and how to install them: from the
    checkout, as the README and `serve-llm --help` say (it said `pip install
    'pitchcast[gpu]'`, which asks a package index for pitchcast)."""
    monkeypatch.setattr(serving, "_module_available", lambda name: False)
    with pytest.raises(ConfigurationError, match="torch and vllm not installed") as caught:
        detect_gpu_memory_gib()
    assert 'pip install -e ".[gpu]"' in str(caught.value)


def _fake_torch(available: bool, total_bytes: int = 0) -> types.ModuleType:
    torch = types.ModuleType("torch")
    properties = types.SimpleNamespace(total_memory=total_bytes)
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: available,
        device_count=lambda: 1 if available else 0,
        get_device_properties=lambda device: properties,
    )
    return torch


def test_detection_without_a_gpu_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch installed but no CUDA device: the error says torch sees no CUDA GPU."""
    monkeypatch.setattr(serving, "_module_available", lambda name: True)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(False))
    with pytest.raises(ConfigurationError, match="torch sees no CUDA GPU"):
        detect_gpu_memory_gib()


def test_detection_reads_total_memory_in_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a GPU, the device's total memory comes back in GiB."""
    monkeypatch.setattr(serving, "_module_available", lambda name: True)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(True, 48 * 1024**3))
    assert detect_gpu_memory_gib() == pytest.approx(48.0)
    with pytest.raises(ConfigurationError, match="no CUDA device 3"):
        detect_gpu_memory_gib(3)


def test_fp8_weights_leave_more_kv_cache_and_pass_the_flag() -> None:
    """--quantization fp8 on a bf16 Qwen2.5-7B: 1.15 bytes a parameter instead of 2, so
    ~6 GiB more KV cache on an A40; the flag goes to vLLM as given."""
    bf16 = plan_vllm(A40_GIB, "Qwen/Qwen2.5-7B-Instruct", "q")
    fp8 = plan_vllm(A40_GIB, "Qwen/Qwen2.5-7B-Instruct", "q", quantization="fp8")
    assert bf16.weights_gib - fp8.weights_gib == pytest.approx(7.6e9 * 0.85 / 2**30)
    assert fp8.sequences_that_fit > bf16.sequences_that_fit
    argv = build_vllm_command(A40_GIB, "Qwen/Qwen2.5-7B-Instruct", "q", quantization="fp8")
    assert _flag(argv, "--quantization") == "fp8"
    assert "--quantization" not in build_vllm_command(A40_GIB, "Qwen/Qwen2.5-7B-Instruct", "q")


def test_an_awq_checkpoint_is_sized_by_its_own_weights() -> None:
    """EXAONE-3.5-7.8B-Instruct-AWQ: 5.31 GB of weights; no flag needed (vLLM reads the
    checkpoint's quantization_config)."""
    plan = plan_vllm(A40_GIB, "LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-AWQ", "exaone")
    assert plan.weights_gib == pytest.approx(7.8e9 * 0.68 / 2**30)
    with pytest.raises(ConfigurationError, match="not one of"):
        plan_vllm(A40_GIB, "x", "x", quantization="int3")


def test_speculative_decoding_is_passed_through_as_compact_json() -> None:
    spec = {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4}
    argv = build_vllm_command(A40_GIB, "m", "m", speculative_config=spec)
    assert json.loads(_flag(argv, "--speculative-config")) == spec
    with pytest.raises(ConfigurationError, match="method"):
        build_vllm_command(A40_GIB, "m", "m", speculative_config={"num_speculative_tokens": 3})


@pytest.mark.usefixtures("instant_retries")
@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_the_default_context_holds_a_live_batch_to_its_last_line(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """Live mode's conversation grows for a whole batch (a line per action: ten turns).
    Late in a match (the story holds its goals and cards), every fork of the batch, in
    every voice, is answered by a server started with serve-llm's default
    --max-model-len (the test server refuses prompt + max_tokens above it, as vLLM
    does). 4096 held a batch-mode prompt but not this: the last forks were refused."""
    batch = sample_batches()[-1]
    fake_llm.max_model_len = plan_vllm(A40_GIB, "skt/A.X-4.0-Light", "ax").max_model_len
    backend = make_backend(structured_output=structured)
    try:
        for persona in PERSONAS:
            turns: list[LiveTurn] = []
            settled: dict[int, CommentaryItem] = {}
            for row in range(1, len(batch.actions) + 1):
                answer = await backend.write_rows(
                    batch, persona, turns, [row], settled=settled, fork=row
                )
                assert list(answer.items) == [row], (persona, row, answer.problems)
                item = settled[row] = answer.items[row]
                turn = render_answer([(row, item.tone, answer.raw[row])], structured=structured)
                turns.append(LiveTurn((row,), turn))
    finally:
        fake_llm.max_model_len = None


def _shortest_context_accepted() -> int:
    """The smallest --max-model-len plan_vllm takes (it refuses the ones below)."""
    low, high = 1, 65_536
    while low < high:
        middle = (low + high) // 2
        try:
            plan_vllm(A40_GIB, "skt/A.X-4.0-Light", "ax", middle)
        except ConfigurationError:
            low = middle + 1
        else:
            high = middle
    return low


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_the_shortest_context_accepted_holds_a_batch_request(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """serve-llm refuses a --max-model-len that cannot hold one batch-mode request
    (system prompt, a batch late in a match, max_tokens), and the shortest it accepts
    does hold one in every voice. It checked 2,048 + 600 tokens, below the system
    prompt (~2.6-2.9k tokens) and a batch: a server started with --max-model-len 2700
    refused every request."""
    fake_llm.max_model_len = _shortest_context_accepted()
    backend = make_backend(structured_output=structured)
    batch = sample_batches()[-1]
    try:
        for persona in PERSONAS:
            result = await backend.write(batch, persona)
            assert len(result.items) == len(batch.actions), persona
    finally:
        fake_llm.max_model_len = None


def test_the_batch_prompt_bound_holds_every_sample_batch_and_is_not_stale() -> None:
    """BATCH_PROMPT_TOKENS bounds every batch-mode prompt of the sample matches, in every
    voice (a backing FRIEND's too), by Qwen2.5's tokenizer, and is within 10% of the
    longest: a prompt that grew past it, or shrank far below it, shows here."""
    longest = 0
    for batch in sample_batches():
        info = batch.match_info
        backers = [""] + ([str(info.home_team_id), str(info.away_team_id)] if info else [])
        for persona in PERSONAS:
            for structured in (True, False):
                for supports in backers if persona == "FRIEND" else [""]:
                    messages = build_messages(
                        batch, persona, structured=structured, supports=supports
                    )
                    longest = max(longest, len(chat_token_ids(messages)))
    assert longest <= serving.BATCH_PROMPT_TOKENS <= longest * 1.1, longest
