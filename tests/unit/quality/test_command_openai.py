"""`pitchcast eval` with the openai backend on the fake LLM server: latency and tokens."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from pitchcast.cli import main
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.commentary_batches import DATA
from tests.support.llm import TEST_MODEL

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")


def run_eval(server: FakeLLMServer, out: Path, mode: str) -> tuple[int, dict]:
    args = [
        "eval", str(DATA / "events_metrica_3.csv"), "--backend", "openai",
        "--base-url", server.base_url, "--model", TEST_MODEL, "--mode", mode,
        "--max-actions", "24", "--personas", "CASTER,FRIEND", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, orjson.loads((out / "figures.json").read_bytes())


@pytest.mark.parametrize(
    "mode",
    ["batch", "live"],
)
def test_server_lines_carry_latency_and_tokens(
    fake_llm: FakeLLMServer, tmp_path: Path, mode: str
) -> None:
    """Every line comes from the server, with its latency from the request's start (at
    least the time to the first token) and its share of the completion tokens."""
    fake_llm.set_pacing(ttft_s=0.05, tpot_s=0.0005)
    code, figures = run_eval(fake_llm, tmp_path, mode)
    assert code == 0
    for persona in ("CASTER", "FRIEND"):
        fig = figures["personas"][persona]
        server = fig["server"]
        assert fig["lines"] == 24 and fig["sources"] == {"llm": 24}
        assert server["llm_lines"] == 24 and len(server["latencies"]) == 24
        assert server["fallback_requests"] == 0
        assert min(server["latencies"]) >= 0.05
        assert server["latency_s"]["p50"] <= server["latency_s"]["max"]
        assert 5 < server["tokens_per_line"]["mean"] < 80
        assert server["completion_tokens"] > 0 and server["prompt_tokens"] > 0
        assert fig["grounding"]["errors"] == 0 and fig["particles"]["errors"] == 0
        if mode == "live":  # bursts are forks: the burst check leaves no LLM repeat
            assert fig["burst_repeats"]["llm_repeated_pairs"] == 0, fig["burst_repeats"]
    assert (tmp_path / "latency.png").stat().st_size > 1000
    assert "**Server.**" in (tmp_path / "report.md").read_text()


def test_template_fallback_lines_have_no_tokens(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    """When the server fails, the template's lines are counted apart, without tokens."""
    fake_llm.set_pacing(ttft_s=0.0, tpot_s=0.0)
    fake_llm.fault_rate = 1.0
    fake_llm.random_faults = ("status",)
    try:
        code, figures = run_eval(fake_llm, tmp_path, "batch")
    finally:
        fake_llm.fault_rate = 0.0
    assert code == 0
    server = figures["personas"]["CASTER"]["server"]
    assert figures["personas"]["CASTER"]["sources"] == {"template": 24}
    assert server["llm_lines"] == 0 and server["fallback_requests"] == server["requests"]
    assert server["tokens_per_line"]["mean"] is None


def test_an_endpoint_that_does_not_answer_is_said_on_the_terminal(tmp_path: Path) -> None:
    """A wrong --base-url: the template writes every line and eval passes, so the
    terminal says the LLM wrote none of them and why (before, only report.md did)."""
    from tests.support.redis_fixtures import free_port

    args = [
        "eval", str(DATA / "events_metrica_3.csv"), "--backend", "openai",
        "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--model", TEST_MODEL,
        "--max-actions", "12", "--personas", "CASTER", "--out", str(tmp_path), "--no-plots",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    summary = next(line for line in result.output.splitlines() if line.startswith("CASTER"))
    assert "from the LLM 0/" in summary
    assert "template fallbacks: " in summary
