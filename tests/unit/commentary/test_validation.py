"""Validation of commentary lines: rows, tones, texts, references, grounding, streaming."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from pitchcast.commentary.parsing import ParsedItem
from pitchcast.commentary.validation import (
    MAX_DESCRIPTION_CHARS,
    ItemChecker,
    LineAssembler,
    normalize_tone,
    validate_items,
    wording_refusals,
)
from pitchcast.exceptions import CommentaryRejected
from pitchcast.schemas.records import TONES
from tests.support.commentary_batches import OUTSIDER, korean_batch

# korean_batch's row 10 is a yellow card: its line says so (s21: else it is refused).
_CARD_ROW = 10


def _answer(count: int = 10) -> list[ParsedItem]:
    return [
        ParsedItem(
            n, "calm", f"{{P1}}이 {n}번째 장면을 만듭니다." if n != _CARD_ROW else "{P1}에게 경고."
        )
        for n in range(1, count + 1)
    ]


def _reasons(batch_items: list[ParsedItem], **kwargs: object) -> list[str]:
    with pytest.raises(CommentaryRejected) as caught:
        validate_items(korean_batch(), batch_items, **kwargs)  # type: ignore[arg-type]
    return caught.value.reasons


def test_a_valid_answer_gives_one_item_per_action_in_order() -> None:
    """Items carry the action's id and time, the tone, and the text with names filled in."""
    batch = korean_batch()
    items = validate_items(batch, list(reversed(_answer())))
    assert [i.action_id for i in items] == [a.action_id for a in batch.actions]
    assert [i.time_seconds for i in items] == [a.time_seconds for a in batch.actions]
    assert items[0].description == "김민재가 1번째 장면을 만듭니다."
    assert {i.tone for i in items} == {"calm"}


def test_missing_extra_duplicate_and_unknown_rows_are_rejected() -> None:
    """Exactly one line per action: anything else is listed in the reasons."""
    assert _reasons(_answer(9)) == ["expected 10 lines, got 9", "missing n=10"]
    extra = [*_answer(), ParsedItem(11, "calm", "더 씁니다")]
    assert _reasons(extra) == ["expected 10 lines, got 11", "n=11: no such action in this batch"]
    duplicate = [*_answer(9), ParsedItem(9, "calm", "또 씁니다")]
    assert _reasons(duplicate) == ["n=9: written more than once", "missing n=10"]
    subset = validate_items(korean_batch(), _answer(3)[1:], rows=[2, 3])
    assert [i.action_id for i in subset] == [171, 172]
    assert _reasons(_answer(3), rows=[2, 3])[1] == "n=1: not asked for"


def test_close_tone_synonyms_are_mapped_and_others_rejected() -> None:
    """neutral -> calm, '"Excited"' -> excited, 분석 -> analytical; 'happy' is rejected."""
    assert normalize_tone("neutral") == "calm"
    assert normalize_tone(' "Excited". ') == "excited"
    assert normalize_tone("분석") == "analytical"
    assert all(normalize_tone(t) == t for t in TONES)
    answer = _answer()
    answer[3] = ParsedItem(4, "happy", "좋네요")
    assert _reasons(answer) == [
        "n=4: tone 'happy' is not one of excited, tense, calm, analytical, playful, disappointed"
    ]


def test_control_characters_are_stripped_and_empty_text_rejected() -> None:
    """Control characters go; a text of nothing but them is empty and rejected."""
    answer = _answer()
    answer[0] = ParsedItem(1, "calm", "{P1}이\x00 공을\u200b\n잡습니다\x1b")
    answer[1] = ParsedItem(2, "calm", " \x00\t\u200b ")
    reasons = _reasons(answer)
    assert reasons == ["n=2: empty text"]
    answer[1] = ParsedItem(2, "calm", "받습니다")
    assert validate_items(korean_batch(), answer)[0].description == "김민재가 공을 잡습니다"


def test_length_is_bounded_after_names_are_filled() -> None:
    """The cap counts the filled text; the default is MAX_DESCRIPTION_CHARS."""
    answer = _answer()
    answer[0] = ParsedItem(1, "calm", "가" * (MAX_DESCRIPTION_CHARS + 1))
    assert _reasons(answer) == [
        f"n=1: {MAX_DESCRIPTION_CHARS + 1} characters, above the limit of 160"
    ]
    answer[0] = ParsedItem(1, "calm", "{P1}" + "가" * 8)  # 김민재 + 8 = 11 characters
    with pytest.raises(CommentaryRejected, match="11 characters"):
        validate_items(korean_batch(), answer, max_chars=10)


def test_unknown_references_are_rejected() -> None:
    """A reference outside the batch's tables ({P99}, {선수}) rejects the line."""
    answer = _answer()
    answer[2] = ParsedItem(3, "calm", "{P99}가 {선수}에게")
    reasons = _reasons(answer)
    assert len(reasons) == 1
    assert reasons[0].startswith("n=3: unknown reference {P99}, {선수}; use only T1, T2, P1")


def test_roster_names_outside_the_batch_are_rejected() -> None:
    """A roster name that is in no action of the batch is not grounded."""
    answer = _answer()
    answer[0] = ParsedItem(1, "excited", f"{OUTSIDER} 선수가 보고 있습니다!")
    assert _reasons(answer) == [f"n=1: names someone not in this batch: {OUTSIDER}"]


def test_batch_players_and_match_teams_may_be_written_out() -> None:
    """Names of this batch's players and the match's teams are grounded, with particles."""
    answer = _answer()
    answer[0] = ParsedItem(1, "calm", "김민재가 울산 HD의 공격을 엽니다, Ulsan HD!")
    assert validate_items(korean_batch(), answer)[0].description.startswith("김민재가")


def test_grounding_matches_whole_names_only() -> None:
    """A roster name inside a longer allowed name, or Player1 inside Player19, is no mention."""
    batch = korean_batch(names={10: "Player19"})
    roster = (*batch.roster, "Player1", "이강")
    checker = ItemChecker(replace(batch, roster=roster))
    assert checker.ungrounded_names("Player19가 이강인에게") == []
    assert checker.ungrounded_names("Player1이 이강 선수에게") == ["Player1", "이강"]


def test_assembler_settles_lines_in_action_order() -> None:
    """Valid lines settle as soon as every earlier row has; out-of-order ones wait."""
    assembler = LineAssembler(korean_batch(3))
    assembler.begin_attempt()
    assert assembler.add(ParsedItem(2, "calm", "둘")) == []
    settled = assembler.add(ParsedItem(1, "calm", "하나"))
    assert [i.action_id for i in settled] == [170, 171]
    assert [i.action_id for i in assembler.add(ParsedItem(3, "calm", "셋"))] == [172]
    assert assembler.end_attempt() == []
    assert assembler.complete and len(assembler.items()) == 3


def test_content_problems_keep_the_other_lines_for_the_repair() -> None:
    """A bad tone on row 2 fails only row 2: the repair asks for it alone."""
    assembler = LineAssembler(korean_batch(4))
    assembler.begin_attempt()
    assembler.add(ParsedItem(1, "calm", "하나"))
    assembler.add(ParsedItem(2, "happy", "둘"))
    assembler.add(ParsedItem(3, "calm", "셋"))
    assembler.add(ParsedItem(4, "calm", "넷"))
    assert len(assembler.settled) == 1
    reasons = assembler.end_attempt()
    assert reasons[0].startswith("n=2: tone 'happy'")
    assert assembler.missing_rows() == [2]
    assembler.begin_attempt()
    # A repair that rewrites everything: only row 2 is taken.
    assembler.add(ParsedItem(1, "calm", "다른 하나"))
    settled = assembler.add(ParsedItem(2, "tense", "둘"))
    assert [i.action_id for i in settled] == [171, 172, 173]
    assert assembler.end_attempt() == []
    assert assembler.items()[0].description == "하나"


def test_structural_problems_drop_the_unsettled_lines() -> None:
    """A missing row makes the later lines untrustworthy: the repair asks for all of them."""
    assembler = LineAssembler(korean_batch(5))
    assembler.begin_attempt()
    for row in (1, 2, 4, 5):
        assembler.add(ParsedItem(row, "calm", f"줄 {row}"))
    assert assembler.end_attempt() == ["missing n=3"]
    assert assembler.missing_rows() == [3, 4, 5]
    assert len(assembler.settled) == 2


def test_a_duplicate_stops_settling_further_rows() -> None:
    """After a row is written twice, later rows of that attempt do not settle."""
    assembler = LineAssembler(korean_batch(4))
    assembler.begin_attempt()
    assembler.add(ParsedItem(1, "calm", "하나"))
    assembler.add(ParsedItem(1, "calm", "하나 또"))
    assert assembler.add(ParsedItem(2, "calm", "둘")) == []
    assert "n=1: written more than once" in assembler.end_attempt()
    assert assembler.missing_rows() == [2, 3, 4]


def test_extra_lines_after_every_row_settled_leave_the_answer_complete() -> None:
    """Junk after the last row is reported but nothing is left to repair."""
    assembler = LineAssembler(korean_batch(2))
    assembler.begin_attempt()
    assembler.add(ParsedItem(1, "calm", "하나"))
    assembler.add(ParsedItem(2, "calm", "둘"))
    assembler.add(ParsedItem(60, "calm", "덤"))
    assert assembler.end_attempt() == ["n=60: no such action in this batch"]
    assert assembler.complete


def test_items_of_an_incomplete_answer_are_refused() -> None:
    """items() raises CommentaryRejected naming the rows still missing."""
    assembler = LineAssembler(korean_batch(3))
    assembler.begin_attempt()
    assembler.add(ParsedItem(1, "calm", "하나"))
    assembler.end_attempt()
    with pytest.raises(CommentaryRejected, match=r"missing n=2~3"):
        assembler.items()


def test_pure_modules_import_no_io_libraries() -> None:
    """prompt, slots, parsing and validation load without httpx, redis or Kafka."""
    code = (
        "import sys\n"
        "import pitchcast.commentary.prompt, pitchcast.commentary.slots\n"
        "import pitchcast.commentary.parsing, pitchcast.commentary.validation\n"
        "print(sorted(m for m in ('httpx', 'redis', 'aiokafka', 'faust') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_line_stating_a_wrong_number_is_rejected_a_right_one_kept() -> None:
    """Issue 10.6: scores, minutes and counts must agree with the action and the story."""
    from pitchcast.story import advance_story, new_story
    from tests.support.commentary_batches import sample_batches

    batches = sample_batches()
    batch = next(b for b in batches if any(a.type_name == "Goal" for a in b.actions))
    row = next(i for i, a in enumerate(batch.actions, 1) if a.type_name == "Goal")
    story = batch.story or new_story(batch.match_info)
    for action in batch.actions[:row]:
        story = advance_story(story, action)
    checker = ItemChecker(batch)
    home, away = story.score.home, story.score.away
    right = f"골입니다! 스코어 Home {home} : {away} Away."
    wrong = f"골입니다! 스코어 Home {home + 1} : {away + 3} Away."
    assert checker.check(ParsedItem(row, "excited", right)).description == right
    with pytest.raises(CommentaryRejected) as caught:
        checker.check(ParsedItem(row, "excited", wrong))
    assert "but the data says" in caught.value.reasons[0]
    minute = batch.actions[0]
    with pytest.raises(CommentaryRejected):
        checker.check(
            ParsedItem(1, "calm", f"전반 {(minute.time_seconds // 60 + 30) % 45 + 1:.0f}분, 패스.")
        )


def test_an_llm_line_that_invents_a_gesture_or_a_feeling_is_refused() -> None:
    """Issue 16: a line that states what the data cannot show is refused (and then written
    by the template); the reason names the wording and why."""
    answer = _answer()
    answer[2] = ParsedItem(3, "calm", "{P1}이 공을 잃고 고개를 젓습니다")
    (reason,) = _reasons(answer)
    assert reason.startswith("n=3: '고개를 젓' [unsupported.gesture]") and "몸짓" in reason
    assert wording_refusals([reason]) == ["unsupported.gesture"]
    answer[2] = ParsedItem(3, "calm", "{P1}이 길목을 읽고 과감하게 끊습니다")
    assert set(wording_refusals(_reasons(answer))) == {"unsupported.reading", "unsupported.manner"}
    answer[2] = ParsedItem(3, "calm", "{P1}의 패스가 끊깁니다")
    assert len(validate_items(korean_batch(), answer)) == 10
    assert wording_refusals(["n=3: bad tone", "missing n=4"]) == []


@pytest.mark.parametrize(
    ("persona", "slip", "kept"),
    [
        ("CASTER", "{P1}이 공을 잡았어!", "{P1}이 공을 잡죠."),
        ("ANALYST", "{P1}의 패스가 끊겼다.", "{P1}의 패스가 끊겨요."),
        ("FRIEND", "{P1}이 공을 잡습니다.", "{P1}이 공 잡았어!"),
        ("FRIEND", "{P1} 패스 좋아요.", "{P1} 패스 좋다."),
    ],
)
def test_an_llm_line_out_of_its_persona_register_is_refused(
    persona: str, slip: str, kept: str
) -> None:
    """Issue 16: with the persona given, a line that leaves its register (CASTER or ANALYST
    in 반말, FRIEND in 존댓말) is refused, so the template writes it in the same voice; the
    reason names the ending. Without a persona no register is checked."""
    answer = _answer()
    if persona == "FRIEND":
        answer = [
            ParsedItem(p.row, p.tone, f"{{P1}}이 {p.row}번째 장면 만들었어.")
            if p.row != _CARD_ROW
            else ParsedItem(p.row, p.tone, "{P1} 경고 받았어.")
            for p in answer
        ]
    answer[4] = ParsedItem(5, "calm", slip)
    (reason,) = _reasons(answer, persona=persona)
    assert reason.startswith("n=5: ") and f"not {persona}'s register" in reason
    answer[4] = ParsedItem(5, "calm", kept)
    assert len(validate_items(korean_batch(), answer, persona=persona)) == 10
    answer[4] = ParsedItem(5, "calm", slip)
    assert len(validate_items(korean_batch(), answer)) == 10  # no persona: no rule
    assembler = LineAssembler(korean_batch(), persona=persona)
    assembler.begin_attempt()
    assert assembler.add(answer[0]) and not assembler.add(answer[4])
    assert f"not {persona}'s register" in assembler.reasons[0]


def test_a_name_written_out_is_not_read_as_wording() -> None:
    """An LLM line that writes a player's name rather than {P1} is judged on its own
    words: 티아고의 holds 고의 (intent), but the line claims nothing (s20)."""
    batch = korean_batch(names={10: "티아고"})
    checker = ItemChecker(batch)
    item = checker.check(ParsedItem(1, "calm", "티아고의 패스가 옆으로 이어집니다."))
    assert item.description == "티아고의 패스가 옆으로 이어집니다."
    with pytest.raises(CommentaryRejected) as caught:
        checker.check(ParsedItem(1, "calm", "티아고의 패스, 고의로 늦춥니다."))
    assert wording_refusals(caught.value.reasons) == ["unsupported.intent"]


def test_a_backing_friend_s_llm_line_on_the_wrong_side_is_refused() -> None:
    """FRIEND backing the away team: regret at the home side's pass or praise of it is
    refused (the template writes the line); the same words of its own team's action pass
    (s20: the template's check, now the LLM's too)."""
    batch = korean_batch()  # row 1: a home pass; the away team is 4219
    assert batch.actions[0].team_id != 4219
    checker = ItemChecker(batch, persona="FRIEND", supports="4219")
    with pytest.raises(CommentaryRejected) as caught:
        checker.check(ParsedItem(1, "playful", "패스 좋다, {P1}!"))
    assert wording_refusals(caught.value.reasons) == ["backing"]
    assert checker.check(ParsedItem(1, "playful", "{P1} 패스, 옆으로 갔어.")).description
    home = ItemChecker(batch, persona="FRIEND", supports="4220")
    assert home.check(ParsedItem(1, "playful", "패스 좋다, {P1}!")).description
    neutral = ItemChecker(batch, persona="FRIEND")
    assert neutral.check(ParsedItem(1, "playful", "패스 좋다, {P1}!")).description


@pytest.mark.parametrize(
    ("type_name", "result", "untold", "told", "kind"),
    [
        ("Penalty Kick", "Goal", "{P1}이 공을 다룹니다.", "{P1}, 페널티킥 골!", "goal"),
        ("Shot", "Goal", "{P1}이 슈팅을 날립니다.", "{P1}의 슈팅, 들어갑니다!", "goal"),
        ("Goal", None, "{P1}이 공을 잡습니다.", "{P1}의 득점입니다!", "goal"),
        ("Own Goal", None, "{P1}이 공을 걷어냅니다.", "{P1}의 자책골입니다.", "own_goal"),
        ("Foul", "Yellow_Card", "{P1}이 반칙을 범합니다.", "{P1}에게 경고.", "yellow"),
        ("Handball_Foul", "Yellow_Card", "{P1}의 핸드볼.", "{P1} 핸드볼, 옐로카드.", "yellow"),
        (
            "Foul",
            "Second_Yellow_Card",
            "{P1}이 반칙을 범합니다.",
            "{P1}, 경고 누적 퇴장!",
            "sending_off",
        ),
        ("Foul", "Direct_Red_Card", "{P1}이 반칙을 범합니다.", "{P1}에게 레드카드!", "sending_off"),
    ],
)
def test_an_llm_line_that_leaves_a_goal_or_a_card_untold_is_refused(
    type_name: str, result: str | None, untold: str, told: str, kind: str
) -> None:
    """s21: a line of a goal or a card that never says so ('제카가 공을 다룹니다' at a
    penalty goal) tells the fan nothing of it: validation refuses it (the words are
    checks/naming.toml's), so the template writes that row; the other rows are kept."""
    batch = korean_batch(6)
    actions = list(batch.actions)
    actions[5] = replace(actions[5], type_name=type_name, result_name=result)
    batch = replace(batch, actions=tuple(actions))
    answer = [ParsedItem(n, "calm", f"{{P1}}이 {n}번째 장면을 만듭니다.") for n in range(1, 7)]
    answer[5] = ParsedItem(6, "excited", untold)
    with pytest.raises(CommentaryRejected) as caught:
        validate_items(batch, answer)
    (reason,) = caught.value.reasons
    assert reason.startswith("n=6: ") and f"[untold.{kind}]" in reason
    assert wording_refusals([reason]) == [f"untold.{kind}"]
    assembler = LineAssembler(batch)
    assembler.begin_attempt()
    for parsed in answer:
        assembler.add(parsed)
    assert len(assembler.settled) == 5 and assembler.end_attempt() == [reason]
    assert assembler.missing_rows() == [6]
    answer[5] = ParsedItem(6, "excited", told)
    assert len(validate_items(batch, answer)) == 6


@pytest.mark.parametrize("type_name", ["Foul", "Handball_Foul"])
def test_an_llm_line_of_a_foul_in_its_own_box_must_say_penalty(type_name: str) -> None:
    """A foul without a card in the fouler's own box gives a penalty kick: a model's
    `{P1}이 반칙을 범합니다` there never told the fan (refused: untold.penalty); the same
    line at midfield is kept."""
    batch = korean_batch(6)
    actions = list(batch.actions)
    actions[5] = replace(
        actions[5], type_name=type_name, result_name=None, start_x=9.0, start_y=36.0
    )
    in_box = replace(batch, actions=tuple(actions))
    answer = [ParsedItem(n, "calm", f"{{P1}}이 {n}번째 장면을 만듭니다.") for n in range(1, 7)]
    answer[5] = ParsedItem(6, "tense", "{P1}이 반칙을 범합니다.")
    with pytest.raises(CommentaryRejected) as caught:
        validate_items(in_box, answer)
    assert wording_refusals(list(caught.value.reasons)) == ["untold.penalty"]
    actions[5] = replace(actions[5], start_x=52.0)
    assert len(validate_items(replace(batch, actions=tuple(actions)), answer)) == 6
    answer[5] = ParsedItem(6, "tense", "{P1}의 반칙, 페널티킥이 선언됩니다.")
    assert len(validate_items(in_box, answer)) == 6
