"""Endings of a line, by class."""

from __future__ import annotations

import pytest

from pitchcast.checks.register import ENDINGS, ending_of


@pytest.mark.parametrize(
    ("text", "ending"),
    [
        ("Player9가 패스합니다.", "~니다"),
        ("패스가 끊기죠.", "~죠"),
        ("공을 잘 지켜 내네요!", "~네요"),
        ("이건 좋아요.", "~요"),
        ("공 잘 지키네.", "~네"),
        ("잘 찼지?", "~지"),
        ("들어갔다!", "~다"),
        ("Player9가 넣었어!", "~어/아"),
        ("또 손흥민이야!", "~야"),
        ("골키퍼 정면!", "noun / call"),
        ("", "noun / call"),
    ],
)
def test_ending_classes(text: str, ending: str) -> None:
    assert ending_of(text) == ending
    assert ending in ENDINGS
