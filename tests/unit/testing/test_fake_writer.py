"""The fake LLM server's writer on live-mode chats: rows gathered over turns, last request only."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from pitchcast.checks.register import register_slips
from pitchcast.commentary.conversation import build_live_messages, fork_request
from pitchcast.commentary.parsing import parse_answer
from pitchcast.commentary.prompt import build_messages, build_repair_messages, response_format
from pitchcast.commentary.validation import validate_items
from pitchcast.schemas.records import TONES, Batch
from pitchcast.testing.fake_writer import read_prompt, schema_rows, write_answer
from tests.support.commentary_batches import korean_batch, sample_batches
from tests.support.live_conversations import LIVE_TURNS, live_chat, repair_turn

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

_REF = re.compile(r"\{([PT]\d+)\}")


@pytest.mark.parametrize("turns", [1, 2, 3, 4])
@pytest.mark.parametrize("structured", [False, True])
def test_live_turns_get_lines_for_their_own_rows_with_known_references(
    turns: int, structured: bool
) -> None:
    """Each live request is answered for the rows of its last [요청] only, naming only
    players and teams defined in this or an earlier user message."""
    _, rows, defined = LIVE_TURNS[turns - 1]
    answer = write_answer(live_chat(turns, structured=structured), structured=structured)
    items = parse_answer(answer)
    assert [item.row for item in items] == rows
    assert all(item.tone in TONES for item in items)
    used = {ref for item in items for ref in _REF.findall(item.text)}
    assert used <= defined
    if structured:
        assert answer.startswith('{"lines":[[')


def test_rows_players_and_teams_are_gathered_over_all_user_messages() -> None:
    """Later user messages add players and action rows; rows are keyed by their number."""
    rows = read_prompt(live_chat(4))
    assert rows is not None
    assert sorted(rows.actions) == [1, 2, 3, 4, 5, 6, 7]
    assert rows.players == {"P1": "김민재", "P2": "손흥민", "P3": "이강인", "P4": "주민규"}
    assert rows.teams == {"T1": "울산 HD", "T2": "전북 현대"}
    assert rows.actions[6]["type"] == "Shot" and rows.actions[7]["player"] == "P4"


def test_the_shot_row_is_written_for_the_player_of_its_turn() -> None:
    """Row 6 (P3's shot on target, P3 introduced in the same turn) is an excited line for P3."""
    (item,) = [i for i in parse_answer(write_answer(live_chat(3), structured=False)) if i.row == 6]
    assert item.tone == "excited" and "{P3}" in item.text


def test_a_row_naming_an_undefined_player_falls_back_to_its_team() -> None:
    """A row whose player was never listed is written without that reference."""
    messages = live_chat(2)
    messages.append({"role": "assistant", "content": "3|calm|{P2}가 전진합니다."})
    messages.append(
        {
            "role": "user",
            "content": "[액션]\nn,m,team,player,type,result,sx,sy,ex,ey\n"
            "4,11,T2,P9,Pass,Successful,20,34,40,30\n[요청] 4번, 1줄",
        }
    )
    (item,) = parse_answer(write_answer(messages, structured=False))
    assert item.row == 4
    assert "{P9}" not in item.text and "{T2}" in item.text


def test_a_repair_turn_in_live_mode_rewrites_only_the_rows_asked() -> None:
    """A [검토] message after a live exchange: only its [요청] rows are written again."""
    messages = live_chat(3)
    messages.append({"role": "assistant", "content": "4|calm|...\n5|calm|이동국 선수가 ..."})
    messages.append({"role": "user", "content": repair_turn("5")})
    items = parse_answer(write_answer(messages, structured=False))
    assert [item.row for item in items] == [5]
    assert "{P3}" in items[0].text


def test_batch_mode_and_its_repair_turn_still_work() -> None:
    """One user message with the whole batch: all 10 rows; its repair turn: the rows asked."""
    batch = korean_batch()
    items = parse_answer(write_answer(build_messages(batch, "CASTER"), structured=False))
    assert [item.row for item in items] == list(range(1, 11))
    repair = build_repair_messages(batch, "CASTER", "1|calm|x", ["3번: 빠짐"], [3, 7])
    assert [item.row for item in parse_answer(write_answer(repair, structured=False))] == [3, 7]


def test_a_chat_without_actions_gets_a_short_answer() -> None:
    """A warm-up (no [액션] anywhere) is answered with one short token."""
    assert write_answer([{"role": "user", "content": "?"}], structured=False) == "네"


@pytest.mark.parametrize("persona", ["CASTER", "ANALYST", "FRIEND"])
def test_lines_keep_the_persona_register(persona: str) -> None:
    """Issue 16: the test LLM writes each persona in its register (CASTER and ANALYST in
    존댓말, FRIEND in 반말), so the validation's register check refuses none of its lines."""
    for batch in sample_batches()[:30]:
        answer = write_answer(build_messages(batch, persona), structured=False)  # type: ignore[arg-type]
        for item in parse_answer(answer):
            assert register_slips(item.text, persona) == [], item.text


def test_a_fork_gets_the_line_of_its_own_row_only() -> None:
    """Issue 15: a fork's chat asks for a burst's rows; a pre-filled ``k|`` marker (lines)
    or the JSON schema's rows (structured) say which row it writes."""
    batch = korean_batch(4)
    shared = build_live_messages(batch, "CASTER", [], [1, 2, 3, 4], structured=False)
    messages, _, marker = fork_request(shared, 3, structured=False)
    answer = write_answer(messages, structured=False, prefilled=True)
    assert "\n" not in answer and not answer.startswith("3|")
    assert [item.row for item in parse_answer(marker + answer)] == [3]
    shared = build_live_messages(batch, "CASTER", [], [1, 2, 3, 4], structured=True)
    rows = schema_rows(response_format([2]))
    assert rows == [2] and schema_rows({}) is None
    answer = write_answer(shared, structured=True, schema_rows=rows)
    assert [item.row for item in parse_answer(answer)] == [2]


_KEY_ROWS = [
    ("Shot", "Goal"), ("Shot_Freekick", "Goal"), ("Penalty Kick", "Goal"), ("Goal", None),
    ("Own Goal", None), ("Foul", "Yellow_Card"), ("Foul", "Second_Yellow_Card"),
    ("Foul", "Direct_Red_Card"), ("Handball_Foul", "Yellow_Card"),
    ("Handball_Foul", "Second_Yellow_Card"), ("Handball_Foul", "Direct_Red_Card"),
]  # fmt: skip


def _with_row_6(type_name: str, result: str | None) -> Batch:
    batch = korean_batch()
    actions = list(batch.actions)
    actions[5] = replace(actions[5], type_name=type_name, result_name=result)
    return replace(batch, actions=tuple(actions))


@pytest.mark.parametrize(("type_name", "result"), _KEY_ROWS)
@pytest.mark.parametrize("persona", ["CASTER", "ANALYST", "FRIEND"])
def test_a_goal_or_a_card_is_said_like_a_competent_model_would(
    persona: str, type_name: str, result: str | None
) -> None:
    """s21: validation refuses a goal's or a card's line that never says so; the test
    LLM says it (a scoring shot was '슈팅을 날립니다', a red card '반칙을 범합니다'), so
    benches and integration tests do not fall back to the template for it."""
    batch = _with_row_6(type_name, result)
    answer = write_answer(build_messages(batch, persona), structured=False)  # type: ignore[arg-type]
    items = validate_items(batch, parse_answer(answer), persona=persona)
    assert len(items) == 10
    if type_name == "Penalty Kick":
        assert "페널티킥" in items[5].description


@pytest.mark.parametrize("type_name", ["Foul", "Handball_Foul"])
@pytest.mark.parametrize("persona", ["CASTER", "ANALYST", "FRIEND"])
def test_a_foul_in_its_own_box_is_said_to_give_a_penalty(persona: str, type_name: str) -> None:
    """Validation refuses a line of a foul in the fouler's own box that does not say
    페널티킥; the test LLM says it (its '반칙을 범합니다' there was refused)."""
    batch = _with_row_6(type_name, None)
    actions = list(batch.actions)
    actions[5] = replace(actions[5], start_x=9.0, start_y=36.0)
    batch = replace(batch, actions=tuple(actions))
    answer = write_answer(build_messages(batch, persona), structured=False)  # type: ignore[arg-type]
    items = validate_items(batch, parse_answer(answer), persona=persona)
    assert len(items) == 10
    assert "페널티킥" in items[5].description or "PK" in items[5].description


def test_caster_and_analyst_lines_differ_and_claim_no_keeping_of_the_ball() -> None:
    """s21: the two 존댓말 voices no longer write the same lines, and no line says a
    player keeps the ball ('공을 지켜 내네요': the feed does not show it)."""
    for batch in sample_batches()[:30]:
        lines = {}
        for persona in ("CASTER", "ANALYST"):
            answer = write_answer(build_messages(batch, persona), structured=False)  # type: ignore[arg-type]
            lines[persona] = [item.text for item in parse_answer(answer)]
            assert not any("지켜" in text for text in lines[persona])
        same = sum(c == a for c, a in zip(lines["CASTER"], lines["ANALYST"], strict=True))
        assert same <= len(lines["CASTER"]) // 5, (lines["CASTER"], lines["ANALYST"])


_SAYS_RESULT = {
    ("Pass", "Unsuccessful"): ("끊", "막", "빗나", "실패", "못"),
    ("Cross", "Unsuccessful"): ("끊", "막", "빗나", "실패", "못"),
    ("Shot", "Off Target"): ("벗어", "빗나", "밖"),
    ("Shot", "Blocked"): ("막",),
    ("Pass_Corner", "Successful"): ("코너킥",),
    ("Pass_Corner", "Unsuccessful"): ("코너킥",),
    ("Pass_Freekick", "Successful"): ("프리킥",),
}


@pytest.mark.parametrize("persona", ["CASTER", "ANALYST", "FRIEND"])
def test_the_test_llm_claims_only_what_its_row_shows(persona: str) -> None:
    """s22 (a fan's read of `eval --backend openai` on the test LLM, whose lines feed the
    benchmarks): '태클로 공을 빼앗으려 합니다' (intent), '골! Home 난리 났어' (the crowd),
    'Away 계속 몰아쳐' after Away's back pass in its own half (an attack the row does not
    show), a failed pass told as '패스 줬어', a corner as '공 잡고 있어'."""
    from pitchcast.checks.wording import find_wording

    checked = 0
    for batch in sample_batches()[:40]:
        answer = write_answer(build_messages(batch, persona), structured=False)  # type: ignore[arg-type]
        for item, action in zip(parse_answer(answer), batch.actions, strict=True):
            text = re.sub(r"\{[PT]\d+\}", "세징야", item.text)
            assert find_wording(text, action.type_name) == [], (action.type_name, text)
            assert "몰아쳐" not in text and "공격이 계속" not in text, text
            words = _SAYS_RESULT.get((action.type_name, action.result_name or ""))
            if words is not None:
                assert any(w in text for w in words), (action.type_name, action.result_name, text)
                checked += 1
    assert checked > 20
