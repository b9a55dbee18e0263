"""How the end of a word is read aloud: Hangul, Sino-Korean digits, Latin letters."""

from __future__ import annotations

import unicodedata

import pytest

from pitchcast.checks.reading import letter_names, reading_of, sino_korean, sound_of
from pitchcast.commentary.korean import final_sound
from tests.support.unseen_match import AWAY, HOME, PLAYERS


@pytest.mark.parametrize(
    ("number", "reading"),
    [
        (0, "영"), (1, "일"), (2, "이"), (3, "삼"), (6, "육"), (10, "십"), (11, "십일"),
        (19, "십구"), (20, "이십"), (100, "백"), (101, "백일"), (1000, "천"),
        (2024, "이천이십사"), (10000, "만"), (12345, "만이천삼백사십오"), (100000000, "일억"),
    ],
)  # fmt: skip
def test_sino_korean_reads_numbers_as_a_speaker_does(number: int, reading: str) -> None:
    """Digits are read with the units 십, 백, 천, 만, 억 (10 is 십, not 일십)."""
    assert sino_korean(number) == reading


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        ("이강인", "consonant"), ("세징야", "vowel"), ("이승렬", "rieul"), ("손흥민", "consonant"),
        ("서울", "rieul"), ("K리그", "vowel"), ("울산 HD", "vowel"), ("ㄹ", "rieul"),
        ("ㄱ", "consonant"), ("ㅏ", "vowel"),
    ],
)  # fmt: skip
def test_hangul_ends_by_its_last_syllable(word: str, sound: str) -> None:
    """No 받침 is a vowel, ㄹ is rieul, any other 받침 a consonant; a jamo by its name."""
    assert sound_of(word) == sound


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        ("Player19", "vowel"), ("Player 10", "consonant"), ("Player 1", "rieul"),
        ("Player7", "rieul"), ("Player 3", "consonant"), ("Player 6", "consonant"),
        ("Player 2", "vowel"), ("Player 0", "consonant"), ("1,000", "consonant"),
        ("1.5", "vowel"), ("23m", "vowel"), ("50%", "vowel"),
    ],
)  # fmt: skip
def test_digits_end_as_their_sino_korean_reading(word: str, sound: str) -> None:
    """19 십구 ends in a vowel, 10 십 in ㅂ, 1 일 and 7 칠 in ㄹ; a unit is read as the unit."""
    assert sound_of(word) == sound


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        ("L", "rieul"), ("R", "rieul"), ("M", "consonant"), ("N", "consonant"), ("B", "vowel"),
        ("Team A", "vowel"), ("FC", "vowel"), ("Home", "consonant"), ("Away", "vowel"),
        ("Paul", "rieul"), ("Son", "consonant"), ("Lee", "vowel"), ("Park", "unknown"),
        ("Robert", "unknown"), ("Lucas", "vowel"), ("James", "vowel"), ("Santos", "vowel"),
        ("Lingard", "vowel"), ("David", "vowel"), ("Doug", "vowel"), ("Max", "vowel"),
        ("Lopez", "vowel"), ("Josef", "vowel"), ("Stanislav", "vowel"), ("Bakhodir", "vowel"),
        ("Andrew", "vowel"), ("Josh", "vowel"), ("Hwang", "consonant"), ("Jacob", "unknown"),
        ("Nick", "unknown"), ("Matt", "unknown"), ("Baek", "unknown"),
    ],
)  # fmt: skip
def test_latin_letters_are_read_by_name_and_words_only_where_plain(word: str, sound: str) -> None:
    """'L' 엘 ends in ㄹ, 'M' 엠 in ㅁ, 'B' 비 in a vowel; an unclear word is not guessed."""
    assert sound_of(word) == sound


def test_trailing_brackets_and_punctuation_are_skipped() -> None:
    """손흥민(7) reads as 손흥민; a name that is only a bracket is read inside it."""
    assert sound_of("손흥민(7)") == "consonant"
    assert sound_of("세징야!") == "vowel"
    assert reading_of("(7)") == "칠"


def test_unreadable_ends_are_unknown() -> None:
    """Chinese characters, emoji and empty strings are not guessed."""
    for word in ("孫興慜", "⚽", "", "  "):
        assert sound_of(word) == "unknown"


def test_letter_names_spell_each_letter() -> None:
    """FC is 에프씨, HD is 에이치디."""
    assert letter_names("FC") == "에프씨"
    assert letter_names("hd") == "에이치디"


@pytest.mark.parametrize(
    ("word", "reading"),
    [("박지성 Jr.", "주니어"), ("Neymar Jr", "주니어"), ("Kim Sr.", "시니어"), ("JR", "제이알")],
)
def test_junior_and_senior_are_read_as_words(word: str, reading: str) -> None:
    """Jr. is 주니어 and Sr. 시니어 (vowels), not the letters 제이알 (ㄹ): 박지성 Jr.가 is
    right. An upper-case JR stays an acronym."""
    assert reading_of(word) == reading


def test_the_checker_reads_the_unseen_names_as_the_writer_does() -> None:
    """The eval's reading (written apart from pitchcast.commentary.korean) and the writer's
    agree on every name of the unseen match, or eval fails a right line (박지성 Jr.가)."""
    for player in PLAYERS:
        assert sound_of(player.name) == player.ends_in, player
        assert final_sound(player.name).value == player.ends_in, player
    for team in (HOME[1], AWAY[1], "박지성 Jr.", "Neymar Jr"):
        assert sound_of(team) == final_sound(team).value, team


@pytest.mark.parametrize(
    ("word", "sound"), [("손흥민", "consonant"), ("김민재", "vowel"), ("홍철", "rieul")]
)
def test_decomposed_hangul_is_read_as_composed(word: str, sound: str) -> None:
    """A name in NFD (conjoining jamo, as macOS writes file and CSV text) ends as its NFC
    form does; it was unknown, so eval left its particles unchecked."""
    assert sound_of(unicodedata.normalize("NFD", word)) == sound
