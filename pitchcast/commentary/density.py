"""What is told when, on the commentary items' side (density).

The decision itself (what each action gets at ``every``, ``story`` and ``key``) is pure
match logic in :mod:`pitchcast.density_rules`, below the match story that folds it;
this module re-exports it and turns decisions into items: :func:`told_in` (a written
item as the density tells it) and :func:`silent_items` (the placeholders a request
asking only for shown rows settles). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pitchcast.density_rules import (
    DENSITIES,
    SHOWN,
    TAIL,
    Density,
    Told,
    decide,
    decide_next,
    is_key,
    shown_rows,
)
from pitchcast.schemas.records import Action, CommentaryItem, Story

__all__ = [
    "DENSITIES",
    "SHOWN",
    "TAIL",
    "Density",
    "Told",
    "decide",
    "decide_next",
    "is_key",
    "shown_rows",
    "silent_items",
    "told_in",
]


def told_in(
    item: CommentaryItem,
    actions: Sequence[Action | None],
    density: Density,
    story: Story | None = None,
) -> CommentaryItem:
    """``item`` (the line of the last of ``actions``, its batch from position 0) as the
    density tells it: unchanged when shown, else silent (no text, ``told_with`` set).
    ``story``: the story when the batch opened. A hole in ``actions`` (never expected)
    leaves the item shown."""
    if density == "every" or any(a is None for a in actions):
        return item
    known = [a for a in actions if a is not None]
    told = decide(known, density, story)[-1]
    if told.shown:
        return item
    return replace(item, description="", shown=False, told_with=told.told_with)


def silent_items(
    actions: Sequence[Action], rows: Sequence[int] | None
) -> dict[int, CommentaryItem]:
    """Placeholder items (no text, not shown) of the rows not in ``rows`` (1-based): what
    a request asking only for ``rows`` settles at once (None: every row is asked for).
    :func:`told_in` gives each its ``told_with`` when it is stored."""
    if rows is None:
        return {}
    asked = set(rows)
    return {
        row: CommentaryItem(a.action_id, a.time_seconds, "calm", "", shown=False)
        for row, a in enumerate(actions, start=1)
        if row not in asked
    }
