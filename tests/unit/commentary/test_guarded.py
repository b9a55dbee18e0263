"""GuardedLLM: the one guarded call, its verdicts, slots, deadline and figures."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from pitchcast.commentary.backends.base import ItemCallback
from pitchcast.commentary.breaker import CircuitBreaker, FailureGroup
from pitchcast.commentary.guarded import GuardedLLM
from pitchcast.exceptions import (
    CommentaryRejected,
    DeliveryFailed,
    LLMCircuitOpen,
    LLMRequestRefused,
    LLMUnavailable,
)
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem, Usage
from tests.support.utils import FakeClock

REFUSED = "LLMRequestRefused"
REJECTED = "CommentaryRejected"


@dataclass(frozen=True)
class Reply:
    text: str
    usage: Usage = field(default_factory=Usage)
    problems: tuple[str, ...] = ()


def _guarded(*, slots: int = 4, failures: int = 2) -> tuple[GuardedLLM, CircuitBreaker, FakeClock]:
    clock = FakeClock()
    breaker = CircuitBreaker(failures, 10.0, clock=clock)
    guarded = GuardedLLM(
        breaker=breaker, metrics=Metrics(), endpoint="e:1/v1", backend="fake", max_in_flight=slots
    )
    return guarded, breaker, clock


def _item(n: int) -> CommentaryItem:
    return CommentaryItem(action_id=n, time_seconds=float(n), tone="calm", description=f"{n}")


async def _call(guarded: GuardedLLM, send, **kwargs):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + kwargs.pop("within", 5.0)
    return await guarded.call(
        send, deadline=deadline, persona="CASTER", mode="live", context={"commentary_id": "c"},
        **kwargs,
    )  # fmt: skip


async def test_an_answer_is_ok_timed_counted_and_its_lines_stream_on() -> None:
    guarded, breaker, _ = _guarded()
    seen: list[int] = []

    async def on_item(item: CommentaryItem) -> None:
        seen.append(item.action_id)

    async def send(on_line: ItemCallback) -> Reply:
        for n in (1, 2):
            await on_line(_item(n))
        return Reply("ab", Usage(prompt_tokens=100, completion_tokens=20, cached_prompt_tokens=64))

    called = await _call(guarded, send, on_item=on_item)
    metrics = guarded.metrics
    assert called.answer == Reply("ab", Usage(100, 20, 64)) and called.reason is None
    assert seen == [1, 2]
    assert metrics.get("llm_requests", endpoint="e:1/v1", outcome="ok") == 1
    assert metrics.get("llm_tokens", kind="prompt_cached") == 64
    assert metrics.get("llm_tokens", kind="prompt_uncached") == 36
    assert metrics.get("llm_tokens", kind="completion") == 20
    assert metrics.get("llm_request_seconds", persona="CASTER", mode="live") == 1
    assert metrics.get("llm_time_to_first_line_seconds", persona="CASTER", mode="live") == 1
    assert metrics.get("llm_in_flight") == 0 and breaker.consecutive_failures == 0


async def test_a_judged_answer_is_rejected_but_the_endpoint_worked() -> None:
    guarded, breaker, _ = _guarded()
    breaker.record_failure()

    async def send(on_line: ItemCallback) -> Reply:
        return Reply("x", problems=("row 2: bad tone",))

    called = await _call(
        guarded, send, judge=lambda r: f"rejected: {r.problems[0]}" if r.problems else None
    )
    assert called.answer is not None and called.reason == "rejected: row 2: bad tone"
    assert guarded.metrics.get("llm_requests", outcome="rejected") == 1
    assert breaker.consecutive_failures == 0  # answered: a success
    assert guarded.metrics.get("llm_request_seconds", mode="live") == 1
    # No line came and none was good: no first line to time.
    assert guarded.metrics.get("llm_time_to_first_line_seconds") == 0


@pytest.mark.parametrize(
    ("error", "reason", "outcome", "failures"),
    [
        (LLMUnavailable("503"), "LLMUnavailable", "LLMUnavailable", 1),
        (
            LLMRequestRefused("400", status=400),
            "LLMRequestRefused: HTTP 400",
            "LLMRequestRefused",
            0,
        ),
        (LLMRequestRefused("event"), f"{REFUSED}: error event", REFUSED, 0),
        (LLMCircuitOpen("all open"), "circuit_open", "circuit_open", 0),
        (
            CommentaryRejected(["row 1:  no\nline"]),
            "CommentaryRejected: row 1: no line",
            "rejected",
            0,
        ),
        (TimeoutError(), "LLMTimeout", "LLMTimeout", 1),
        (KeyError("bug"), "unexpected: KeyError", "unexpected", 1),
    ],
)
async def test_each_failure_has_its_reason_outcome_and_verdict(
    error: Exception, reason: str, outcome: str, failures: int, caplog: pytest.LogCaptureFixture
) -> None:
    guarded, breaker, _ = _guarded(failures=5)

    async def send(on_line: ItemCallback) -> Reply:
        raise error

    with caplog.at_level(logging.ERROR, logger="pitchcast.commentary"):
        called = await _call(guarded, send)
    assert called.answer is None and called.reason == reason
    assert guarded.metrics.get("llm_requests", endpoint="e:1/v1", outcome=outcome) == 1
    assert breaker.consecutive_failures == failures
    errors = [r for r in caplog.records if r.getMessage() == "pitchcast.commentary.backend_error"]
    assert len(errors) == (outcome == "unexpected")
    if errors:
        assert errors[0].commentary_id == "c" and errors[0].backend == "fake"  # type: ignore[attr-defined]


async def test_a_long_rejection_reason_is_one_line_of_120_characters() -> None:
    guarded, _, _ = _guarded()

    async def send(on_line: ItemCallback) -> Reply:
        raise CommentaryRejected(["가" * 300])

    called = await _call(guarded, send)
    assert called.reason is not None
    assert called.reason == "CommentaryRejected: " + "가" * 119 + "…"


async def test_the_deadline_cuts_a_request_and_counts_against_the_endpoint() -> None:
    guarded, breaker, _ = _guarded()

    async def send(on_line: ItemCallback) -> Reply:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    called = await _call(guarded, send, within=0.05)
    assert called.reason == "deadline"
    assert guarded.metrics.get("llm_requests", outcome="deadline") == 1
    assert breaker.consecutive_failures == 1 and guarded.metrics.get("llm_in_flight") == 0


async def test_a_deadline_met_waiting_for_a_slot_is_no_request_and_no_verdict() -> None:
    guarded, breaker, clock = _guarded(slots=1, failures=1)
    breaker.record_failure()
    clock.now = 11.0  # half open: the next call is the probe
    sent = False

    async def send(on_line: ItemCallback) -> Reply:
        nonlocal sent
        sent = True
        return Reply("")

    async with guarded.slots.take():  # every slot busy
        called = await _call(guarded, send, within=0.05)
    assert called.reason == "deadline" and not sent
    assert guarded.metrics.get("llm_requests") == 0
    # The probe it had taken is free again.
    assert breaker.state == "half_open" and breaker.allow()


async def test_an_open_breaker_sends_nothing() -> None:
    guarded, breaker, _ = _guarded(failures=1)
    breaker.record_failure()

    async def send(on_line: ItemCallback) -> Reply:
        raise AssertionError("sent through an open breaker")

    called = await _call(guarded, send)
    assert called.answer is None and called.reason == "circuit_open"
    assert guarded.metrics.get("llm_requests") == 0


async def test_cancellation_and_a_line_that_could_not_be_published_go_through() -> None:
    guarded, breaker, clock = _guarded(failures=1)
    breaker.record_failure()
    clock.now = 11.0

    async def undeliverable(on_line: ItemCallback) -> Reply:
        raise DeliveryFailed("kafka")

    with pytest.raises(DeliveryFailed):
        await _call(guarded, undeliverable)
    assert breaker.state == "half_open" and breaker.available  # no verdict, probe handed back

    started = asyncio.Event()

    async def hanging(on_line: ItemCallback) -> Reply:
        started.set()
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    task = asyncio.ensure_future(_call(guarded, hanging))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state == "half_open" and breaker.available
    assert guarded.metrics.get("llm_requests", outcome="cancelled") == 2
    assert guarded.metrics.get("llm_in_flight") == 0


async def test_one_lane_may_run_several_calls_at_once_each_in_its_own_slot() -> None:
    """The forks of a burst (issue 15): concurrent calls share nothing but the slots."""
    guarded, _, _ = _guarded(slots=3)
    running = 0
    most = 0
    release = asyncio.Event()

    def fork(n: int):  # type: ignore[no-untyped-def]
        async def send(on_line: ItemCallback) -> Reply:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await release.wait()
            await on_line(_item(n))
            running -= 1
            return Reply(str(n))

        return send

    lines: list[int] = []

    async def on_item(item: CommentaryItem) -> None:
        lines.append(item.action_id)

    calls = [asyncio.ensure_future(_call(guarded, fork(n), on_item=on_item)) for n in range(5)]
    while running < 3:
        await asyncio.sleep(0)
    assert guarded.metrics.get("llm_in_flight") == 3  # the slots bound them
    release.set()
    results = await asyncio.gather(*calls)
    assert most == 3
    assert sorted(r.answer.text for r in results if r.answer) == ["0", "1", "2", "3", "4"]
    assert sorted(lines) == [0, 1, 2, 3, 4]
    assert guarded.metrics.get("llm_requests", outcome="ok") == 5


async def test_the_breaker_opens_once_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    guarded, breaker, _ = _guarded(failures=2)

    async def send(on_line: ItemCallback) -> Reply:
        raise LLMUnavailable("503")

    with caplog.at_level(logging.WARNING, logger="pitchcast.commentary"):
        for _ in range(2):
            await _call(guarded, send)
    assert breaker.state == "open"
    assert guarded.metrics.get("breaker_opened", endpoint="e:1/v1") == 1
    opened = [r for r in caplog.records if r.getMessage() == "pitchcast.breaker_opened"]
    assert len(opened) == 1 and opened[0].commentary_id == "c"  # type: ignore[attr-defined]


def test_a_fallback_is_counted_by_its_kind_and_logged_with_its_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guarded, _, _ = _guarded()
    with caplog.at_level(logging.WARNING, logger="pitchcast.commentary"):
        guarded.record_fallback("rejected: row 3", "mixed", {"game_id": 7, "rows": [3]})
    assert guarded.metrics.get("fallbacks", reason="rejected", source="mixed") == 1
    (record,) = [r for r in caplog.records if r.getMessage() == "pitchcast.commentary.fallback"]
    assert record.game_id == 7 and record.rows == [3]  # type: ignore[attr-defined]
    assert record.reason == "rejected: row 3" and record.source == "mixed"  # type: ignore[attr-defined]


async def test_a_good_answer_that_streamed_no_line_had_its_first_line_when_it_came() -> None:
    guarded, _, _ = _guarded()

    async def send(on_line: ItemCallback) -> Reply:
        return Reply("whole body")  # a non-streamed answer: the caller hands its lines on

    await _call(guarded, send)
    assert guarded.metrics.get("llm_time_to_first_line_seconds", mode="live") == 1
    assert guarded.metrics.get("llm_request_seconds", mode="live") == 1


async def test_lines_refused_for_wording_are_counted_by_kind() -> None:
    """Issue 16: an LLM line with a claim the data cannot support is refused (the template
    writes it); ``lines_refused{check}`` counts it, in a rejected batch and in a live answer."""
    guarded, _, _ = _guarded()
    manner = "n=2: '과감' [unsupported.manner]: 어떻게 했는지는 자료에 없습니다."

    async def rejected(on_line: ItemCallback) -> Reply:
        raise CommentaryRejected([manner, "n=3: tone 'x' is not one of ..."])

    async def live(on_line: ItemCallback) -> Reply:
        return Reply("x", problems=("n=4: '고개를 젓' [unsupported.gesture]: 몸짓", manner))

    await _call(guarded, rejected)
    await _call(guarded, live)
    assert guarded.metrics.get("lines_refused", check="unsupported.manner") == 2
    assert guarded.metrics.get("lines_refused", check="unsupported.gesture") == 1


async def test_requests_sent_together_give_the_breaker_one_failure() -> None:
    """Issue 15: the forks of one burst failing together are one failure, not r (five
    forks would open a five-failure breaker for every match at once)."""
    guarded, breaker, _ = _guarded(failures=2)

    async def send(on_line: ItemCallback) -> Reply:
        raise LLMUnavailable("503")

    group = FailureGroup()
    called = await asyncio.gather(*(_call(guarded, send, failures=group) for _ in range(4)))
    assert {c.reason for c in called} == {"LLMUnavailable"}
    assert breaker.consecutive_failures == 1 and breaker.state == "closed"
    assert guarded.metrics.get("llm_requests", outcome="LLMUnavailable") == 4
    await _call(guarded, send, failures=FailureGroup())  # the next burst: one more
    assert breaker.state == "open"


async def test_the_deadline_cuts_the_request_never_a_line_on_its_way_out() -> None:
    """A line streamed just before the deadline is handed on in full (its publication
    outlasts the deadline), in order, before the call returns ``deadline``."""
    guarded, _, _ = _guarded()
    done: list[int] = []

    async def slow_publish(item: CommentaryItem) -> None:
        await asyncio.sleep(0.2)  # the broker's ack, past the request's deadline
        done.append(item.action_id)

    async def streams_then_hangs(on_line: ItemCallback) -> Reply:
        await on_line(_item(1))
        await on_line(_item(2))
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    called = await _call(guarded, streams_then_hangs, on_item=slow_publish, within=0.05)
    assert called.reason == "deadline"
    assert done == [1, 2]


async def test_a_line_that_could_not_be_published_stops_the_call_after_the_request() -> None:
    """``DeliveryFailed`` from the line callback goes through the call (the worker stops);
    lines after it are not handed on."""
    guarded, _, _ = _guarded()
    seen: list[int] = []

    async def fails_first(item: CommentaryItem) -> None:
        seen.append(item.action_id)
        raise DeliveryFailed("kafka")

    async def send(on_line: ItemCallback) -> Reply:
        await on_line(_item(1))
        await asyncio.sleep(0.01)
        await on_line(_item(2))
        return Reply("ab")

    with pytest.raises(DeliveryFailed):
        await _call(guarded, send, on_item=fails_first)
    assert seen == [1]


async def test_a_cancelled_call_hands_no_more_lines_on() -> None:
    """Cancelled (a revoke): the line being published is cancelled with the call, and
    none queued behind it goes out afterwards."""
    guarded, _, _ = _guarded()
    started, done = asyncio.Event(), []

    async def slow_publish(item: CommentaryItem) -> None:
        started.set()
        await asyncio.sleep(0.2)
        done.append(item.action_id)

    async def send(on_line: ItemCallback) -> Reply:
        await on_line(_item(1))
        await on_line(_item(2))
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    task = asyncio.ensure_future(_call(guarded, send, on_item=slow_publish))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.3)
    assert done == []


@pytest.mark.parametrize(
    ("status", "setting"),
    [(401, "PITCHCAST_LLM_API_KEY"), (403, "PITCHCAST_LLM_API_KEY"),
     (404, "PITCHCAST_LLM_BASE_URL"), (400, "max_model_len")],
)  # fmt: skip
async def test_a_refused_request_names_what_to_check_once(
    status: int, setting: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong API key or URL refuses every request: each batch goes to the template with
    its reason, and one error says which setting to check (it used to be only the
    per-batch fallback warning, "HTTP 401"), once per status, not once per batch."""
    guarded, breaker, _ = _guarded()

    async def send(on_item: ItemCallback | None) -> Reply:
        raise LLMRequestRefused(f"HTTP {status}", status=status)

    with caplog.at_level(logging.INFO, logger="pitchcast"):
        for _ in range(3):
            assert (await _call(guarded, send)).reason == f"{REFUSED}: HTTP {status}"
    said = [r for r in caplog.records if r.getMessage() == "pitchcast.llm_refused"]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    assert said[0].status == status and setting in said[0].hint
    assert breaker.consecutive_failures == 0  # still no verdict on the endpoint


async def test_a_refusal_says_what_the_server_said(caplog: pytest.LogCaptureFixture) -> None:
    """A 400 has many causes; vLLM's message names the one (the context length and the
    tokens asked for). On RunPod the operator cannot read the server's log, so the one
    error says it (as the wire left it: keys masked, 200 characters at most)."""
    guarded, _, _ = _guarded()
    said_by_server = (
        'HTTP 400 from https://api.runpod.ai/v2/abc/openai/v1: {"error": {"message": "This'
        " model's maximum context length is 4096 tokens. However, you requested 4201 tokens"
    )

    async def send(on_item: ItemCallback | None) -> Reply:
        raise LLMRequestRefused(said_by_server, status=400)

    with caplog.at_level(logging.INFO, logger="pitchcast"):
        await _call(guarded, send)
    said = [r for r in caplog.records if r.getMessage() == "pitchcast.llm_refused"]
    assert said[0].server_said == said_by_server
