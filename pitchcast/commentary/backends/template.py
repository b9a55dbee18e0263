"""The template backend: deterministic Korean commentary with no model behind it.

The fallback of the LLM stage, the demo default and the backend of deterministic tests.
It wraps :func:`pitchcast.commentary.template.write_template_commentary`, which never
raises on a batch the schema accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pitchcast.commentary.backends.base import CommentaryResult, ItemCallback, RowsAnswer
from pitchcast.commentary.breaker import FailureGroup
from pitchcast.commentary.template import write_template_commentary, write_template_rows
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona

__all__ = ["TemplateBackend"]


class TemplateBackend:
    """A :class:`~pitchcast.commentary.backends.base.CommentaryBackend` of templates."""

    name = "template"
    model = "template"
    # The density its lines are told at: below ``every`` the phrasing rotation counts
    # only the actions shown (so silent ones use up no sentence).
    density = "every"
    # The team FRIEND backs (PITCHCAST_FRIEND_SUPPORTS); a match without it: neutral.
    supports = ""

    def __init__(self, density: str = "every", supports: str = "") -> None:
        self.density = density
        self.supports = supports
        # Load and check the phrasebook now: a broken one stops the worker at start
        # (PhrasebookError naming the entry) instead of degrading every line later.
        phrasebook()

    async def write(
        self,
        batch: Batch,
        persona: Persona,
        *,
        on_item: ItemCallback | None = None,
        rows: Sequence[int] | None = None,
    ) -> CommentaryResult:
        """One item per action of ``batch``; ``on_item`` gets each item, in order.
        ``rows`` (the shown rows at a density) changes nothing: the template costs
        nothing, and the line book keeps the silent items silent."""
        items = write_template_commentary(batch, persona, self.density, self.supports)
        if on_item is not None:
            for item in items:
                await on_item(item)
        return CommentaryResult(items=items, source="template", model=self.model, usage=Usage())

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[Any],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem] | None = None,
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
        fork: int | None = None,
        failures: FailureGroup | None = None,
    ) -> RowsAnswer:
        """Live mode: the lines of ``rows`` (1-based) of a batch still filling, in order
        (with ``fork``, the line of that row alone)."""
        items = write_template_rows(batch, persona, rows, self.density, self.supports)
        if fork is not None:
            rows = [fork]
            items = {fork: items[fork]}
        if on_item is not None:
            for row in rows:
                await on_item(items[row])
        raw = {row: item.description for row, item in items.items()}
        return RowsAnswer(items=items, raw=raw, answer="")

    def cache_key(self, batch: Batch, persona: Persona, rows: Sequence[int] | None = None) -> None:
        """Always None: template output is cheap and deterministic, so it is never cached."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""
