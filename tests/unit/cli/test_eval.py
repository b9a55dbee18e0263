"""`pitchcast eval` as a user runs it: what the terminal says when the LLM refuses."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from pitchcast.cli import main
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.commentary_batches import DATA
from tests.support.llm import TEST_MODEL


@pytest.mark.usefixtures("root_logging")
def test_a_wrong_route_is_explained_once_with_the_setting_to_fix(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --base-url without the server's /v1 route: every request is refused (HTTP 404).
    The terminal says which setting to check (the `hint` of `pitchcast.llm_refused`, as
    the worker's log has it), on stderr, without the API key; before, eval printed only
    the bare event names, one line per request."""
    monkeypatch.setenv("PITCHCAST_LLM_API_KEY", "sk-eval-secret-key")
    monkeypatch.delenv("PITCHCAST_LOG_LEVEL", raising=False)
    args = [
        "eval", str(DATA / "events_metrica_3.csv"), "--backend", "openai",
        "--base-url", fake_llm.base_url.replace("/v1", "/wrong/v1"), "--model", TEST_MODEL,
        "--max-actions", "12", "--personas", "CASTER", "--out", str(tmp_path), "--no-plots",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0
    refused = [line for line in result.stderr.splitlines() if "pitchcast.llm_refused" in line]
    assert len(refused) == 1, result.stderr
    assert "ERROR" in refused[0] and "status=404" in refused[0]
    assert "hint=" in refused[0] and "PITCHCAST_LLM_BASE_URL" in refused[0]
    assert "sk-eval-secret-key" not in result.output
    assert "pitchcast.llm" not in result.stdout  # the summary stays clean
    assert "from the LLM 0/" in result.stdout


def test_a_slice_without_a_repeated_shape_says_so_not_none(tmp_path: Path) -> None:
    """`--max-actions` (the README's short slice) can leave no sentence shape used twice:
    the shortest gap is then said as none, not as Python's `None lines` on the terminal
    and `None` in report.md."""
    args = [
        "eval", str(DATA / "events_metrica_3.csv"), "--max-actions", "12",
        "--personas", "CASTER", "--out", str(tmp_path), "--no-plots",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.stdout.splitlines() if line.startswith("CASTER"))
    assert "shortest gap none" in summary
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "None" not in report


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-actions", "0"),
        ("--max-actions", "-5"),
        ("--min-shape-gap", "0"),
        ("--max-shape-share", "1.5"),
    ],
)
def test_a_threshold_or_slice_out_of_range_is_refused(option: str, value: str) -> None:
    """`--max-actions 0` judged nothing and passed (exit 0), `--max-actions -5` judged the
    whole match but its last five actions; a share above 1 or a gap of 0 can never fail.
    Each is refused as a usage error naming the option."""
    args = ["eval", str(DATA / "events_metrica_3.csv"), option, value, "--no-plots"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert option in result.output


@pytest.mark.usefixtures("root_logging")
def test_the_default_report_folder_of_a_gzip_file_is_its_match_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # m.csv.gz wrote its report into .pitchcast/eval/m.csv.
    source = tmp_path / "events_metrica_3.csv.gz"
    source.write_bytes(gzip.compress((DATA / "events_metrica_3.csv").read_bytes()))
    monkeypatch.chdir(tmp_path)
    args = ["eval", source.name, "--max-actions", "12", "--personas", "CASTER", "--no-plots"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".pitchcast" / "eval" / "events_metrica_3" / "report.md").is_file()
