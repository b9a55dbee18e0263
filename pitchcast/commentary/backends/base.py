"""The one seam every commentary backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pitchcast.schemas.records import Batch, CommentaryItem, Usage
from pitchcast.settings import Persona

__all__ = ["CommentaryBackend", "CommentaryResult", "ItemCallback"]

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
