"""Per-attempt budgets against the fake server: a hung attempt is cut in time for a
retry, a streaming answer is not cut for being long, and the deadline is a parameter."""

from __future__ import annotations

import asyncio
import time

import pytest

from pitchcast.exceptions import LLMTimeout
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import korean_batch
from tests.support.llm import MakeBackend

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()


async def test_a_hung_first_attempt_is_cut_at_half_the_deadline_and_retried(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Deadline 4 s, read timeout 3 s: the hung attempt waits min(3, 4/2) = 2 s, then the
    retry answers; the batch is written by the LLM, not by the deadline fallback."""
    fake_llm.script(Fault("hang", delay_s=10.0), None)
    backend = make_backend(batch_deadline_s=4.0, read_timeout_s=3.0)
    started = time.monotonic()
    result = await backend.write(BATCH, "CASTER")
    elapsed = time.monotonic() - started
    assert len(result.items) == 10 and result.source == "llm"
    assert fake_llm.request_count == 2
    assert 1.8 <= elapsed < 3.2, elapsed
    endpoint = backend.ring.endpoints[0]
    assert endpoint.failures == 1 and endpoint.breaker.consecutive_failures == 0


async def test_a_live_deadline_given_per_call_sets_the_budget(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A short deadline passed to write() (a live request's ~1.2 s) is what the budget
    derives from, not the configured 10 s batch deadline: cut at 0.6 s, retried."""
    fake_llm.script(Fault("hang", delay_s=10.0), None)
    backend = make_backend(read_timeout_s=5.0)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    result = await backend.write(korean_batch(3), "CASTER", deadline=loop.time() + 1.2)
    elapsed = time.monotonic() - started
    assert len(result.items) == 3 and fake_llm.request_count == 2
    assert 0.5 <= elapsed < 1.2, elapsed


async def test_a_slow_first_token_is_cut_like_a_hang(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A first token later than the budget (1 s here) is a cut attempt and a retry."""
    fake_llm.script(Fault("slow", ttft_s=3.0), None)
    backend = make_backend(batch_deadline_s=4.0, read_timeout_s=1.0)
    started = time.monotonic()
    result = await backend.write(BATCH, "CASTER")
    assert len(result.items) == 10 and fake_llm.request_count == 2
    assert time.monotonic() - started < 2.5


async def test_a_streaming_answer_longer_than_the_budget_is_not_cut(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """The budget bounds waits between chunks, not the answer: ~300 tokens at 8 ms take
    longer than the 1 s budget and still arrive in one attempt."""
    fake_llm.set_pacing(ttft_s=0.05, tpot_s=0.008)
    backend = make_backend(batch_deadline_s=6.0, read_timeout_s=1.0, structured_output=False)
    started = time.monotonic()
    result = await backend.write(BATCH, "CASTER")
    assert time.monotonic() - started > 1.2
    assert len(result.items) == 10 and fake_llm.request_count == 1


@pytest.mark.parametrize(
    ("fault", "left_s", "failures"),
    [
        (Fault("slow", ttft_s=0.05, tpot_s=0.2), 0.6, 0),
        (Fault("hang", delay_s=3.0), 0.6, 1),
        (Fault("hang", delay_s=3.0), 0.08, 0),
    ],
    ids=["answering", "silent", "dregs"],
)
async def test_the_deadline_cutting_an_answer_that_streams_in_is_no_failure(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, fault: Fault, left_s: float, failures: int
) -> None:
    """A live burst that waited for its lane has little of its deadline left: an endpoint
    that is answering, only not fast enough for that, is up, and one sent the last 0.08 s
    of a deadline (under two minimum attempts, 0.05 s here) had no fair chance: no verdict
    on its breaker (counted, lanes behind a slow endpoint opened it for every match). One
    that sent nothing in a fair attempt counts as failed, as ever."""
    fake_llm.script(fault)
    backend = make_backend(breaker_failures=1, retry_attempts=1)
    loop = asyncio.get_running_loop()
    with pytest.raises(LLMTimeout):
        await backend.write_rows(
            BATCH, "CASTER", [], [1, 2, 3], settled={}, deadline=loop.time() + left_s
        )
    (endpoint,) = backend.ring.endpoints
    assert endpoint.breaker.consecutive_failures == failures
    assert backend.breaker.state == ("open" if failures else "closed")
