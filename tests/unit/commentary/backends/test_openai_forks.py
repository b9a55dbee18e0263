"""OpenAIBackend live forks against the fake server: one row each, one shared prompt."""

from __future__ import annotations

import asyncio

import pytest

from pitchcast.commentary.conversation import build_live_messages, fork_request
from pitchcast.commentary.validation import MAX_DESCRIPTION_CHARS
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.qwen_tokens import chat_token_ids
from tests.support.commentary_batches import korean_batch
from tests.support.llm import MakeBackend

pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch(4)
ROWS = [1, 2, 3, 4]


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_each_fork_writes_its_row_alone(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """Four forks at once: each answer holds the line of its own row, valid, names filled."""
    backend = make_backend(structured_output=structured)
    answers = await asyncio.gather(
        *(backend.write_rows(BATCH, "CASTER", [], ROWS, settled={}, fork=row) for row in ROWS)
    )
    for row, answer in zip(ROWS, answers, strict=True):
        assert list(answer.items) == [row] and answer.problems == ()
        assert answer.items[row].action_id == BATCH.actions[row - 1].action_id
        assert "{" not in answer.items[row].description and answer.raw[row]
    assert fake_llm.request_count == 4


async def test_json_forks_send_the_same_prompt_and_name_the_row_in_the_schema(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    backend = make_backend(structured_output=True)
    for row in ROWS:
        await backend.write_rows(BATCH, "CASTER", [], ROWS, settled={}, fork=row)
    requests = fake_llm.requests
    assert all(r["messages"] == requests[0]["messages"] for r in requests)
    assert requests[0]["messages"] == build_live_messages(
        BATCH, "CASTER", [], ROWS, structured=True
    )
    schemas = [r["response_format"]["json_schema"]["schema"] for r in requests]
    consts = [
        [item["prefixItems"][0]["const"] for item in s["properties"]["lines"]["prefixItems"]]
        for s in schemas
    ]
    assert consts == [[row] for row in ROWS]
    assert all("continue_final_message" not in r for r in requests)


async def test_line_forks_prefill_the_row_marker_and_stop_at_the_line_end(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Plain lines: the shared messages, then an assistant turn ``k|`` that vLLM continues;
    the prefix cache serves every fork but the first all the shared tokens."""
    backend = make_backend(structured_output=False)
    answers = []
    for row in ROWS:
        answers.append(await backend.write_rows(BATCH, "CASTER", [], ROWS, settled={}, fork=row))
    shared = build_live_messages(BATCH, "CASTER", [], ROWS, structured=False)
    for row, request in zip(ROWS, fake_llm.requests, strict=True):
        assert request["messages"] == [*shared, {"role": "assistant", "content": f"{row}|"}]
        assert request["continue_final_message"] is True
        assert request["add_generation_prompt"] is False
        assert request["stop"] == ["\n"]
    later = answers[1:]
    assert all(a.usage.cached_prompt_tokens >= a.usage.prompt_tokens - 32 for a in later)


def test_fork_request_leaves_json_prompts_alone() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert fork_request(messages, 3, structured=True) == (messages, {}, "")
    forked, extra, prefill = fork_request(messages, 3, structured=False)
    assert forked[:2] == messages and forked[2] == {"role": "assistant", "content": "3|"}
    assert prefill == "3|" and extra["continue_final_message"] is True


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_a_fork_asks_for_the_tokens_of_one_line_not_of_a_batch(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """vLLM refuses a request whose prompt plus max_tokens exceed its max_model_len. A
    fork writes one line (at most the line cap's characters), so it asks for that many
    tokens and some, not for PITCHCAST_LLM_MAX_TOKENS (sized for a batch of 10 lines):
    with a context that holds the prompt and one line, the fork is answered. A request
    for a whole batch still asks for the setting."""
    backend = make_backend(structured_output=structured)
    shared = build_live_messages(BATCH, "CASTER", [], ROWS, structured=structured)
    messages, _, _ = fork_request(shared, 3, structured=structured)
    prompt = len(chat_token_ids(messages, continue_final=not structured))
    fake_llm.max_model_len = prompt + 300
    try:
        answer = await backend.write_rows(BATCH, "CASTER", [], ROWS, settled={}, fork=3)
    finally:
        fake_llm.max_model_len = None
    assert list(answer.items) == [3] and answer.problems == ()
    asked = fake_llm.requests[-1]["max_tokens"]
    assert MAX_DESCRIPTION_CHARS <= asked <= 300
    await backend.write(korean_batch(10), "CASTER")
    assert fake_llm.requests[-1]["max_tokens"] == 600
