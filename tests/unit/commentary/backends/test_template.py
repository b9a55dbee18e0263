"""The template backend: the writer's lines behind the backend seam, streamed in order,
live rows written once."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.template import write_template_commentary
from pitchcast.commentary.template import writer as template_module
from pitchcast.schemas.records import Action, CommentaryItem, Usage
from tests.support.template_writer import sample_match_batches


async def test_backend_writes_template_items_and_streams_them_in_order() -> None:
    """TemplateBackend returns the template items, source and model "template", zero usage."""
    batch = sample_match_batches(1)[5]
    backend = TemplateBackend()
    seen: list[CommentaryItem] = []

    async def on_item(item: CommentaryItem) -> None:
        seen.append(item)

    result = await backend.write(batch, "ANALYST", on_item=on_item)
    assert backend.name == "template"
    assert result.items == write_template_commentary(batch, "ANALYST")
    assert seen == list(result.items)
    assert (result.source, result.model, result.usage) == ("template", "template", Usage())
    assert result.fallback_reason is None
    assert backend.cache_key(batch, "ANALYST") is None
    await backend.aclose()


async def test_backend_without_callback() -> None:
    """Without ``on_item`` the backend just returns one item per action."""
    batch = sample_match_batches(3)[0]
    result = await TemplateBackend().write(batch, "FRIEND")
    assert [i.action_id for i in result.items] == [a.action_id for a in batch.actions]
    assert math.isfinite(sum(i.time_seconds for i in result.items))


async def test_backend_live_rows_write_only_the_rows_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live mode asks for a growing batch's newest row: the earlier rows are not written again."""
    batch = sample_match_batches(1)[3]
    whole = write_template_commentary(batch, "CASTER")
    written: list[int] = []
    real_item = template_module._item

    def counting(action: Action, ctx: Any) -> CommentaryItem:
        written.append(action.action_id)
        return real_item(action, ctx)

    monkeypatch.setattr(template_module, "_item", counting)
    backend = TemplateBackend()
    for row in range(1, len(batch.actions) + 1):
        view = replace(batch, actions=batch.actions[:row])
        answer = await backend.write_rows(view, "CASTER", [], [row])
        assert answer.items == {row: whole[row - 1]}
    assert written == [a.action_id for a in batch.actions]  # each line written once
