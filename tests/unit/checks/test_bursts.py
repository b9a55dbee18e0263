"""The lines of one live burst checked together: a later line must not repeat an earlier one."""

from __future__ import annotations

from pitchcast.checks.bursts import opening, repeats_in_burst

NAMES = ["손흥민", "이강인", "김민재", "울산"]


def test_the_same_sentence_shape_with_other_names_is_a_repeat() -> None:
    earlier = ["김민재가 왼쪽에서 앞으로 패스를 보냅니다."]
    line = "이강인이 왼쪽에서 앞으로 패스를 보냅니다."
    assert repeats_in_burst(line, earlier, NAMES) == "shape"


def test_the_same_opening_words_are_a_repeat() -> None:
    earlier = ["손흥민이 중원에서 공을 받아 냅니다."]
    assert repeats_in_burst("김민재가 중원에서 태클을 겁니다!", earlier, NAMES) == "opening"
    assert opening("김민재가 중원에서 태클을 겁니다!", NAMES) == ("{N}이/가", "중원에서")


def test_different_lines_and_the_first_line_of_a_burst_pass() -> None:
    assert repeats_in_burst("손흥민이 슈팅을 날립니다!", [], NAMES) is None
    earlier = ["손흥민이 중원에서 공을 받아 냅니다.", "울산의 공격이 이어집니다."]
    assert repeats_in_burst("골입니다! 이강인의 왼발이 골망을 흔듭니다.", earlier, NAMES) is None


def test_a_one_word_line_has_no_opening_to_repeat() -> None:
    assert opening("골!", NAMES) is None
    assert repeats_in_burst("나이스!", ["골!"], NAMES) is None
