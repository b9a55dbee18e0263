"""Constants and helpers of the LLM tests (imported by llm_fixtures.py and the tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from pitchcast.commentary.backends.openai import OpenAIBackend, OpenAIConfig
from pitchcast.schemas.records import CommentaryItem
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.fake_writer import read_prompt, requested_rows, schema_rows

__all__ = [
    "TEST_API_KEY",
    "TEST_MODEL",
    "THREE_GOOD_LINES",
    "ItemRecorder",
    "MakeBackend",
    "asked_rows",
    "completion_body",
    "config_for",
    "last_user_message",
    "mock_transport_backend",
]

TEST_MODEL = "pitchcast-test-model"
# Looks like a real key so that a leak would be visible in any message or log.
TEST_API_KEY = "rpa_TESTKEY_5f1c0e9d8b7a6c5d4e3f2a1b"

MakeBackend = Callable[..., OpenAIBackend]


def config_for(server: FakeLLMServer, **overrides: Any) -> OpenAIConfig:
    """A backend config pointing at ``server``, with short timeouts for tests."""
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "model": TEST_MODEL,
        "api_key": SecretStr(TEST_API_KEY),
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
        "batch_deadline_s": 10.0,
        "min_attempt_s": 0.05,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "backoff_jitter_s": 0.05,
    }
    values.update(overrides)
    return OpenAIConfig(**values)


def asked_rows(server: FakeLLMServer) -> list[tuple[int, str]]:
    """The rows ``server`` was asked to write, over every chat request in order: each as
    its number in its batch (1-based) and its event type (requests without action
    rows, such as a warm-up, ask for none)."""
    asked: list[tuple[int, str]] = []
    for payload in server.requests:
        prompt = read_prompt(payload["messages"])
        if prompt is None:
            continue
        rows = schema_rows(payload.get("response_format"))
        if rows is None:
            rows = requested_rows(payload["messages"], prompt)
        asked += [(row, prompt.actions.get(row, {}).get("type", "")) for row in rows]
    return asked


class ItemRecorder:
    """An on_item callback that keeps what it got and when."""

    def __init__(self) -> None:
        self.items: list[CommentaryItem] = []
        self.times: list[float] = []

    async def __call__(self, item: CommentaryItem) -> None:
        self.items.append(item)
        self.times.append(time.monotonic())

    @property
    def action_ids(self) -> list[int]:
        return [item.action_id for item in self.items]


def last_user_message(request: dict[str, Any]) -> str:
    """The last user message of a chat request's payload (the batch, or a repair's review)."""
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


def mock_transport_backend(
    handler: Callable[[httpx.Request], httpx.Response], **overrides: object
) -> tuple[OpenAIBackend, httpx.AsyncClient]:
    """A backend whose every request goes to ``handler`` (an odd server), and its client."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = OpenAIConfig(base_url="http://llm.test/v1", model=TEST_MODEL, **overrides)  # type: ignore[arg-type]
    return OpenAIBackend(config, client=client), client


# Three plain lines of a 3-action batch, as a server answers them.
THREE_GOOD_LINES = "\n".join(f"{n}|calm|{{P1}}이 {n}번 장면" for n in range(1, 4))


def completion_body(content: str) -> dict[str, object]:
    """A plain (not streamed) chat completion whose answer is ``content``."""
    return {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7},
    }
