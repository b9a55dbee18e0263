"""Repetition figures: shape shares and spacing, distinct lines per batch, distinct n-grams."""

from __future__ import annotations

from pitchcast.quality.repetition import distinct_n, repetition

NAMES = ["이강인", "세징야", "Player 10", "Home"]


def test_top_share_and_shortest_gap() -> None:
    """A shape in 2 of 4 lines has a 50% share; its two uses are 2 lines and 3 minutes apart."""
    texts = ["이강인이 받습니다.", "세징야가 찹니다.", "세징야가 받습니다.", "골입니다!"]
    figures = repetition(texts, [0, 0, 1, 1], [1.0, 2.0, 4.0, 5.0], NAMES)
    assert figures.lines == 4 and figures.distinct_shapes == 3
    assert figures.top[0].shape == "{N}이/가 받습니다" and figures.top[0].lines == 2
    assert figures.top_share == 0.5
    assert figures.shortest_gap_lines == 2 and figures.shortest_gap_minutes == 3.0
    assert figures.gap_histogram == {2: 1} and figures.gaps_below_30 == 1
    assert figures.distinct_per_batch_min == 1.0


def test_repeated_lines_in_a_batch_lower_its_distinct_ratio() -> None:
    """Two identical lines of one batch give that batch a ratio of 0.5."""
    figures = repetition(["같은 말.", "같은 말.", "다른 말."], [0, 0, 1], [0, 0, 0], [])
    assert figures.distinct_per_batch_min == 0.5
    assert figures.distinct_per_batch_mean == 0.75


def test_distinct_n_counts_unique_ngrams_within_lines() -> None:
    """Unique over all n-grams; n-grams never cross from one line into the next."""
    lines = [["a", "b", "c"], ["a", "b", "d"]]
    assert distinct_n(lines, 1) == 4 / 6
    assert distinct_n(lines, 2) == 3 / 4
    assert distinct_n(lines, 3) == 1.0
    assert distinct_n([], 2) == 0.0
