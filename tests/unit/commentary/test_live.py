"""LiveWriter: rows of a filling batch from the LLM, the template filling in, figures counted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.base import ItemCallback, RowsAnswer
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import LLMUnavailable
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import CommentaryItem
from tests.support.commentary_batches import korean_batch


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
