"""The settings every command runs with, and where a command's log lines go."""

from __future__ import annotations

import logging

import pytest

from pitchcast.cli.options import settings_with
from pitchcast.logs import REDACTED


@pytest.mark.usefixtures("root_logging")
def test_a_command_logs_its_warnings_with_context_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command other than the worker (eval, replay, tail, dlq ...) prints a warning as
    the worker does: level, logger, event and every context field (a `hint` naming the
    setting to fix), secrets masked; on stderr, so stdout stays the command's output.
    Before, nothing configured logging there: Python printed the bare event name
    (`pitchcast.llm_refused`) and the hint never reached the user."""
    monkeypatch.setenv("PITCHCAST_LLM_API_KEY", "sk-cli-secret-1")
    monkeypatch.delenv("PITCHCAST_LOG_LEVEL", raising=False)
    settings_with()
    log = logging.getLogger("pitchcast.commentary")
    log.error(
        "pitchcast.llm_refused",
        extra={"status": 401, "hint": "check PITCHCAST_LLM_API_KEY", "key": "sk-cli-secret-1"},
    )
    log.info("pitchcast.some_progress")  # INFO is the worker's, not a command's
    out, err = capsys.readouterr()
    assert out == ""
    line = err.strip()
    assert "ERROR pitchcast.commentary pitchcast.llm_refused status=401" in line
    assert 'hint="check PITCHCAST_LLM_API_KEY"' in line
    assert "sk-cli-secret-1" not in err and f"key={REDACTED}" in line
    assert "pitchcast.some_progress" not in err


@pytest.mark.usefixtures("root_logging")
def test_a_command_logs_what_pitchcast_log_level_asks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PITCHCAST_LOG_LEVEL set by hand lowers it (INFO, DEBUG) for a command too; calling
    it twice (a command that loads its settings again) prints a line once."""
    monkeypatch.setenv("PITCHCAST_LOG_LEVEL", "INFO")
    settings_with()
    settings_with()
    logging.getLogger("pitchcast.replay").info("pitchcast.some_progress")
    _, err = capsys.readouterr()
    assert err.count("INFO pitchcast.replay pitchcast.some_progress") == 1


@pytest.mark.usefixtures("root_logging")
def test_a_bad_value_typed_as_an_option_names_the_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`eval --personas COACH` said only PITCHCAST_PERSONAS, a variable the user never set;
    a bad value from the environment still names the variable alone."""
    from click.testing import CliRunner

    from pitchcast.cli import main

    monkeypatch.delenv("PITCHCAST_PERSONAS", raising=False)
    typed = CliRunner().invoke(main, ["eval", "data/events_metrica_1.csv", "--personas", "COACH"])
    assert typed.exit_code == 1
    assert "--personas (PITCHCAST_PERSONAS): Input should be" in typed.output
    monkeypatch.setenv("PITCHCAST_PERSONAS", "COACH")
    from_env = CliRunner().invoke(main, ["eval", "data/events_metrica_1.csv"])
    assert from_env.exit_code == 1
    assert "settings: PITCHCAST_PERSONAS: Input should be" in from_env.output
