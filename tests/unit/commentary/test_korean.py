"""Korean particles follow how the word before them is read aloud."""

from __future__ import annotations

import pytest

from pitchcast.commentary.korean import (
    FinalSound,
    attach,
    attach_particle,
    final_sound,
    leading_particle,
    particle_for,
    with_and,
    with_direction,
    with_object,
    with_subject,
    with_topic,
)

# (word, 이/가, 은/는, 을/를, 과/와, (으)로)
NAMES = [
    # Korean players, with and without a final consonant
    ("손흥민", "이", "은", "을", "과", "으로"),
    ("이강인", "이", "은", "을", "과", "으로"),
    ("김민재", "가", "는", "를", "와", "로"),
    ("조규성", "이", "은", "을", "과", "으로"),
    ("황희찬", "이", "은", "을", "과", "으로"),
    ("설영우", "가", "는", "를", "와", "로"),
    # K League teams: 씨 (FC) and 스/대 end in a vowel, 울 in ㄹ
    ("울산 HD FC", "가", "는", "를", "와", "로"),
    ("포항 스틸러스", "가", "는", "를", "와", "로"),
    ("전북 현대", "가", "는", "를", "와", "로"),
    ("FC 서울", "이", "은", "을", "과", "로"),
    ("대구FC", "가", "는", "를", "와", "로"),
    ("김천 상무 프로축구단", "이", "은", "을", "과", "으로"),
    # Sample-data names: digits and letters as Korean speakers read them
    ("Player19", "가", "는", "를", "와", "로"),  # 구
    ("Player 10", "이", "은", "을", "과", "으로"),  # 십
    ("Player7", "이", "은", "을", "과", "로"),  # 칠: ㄹ
    ("Player 3", "이", "은", "을", "과", "으로"),  # 삼
    ("Player2", "가", "는", "를", "와", "로"),  # 이
    ("Team A", "가", "는", "를", "와", "로"),  # 에이
    ("Team B", "가", "는", "를", "와", "로"),  # 비
    ("Team L", "이", "은", "을", "과", "로"),  # 엘: ㄹ
    ("Team M", "이", "은", "을", "과", "으로"),  # 엠
    ("K7", "이", "은", "을", "과", "로"),  # 케이칠
    ("Kim", "이", "은", "을", "과", "으로"),  # 킴
    ("Home", "이", "은", "을", "과", "으로"),  # 홈
    ("Away", "가", "는", "를", "와", "로"),  # 어웨이
    # Names of a match unlike the samples (tests/support/unseen_match.py)
    ("황인범", "이", "은", "을", "과", "으로"),  # ㅁ
    ("황보관일", "이", "은", "을", "과", "로"),  # four syllables, ㄹ
    ("남궁민수", "가", "는", "를", "와", "로"),  # four syllables, a vowel
    ("기성용", "이", "은", "을", "과", "으로"),  # ㅇ
    ("홍철", "이", "은", "을", "과", "로"),  # two syllables, ㄹ
    ("Jesse 린가드", "가", "는", "를", "와", "로"),  # a Latin part before the Hangul
    ("박지성 Jr.", "가", "는", "를", "와", "로"),  # 주니어
    ("이승우(B)", "가", "는", "를", "와", "로"),  # the bracket is skipped: 우
    ("수원 삼성", "이", "은", "을", "과", "으로"),
    ("FC서울", "이", "은", "을", "과", "로"),
]


@pytest.mark.parametrize(("word", "subject", "topic", "obj", "conj", "direction"), NAMES)
def test_particles_follow_the_final_sound(
    word: str, subject: str, topic: str, obj: str, conj: str, direction: str
) -> None:
    """Each common particle pair takes the form the word's final sound calls for."""
    assert with_subject(word) == word + subject
    assert with_topic(word) == word + topic
    assert with_object(word) == word + obj
    assert with_and(word) == word + conj
    assert with_direction(word) == word + direction


@pytest.mark.parametrize(
    ("word", "expected"),
    [("서울", "서울로"), ("FC 서울", "FC 서울로"), ("오른쪽", "오른쪽으로"), ("뒤", "뒤로")],
)
def test_rieul_takes_ro_not_euro(word: str, expected: str) -> None:
    """After ㄹ the (으)로 family takes its vowel form, as after a vowel."""
    assert with_direction(word) == expected
    assert attach(word, "으로서/로서") == expected + "서"


@pytest.mark.parametrize(
    ("digit", "sound"),
    [
        ("0", FinalSound.CONSONANT),  # 영
        ("1", FinalSound.RIEUL),  # 일
        ("2", FinalSound.VOWEL),  # 이
        ("3", FinalSound.CONSONANT),  # 삼
        ("4", FinalSound.VOWEL),  # 사
        ("5", FinalSound.VOWEL),  # 오
        ("6", FinalSound.CONSONANT),  # 육
        ("7", FinalSound.RIEUL),  # 칠
        ("8", FinalSound.RIEUL),  # 팔
        ("9", FinalSound.VOWEL),  # 구
    ],
)
def test_digits_read_as_sino_korean(digit: str, sound: FinalSound) -> None:
    """A final digit is read 영 일 이 삼 사 오 육 칠 팔 구."""
    assert final_sound(f"Player {digit}") is sound


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("10", "10이"),  # 십
        ("20", "20이"),  # 이십
        ("100", "100이"),  # 백
        ("1,000", "1,000이"),  # 천
        ("10000", "10000이"),  # 만
        ("100000000", "100000000이"),  # 억
        ("1000000000000", "1000000000000가"),  # 조
        ("12", "12가"),  # 십이
        ("2.5", "2.5가"),  # 이점오
        ("2.0", "2.0이"),  # 이점영
        ("1 : 0", "1 : 0이"),  # 일 대 영
        ("2 : 1", "2 : 1이"),  # 이 대 일
        ("007", "007이"),  # 칠
    ],
)
def test_numbers_read_by_their_unit(number: str, expected: str) -> None:
    """Numbers ending in zeros are read by their unit (십, 백, 천, 만, 억, 조)."""
    assert with_subject(number) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("36m", "36m를"),  # 삼십육 미터: the unit is read, not the digit
        ("31m", "31m를"),
        ("40 m", "40 m를"),
        ("1.5km", "1.5km를"),
        ("12cm", "12cm를"),
        ("50%", "50%를"),  # 오십 퍼센트
        ("7kg", "7kg을"),  # 칠 킬로그램
        ("36m.", "36m.를"),
        ("3M", "3M을"),  # upper case: a name read by its letters (쓰리엠)
        ("Team m", "Team m을"),  # no number before it: the letter 엠
    ],
)
def test_a_unit_after_a_number_is_read_as_the_unit(word: str, expected: str) -> None:
    """36m reads 삼십육 미터 and takes 를; 7kg reads 칠 킬로그램 and takes 을."""
    assert with_object(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("FC", FinalSound.VOWEL),  # 에프씨
        ("HD", FinalSound.VOWEL),  # 에이치디
        ("LM", FinalSound.CONSONANT),  # 엘엠
        ("PSV", FinalSound.VOWEL),  # 브이
        ("Paul", FinalSound.RIEUL),  # 폴
        ("Bill", FinalSound.RIEUL),  # 빌
        ("Apple", FinalSound.RIEUL),  # 애플
        ("Son", FinalSound.CONSONANT),  # 손
        ("Hwang", FinalSound.CONSONANT),  # 황
        ("Kane", FinalSound.CONSONANT),  # 케인
        ("Nick", FinalSound.CONSONANT),  # 닉
        ("Cup", FinalSound.CONSONANT),  # 컵
        ("Matt", FinalSound.CONSONANT),  # 맷
        ("Eric", FinalSound.CONSONANT),  # 에릭
        ("Park", FinalSound.VOWEL),  # 파크
        ("Robert", FinalSound.VOWEL),  # 로버트
        ("Camp", FinalSound.VOWEL),  # 캠프
        ("Player", FinalSound.VOWEL),  # 플레이어
        ("Lee", FinalSound.VOWEL),  # 리
        ("Rooney", FinalSound.VOWEL),  # 루니
        ("Mike", FinalSound.VOWEL),  # 마이크
        ("José", FinalSound.VOWEL),  # 호세: accents are ignored
        ("ULSAN", FinalSound.CONSONANT),  # a long upper-case word is read as a word: 울산
    ],
)
def test_latin_letters_read_the_korean_way(word: str, expected: FinalSound) -> None:
    """Acronyms are read letter by letter, words by their transliterated ending."""
    assert final_sound(word) is expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("손흥민(7)", "손흥민(7)이"),  # the particle follows the word before the brackets
        ("김민재 (3)", "김민재 (3)가"),
        ("이강인 [PSG]", "이강인 [PSG]이"),
        ("조규성 (전북 (K1))", "조규성 (전북 (K1))이"),
        ("(7)", "(7)이"),  # nothing before the brackets: read inside
        ("「김민재」", "「김민재」가"),
        ("황희찬!", "황희찬!이"),
        ("Player 10.", "Player 10.이"),
        ("FC 서울  ", "FC 서울  이"),
        ("손흥민⚽", "손흥민⚽이"),
    ],
)
def test_trailing_punctuation_brackets_and_spaces_are_skipped(word: str, expected: str) -> None:
    """What is not read aloud at the end does not choose the particle."""
    assert with_subject(word) == expected


def test_hangul_jamo_and_full_width_forms_are_read() -> None:
    """Bare jamo are read by name (ㅋ 키읔, ㄹ 리을) and full-width text like ASCII."""
    assert with_subject("ㅋㅋ") == "ㅋㅋ이"
    assert with_direction("ㄹ") == "ㄹ로"
    assert with_subject("ㅏ") == "ㅏ가"
    assert with_subject("Ｋ７") == "Ｋ７이"


@pytest.mark.parametrize("word", ["", "⚽", "王", "!!!", "   "])
def test_unreadable_endings_keep_both_forms(word: str) -> None:
    """When the end cannot be read, a pair becomes 이(가) and a single form stays as written."""
    assert final_sound(word) is FinalSound.UNKNOWN
    assert attach(word, "이/가") == word + "이(가)"
    assert attach(word, "은/는") == word + "은(는)"
    assert attach(word, "(으)로") == word + "(으)로"
    assert attach(word, "이랑/랑") == word + "(이)랑"
    assert attach(word, "가") == word + "가"


@pytest.mark.parametrize("spelling", ["이/가", "가/이", "이(가)", "이", "가", " 이/가 "])
def test_pair_spellings_are_equivalent(spelling: str) -> None:
    """A pair may be named by both forms in either order, by the 이(가) notation or by one form."""
    assert particle_for("손흥민", spelling) == "이"
    assert particle_for("김민재", spelling) == "가"


@pytest.mark.parametrize(
    ("pair", "consonant", "vowel"),
    [
        ("(이)랑", "손흥민이랑", "김민재랑"),
        ("이나/나", "손흥민이나", "김민재나"),
        ("아/야", "손흥민아", "김민재야"),
        ("이야/야", "손흥민이야", "김민재야"),
        ("이에요/예요", "손흥민이에요", "김민재예요"),
        ("이었다/였다", "손흥민이었다", "김민재였다"),
        ("(이)라고", "손흥민이라고", "김민재라고"),
        ("(으)로부터", "손흥민으로부터", "김민재로부터"),
    ],
)
def test_longer_particles_and_copulas(pair: str, consonant: str, vowel: str) -> None:
    """The 이-dropping and 으-dropping families and irregular copulas alternate too."""
    assert attach("손흥민", pair) == consonant
    assert attach("김민재", pair) == vowel


def test_single_forms_name_their_pair() -> None:
    """A single form is corrected to the right one: the slot filler passes what the model wrote."""
    assert attach_particle("김민재", "이") == "김민재가"
    assert attach_particle("손흥민", "는") == "손흥민은"
    assert attach_particle("FC 서울", "으로") == "FC 서울로"
    assert attach_particle("울산 HD FC", "과") == "울산 HD FC와"
    assert attach_particle("K7", "를") == "K7을"
    assert attach is attach_particle


@pytest.mark.parametrize("particle", ["의", "에게", "도", "만", "까지", "에서"])
def test_non_alternating_particles_pass_through(particle: str) -> None:
    """Particles with one form are appended unchanged."""
    assert attach("손흥민", particle) == "손흥민" + particle
    assert attach("김민재", particle) == "김민재" + particle


def test_unknown_pair_is_a_programming_error() -> None:
    """A two-form spelling that is not a Korean particle pair raises ValueError."""
    with pytest.raises(ValueError, match="unknown particle pair"):
        attach("손흥민", "foo/bar")


@pytest.mark.parametrize(
    "form",
    [
        "이라고", "라고", "이라는", "라는", "이라면", "라면", "으로서", "로서", "으로써", "로써",
        "으로", "로", "이랑", "랑", "이나", "나", "이여", "여", "이", "가", "은", "는", "을",
        "를", "과", "와", "아", "야",
    ],
)  # fmt: skip
@pytest.mark.parametrize("name", ["손흥민", "김민재", "FC 서울", "Player19", "⚽", ""])
def test_result_always_starts_with_the_word(form: str, name: str) -> None:
    """The word is never altered: the slot filler relies on the result starting with it."""
    result = attach_particle(name, form)
    assert result.startswith(name)
    assert len(result) > len(name)


# --- The copula after a name ----------------------------------------------------------------

# (name, how it ends): a vowel drops the copula's 이, a consonant (ㄹ included) keeps it.
COPULA_NAMES = [
    ("김민재", "V"),
    ("손흥민", "C"),
    ("구자철", "C"),  # ㄹ: 구자철이지만, unlike (으)로
    ("FC 서울", "C"),
    ("Player19", "V"),  # 구
    ("Player 10", "C"),  # 십
    ("Player7", "C"),  # 칠: ㄹ
    ("Lee", "V"),  # 리
    ("Kim", "C"),  # 킴
    ("Paul", "C"),  # 폴: ㄹ
]
# (form written, after a consonant, after a vowel)
COPULA_FORMS = [
    ("이다", "이다", "다"),
    ("이야/야", "이야", "야"),
    ("지만", "이지만", "지만"),
    ("이지만", "이지만", "지만"),
    ("든", "이든", "든"),
    ("이든지", "이든지", "든지"),
    ("고", "이고", "고"),
    ("이라서", "이라서", "라서"),
    ("라고", "이라고", "라고"),
    ("이라면", "이라면", "라면"),
    ("이니까", "이니까", "니까"),
    ("이죠", "이죠", "죠"),
    ("이에요", "이에요", "예요"),
    ("예요", "이에요", "예요"),
    ("였다", "이었다", "였다"),
    ("이었는데", "이었는데", "였는데"),
    ("였지만", "이었지만", "였지만"),
    ("여서", "이어서", "여서"),
]


@pytest.mark.parametrize(("name", "ends"), COPULA_NAMES)
@pytest.mark.parametrize(("form", "consonant", "vowel"), COPULA_FORMS)
def test_copula_keeps_its_i_after_a_consonant_only(
    name: str, ends: str, form: str, consonant: str, vowel: str
) -> None:
    """손흥민이지만 / 김민재지만, Player 10이었다 / Player19였다: either spelling is corrected."""
    assert attach_particle(name, form) == name + (consonant if ends == "C" else vowel)


@pytest.mark.parametrize(("name", "ends"), COPULA_NAMES)
def test_vocative_follows_the_final_sound(name: str, ends: str) -> None:
    """A call takes 아 after a consonant and 야 after a vowel (손흥민아, 김민재야)."""
    expected = name + ("아" if ends == "C" else "야")
    assert attach_particle(name, "아") == expected
    assert attach_particle(name, "아/야") == expected
    assert attach_particle(name, "야") == expected  # alone, 야 names the vocative


@pytest.mark.parametrize("form", ["지만", "이든", "였다", "예요", "이라서"])
def test_copula_with_an_unreadable_name_keeps_both_forms(form: str) -> None:
    """When the end cannot be read, a copula written as one form stays as written."""
    assert attach_particle("王", form) == "王" + form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("이죠.", ("이죠", "이죠/죠")),
        ("죠.", ("죠", "이죠/죠")),
        ("이라니. 후반에", ("이라니", "이라니/라니")),  # the longest form, not 이 then 라니
        ("가 공을", ("가", "이/가")),
        ("으로 향하죠", ("으로", "으로/로")),
        ("였습니다.", ("였습니다", "이었습니다/였습니다")),
        ("의 패스", None),
        ("에서 ", None),
        (", 동료에게", None),
        ("", None),
    ],
)
def test_the_particle_a_text_starts_with_is_named_with_its_pair(
    text: str, expected: tuple[str, str] | None
) -> None:
    """What the phrasebook refuses written bare after a slot: every alternating form,
    copula endings included; 의, 에서 and punctuation do not alternate."""
    assert leading_particle(text) == expected
