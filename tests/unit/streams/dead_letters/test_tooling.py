"""Dead-letter selection and rebuilding, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from pitchcast.settings import load_settings
from pitchcast.streams.dead_letters import build_dead_letter
from pitchcast.streams.dead_letters.tooling import (
    DeadLetterEntry,
    DlqError,
    Filters,
    format_row,
    parse_id,
    parse_offsets,
    parse_time,
    plan_replay,
)
from pitchcast.streams.tail import format_line

SETTINGS = load_settings(topic_events="ev", topic_batches="ba")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _entry(value: bytes | None, *, topic: str = "ev", cap: int = 8192, offset: int = 5):
    letter = build_dead_letter(
        source_topic=topic,
        partition=0,
        offset=offset,
        key=b"7",
        value=value,
        error_kind="SchemaViolation",
        error_message="bad",
        value_cap=cap,
    )
    data = orjson.loads(orjson.dumps(letter))
    return DeadLetterEntry(
        partition=1, offset=3, timestamp_ms=int(NOW.timestamp() * 1000), letter=data
    )


def test_a_long_message_keeps_its_end_in_the_list() -> None:
    """`dlq list` shortens a long reason in the middle: the value that was refused, at
    the end of the message ("..., got -5.0"), stays on the row."""
    entry = _entry(b"{}")
    entry.letter["error_message"] = (
        "field 'time_seconds' must be 0..10800 (seconds into the period), got -5.0"
    )
    row = format_row(entry)
    assert row.endswith("got -5.0") and "field 'time_seconds'" in row and "…" in row
    entry.letter["error_message"] = "missing required field 'start_x'"
    assert format_row(entry).endswith("  missing required field 'start_x'")


def test_values_are_rebuilt_byte_for_byte() -> None:
    """UTF-8 and binary (base64) values come back exactly, with the original key and topic."""
    text, binary = _entry('{"a": "가"}'.encode()), _entry(b"\xff\x00\xfe")
    plan = plan_replay([text, binary], SETTINGS)
    assert [i.value for i in plan.items] == ['{"a": "가"}'.encode(), b"\xff\x00\xfe"]
    assert {(i.topic, i.key) for i in plan.items} == {("ev", b"7")}
    assert not plan.refused


def test_truncated_foreign_and_tampered_letters_are_refused() -> None:
    """A cut value, a topic pitchcast does not read, or a digest mismatch: refused, with why."""
    cut = _entry(b"x" * 600, cap=256)
    foreign = _entry(b"{}", topic="elsewhere")
    tampered = _entry(b'{"a": 1}')
    tampered.letter["value"] = '{"a": 2}'
    plan = plan_replay([cut, foreign, tampered], SETTINGS)
    reasons = [why for _, why in plan.refused]
    assert not plan.items and len(reasons) == 3
    assert "truncated" in reasons[0] and "not one pitchcast reads" in reasons[1]
    assert "value_sha256" in reasons[2]


def test_a_mis_keyed_event_is_replayed_under_its_match_key_when_asked() -> None:
    """A record dead-lettered for its key (not its match's game_id) would be refused again
    under that key; ``key_by_game`` sends it keyed by the game_id its value carries. A
    value with no game_id, or a hand-off record, is refused with the reason."""
    mis_keyed = _entry(b'{"game_id": 126476, "action_id": 3}')
    no_game = _entry(b'{"action_id": 3}', offset=6)
    not_json = _entry(b"\xff", offset=7)
    handoff = _entry(b'{"game_id": 126476}', topic="ba", offset=8)
    plain = plan_replay([mis_keyed], SETTINGS)
    assert [i.key for i in plain.items] == [b"7"]  # the original key, as before
    plan = plan_replay([mis_keyed, no_game, not_json, handoff], SETTINGS, key_by_game=True)
    assert [(i.topic, i.key, i.value) for i in plan.items] == [
        ("ev", b"126476", b'{"game_id": 126476, "action_id": 3}')
    ]
    reasons = [why for _, why in plan.refused]
    assert len(reasons) == 3 and all("--key-by-game" in why for why in reasons)
    assert "no integer game_id" in reasons[0] and "no integer game_id" in reasons[1]
    assert "events topic" in reasons[2]


def test_already_replayed_letters_are_skipped_unless_forced() -> None:
    """The audit file's ids are skipped; --force sends them again."""
    entry = _entry(b"{}")
    assert plan_replay([entry], SETTINGS, replayed_before={"1:3"}).already == [entry]
    assert len(plan_replay([entry], SETTINGS, replayed_before={"1:3"}, force=True).items) == 1


def test_a_reason_matches_whatever_its_case() -> None:
    """`dlq list --reason schemaviolation` lists the SchemaViolation letters; a case slip
    must not answer "0 dead letters" during an incident."""
    entry = _entry(b"{}")
    assert Filters(reasons=frozenset({"schemaviolation"})).match(entry)
    assert Filters(reasons=frozenset({"SCHEMAVIOLATION", "LateAction"})).match(entry)
    assert not Filters(reasons=frozenset({"lateaction"})).match(entry)


def test_filters_and_parsing() -> None:
    """Ids, times (ISO or a duration back), offset ranges; filters combine with AND."""
    assert parse_id(" 2:17 ") == "2:17"
    with pytest.raises(DlqError):
        parse_id("2-17")
    assert parse_time("2h", now=NOW) == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert parse_time("2026-11-29T11:00:00") == datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    with pytest.raises(DlqError):
        parse_time("yesterday")
    assert parse_offsets("4-9") == (4, 9) and parse_offsets("4") == (4, 4)
    entry = _entry(b"{}")
    assert Filters().empty and Filters(game_id=7).match(entry)
    assert not Filters(game_id=8).match(entry)
    assert Filters(reasons=frozenset({"SchemaViolation"}), source_offsets=(5, 5)).match(entry)
    assert not Filters(source_offsets=(6, 9)).match(entry)
    assert Filters(since=parse_time("1m", now=NOW)).match(entry)
    assert not Filters(until=NOW).match(entry)  # until is exclusive


def test_tail_lines_format() -> None:
    """`pitchcast tail --lines` prints match, batch.row, persona, clock, tone and text."""
    line = {
        "game_id": 7,
        "batch_index": 2,
        "line_index": 4,
        "persona": "CASTER",
        "final": True,
        "item": {"action_id": 24, "time_seconds": 754.2, "tone": "excited", "description": "골!"},
    }
    assert format_line(line) == "game 7 · 2.4 · CASTER · 12:34  [excited] 골! ·end"
