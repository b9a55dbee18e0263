"""The one seam every commentary backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pitchcast.commentary.breaker import FailureGroup
from pitchcast.commentary.conversation import LiveTurn
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
    """Writes the commentary of one batch in one persona (batch mode), or of some rows
    of a batch still filling, in its conversation (live mode)."""

    name: str

    async def write(
        self,
        batch: Batch,
        persona: Persona,
        *,
        on_item: ItemCallback | None = None,
        rows: Sequence[int] | None = None,
    ) -> CommentaryResult:
        """One item per action of ``batch``; raise a ``PitchcastError`` on failure.
        ``rows`` (density): the 1-based rows to write lines for; the others get a silent
        item (no text). The service passes it only when some row is silent."""
        ...

    async def write_rows(
        self,
        batch: Batch,
        persona: Persona,
        turns: Sequence[LiveTurn],
        rows: Sequence[int],
        *,
        settled: Mapping[int, CommentaryItem],
        deadline: float | None = None,
        on_item: ItemCallback | None = None,
        fork: int | None = None,
        failures: FailureGroup | None = None,
    ) -> RowsAnswer:
        """The valid lines of ``rows`` (1-based positions of ``batch``, the actions so
        far) after ``turns``, ``settled`` being the rows written before; each valid line
        goes to ``on_item`` in row order. ``deadline`` is absolute loop time. Raise a
        ``PitchcastError`` on failure; rows left out are the caller's to fill.

        ``fork``: one row of ``rows`` (a burst) whose line alone this request writes,
        from a prompt that every fork of the burst shares up to its last part.
        ``failures``: the burst's group; a backend that keeps breakers of its own gives
        each of them one failure verdict per group (:class:`~..breaker.FailureGroup`)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
