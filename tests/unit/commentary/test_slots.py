"""Name slots: references per batch, names filled in with the right particles."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pitchcast.commentary.slots import build_slots, clean_text, fill_slots, names_in_batch
from tests.support.commentary_batches import OUTSIDER, korean_batch


def test_players_and_teams_get_references_in_order() -> None:
    """Players are P1.. by first appearance; T1 is the home team, T2 the away team."""
    slots = build_slots(korean_batch())
    assert slots.teams == {"T1": "울산 HD", "T2": "전북 현대"}
    assert (slots.home_ref, slots.away_ref) == ("T1", "T2")
    assert list(slots.players.values()) == [
        "김민재",
        "손흥민",
        "이강인",
        "주민규",
        "세징야",
        "조현우",
    ]
    assert slots.team_of_player["P4"] == "T2"
    assert slots.position_of_player["P1"] == "CB"


def test_without_match_info_teams_are_numbered_by_appearance() -> None:
    """No match info: teams get T1, T2 in order of appearance, named from the actions."""
    slots = build_slots(replace(korean_batch(), match_info=None))
    assert slots.teams == {"T1": "울산 HD", "T2": "전북 현대"}
    assert slots.home_ref is None


def test_a_player_without_a_name_gets_a_label() -> None:
    """An action with a player id but no name still gets a reference and a readable label
    (선수: the id is a database id, not a shirt number)."""
    batch = korean_batch(2)
    nameless = replace(batch.actions[0], player_name_ko=None)
    slots = build_slots(replace(batch, actions=(nameless, batch.actions[1])))
    assert slots.players["P1"] == "선수"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("{P1}이 패스합니다", "김민재가 패스합니다"),
        ("{P1}가 패스합니다", "김민재가 패스합니다"),
        ("{P2}가 슛!", "손흥민이 슛!"),
        ("{P2}는 {P1}을 봅니다", "손흥민은 김민재를 봅니다"),
        ("{P3}와 {P2}과의 호흡", "이강인과 손흥민과의 호흡"),
        ("{T1}으로 넘어갑니다", "울산 HD로 넘어갑니다"),
        ("{P2}으로 연결", "손흥민으로 연결"),
        ("{P1}의 태클, {P1}에게 공이", "김민재의 태클, 김민재에게 공이"),
        ("{T2} 선수들", "전북 현대 선수들"),
        ("{P1}", "김민재"),
    ],
)
def test_fill_slots_fixes_particles(written: str, expected: str) -> None:
    """이/가, 은/는, 을/를, 과/와, (으)로 follow the name; other words are left as written."""
    filled, unknown = fill_slots(written, build_slots(korean_batch()))
    assert (filled, unknown) == (expected, [])


def test_particles_for_latin_and_digit_names() -> None:
    """Names of the sample data (Player19, Team A) take the particle of how they are read."""
    batch = korean_batch(names={10: "Player19", 7: "Player 10"})
    slots = build_slots(batch)
    assert fill_slots("{P1}이 {P2}가", slots)[0] == "Player19가 Player 10이"


def test_unknown_references_are_reported_and_left() -> None:
    """A reference no table defines is returned as unknown and not replaced."""
    filled, unknown = fill_slots("{P99}가 {P1}에게, {선수}도", build_slots(korean_batch()))
    assert unknown == ["P99", "선수"]
    assert filled == "{P99}가 김민재에게, {선수}도"


def test_names_in_batch_are_its_players_and_the_match_teams() -> None:
    """A line may name the batch's players and the match's teams, not the rest of the roster."""
    names = names_in_batch(korean_batch())
    assert {"김민재", "세징야", "울산 HD", "전북 현대", "Ulsan HD"} <= names
    assert OUTSIDER not in names


def test_clean_text_drops_control_characters() -> None:
    """Control and format characters become spaces and runs of spaces collapse."""
    assert clean_text(" 골\x00입니다\u200b!\n\t와 ") == "골 입니다 ! 와"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("{P2}지만 {P1}지만", "손흥민이지만 김민재지만"),
        ("{P2}이지만 {P1}이지만", "손흥민이지만 김민재지만"),
        ("{P2}든 {P1}든 상관없어", "손흥민이든 김민재든 상관없어"),
        ("{P2}이다. {P1}이다.", "손흥민이다. 김민재다."),
        ("{P2}고 {P1}고 다 뛰네", "손흥민이고 김민재고 다 뛰네"),
        ("{P2}라서 {P1}라서", "손흥민이라서 김민재라서"),
        ("{P2}라고 {P1}라고", "손흥민이라고 김민재라고"),
        ("{P2}예요. {P1}이에요.", "손흥민이에요. 김민재예요."),
        ("{P2}였다. {P1}이었다.", "손흥민이었다. 김민재였다."),
        ("{P2}이었는데 {P1}였는데", "손흥민이었는데 김민재였는데"),
        ("{P2}이라서요", "손흥민이라서요"),
    ],
)
def test_copula_after_a_reference(written: str, expected: str) -> None:
    """The copula's 이 stays after a final consonant and drops after a vowel, either spelling."""
    assert fill_slots(written, build_slots(korean_batch()))[0] == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # a call: the name starts its sentence
        ("{P2}야, 잘했어!", "손흥민아, 잘했어!"),
        ("{P1}야, 잘했어!", "김민재야, 잘했어!"),
        ("골! {P2}야! 최고다", "골! 손흥민아! 최고다"),
        ('"{P2}야!"', '"손흥민아!"'),
        ("{P2}아, 여기야!", "손흥민아, 여기야!"),
        ("{P1}아, 여기야!", "김민재야, 여기야!"),
        # a statement: the name ends it, 야 is the copula
        ("오늘의 주인공은 {P2}야!", "오늘의 주인공은 손흥민이야!"),
        ("오늘의 주인공은 {P1}야!", "오늘의 주인공은 김민재야!"),
        ("골 넣은 건 {P2}이야.", "골 넣은 건 손흥민이야."),
        ("이번엔 {P2}야, 틀림없어", "이번엔 손흥민이야, 틀림없어"),
    ],
)
def test_ya_is_a_call_at_the_start_and_a_copula_after(written: str, expected: str) -> None:
    """FRIEND's {P1}야 ending a statement is 이야; a name opening its sentence is called."""
    assert fill_slots(written, build_slots(korean_batch()))[0] == expected


def test_copula_for_digit_and_latin_names() -> None:
    """Player 10 (십) keeps 이, Player19 (구) drops it; Kim keeps it, Lee drops it."""
    slots = build_slots(korean_batch(names={10: "Player19", 7: "Player 10", 19: "Kim", 9: "Lee"}))
    assert fill_slots("{P1}지만 {P2}지만", slots)[0] == "Player19지만 Player 10이지만"
    assert fill_slots("{P3}였다, {P4}였다", slots)[0] == "Kim이었다, Lee였다"
    assert fill_slots("최고는 {P2}야", slots)[0] == "최고는 Player 10이야"


@pytest.mark.parametrize("player_id", [500101.0, 3577.0, 7.0, 1e20, None])
def test_a_nameless_players_id_that_is_no_shirt_number_is_not_shown(
    player_id: float | None,
) -> None:
    """A database id (K League's 500101, Metrica's 3577, a small one like 7) or none at
    all is not a shirt number: the nameless player is 선수, never 500101번 or ?번 선수."""
    batch = korean_batch(2)
    nameless = replace(batch.actions[0], player_name_ko=None, player_id=player_id)
    slots = build_slots(replace(batch, actions=(nameless, batch.actions[1])))
    assert "번" not in "".join(slots.players.values())


def test_a_name_ending_in_a_full_stop_closes_a_sentence_once() -> None:
    """'{P1}.' with P1 = '박지성 Jr.' reads '박지성 Jr.', not '박지성 Jr..' (s20); the
    name's stop stays before a particle and an ellipsis stays whole."""
    slots = build_slots(korean_batch(names={10: "박지성 Jr."}))
    assert fill_slots("패스를 받은 선수는 {P1}.", slots)[0] == "패스를 받은 선수는 박지성 Jr."
    assert fill_slots("{P1}의 패스, {P1}!", slots)[0] == "박지성 Jr.의 패스, 박지성 Jr.!"
    assert fill_slots("{P1}...", slots)[0] == "박지성 Jr...."
