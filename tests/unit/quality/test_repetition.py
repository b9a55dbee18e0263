"""Repetition figures: shape shares and spacing, distinct lines per batch, distinct n-grams."""

from __future__ import annotations

from pitchcast.quality.repetition import burst_repeats, distinct_n, repetition

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


def test_two_lines_of_one_burst_with_one_shape_are_counted() -> None:
    """A burst holding two lines of one shape (names masked) is one repeated pair; the
    same two lines in different bursts are none."""
    texts = ["이강인이 공을 받습니다.", "세징야가 공을 받습니다.", "골입니다!"]
    together = burst_repeats(texts, [0, 0, 0], NAMES)
    assert together.pairs == 3 and together.repeated_pairs == 1
    assert together.by_kind == {"shape": 1}
    assert together.share == 1 / 3
    assert together.examples == [("이강인이 공을 받습니다.", "세징야가 공을 받습니다.")]
    assert together.llm_repeated_pairs == 0  # sources unknown
    by_llm = burst_repeats(texts, [0, 0, 0], NAMES, sources=["llm", "llm", "template"])
    assert by_llm.llm_repeated_pairs == 1
    by_template = burst_repeats(texts, [0, 0, 0], NAMES, sources=["llm", "template", "llm"])
    assert by_template.repeated_pairs == 1 and by_template.llm_repeated_pairs == 0
    apart = burst_repeats(texts, [0, 1, 1], NAMES)
    assert apart.pairs == 1 and apart.repeated_pairs == 0 and apart.share == 0.0
    assert apart.bursts == 2 and apart.bursts_of_two_or_more == 1


def test_the_same_opening_in_a_burst_is_counted() -> None:
    """Two lines that open with the same words repeat, whatever follows."""
    texts = ["이강인이 오른쪽에서 길게 넘깁니다.", "세징야가 오른쪽에서 슈팅까지 가져갑니다!"]
    figures = burst_repeats(texts, [4, 4], NAMES)
    assert figures.repeated_pairs == 1 and figures.by_kind == {"opening": 1}
    assert burst_repeats([], [], NAMES).share == 0.0
