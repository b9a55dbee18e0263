"""How repetitive a persona's lines are over a match.

**Sentence shape**: :mod:`pitchcast.checks.shapes` (names, their particles and numbers
masked, one shape per sentence). A line *uses* a shape when one of its sentences has it.

**Figures** (per persona, over the match in line order):

* distinct lines per batch: distinct texts / lines, per batch (min and mean);
* distinct shapes; the most used shapes with the number of lines that use each and its
  share of all lines (the target: the most used shape in at most 1.5% of lines);
* gaps: between two consecutive lines that use the same shape, in lines and in match
  minutes; the shortest gap over all shapes (target: at least 30 lines);
* distinct-n: unique n-grams / all n-grams for n = 1, 2, 3, over *eojeol* tokens
  (whitespace-separated words, punctuation stripped) of the masked lines. Korean is
  agglutinative: an eojeol is a word with its particles and endings, so eojeol n-grams
  see phrasing (``공을 받습니다``) where character n-grams would mostly count the syllable
  inventory, and masking keeps many players from passing for many phrasings.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pitchcast.checks.shapes import line_shapes, mask, tokens_of

__all__ = ["RepetitionFigures", "ShapeUse", "distinct_n", "repetition"]


def distinct_n(token_lines: Iterable[Sequence[str]], n: int) -> float:
    """Unique n-grams / all n-grams over lines of tokens (n-grams do not cross lines)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for tokens in token_lines:
        for i in range(len(tokens) - n + 1):
            seen.add(tuple(tokens[i : i + n]))
            total += 1
    return len(seen) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class ShapeUse:
    shape: str
    lines: int  # lines that use it
    share: float  # of all lines
    uses: int  # sentences with it (a line may use it twice)


@dataclass(slots=True)
class RepetitionFigures:
    lines: int = 0
    distinct_lines: int = 0
    distinct_per_batch_min: float = 0.0
    distinct_per_batch_mean: float = 0.0
    sentences: int = 0
    distinct_shapes: int = 0
    top: list[ShapeUse] = field(default_factory=list)
    top_share: float = 0.0
    shortest_gap_lines: int | None = None
    shortest_gap_lines_shape: str | None = None
    shortest_gap_minutes: float | None = None
    shortest_gap_minutes_shape: str | None = None
    gap_histogram: dict[int, int] = field(default_factory=dict)  # gap in lines -> how many
    gaps_below_30: int = 0
    distinct_1: float = 0.0
    distinct_2: float = 0.0
    distinct_3: float = 0.0
    shape_counts: list[int] = field(default_factory=list)  # lines per shape, descending


def repetition(
    texts: Sequence[str],
    batches: Sequence[int],
    minutes: Sequence[float],
    names: Sequence[str],
    *,
    top: int = 10,
) -> RepetitionFigures:
    """Figures of one persona's lines (``texts`` in match order, each with its batch index
    and its match clock in minutes)."""
    figures = RepetitionFigures(lines=len(texts), distinct_lines=len(set(texts)))
    if not texts:
        return figures
    per_batch: dict[int, list[str]] = defaultdict(list)
    for text, batch in zip(texts, batches, strict=True):
        per_batch[batch].append(text)
    ratios = [len(set(lines)) / len(lines) for lines in per_batch.values()]
    figures.distinct_per_batch_min = min(ratios)
    figures.distinct_per_batch_mean = sum(ratios) / len(ratios)

    uses: Counter[str] = Counter()
    lines_of: dict[str, list[int]] = defaultdict(list)
    token_lines = []
    for index, text in enumerate(texts):
        shapes = line_shapes(text, names)
        figures.sentences += len(shapes)
        uses.update(shapes)
        for shape in dict.fromkeys(shapes):
            lines_of[shape].append(index)
        token_lines.append(tokens_of(mask(text, names)))
    figures.distinct_shapes = len(lines_of)
    ranked = sorted(lines_of.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    figures.shape_counts = [len(indices) for _, indices in ranked]
    figures.top = [
        ShapeUse(shape, len(indices), len(indices) / len(texts), uses[shape])
        for shape, indices in ranked[:top]
    ]
    figures.top_share = figures.top[0].share if figures.top else 0.0
    gaps: list[int] = []
    for shape, indices in ranked:
        for a, b in itertools.pairwise(indices):
            gap = b - a
            gaps.append(gap)
            if figures.shortest_gap_lines is None or gap < figures.shortest_gap_lines:
                figures.shortest_gap_lines, figures.shortest_gap_lines_shape = gap, shape
            minutes_gap = minutes[b] - minutes[a]
            if figures.shortest_gap_minutes is None or minutes_gap < figures.shortest_gap_minutes:
                figures.shortest_gap_minutes = minutes_gap
                figures.shortest_gap_minutes_shape = shape
    figures.gap_histogram = dict(sorted(Counter(gaps).items()))
    figures.gaps_below_30 = sum(1 for g in gaps if g < 30)
    figures.distinct_1 = distinct_n(token_lines, 1)
    figures.distinct_2 = distinct_n(token_lines, 2)
    figures.distinct_3 = distinct_n(token_lines, 3)
    return figures
