"""Sentence shapes: names, their particles and numbers masked, one shape per sentence."""

from __future__ import annotations

from pitchcast.checks.shapes import line_shapes, mask

NAMES = ["이강인", "세징야", "Player 10", "Home"]


def test_names_numbers_and_particles_are_masked() -> None:
    """Two players with different particles and different numbers make one shape."""
    a = line_shapes("이강인이 23m 전진합니다! 스코어 Home 1 : 0", NAMES)
    b = line_shapes("세징야가 8m 전진합니다. 스코어 Home 2 : 1", NAMES)
    assert a == b == ["{N}이/가 # 전진합니다", "스코어 {N} #"]


def test_native_numerals_before_counters_are_masked() -> None:
    """두 번째 and 세 번째 are one shape; 세징야 is a name, not the numeral 세."""
    assert mask("세징야의 두 번째 골", NAMES) == mask("이강인의 세 번째 골", NAMES)
    assert mask("세징야의 두 번째 골", NAMES) == "{N}의 # 번째 골"


def test_sentences_are_split_after_closing_punctuation() -> None:
    """A line of two sentences uses two shapes; closing marks are dropped."""
    assert line_shapes("골! Player 10이 해냅니다… 대단하네요?", NAMES) == [
        "골",
        "{N}이/가 해냅니다",
        "대단하네요",
    ]
