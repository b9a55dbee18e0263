"""The command line: help that helps, secrets masked, clear errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pitchcast.cli import main

COMMANDS = [
    "config",
    "stack",
    "topics",
    "worker",
    "replay",
    "tail",
    "demo",
    "serve-llm",
    "dlq",
    "eval",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    """`pitchcast COMMAND --help` exits 0 and says something."""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) > 3


def test_config_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords and API keys never print; the redis URL password is masked too."""
    monkeypatch.setenv("PITCHCAST_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PITCHCAST_KAFKA_SASL_PASSWORD", "kafka-secret")
    monkeypatch.setenv("PITCHCAST_REDIS_URL", "redis://user:redis-secret@host:6379/0")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    for secret in ("sk-very-secret", "kafka-secret", "redis-secret"):
        assert secret not in result.output
    assert "PITCHCAST_LLM_API_KEY=**********" in result.output


def test_invalid_settings_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad persona is refused by name, with exit code 1."""
    monkeypatch.setenv("PITCHCAST_PERSONAS", "CASTER,COACH")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    assert "invalid settings" in result.output and "personas" in result.output


def test_serve_llm_dry_run_prints_a_sized_command() -> None:
    """With the GPU memory given, serve-llm prints the vllm command and its sizing."""
    result = CliRunner().invoke(main, ["serve-llm", "--gpu-memory-gib", "48", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "vllm serve skt/A.X-4.0-Light" in result.output
    assert "--enable-prefix-caching" in result.output and "--max-num-seqs 48" in result.output


def test_serve_llm_without_gpu_says_what_is_missing() -> None:
    """No torch/vllm/GPU here: a one-line error naming what is missing."""
    result = CliRunner().invoke(main, ["serve-llm"])
    assert result.exit_code == 1
    assert "Error:" in result.output and ("torch" in result.output or "GPU" in result.output)


def test_replay_rejects_a_bad_speed() -> None:
    """--speed must be positive."""
    result = CliRunner().invoke(main, ["replay", "data/events_metrica_1.csv", "--speed", "0"])
    assert result.exit_code == 2 and "--speed" in result.output


def test_config_prints_values_as_the_environment_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Personas as a comma list, booleans as true/false, unset values empty."""
    monkeypatch.setenv("PITCHCAST_PERSONAS", "CASTER, friend")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    assert "PITCHCAST_PERSONAS=CASTER,FRIEND" in lines
    assert "PITCHCAST_LLM_STREAM=true" in lines and "PITCHCAST_KAFKA_SASL_USERNAME=" in lines
    assert "PITCHCAST_LLM_API_KEY=" in lines  # unset secret: empty, not "None"
