"""Reading answers: line format and JSON, tolerant of prose and fences, incremental."""

from __future__ import annotations

import pytest

from pitchcast.commentary.parsing import AnswerParser, ParsedItem, parse_answer

LINES = "1|calm|{P1}이 공을 잡습니다.\n2|excited|{P2}가 슛!\n"
ITEMS = [ParsedItem(1, "calm", "{P1}이 공을 잡습니다."), ParsedItem(2, "excited", "{P2}가 슛!")]


def _feed_by_char(text: str) -> list[tuple[int, ParsedItem]]:
    """(index of the character that completed it, item) for each item."""
    parser = AnswerParser()
    seen: list[tuple[int, ParsedItem]] = []
    for index, char in enumerate(text):
        seen.extend((index, item) for item in parser.feed(char))
    seen.extend((len(text), item) for item in parser.finish())
    return seen


@pytest.mark.parametrize(
    "text",
    [
        LINES,
        LINES.rstrip("\n"),
        "네, 해설입니다:\n```\n" + LINES + "```\n",
        "1 | calm | {P1}이 공을 잡습니다.\n- 2|excited|{P2}가 슛!",
        '{"lines":[[1,"calm","{P1}이 공을 잡습니다."],[2,"excited","{P2}가 슛!"]]}',
        '```json\n{"lines": [\n  [1, "calm", "{P1}이 공을 잡습니다."],\n'
        '  [2, "excited", "{P2}가 슛!"]\n]}\n```',
        '다음과 같습니다: [{"n": 1, "tone": "calm", "description": "{P1}이 공을 잡습니다."},'
        ' {"action_id": "2", "tone": "excited", "text": "{P2}가 슛!"}] 끝.',
    ],
)
def test_both_formats_are_read_through_prose_and_fences(text: str) -> None:
    """Lines or JSON, bare or in a fence or prose, give the same items."""
    assert parse_answer(text) == ITEMS


def test_lines_come_out_when_their_newline_arrives() -> None:
    """In the line format an item is handed out at its newline, the last one at finish."""
    seen = _feed_by_char(LINES.rstrip("\n"))
    first_newline = LINES.index("\n")
    assert seen == [(first_newline, ITEMS[0]), (len(LINES) - 1, ITEMS[1])]


def test_json_items_come_out_when_their_bracket_closes() -> None:
    """In JSON an item is handed out as soon as its closing bracket arrives."""
    text = '{"lines":[[1,"calm","{P1}이 [공]을 잡습니다."],[2,"excited","{P2}가 \\"슛\\"!"]]}'
    seen = _feed_by_char(text)
    first_close = text.index("],[") + 0
    assert [index for index, _ in seen] == [first_close, text.index("]]}")]
    assert seen[0][1] == ParsedItem(1, "calm", "{P1}이 [공]을 잡습니다.")
    assert seen[1][1].text == '{P2}가 "슛"!'


def test_a_broken_json_item_does_not_lose_the_others() -> None:
    """Each JSON item is decoded on its own; an undecodable one is counted and skipped."""
    parser = AnswerParser()
    items = parser.feed('{"lines":[[1,"calm","a"],[2,"calm",b],[3,"calm","c"]]}')
    assert [item.row for item in items] == [1, 3]
    assert parser.undecodable_items == 1


def test_placeholders_do_not_start_json_mode() -> None:
    """A line that begins with a {P1} placeholder is not mistaken for JSON."""
    parser = AnswerParser()
    assert parser.feed("{P1} 혼자 떠드는 줄\n1|calm|{P1}이 뜁니다\n") == [
        ParsedItem(1, "calm", "{P1}이 뜁니다")
    ]
    assert parser.ignored_lines == 1


def test_text_keeps_everything_fed() -> None:
    """The parser keeps the raw answer (the repair turn quotes it)."""
    parser = AnswerParser()
    parser.feed("1|calm|a\n")
    parser.feed("잡담")
    parser.finish()
    assert parser.text == "1|calm|a\n잡담"
