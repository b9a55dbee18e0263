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
  inventory, and masking keeps many players from passing for many phrasings;
* repeated shape within a burst (:func:`burst_repeats`): of the lines written together
  from one prompt (a live burst, or a batch-mode request), the pairs where the later
  line repeats the earlier one as :mod:`pitchcast.checks.bursts` judges it (one sentence
  shape, or the same opening). Live, a fork's line that repeats one is rewritten by the
  template, so the target is none (tests/unit/quality/test_command.py).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pitchcast.checks.bursts import repeats_in_burst
from pitchcast.checks.shapes import line_shapes, mask, tokens_of

__all__ = [
    "BurstRepeats",
    "NearRepeat",
    "RepetitionFigures",
    "ShapeUse",
    "burst_repeats",
    "distinct_n",
    "near_repeats",
    "repetition",
]


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


@dataclass(slots=True)
class BurstRepeats:
    bursts: int = 0  # groups of lines written together
    bursts_of_two_or_more: int = 0
    pairs: int = 0  # pairs of lines of one burst
    repeated_pairs: int = 0  # ... where the later line repeats the earlier one
    llm_repeated_pairs: int = 0  # ... and the later line is the LLM's (target: none)
    share: float = 0.0  # repeated_pairs / pairs
    by_kind: dict[str, int] = field(default_factory=dict)  # shape / opening -> pairs
    examples: list[tuple[str, str]] = field(default_factory=list)  # (earlier, later)


def burst_repeats(
    texts: Sequence[str],
    bursts: Sequence[int],
    names: Sequence[str],
    *,
    sources: Sequence[str] | None = None,
    examples: int = 8,
) -> BurstRepeats:
    """Pairs of lines of one burst with one sentence shape or the same opening.

    ``texts`` in match order, each with the burst (request) it was written in and who
    wrote it (``sources``: llm or template; None: unknown); lines of different bursts
    are never paired, however alike. The template's lines are not checked against their
    burst (the template is what rewrites a repeat): ``llm_repeated_pairs`` counts the
    pairs whose later line the LLM wrote, the ones the burst check should have caught."""
    of_burst: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for index, (text, burst) in enumerate(zip(texts, bursts, strict=True)):
        of_burst[burst].append((text, sources[index] if sources is not None else ""))
    figures = BurstRepeats(bursts=len(of_burst))
    kinds: Counter[str] = Counter()
    for lines in of_burst.values():
        if len(lines) > 1:
            figures.bursts_of_two_or_more += 1
        for (earlier, _), (later, source) in itertools.combinations(lines, 2):
            figures.pairs += 1
            kind = repeats_in_burst(later, [earlier], names)
            if kind is not None:
                kinds[kind] += 1
                figures.llm_repeated_pairs += source == "llm"
                if len(figures.examples) < examples:
                    figures.examples.append((earlier, later))
    figures.repeated_pairs = sum(kinds.values())
    figures.by_kind = dict(kinds)
    figures.share = figures.repeated_pairs / figures.pairs if figures.pairs else 0.0
    return figures


@dataclass(frozen=True, slots=True)
class NearRepeat:
    earlier: str
    later: str
    shape: str
    gap: int  # lines between them in reading order


def near_repeats(
    texts: Sequence[str], flagged: Sequence[bool], names: Sequence[str], *, within: int
) -> list[NearRepeat]:
    """The pairs of lines at most ``within`` lines apart (``texts`` in the order a fan
    reads them) that share a sentence shape, one of them ``flagged`` (a moment line:
    kick-off, half-time...; the shape figures above count action lines only)."""
    found: list[NearRepeat] = []
    shapes = [set(line_shapes(text, names)) for text in texts]
    for b in range(len(texts)):
        for a in range(max(0, b - within), b):
            if not (flagged[a] or flagged[b]):
                continue
            common = shapes[a] & shapes[b]
            if common:
                found.append(NearRepeat(texts[a], texts[b], min(common), b - a))
    return found
