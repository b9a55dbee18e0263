"""Fixtures of the LLM tests (a pytest plugin, loaded by tests/conftest.py): the fake
OpenAI-compatible server (a test double, :mod:`pitchcast.testing.fake_llm`) runs in a
thread for the whole session and is reset before each test; each test scripts the
faults it needs.

Retries are instant (stamina's testing mode, attempts capped at 4) in the modules that
use ``instant_retries`` for every test, unless a test asks for ``real_backoff``
(Retry-After and deadline tests measure real waits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stamina

from pitchcast.commentary.backends.openai import OpenAIBackend
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.llm import TEST_MODEL, MakeBackend, config_for


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    """One fake server for the session; it only accepts TEST_MODEL, like a vLLM served name."""
    server = FakeLLMServer(model=TEST_MODEL).start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The session's fake server with an empty script, zeroed counters and no pacing."""
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture
def instant_retries() -> Iterator[None]:
    """Backoff waits are zero and attempts capped at 4 (stamina's testing mode)."""
    with stamina.set_testing(True, attempts=4, cap=True):
        yield


@pytest.fixture
def real_backoff(instant_retries: None) -> Iterator[None]:
    """Real backoff and Retry-After waits, for tests that measure them."""
    with stamina.set_testing(False):
        yield


@pytest.fixture
async def make_backend(fake_llm: FakeLLMServer) -> AsyncIterator[MakeBackend]:
    """Factory of backends on the fake server (config overrides as keywords), closed after."""
    backends: list[OpenAIBackend] = []

    def make(**overrides: Any) -> OpenAIBackend:
        backend = OpenAIBackend(config_for(fake_llm, **overrides))
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.aclose()
