"""LiveWriter: rows of a filling batch from the LLM, the template filling in, figures counted."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pitchcast.cache import RedisStore
from pitchcast.checks.naming import unnamed_kind
from pitchcast.commentary.backends.base import ItemCallback, RowsAnswer
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import LLMUnavailable
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem, Usage
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import korean_batch
from tests.support.llm import MakeBackend


class RowsLLM:
    """A primary that writes rows with the template's words, or fails."""

    name = "openai"
    model = "fake"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.template = TemplateBackend()

    async def write_rows(
        self,
        batch: Any,
        persona: Any,
        turns: Sequence[Any],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem] | None = None,
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
    ) -> RowsAnswer:
        if self.error is not None:
            raise self.error
        answer = await self.template.write_rows(batch, persona, turns, rows, settled=settled)
        for row in rows:
            if on_item is not None:
                await on_item(answer.items[row])
        return answer

    async def aclose(self) -> None:
        return None


def _writer(primary: RowsLLM, metrics: Metrics) -> LiveWriter:
    store = RedisStore(enabled=False, metrics=metrics)
    service = CommentaryService(primary, TemplateBackend(), store, metrics=metrics)  # type: ignore[arg-type]
    return LiveWriter(service, deadline_s=5.0, structured=False)


async def _write(writer: LiveWriter) -> Any:
    batch = korean_batch()
    lines: list[tuple[int, str]] = []

    async def on_item(item: CommentaryItem, source: str) -> None:
        lines.append((item.action_id, source))

    written = await writer.write_rows(batch, "CASTER", [], [1, 2, 3], settled={}, on_item=on_item)
    return written, lines


async def test_rows_from_the_llm_are_counted_as_requests() -> None:
    """A live request that answers counts one ok request and no fallback."""
    metrics = Metrics()
    written, lines = await _write(_writer(RowsLLM(), metrics))
    assert [source for _, source in lines] == ["llm"] * 3
    assert written.fallback_reason is None
    assert metrics.get("llm_requests", outcome="ok") == 1
    assert metrics.get("fallbacks") == 0


async def test_a_failed_live_request_falls_back_and_is_counted() -> None:
    """A failing LLM: the template writes every row, the fallback and the request are counted."""
    metrics = Metrics()
    written, lines = await _write(_writer(RowsLLM(LLMUnavailable("503")), metrics))
    assert [source for _, source in lines] == ["template"] * 3
    assert written.fallback_reason == "LLMUnavailable"
    assert metrics.get("fallbacks", reason="LLMUnavailable", source="template") == 1
    assert metrics.get("llm_requests", outcome="LLMUnavailable") == 1


# --- forks (issue 15) ---------------------------------------------------------------------


class ForkLLM(RowsLLM):
    """Writes one row per call (``fork``); counts calls in flight; row delays and texts
    can be scripted."""

    def __init__(
        self,
        delays: dict[int, float] | None = None,
        texts: dict[int, str] | None = None,
        failing: set[int] | None = None,
    ) -> None:
        super().__init__()
        self.delays = delays or {}
        self.texts = texts or {}
        self.failing = failing or set()
        self.in_flight = 0
        self.peak = 0
        self.forks: list[int | None] = []

    async def write_rows(  # type: ignore[override]
        self,
        batch: Any,
        persona: Any,
        turns: Sequence[Any],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem] | None = None,
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
        fork: int | None = None,
        failures: object = None,
    ) -> RowsAnswer:
        assert fork is not None, "with forks every request is a fork"
        self.forks.append(fork)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delays.get(fork, 0.01))
            if fork in self.failing:
                raise LLMUnavailable("503")
            answer = await self.template.write_rows(batch, persona, turns, rows, fork=fork)
            item = answer.items[fork]
            if fork in self.texts:
                item = CommentaryItem(
                    item.action_id, item.time_seconds, item.tone, self.texts[fork]
                )
            if on_item is not None:
                await on_item(item)
            return RowsAnswer({fork: item}, {fork: item.description}, "", Usage(100, 20, 90))
        finally:
            self.in_flight -= 1


def _fork_service(primary: ForkLLM, metrics: Metrics, *, slots: int = 8) -> CommentaryService:
    store = RedisStore(enabled=False, metrics=metrics)
    return CommentaryService(
        primary,  # type: ignore[arg-type]
        TemplateBackend(),
        store,
        metrics=metrics,
        max_in_flight=slots,
    )


def _fork_writer(primary: ForkLLM, metrics: Metrics, *, forks: int, slots: int = 8) -> LiveWriter:
    service = _fork_service(primary, metrics, slots=slots)
    return LiveWriter(service, deadline_s=5.0, structured=False, forks=forks)


async def _write_burst(writer: LiveWriter, rows: list[int]) -> tuple[Any, list[Any]]:
    batch = korean_batch()
    lines: list[tuple[int, str, float]] = []
    loop = asyncio.get_running_loop()

    async def on_item(item: CommentaryItem, source: str) -> None:
        lines.append((item.action_id, source, loop.time()))

    written = await writer.write_rows(batch, "CASTER", [], rows, settled={}, on_item=on_item)
    return written, lines


async def test_a_burst_is_written_side_by_side_and_released_in_row_order() -> None:
    """Five rows, three forks: at most three requests at once; row 1 is slow, the others
    wait for it and leave right after it; the burst is one assistant turn."""
    metrics = Metrics()
    primary = ForkLLM(delays={1: 0.2})  # within the straggler grace (0.25 s)
    writer = _fork_writer(primary, metrics, forks=3)
    started = asyncio.get_running_loop().time()
    written, lines = await _write_burst(writer, [1, 2, 3, 4, 5])
    batch = korean_batch()
    assert [a for a, _, _ in lines] == [a.action_id for a in batch.actions[:5]]
    assert {s for _, s, _ in lines} == {"llm"}
    assert primary.peak == 3 and sorted(primary.forks) == [1, 2, 3, 4, 5]
    # Rows 2-5 were written while row 1 was: the burst took ~one slow line, not the sum.
    assert lines[-1][2] - started < 0.2 + 0.2
    assert written.turn.rows == (1, 2, 3, 4, 5)
    assert written.turn.answer.splitlines()[0].startswith("1|")
    assert [line.split("|")[0] for line in written.turn.answer.splitlines()] == list("12345")
    assert written.usage.prompt_tokens == 500 and written.usage.cached_prompt_tokens == 450
    assert metrics.get("llm_requests", outcome="ok") == 5 and metrics.get("fallbacks") == 0


async def test_a_line_repeating_an_earlier_one_of_its_burst_is_rewritten_by_the_template() -> None:
    metrics = Metrics()
    texts = {
        1: "김민재가 왼쪽에서 앞으로 패스를 보냅니다.",
        2: "이강인이 왼쪽에서 앞으로 패스를 보냅니다.",
    }
    writer = _fork_writer(ForkLLM(texts=texts), metrics, forks=4)
    written, lines = await _write_burst(writer, [1, 2, 3])
    assert [s for _, s, _ in lines] == ["llm", "template", "llm"]
    assert written.items[2].description != texts[2]
    assert written.fallback_reason == "repeated_in_burst: shape"
    assert metrics.get("live_burst_repeats", persona="CASTER", kind="shape") == 1
    assert metrics.get("fallbacks", reason="repeated_in_burst", source="mixed") == 1


async def test_a_failed_fork_costs_only_its_own_row() -> None:
    metrics = Metrics()
    writer = _fork_writer(ForkLLM(failing={2}), metrics, forks=4)
    written, lines = await _write_burst(writer, [1, 2, 3])
    assert [s for _, s, _ in lines] == ["llm", "template", "llm"]
    assert written.fallback_reason == "LLMUnavailable"
    assert metrics.get("llm_requests", outcome="LLMUnavailable") == 1


async def test_every_reason_a_burst_fell_back_for_is_counted() -> None:
    """Row 2 repeats row 1 and row 3 fails: both reasons are counted, each with its rows.
    Only the first was: behind a slow endpoint (1.5 s to the first token, 70 ms a
    token, a line per action) fallbacks{reason} said 23 repeated_in_burst and 4 deadline
    while 46 requests had been cut by the deadline: the cause read as the model's."""
    metrics = Metrics()
    texts = {
        1: "김민재가 왼쪽에서 앞으로 패스를 보냅니다.",
        2: "이강인이 왼쪽에서 앞으로 패스를 보냅니다.",
    }
    writer = _fork_writer(ForkLLM(texts=texts, failing={3}), metrics, forks=4)
    written, lines = await _write_burst(writer, [1, 2, 3])
    assert [s for _, s, _ in lines] == ["llm", "template", "template"]
    assert written.fallback_reason == "repeated_in_burst: shape"  # the record's: the first
    assert metrics.get("fallbacks", reason="repeated_in_burst", source="mixed") == 1
    assert metrics.get("fallbacks", reason="LLMUnavailable", source="mixed") == 1


async def test_forks_beyond_the_lane_s_own_slot_wait_for_idle_capacity() -> None:
    """Two slots, and two other lanes registered that hold none: no slot is spare, so the
    burst's forks go one at a time on the lane's own slot (and still all get written)."""
    metrics = Metrics()
    primary = ForkLLM()
    writer = _fork_writer(primary, metrics, forks=4, slots=2)
    writer.service.guarded.slots.add_lane(2)
    written, lines = await _write_burst(writer, [1, 2, 3, 4])
    assert primary.peak == 1 and [s for _, s, _ in lines] == ["llm"] * 4
    assert written.fallback_reason is None


async def test_a_fork_left_less_than_a_minimum_attempt_is_not_sent() -> None:
    """Forks one at a time (no spare slot), 0.3 s a line, a 0.8 s deadline and 0.4 s
    the least an attempt gets: row 3 would start with 0.2 s left, so the template
    writes it then (``overdue``), as it does a burst or a retry with that little left,
    instead of a request sent to be cut at the deadline (behind a slow endpoint, with
    PITCHCAST_LLM_MIN_ATTEMPT_S near a line's time as the README advises, such forks
    held their rows to the deadline and spent the endpoint's time for nothing)."""
    metrics = Metrics()
    primary = ForkLLM(delays={1: 0.3, 2: 0.3, 3: 0.3})
    service = _fork_service(primary, metrics, slots=2)
    service.guarded.slots.add_lane(2)  # two other lanes hold none: no slot is spare
    writer = LiveWriter(service, deadline_s=0.8, structured=False, forks=4, min_attempt_s=0.4)
    started = asyncio.get_running_loop().time()
    written, lines = await _write_burst(writer, [1, 2, 3])
    assert primary.forks == [1, 2]
    assert [s for _, s, _ in lines] == ["llm", "llm", "template"]
    assert lines[-1][2] - started < 0.75
    assert written.fallback_reason == "overdue"
    assert metrics.get("fallbacks", reason="overdue", source="mixed") == 1


async def test_a_fork_still_out_when_its_burst_is_in_is_cut_and_written_by_the_template() -> None:
    """Row 2 hangs: once rows 1 and 3 are in, it gets as long again (at least 0.25 s),
    then the template writes it and its request is cancelled (no slot kept)."""
    metrics = Metrics()
    primary = ForkLLM(delays={2: 30.0})
    writer = _fork_writer(primary, metrics, forks=3)
    started = asyncio.get_running_loop().time()
    written, lines = await _write_burst(writer, [1, 2, 3])
    assert asyncio.get_running_loop().time() - started < 1.0
    assert [s for _, s, _ in lines] == ["llm", "template", "llm"]
    assert written.fallback_reason == "straggler"
    assert primary.in_flight == 0 and metrics.get("llm_in_flight") == 0
    assert metrics.get("llm_requests", outcome="cancelled") == 1


async def test_forks_of_one_burst_that_all_hang_give_the_endpoint_one_failure(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """The openai backend keeps a breaker per endpoint and records each attempt's verdict
    there: a burst of five forks cut together by the live deadline (a server that stalls
    longer than it) is one slow moment of the endpoint, not five failures in a row that
    open its breaker for every match of the worker at once."""
    fake_llm.script(*[Fault("hang", delay_s=3.0)] * 5)
    backend = make_backend(breaker_failures=5, retry_attempts=1)
    metrics = Metrics()
    store = RedisStore(enabled=False, metrics=metrics)
    service = CommentaryService(
        backend, TemplateBackend(), store, metrics=metrics, breaker=backend.breaker
    )
    writer = LiveWriter(service, deadline_s=0.5, structured=True, forks=5, min_attempt_s=0.1)
    written, lines = await _write_burst(writer, [1, 2, 3, 4, 5])
    assert [s for _, s, _ in lines] == ["template"] * 5
    assert written.fallback_reason in {"deadline", "LLMTimeout"}
    (endpoint,) = backend.ring.endpoints
    assert endpoint.breaker.consecutive_failures == 1
    assert backend.breaker.state == "closed"


class RevokedAsItAnswers(ForkLLM):
    """Row ``last`` answers late (inside its straggler grace), and the lane is cancelled
    (a revoke) in the same turn of the loop as that answer comes in."""

    def __init__(self, lane: asyncio.Future[Any], last: int) -> None:
        super().__init__(delays={last: 0.05})
        self.lane = lane
        self.last = last

    async def write_rows(self, batch: Any, persona: Any, *args: Any, **kwargs: Any) -> RowsAnswer:
        answer = await super().write_rows(batch, persona, *args, **kwargs)
        if kwargs.get("fork") == self.last:
            lane = await self.lane
            asyncio.get_running_loop().call_soon(lane.cancel)
        return answer


async def test_a_lane_cancelled_as_its_last_fork_answers_stays_cancelled() -> None:
    """The lane waits for a burst's last fork within its straggler grace; a revoke
    cancels it just as that fork's answer comes in. asyncio.wait_for (Python 3.11)
    returns the answer and drops the cancellation when both land in one turn of the
    loop: the revoked lane published the row and went on (a lane no revoke ends,
    holding its place among the slots, publishing for a desk another owner now has).
    The cancellation goes through, and nothing more is published."""
    metrics = Metrics()
    lane: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    writer = _fork_writer(RevokedAsItAnswers(lane, last=2), metrics, forks=2)
    batch = korean_batch()
    published: list[int] = []

    async def on_item(item: CommentaryItem, source: str) -> None:
        published.append(item.action_id)

    task = asyncio.ensure_future(
        writer.write_rows(batch, "CASTER", [], [1, 2], settled={}, on_item=on_item)
    )
    lane.set_result(task)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert published == [batch.actions[0].action_id]


@pytest.mark.parametrize("forks", [1, 3])
async def test_a_card_the_llm_leaves_untold_is_written_by_the_template_on_its_row_only(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, forks: int
) -> None:
    """s21: the model tells row 10, a yellow card, as '반칙을 범합니다': validation
    refuses that line (lines_refused{check=untold.yellow}) and the template writes that
    row; the burst's other rows stay the model's."""
    fake_llm.script(*[Fault("untold")] * forks)
    backend = make_backend()
    metrics = Metrics()
    store = RedisStore(enabled=False, metrics=metrics)
    service = CommentaryService(
        backend, TemplateBackend(), store, metrics=metrics, breaker=backend.breaker
    )
    writer = LiveWriter(service, deadline_s=5.0, structured=False, forks=forks)
    batch = korean_batch()
    earlier = await TemplateBackend().write_rows(batch, "CASTER", [], range(1, 8), settled={})
    sources: dict[int, str] = {}

    async def on_item(item: CommentaryItem, source: str) -> None:
        sources[item.action_id - batch.actions[0].action_id + 1] = source

    written = await writer.write_rows(
        batch, "CASTER", [], [8, 9, 10], settled=dict(earlier.items), on_item=on_item
    )
    assert sources == {8: "llm", 9: "llm", 10: "template"}
    assert unnamed_kind(written.items[10].description, batch.actions[9]) is None
    assert metrics.get("lines_refused", check="untold.yellow") == 1
    assert (written.fallback_reason or "").startswith("rejected: n=10: [untold.yellow]")
