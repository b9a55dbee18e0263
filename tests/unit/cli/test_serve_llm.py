"""``pitchcast serve-llm``: a dry run on a machine without a GPU says how to size it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pitchcast.cli import main, serving


def test_a_dry_run_without_a_gpu_names_the_option_that_sizes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This machine has no torch and no GPU: the README's `serve-llm --dry-run` example
    # ends in an error, which must say what to give instead.
    monkeypatch.setattr(serving, "_module_available", lambda name: False)
    result = CliRunner().invoke(main, ["serve-llm", "--model", "skt/A.X-4.0-Light", "--dry-run"])
    assert result.exit_code == 1
    assert "torch and vllm not installed" in result.output
    assert "--gpu-memory-gib 48" in result.output


def test_serving_without_a_gpu_says_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "_module_available", lambda name: False)
    result = CliRunner().invoke(main, ["serve-llm"])
    assert result.exit_code == 1
    assert "torch and vllm not installed" in result.output
    assert "--gpu-memory-gib" not in result.output


def test_a_port_out_of_range_is_refused() -> None:
    # --port 99999 went into the printed `vllm serve` command.
    result = CliRunner().invoke(
        main, ["serve-llm", "--gpu-memory-gib", "48", "--dry-run", "--port", "99999"]
    )
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
