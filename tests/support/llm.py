"""Constants and helpers of the LLM tests (imported by llm_fixtures.py and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from pitchcast.commentary.backends.openai import OpenAIBackend, OpenAIConfig
from pitchcast.testing.fake_llm import FakeLLMServer
from pitchcast.testing.fake_writer import read_prompt, requested_rows, schema_rows

__all__ = ["TEST_API_KEY", "TEST_MODEL", "MakeBackend", "asked_rows", "config_for"]

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
