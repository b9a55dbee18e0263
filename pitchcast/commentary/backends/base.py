"""The one seam every commentary backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona

__all__ = ["CommentaryBackend", "CommentaryResult", "ItemCallback", "RowsAnswer"]

# Called with each item as soon as it is complete and valid (live lines).
ItemCallback = Callable[[CommentaryItem], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CommentaryResult:
    """What a backend wrote for one (batch, persona): one item per action, in order."""

    items: tuple[CommentaryItem, ...]
    source: Literal["llm", "template", "mixed"]
    model: str
    usage: Usage = field(default_factory=Usage)
    fallback_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RowsAnswer:
    """What a backend wrote for some rows of a batch (live mode): the valid lines only.

    Rows missing from ``items`` had no valid line; the caller decides what fills them.
    """

    items: dict[int, CommentaryItem]
    # Each valid line's text as written (references unfilled): the conversation history.
    raw: dict[int, str]
    # The whole answer as received (kept as the assistant turn when every row came from it).
    answer: str
    usage: Usage = field(default_factory=Usage)
    problems: tuple[str, ...] = ()


class CommentaryBackend(Protocol):
    """Writes the commentary of one batch in one persona."""

    name: str

    async def write(
        self, batch: Batch, persona: Persona, *, on_item: ItemCallback | None = None
    ) -> CommentaryResult:
        """One item per action of ``batch``; raise a ``PitchcastError`` on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
