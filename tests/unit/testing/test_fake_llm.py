"""The fake OpenAI-compatible server (a test double): protocol, pacing, tokens, CLI."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from pitchcast.commentary.parsing import parse_answer
from pitchcast.commentary.prompt import LINE_CHARS, build_messages
from pitchcast.commentary.validation import validate_items
from pitchcast.testing.fake_llm import (
    FakeLLMServer,
    _parse_args,
    count_tokens,
    qwen_encoding,
    split_tokens,
)
from pitchcast.testing.faults import DEFAULT_RANDOM_FAULTS
from pitchcast.testing.profiles import PROFILES
from pitchcast.testing.qwen_tokens import IM_END, chat_token_ids
from tests.support.commentary_batches import korean_batch
from tests.support.llm import TEST_MODEL
from tests.support.utils import unavailable

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()


def _payload(**extra: object) -> dict[str, object]:
    return {
        "model": TEST_MODEL,
        "messages": build_messages(BATCH, "CASTER"),
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 600,
        **extra,
    }


def _sse_events(response: httpx.Response) -> list[dict]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            events.append(json.loads(line[6:]))
    return events


def test_models_route_and_unknown_model(fake_llm: FakeLLMServer) -> None:
    """GET /v1/models lists the served name; another model name gets vLLM's 404."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        assert client.get("/models").json()["data"][0]["id"] == TEST_MODEL
        response = client.post("/chat/completions", json=_payload(model="nope"))
    assert response.status_code == 404
    assert fake_llm.request_count == 1


def test_answers_are_valid_and_as_long_as_the_prompt_asks(fake_llm: FakeLLMServer) -> None:
    """The written lines validate for the batch and mostly sit in the asked length range."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        body = client.post("/chat/completions", json=_payload()).json()
    content = body["choices"][0]["message"]["content"]
    parsed = parse_answer(content)
    validate_items(BATCH, parsed)
    low, high = LINE_CHARS
    lengths = [len(item.text) for item in parsed]
    assert all(length <= high + 2 for length in lengths)
    assert sum(low <= length for length in lengths) >= 8
    usage = body["usage"]
    # vLLM counts the end-of-sequence token among the completion tokens.
    assert usage["completion_tokens"] == count_tokens(content) + 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_stream_usage_only_when_asked(fake_llm: FakeLLMServer) -> None:
    """Usage arrives in a last chunk without choices only with stream_options.include_usage."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        with client.stream("POST", "/chat/completions", json=_payload(stream=True)) as plain:
            plain_events = _sse_events(plain)
        asked = _payload(stream=True, stream_options={"include_usage": True})
        with client.stream("POST", "/chat/completions", json=asked) as with_usage:
            usage_events = _sse_events(with_usage)
    assert not any("usage" in e for e in plain_events)
    assert usage_events[-1]["choices"] == [] and usage_events[-1]["usage"]["completion_tokens"] > 0
    content = "".join(c["delta"].get("content", "") for e in usage_events for c in e["choices"])
    assert usage_events[-1]["usage"]["completion_tokens"] == count_tokens(content) + 1
    assert usage_events[-2]["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_cuts_the_answer(fake_llm: FakeLLMServer) -> None:
    """Like RunPod's default of 16: the answer stops at max_tokens with finish_reason length."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        body = client.post("/chat/completions", json=_payload(max_tokens=16)).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16


def test_max_model_len_refuses_as_vllm_does() -> None:
    """With max_model_len, prompt tokens plus max_tokens above it is vLLM's 400; the
    same prompt asking for fewer tokens is answered."""
    prompt = len(chat_token_ids(build_messages(BATCH, "CASTER")))
    with FakeLLMServer(max_model_len=prompt + 100) as server:
        url = f"{server.base_url}/chat/completions"
        refused = httpx.post(url, json=_payload(max_tokens=101), timeout=10)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["type"] == "BadRequestError" and error["code"] == 400
        assert error["message"].startswith(
            f"This model's maximum context length is {prompt + 100} tokens. However, you "
            f"requested {prompt + 101} tokens ({prompt} in the messages, 101 in the completion)"
        )
        assert httpx.post(url, json=_payload(max_tokens=100), timeout=10).status_code == 200
    assert _parse_args(["--max-model-len", "2048"]).max_model_len == 2048


def test_tokens_are_paced(fake_llm: FakeLLMServer) -> None:
    """Time to first token, then one token per tpot: the stream takes about ttft + n * tpot."""
    fake_llm.set_pacing(ttft_s=0.2, tpot_s=0.002)
    arrivals = []
    started = time.monotonic()
    with httpx.Client(base_url=fake_llm.base_url) as client:
        payload = _payload(stream=True, stream_options={"include_usage": True})
        with client.stream("POST", "/chat/completions", json=payload) as response:
            for line in response.iter_lines():
                if '"content": "' in line and '"content": ""' not in line:
                    arrivals.append(time.monotonic() - started)
                if '"usage"' in line:
                    tokens = json.loads(line[6:])["usage"]["completion_tokens"]
    assert arrivals[0] >= 0.2
    assert arrivals[-1] >= 0.2 + 0.002 * (tokens - 2)
    assert arrivals[-1] - arrivals[0] > 0.3


def test_requests_are_counted_and_recorded(fake_llm: FakeLLMServer) -> None:
    """Chat requests are counted and their bodies kept; /models does not count."""
    with httpx.Client(base_url=fake_llm.base_url) as client:
        client.get("/models")
        client.post("/chat/completions", json=_payload())
        client.post("/chat/completions", json=_payload(temperature=0.1))
    assert fake_llm.request_count == 2
    assert [r["temperature"] for r in fake_llm.requests] == [0.7, 0.1]
    fake_llm.reset()
    assert fake_llm.request_count == 0 and fake_llm.requests == []


def test_token_counts_match_dashscope_qwen_tokenizer() -> None:
    """Counts agree with dashscope's own Qwen tokenizer; split pieces join back to the text."""
    if qwen_encoding() is None:
        unavailable("tiktoken/dashscope not installed")
    from pathlib import Path

    try:
        import dashscope
        from dashscope.tokenizers import qwen_tokenizer as tokenizers
    except ImportError:
        unavailable("dashscope's Qwen tokenizer not installed")

    vocab = Path(dashscope.__file__).parent / "resources" / "qwen.tiktoken"
    reference = tokenizers.QwenTokenizer(str(vocab))
    for text in (
        "1|excited|{P2}가 오른쪽 측면을 단숨에 파고듭니다!\n",
        "n,m,team\n1,10,T1,P1,Pass,Successful,30.5,20,45.25,22",
        "It's  a  test's\r\n\n ok",
    ):
        assert count_tokens(text) == len(reference.encode(text))
        pieces = split_tokens(text)
        assert "".join(pieces) == text and len(pieces) == count_tokens(text)


def _first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The first line the process prints, waited for at most ``timeout_s``."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout_s)
    except queue.Empty:
        stderr = "" if process.poll() is None else (process.stderr.read() if process.stderr else "")
        pytest.fail(f"the CLI printed nothing in {timeout_s} s {stderr}")


def test_cli_serves_until_interrupted() -> None:
    """python -m pitchcast.testing.fake_llm prints its URL and profile, answers, and stops
    on SIGINT (startup waited for generously: imports and the vocabulary on a busy machine)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pitchcast.testing.fake_llm",
            "--port",
            "0",
            "--profile",
            "a40",
            "--time-scale",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = _first_line(process, timeout_s=90)
        assert "test double" in banner and "profile a40" in banner and "time scale 100" in banner
        match = re.search(r"(http://\S+/v1)", banner)
        assert match is not None
        base_url = match.group(1)
        assert httpx.get(base_url + "/models", timeout=30).status_code == 200
        stats = httpx.get(base_url + "/stats", timeout=30).json()
        assert stats["profile"]["name"] == "a40" and stats["engine"]["time_scale"] == 100
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # no orphan server; the failure says what it printed
            _, stderr = process.communicate()
            pytest.fail(f"still serving 60 s after SIGINT; stderr: {stderr[-2000:]}")
    assert process.returncode in (0, -signal.SIGINT)


def test_cli_refuses_fixed_pacing_with_a_timed_profile() -> None:
    """--ttft/--tpot replace the timing model, so the CLI refuses them with --profile a40."""
    result = subprocess.run(
        [sys.executable, "-m", "pitchcast.testing.fake_llm", "--profile", "a40", "--ttft", "0.2"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 2
    assert "--profile instant" in result.stderr


def test_a_continued_final_message_is_left_open() -> None:
    """continue_final_message: the last turn has no end token and no generation prompt
    follows, so the answer's tokens continue it (issue 15's forks)."""
    closed = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    prefilled = [*closed, {"role": "assistant", "content": "3|"}]
    open_ids = chat_token_ids(prefilled, continue_final=True)
    assert open_ids[-1] != IM_END
    assert open_ids[: len(chat_token_ids(closed)) - 2] == chat_token_ids(closed)[:-2]
    assert chat_token_ids(prefilled) != open_ids


def test_cli_takes_every_profile_and_the_faults_to_inject() -> None:
    """The README runs the server with --profile a40-awq (its table's profiles), and a
    checker against a slow or flaky server picks the faults --fault-rate injects."""
    for name in PROFILES:
        assert _parse_args(["--profile", name]).profile == name
    args = _parse_args(["--fault-rate", "0.3", "--faults", "hang, cut_stream,status"])
    assert args.faults == ("hang", "cut_stream", "status")
    assert _parse_args([]).faults == DEFAULT_RANDOM_FAULTS
    with pytest.raises(SystemExit):
        _parse_args(["--faults", "hang,stall"])


def test_random_slow_answers_take_the_pacing_the_cli_gives_them() -> None:
    """A RunPod-like endpoint: most answers on time, some queued for seconds first.
    ``--faults slow --slow-ttft S`` makes the slow ones wait S to their first token (a
    random slow fault used to carry no pacing of its own: the server's, i.e. no delay)."""
    args = _parse_args(["--fault-rate", "0.1", "--faults", "slow", "--slow-ttft", "3"])
    assert (args.slow_ttft, args.slow_tpot) == (3.0, None)
    with pytest.raises(SystemExit):  # slow answers with no pacing would not be slow
        _parse_args(["--fault-rate", "0.1", "--faults", "slow,status"])
    with (
        FakeLLMServer(
            model=TEST_MODEL, fault_rate=1.0, random_faults=("slow",), slow_ttft_s=0.4
        ) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        started = time.monotonic()
        with client.stream("POST", "/chat/completions", json=_payload(stream=True)) as response:
            # The first piece of answer (the role chunk comes at once, as headers do).
            for line in response.iter_lines():
                event = json.loads(line[6:]) if line.startswith("data: {") else {}
                if any(c["delta"].get("content") for c in event.get("choices", ())):
                    break
            first = time.monotonic() - started
    assert server.faults_applied == ["slow"]
    assert first >= 0.4


def test_help_gives_every_option_its_meaning_and_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README points users at `python -m pitchcast.testing.fake_llm --port 8000`:
    its --help says what each option does and its default (before, --host, --port,
    --seed and the profile overrides had neither)."""
    with pytest.raises(SystemExit):
        _parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for expected in (
        "--host HOST address to listen on (default: 127.0.0.1)",
        "--port PORT port to listen on (default: 8000)",
        "(default: instant)",
        "run the model this many times faster (default: 1)",
        "--max-num-seqs MAX_NUM_SEQS sequences decoded at once (default: the profile's)",
        "--kv-cache-tokens KV_CACHE_TOKENS",
        "seconds to the first token (default: 0)",
        "only accept this model name (default: any name)",
        "share of faulty answers (default: 0)",
        "--seed SEED seed of the random fault draws (default: 0)",
    ):
        assert expected in text, expected
