"""The fault suite's checker catches each broken promise (it must never pass vacuously)."""

from __future__ import annotations

from typing import Any

import orjson

from pitchcast.chaos.check import Expected, Figures, check_topics, find_secrets, value_digest
from pitchcast.chaos.harness import RawRecord
from pitchcast.chaos.malformed import KINDS, MatchPoint, bad_message
from pitchcast.schemas.records import commentary_id_for

ROW = {
    "game_id": 1, "action_id": 5, "period_id": 1, "time_seconds": 3.0, "team_id": 11,
    "player_id": 19.0, "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0,
    "end_y": 4.0, "dx": 2.0, "dy": 2.0, "type_name": "Pass", "player_name_ko": "P",
    "team_name_ko": "Home",
}  # fmt: skip


def _record(value: Any, offset: int = 0) -> RawRecord:
    return RawRecord(0, offset, 0, b"1", orjson.dumps(value), ())


def _item(action_id: int, text: str = "좋은 패스입니다.") -> dict[str, Any]:
    return {"action_id": action_id, "time_seconds": float(action_id), "tone": "calm",
            "description": text}  # fmt: skip


def _commentary(batch_index: int, ids: list[int], text: str = "좋은 패스입니다.") -> dict[str, Any]:
    return {
        "commentary_id": commentary_id_for(1, batch_index, "CASTER"), "game_id": 1,
        "batch_index": batch_index, "persona": "CASTER", "period_id": 1,
        "first_action_id": ids[0], "last_action_id": ids[-1], "close_reason": "full",
        "score": {"home": 0, "away": 0}, "items": [_item(i, text) for i in ids],
        "source": "llm", "model": "m", "usage": {}, "fallback_reason": None,
    }  # fmt: skip


def _lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"commentary_id": record["commentary_id"], "line_index": n, "item": item}
        for n, item in enumerate(record["items"])
    ]


def _check(commentary: list[dict[str, Any]], lines: list[dict[str, Any]], **kw: Any) -> Figures:
    figures = Figures("unit", "ci")
    expected = Expected(
        actions={1: [1, 2, 3, 4]},
        times={1: {i: float(i) for i in range(1, 5)}},
        personas=("CASTER",),
        **kw,
    )
    check_topics(
        figures,
        expected,
        commentary=[_record(c, n) for n, c in enumerate(commentary)],
        lines=[_record(line, n) for n, line in enumerate(lines)],
        handoff=[],
        dead_letters=[],
    )
    return figures


def test_a_complete_run_passes_and_copies_are_counted() -> None:
    """Two batches, one published twice identically: fine, one copy counted."""
    first, second = _commentary(0, [1, 2]), _commentary(1, [3, 4])
    figures = _check([first, second, first], _lines(first) + _lines(second))
    assert figures.ok, figures.problems
    assert figures.commentary_copies == 1 and figures.lost == 0


def test_each_broken_promise_is_reported() -> None:
    """A lost action, a missing index, two contents for an id, a line that differs."""
    first, third = _commentary(0, [1, 2]), _commentary(2, [4])
    changed = _commentary(0, [1, 2], text="다른 문장입니다.")
    lines = _lines(first) + _lines(third)
    lines[0] = {**lines[0], "item": _item(1, "다른 줄입니다.")}
    figures = _check([first, third, changed], lines)
    text = "\n".join(figures.problems)
    assert figures.lost == 1 and "never commented" in text
    assert "batch_index missing [1]" in text
    assert "published with 2 contents" in text
    assert "differs from its record" in text


def test_a_missing_dead_letter_and_a_leaked_secret_are_reported() -> None:
    """Dead letters are matched by the value's sha256; secrets are found by name only."""
    first, second = _commentary(0, [1, 2]), _commentary(1, [3, 4])
    figures = _check(
        [first, second],
        _lines(first) + _lines(second),
        dead_letters={value_digest(b"{oops"): "UndecodableMessage"},
    )
    assert figures.problems == ["1 bad messages have no dead letter"]
    leaks = find_secrets(["s3cret"], {"worker0.log": "ok", "topic dlq": b"..s3cret.."})
    assert leaks == ["secret #1 appears in topic dlq"]


def test_the_malformed_messages_cover_fifteen_kinds_and_are_unique() -> None:
    """At least 15 kinds, each value distinct (found again by its sha256)."""
    import random

    rng = random.Random(1)
    point = MatchPoint(1, ROW, [1, 2, 5], 2, 11, 12)
    made = [bad_message(kind, point, n, rng) for n, kind in enumerate(list(KINDS) * 3)]
    assert len(KINDS) >= 15
    valued = [m.value for m in made if m.value is not None]
    assert len(set(valued)) == len(valued)
    assert {m.outcome for m in made} >= {
        "UndecodableMessage", "SchemaViolation", "MessageTooLarge", "ImplausibleAction",
        "ImplausibleControl", "dropped",
    }  # fmt: skip
