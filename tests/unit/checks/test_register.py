"""Endings of a line, by class."""

from __future__ import annotations

import pytest

from pitchcast.checks.register import ENDINGS, ending_of, register_slips, sentence_endings


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


@pytest.mark.parametrize(
    ("text", "ending"),
    [
        ("잘하니까!", "~어/아"),  # the casual reason, not the formal question
        ("준비됐습니까?", "~니다"),
        ("괜찮습니까", "~니다"),
    ],
)
def test_casual_and_formal_nikka(text: str, ending: str) -> None:
    assert ending_of(text) == ending


def test_sentence_endings_reads_every_sentence() -> None:
    assert sentence_endings("공 잡았어. 이제 슈팅! 좋아요.") == [
        ("잡았어", "~어/아"),
        ("슈팅", "noun / call"),
        ("좋아요", "~요"),
    ]


@pytest.mark.parametrize(
    ("persona", "text"),
    [
        ("CASTER", "{P1}가 패스합니다."),
        ("CASTER", "{P1}의 슈팅, 골키퍼 정면!"),
        ("CASTER", "공이 {P2}에게 이어지죠."),
        ("CASTER", "잘 지켜 내네요."),
        ("CASTER", "{P1}, 상대 진영까지!"),  # a call ending in 까지, not 반말 ~지
        ("CASTER", "볼은 다시 상대."),
        ("ANALYST", "점유를 이어 가는 선택이에요."),
        ("ANALYST", "위치는 골 에어리어."),
        ("ANALYST", "템포를 낮추죠."),
        ("FRIEND", "{P1} 받았어!"),
        ("FRIEND", "와, 이거 들어간다! 대박이야."),
        ("FRIEND", "슈팅이 좀 필요."),  # 필요 is a noun, not 해요체
        ("FRIEND", "왜 뒤로 돌려, 앞에 공간 있으니까."),
        ("OTHER", "아무 말이나 해."),  # a persona without a rule
    ],
)
def test_lines_in_register(persona: str, text: str) -> None:
    assert register_slips(text, persona) == []


@pytest.mark.parametrize(
    ("persona", "text", "slip"),
    [
        ("CASTER", "{P1}가 넣었어!", "넣었어! (~어/아)"),
        ("CASTER", "{P1}가 슈팅한다.", "슈팅한다. (~다)"),
        ("CASTER", "좋은 패스입니다. 이건 들어갔지.", "들어갔지. (~지)"),
        ("ANALYST", "{P1}의 패스는 정확했네.", "정확했네. (~네)"),
        ("ANALYST", "역시 {P2}이야.", "{P2}이야. (~야)"),
        ("FRIEND", "{P1}가 공을 받습니다.", "받습니다. (~니다)"),
        ("FRIEND", "와, 좋아요!", "좋아요! (~요)"),
        ("FRIEND", "{P1} 잘하네요.", "잘하네요. (~네요)"),
        ("FRIEND", "이건 들어가죠!", "들어가죠! (~죠)"),
    ],
)
def test_slips_out_of_register(persona: str, text: str, slip: str) -> None:
    word, ending = slip.split(" ")
    assert register_slips(text, persona) == [f"{word.rstrip('.!')} {ending}"]


@pytest.mark.parametrize("name", ["세징야", "하창래", "바사니", "조르지", "김민아"])
def test_a_sentence_that_ends_on_a_name_is_a_call_whatever_the_names_last_syllable(
    name: str,
) -> None:
    """세징야 (Cesinha) ends like the 반말 ~야, 하창래 like ~래: a line that ends on the name
    is a call, not 반말, once the check knows the names. An ending after the name counts."""
    line = f"받아 주는 선수는 {name}! 패스를 받은 건 {name}."
    assert register_slips(line, "CASTER", names=[name]) == []
    assert ending_of(line, names=[name]) == "noun / call"
    assert register_slips(f"또 {name}야!", "CASTER", names=[name]) != []  # the copula
