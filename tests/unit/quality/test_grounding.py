"""Grounding of names: roster names a line may and may not mention."""

from __future__ import annotations

from pitchcast.quality.grounding import allowed_names, clean_name, ungrounded_names
from tests.support.commentary_batches import OUTSIDER, korean_batch, korean_match_info

ROSTER = ["김민재", "손흥민", "이강인", "조현우", "주민규", "세징야", "홍정호", OUTSIDER, "울산 HD"]


def test_names_of_the_batch_and_match_info_are_allowed() -> None:
    """Players of the batch's actions and both teams (Korean and English) may be named."""
    batch = korean_batch()
    allowed = allowed_names(batch.actions, batch.match_info)
    assert {"김민재", "손흥민", "세징야", "울산 HD", "전북 현대", "Ulsan HD", "Jeonbuk"} <= allowed
    text = "손흥민이 세징야를 제치고 울산 HD가 앞서갑니다."
    assert ungrounded_names(text, ROSTER, allowed) == []


def test_a_roster_name_outside_the_batch_is_ungrounded() -> None:
    """이동국 is on the roster but in no action of the batch: flagged, once."""
    batch = korean_batch()
    allowed = allowed_names(batch.actions, batch.match_info)
    found = ungrounded_names(f"{OUTSIDER}이 뛰어듭니다. {OUTSIDER} 또!", ROSTER, allowed)
    assert [f.name for f in found] == [OUTSIDER]


def test_names_written_only_by_earlier_rows_count() -> None:
    """In live mode only the actions known when the line was written are allowed."""
    batch = korean_batch()
    known = allowed_names(batch.actions[:2], korean_match_info())
    found = ungrounded_names("이강인이 슈팅합니다.", ROSTER, known)
    assert [f.name for f in found] == ["이강인"]


def test_a_name_inside_a_longer_name_is_not_flagged() -> None:
    """Player 1 is not found in Player 10; an allowed longer name hides its prefix."""
    allowed = {"Player 10", "Home"}
    roster = ["Player 1", "Player 10", "Home"]
    assert ungrounded_names("Player 10이 Home의 공격을 이끕니다.", roster, allowed) == []
    assert [f.name for f in ungrounded_names("Player 1이 받습니다.", roster, allowed)] == [
        "Player 1"
    ]


def test_clean_name_collapses_spaces_and_controls() -> None:
    """Control characters and repeated spaces do not make a different name."""
    assert clean_name("울산\u200b  HD\n") == "울산 HD"
    assert clean_name(None) == ""
