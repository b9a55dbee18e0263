"""The particle checker: every alternating particle after a name or number, by the rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pitchcast.checks.particles import check_particles, find_names, parse_particle_run

PACKAGE = Path(__file__).resolve().parents[3] / "pitchcast"

NAMES = [
    "이강인",
    "세징야",
    "이승렬",
    "손흥민",
    "Player19",
    "Player 10",
    "Player 1",
    "K리그",
    "Team A",
]


def errors(text: str, names: list[str] = NAMES) -> list[tuple[str, str, str]]:
    return [(e.word, e.written, e.expected) for e in check_particles(text, names).errors]


@pytest.mark.parametrize(
    "text",
    [
        "이강인이 공을 받습니다.", "세징야가 슈팅합니다.", "이강인은 침착합니다.",
        "세징야는 빠르다.",
        "이강인을 막습니다.", "세징야를 막습니다.", "이강인과 세징야가 경합합니다.",
        "세징야와 이강인의 대결.", "이강인과의 경합", "세징야와도 붙었어.",
        "이승렬로 연결합니다.", "이강인으로 연결합니다.", "세징야로 연결합니다.",
        "이승렬로부터 시작된 공격", "이강인으로서는 아쉽습니다.", "이승렬이 받습니다.",
        "이승렬을 거쳐 갑니다.", "이강인아, 잘했어!", "세징야야, 최고야!", "이강인이랑 세징야랑",
        "이건 이강인이야!", "역시 세징야야!", "오늘의 주인공은 이강인이다.", "세징야다!",
        "세징야이다.", "이강인이지만 막혔습니다.", "세징야지만 아쉽다.", "이강인이든 세징야든",
        "이강인이고 세징야고", "이강인이라서 가능한 장면", "세징야라서 다르다.",
        "이강인이에요.", "세징야예요.", "이강인의 패스", "세징야에게 연결", "이강인 선수",
        "보낸 쪽은 이강인이죠.", "보낸 쪽은 세징야죠.", "세징야이죠.", "이강인이네요!",
        "세징야네요!", "이강인이었죠.", "세징야였죠.", "이강인이었어요.", "세징야였어요.",
        "이강인이라니!", "세징야라니!", "이강인이면 넣지.", "세징야면 넣지.",
        "이강인이었는데 막혔다.", "세징야였는데 막혔다.", "이강인이지요.", "세징야지요.",
        "이강인이라도 어렵다.", "세징야라도 어렵다.", "이승렬로선 아쉽다.", "이강인이었던 장면",
        "세징야였던 장면", "이강인이던데요", "이강인이어서요.", "세징야여서요.", "세징야니까요.",
    ],
)  # fmt: skip
def test_right_particles_pass(text: str) -> None:
    """Each pair after a consonant, a vowel and ㄹ, and the copula forms, are accepted."""
    assert errors(text) == []


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("이강인가 공을 받습니다.", ("이강인", "가", "이")),
        ("세징야이 슈팅합니다.", ("세징야", "이", "가")),
        ("이강인는 침착합니다.", ("이강인", "는", "은")),
        ("세징야은 빠르다.", ("세징야", "은", "는")),
        ("이강인를 막습니다.", ("이강인", "를", "을")),
        ("세징야을 막습니다.", ("세징야", "을", "를")),
        ("이강인와 붙었다.", ("이강인", "와", "과")),
        ("세징야과의 경합", ("세징야", "과의", "와의")),
        ("이승렬으로 연결합니다.", ("이승렬", "으로", "로")),
        ("이강인로 연결합니다.", ("이강인", "로", "으로")),
        ("세징야으로 연결합니다.", ("세징야", "으로", "로")),
        ("이승렬으로부터", ("이승렬", "으로부터", "로부터")),
        ("이강인랑 세징야", ("이강인", "랑", "이랑")),
        ("세징야이랑 뛰어", ("세징야", "이랑", "랑")),
        ("이강인야, 잘했어!", ("이강인", "야", "아")),
        ("세징야아, 잘했어!", ("세징야", "아", "야")),
        ("이건 세징야이야!", ("세징야", "이야", "야")),
        ("주인공은 이강인다.", ("이강인", "다", "이다")),
        ("이강인지만 막혔다.", ("이강인", "지만", "이지만")),
        ("이강인든 뭐든", ("이강인", "든", "이든")),
        ("이강인고 세징야고", ("이강인", "고", "이고")),
        ("이강인라서 가능해", ("이강인", "라서", "이라서")),
        ("세징야이에요.", ("세징야", "이에요", "예요")),
        ("이강인예요.", ("이강인", "예요", "이에요")),
        ("이강인이예요.", ("이강인", "이예요", "이에요")),
        # The copula endings a line closes on (s20): after a consonant only the 이-form.
        ("보낸 쪽은 이강인죠.", ("이강인", "죠", "이죠")),
        ("이강인네요!", ("이강인", "네요", "이네요")),
        ("이강인였죠.", ("이강인", "였죠", "이었죠")),
        ("이강인였어요.", ("이강인", "였어요", "이었어요")),
        ("이강인라니!", ("이강인", "라니", "이라니")),
        ("이강인면 넣지.", ("이강인", "면", "이면")),
        ("이강인였는데 막혔다.", ("이강인", "였는데", "이었는데")),
        ("이강인지요.", ("이강인", "지요", "이지요")),
        ("이승렬죠.", ("이승렬", "죠", "이죠")),
        # The rarer ones a model writes: 이라도, 이던, 이었던, 이어서요, (으)로선.
        ("이강인라도 어렵다.", ("이강인", "라도", "이라도")),
        ("이강인던 시절", ("이강인", "던", "이던")),
        ("이강인였던 장면", ("이강인", "였던", "이었던")),
        ("이강인여서요.", ("이강인", "여서요", "이어서요")),
        ("이승렬으로선 아쉽다.", ("이승렬", "으로선", "로선")),
        ("이강인니까요.", ("이강인", "니까요", "이니까요")),
    ],
)
def test_wrong_particles_are_errors(text: str, wrong: tuple[str, str, str]) -> None:
    """The other form of every pair is an error, with the right form named."""
    assert errors(text) == [wrong]


def test_digits_in_names_are_read_aloud() -> None:
    """Player19 (십구) takes 가, Player 10 (십) takes 이, Player 1 (일) takes 로."""
    assert errors("Player19가 Player 10에게, Player 10이 Player 1로.") == []
    assert errors("Player19이 찬다.") == [("Player19", "이", "가")]
    assert errors("Player 10가 찬다.") == [("Player 10", "가", "이")]
    assert errors("Player 1으로 연결") == [("Player 1", "으로", "로")]


def test_latin_letter_names_are_read_by_letter() -> None:
    """Team A (에이) takes 가 and 는; K리그 ends in 그."""
    assert errors("Team A가 앞서고 Team A는 웃는다. K리그는 뜨겁다.") == []
    assert errors("Team A이 앞선다.") == [("Team A", "이", "가")]


def test_numbers_of_the_line_are_checked() -> None:
    """A score or distance followed by a particle: 2-1로 (일), 1:0으로 (영), 23m나."""
    assert errors("2-1로 앞섭니다. 1:0으로 끝. 23m나 끌고 갔어.", []) == []
    assert errors("2-1으로 앞섭니다.", []) == [("1", "으로", "로")]
    assert errors("3-3로 비깁니다.", []) == [("3", "로", "으로")]


def test_words_that_are_not_particles_are_not_judged() -> None:
    """의, 에게, 선수, 골 and suffixes like 다운 and 네 (이강인네: he and his side) are not
    alternating particles."""
    result = check_particles("이강인의 패스, 이강인다운 플레이, 세징야에게, 2골, 이강인네", NAMES)
    assert result.errors == []
    assert result.checked == 0


def test_unreadable_names_are_listed_not_guessed() -> None:
    """A name whose end cannot be read is unchecked, never an error."""
    result = check_particles("Park가 찬다.", ["Park"])
    assert result.errors == [] and result.checked == 0
    assert [u.word for u in result.unchecked] == ["Park"]


def test_names_are_found_as_whole_words() -> None:
    """Player 1 is not found inside Player 10; the longer name wins."""
    spans = find_names("Player 10이 Player 1에게", ["Player 1", "Player 10"])
    assert [name for _, _, name in spans] == ["Player 10", "Player 1"]


def test_every_particle_pair_the_phrasebook_writes_is_judged() -> None:
    """The checker keeps its own pair table (it is not derived from the code under test),
    so a pair the phrasebook starts to write after a slot must be one it judges, or the
    sweep over every phrasing would pass that pair unread."""
    text = (PACKAGE / "commentary" / "template" / "phrasebook.toml").read_text("utf-8")
    pairs = set(re.findall(r"\{[^{}:]+:([^{}/]+)/([^{}/]+)\}", text))
    assert pairs, "no {slot:pair} in the phrasebook: the pattern is stale"
    unjudged = sorted(
        f"{first}/{second}"
        for first, second in pairs
        if parse_particle_run(first) is None or parse_particle_run(second) is None
    )
    assert unjudged == []


def test_foreign_names_ending_in_a_sounded_consonant_are_judged() -> None:
    """Korean writes a final d, r, x, z, f, v, g, w or h of a foreign name with a vowel
    after it (Lingard 린가드, Bakhodir 바코디르, Max 맥스, Stanislav 스타니슬라프): 이, 은,
    을 after such a name is as wrong as after 세징야, and a reader sees it."""
    names = ["Lingard", "O. Bakhodir", "Max", "Stanislav", "Lopez"]
    assert errors("Lingard가 넘기고 O. Bakhodir는 Max를 Stanislav와 Lopez로 바꿔요.", names) == []
    assert errors("Lingard이 찬다. O. Bakhodir을 막는다.", names) == [
        ("Lingard", "이", "가"),
        ("O. Bakhodir", "을", "를"),
    ]
