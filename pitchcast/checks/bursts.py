"""Lines of one live burst, written side by side, checked together. Pure, no I/O.

In live mode a burst's rows are written by parallel requests (forks) that each see
every row of the burst but not each other's lines, so two of them may say the same
thing the same way. A later line of a burst *repeats* an earlier one when both use one
sentence shape (:mod:`.shapes`: names, particles and numbers masked) or when they open
with the same words (the first :data:`OPENING_TOKENS` tokens of the masked line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pitchcast.checks.shapes import line_shapes, mask, tokens_of

__all__ = ["OPENING_TOKENS", "Repeat", "opening", "repeats_in_burst"]

# How many words of a masked line make its opening ("{N}이/가 중원에서" is two).
OPENING_TOKENS = 2

Repeat = Literal["shape", "opening"]


def opening(text: str, names: Sequence[str]) -> tuple[str, ...] | None:
    """The first words of ``text`` with names masked; None for a line shorter than that."""
    tokens = tokens_of(mask(text, names))
    return tuple(tokens[:OPENING_TOKENS]) if len(tokens) >= OPENING_TOKENS else None


def repeats_in_burst(text: str, earlier: Sequence[str], names: Sequence[str]) -> Repeat | None:
    """How ``text`` repeats one of the burst's ``earlier`` lines, or None if it does not.

    ``names`` are the roster names to mask (the batch's players and teams)."""
    if not earlier:
        return None
    shapes = set(line_shapes(text, names))
    start = opening(text, names)
    for other in earlier:
        if shapes & set(line_shapes(other, names)):
            return "shape"
        if start is not None and start == opening(other, names):
            return "opening"
    return None
