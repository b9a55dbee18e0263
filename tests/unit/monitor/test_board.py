"""The monitor's board: matches, score, lines, latency figures, and what it cannot read."""

from __future__ import annotations

import orjson
import pytest

from pitchcast.monitor.board import Board, percentile
from tests.support.monitor_records import AWAY, GAME, action_record, line_record, start_record


def _record(persona: str = "CASTER") -> bytes:
    return orjson.dumps(
        {
            "commentary_id": f"cid-{persona}-0",
            "game_id": GAME,
            "batch_index": 0,
            "persona": persona,
            "first_action_id": 1,
            "last_action_id": 2,
            "close_reason": "idle",
            "source": "mixed",
            "fallback_reason": "deadline",
            "items": [{}, {}],
        }
    )


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0


def test_a_match_from_start_to_lines_with_latency_from_the_action() -> None:
    board = Board()
    assert board.on_event(start_record(), 1_000) == [{"type": "reset", "game_id": GAME}]
    (update,) = board.on_event(action_record(1), 2_000)
    assert update["action"]["side"] == "home"
    assert update["action"]["player"] == "이강인"
    board.on_event(action_record(2, team=AWAY), 3_000)
    (line,) = board.on_line(line_record(1, 0), 3_500)
    assert line["line"]["latency_ms"] == 1_500
    assert line["line"]["source"] == "llm"
    board.on_line(line_record(2, 1, source="template"), 5_000)
    summary = board.matches[GAME].summary(now_ms=6_000, idle_timeout_s=30)
    assert (summary["home"], summary["away"]) == ("울산 HD", "전북")
    assert summary["personas"]["CASTER"]["p50_s"] == 1.5
    assert summary["personas"]["CASTER"]["p95_s"] == 2.0
    assert summary["template_share"] == 0.5
    assert summary["lines_last_minute"] == 2
    assert summary["stalled"] is False


def test_a_redelivered_line_or_record_is_shown_once() -> None:
    board = Board()
    board.on_event(start_record(), 0)
    board.on_event(action_record(1), 1)
    assert len(board.on_line(line_record(1, 0), 2)) == 1
    assert board.on_line(line_record(1, 0), 3) == []
    assert len(board.on_record(_record(), 4)) == 1
    assert board.on_record(_record(), 5) == []


def test_goals_own_goals_and_cards_make_the_story() -> None:
    board = Board()
    board.on_event(start_record(), 0)
    board.on_event(action_record(1, type_name="Goal"), 1)
    # An own goal by a home player is a goal for the away side.
    board.on_event(action_record(2, type_name="Own Goal"), 2)
    board.on_event(action_record(3, type_name="Foul", result_name="Yellow_Card", team=AWAY), 3)
    match = board.matches[GAME]
    assert match.score == {"home": 1, "away": 1}
    assert [g["side"] for g in match.goals] == ["home", "away"]
    assert match.goals[1]["own_goal"] is True
    assert match.cards[0]["card"] == "Yellow_Card"
    # A duplicated action id (the worker drops it too) does not score twice.
    board.on_event(action_record(1, type_name="Goal"), 4)
    assert match.score == {"home": 1, "away": 1}


def test_a_match_without_match_info_keeps_score_under_its_teams_names() -> None:
    """No match_start: every goal went to no side (0:0 for a whole match), under Home
    and Away. The first team seen is home, as the worker's story counts the score, and
    each side takes the name its actions give it."""
    board = Board()
    board.on_event(action_record(1, team=AWAY, team_name_ko="전북 현대"), 1)
    board.on_event(action_record(2, type_name="Goal"), 2)
    board.on_event(action_record(3, type_name="Goal"), 3)
    board.on_event(action_record(4, team=AWAY, type_name="Goal", team_name_ko="전북 현대"), 4)
    match = board.matches[GAME]
    assert match.score == {"home": 1, "away": 2}
    assert (match.home_name, match.away_name) == ("전북 현대", "울산 HD")
    # A match info's names stand, whatever the actions call the teams.
    board.on_event(start_record(game_id=GAME + 1, home="울산", away="전북"), 5)
    for n, team in ((6, AWAY), (7, 10)):
        board.on_event(action_record(n, team=team, game_id=GAME + 1), n)
    named = board.matches[GAME + 1]
    assert (named.home_name, named.away_name) == ("울산", "전북")


def test_a_match_with_no_line_for_longer_than_the_idle_timeout_is_stalled() -> None:
    board = Board()
    board.on_event(start_record(), 0)
    board.on_event(action_record(1), 1_000)
    board.on_line(line_record(1, 0), 2_000)
    assert board.matches[GAME].summary(now_ms=31_000, idle_timeout_s=30)["stalled"] is False
    assert board.matches[GAME].summary(now_ms=33_000, idle_timeout_s=30)["stalled"] is True
    board.on_event(orjson.dumps({"game_id": GAME, "control": "match_end"}), 34_000)
    assert board.matches[GAME].summary(now_ms=99_000, idle_timeout_s=30)["stalled"] is False
    # The index lists the live matches first, a finished one after them.
    board.on_event(start_record(GAME + 1), 35_000)
    order = [s["game_id"] for s in board.summaries(now_ms=99_000, idle_timeout_s=30)]
    assert order == [GAME + 1, GAME]


@pytest.mark.parametrize(
    ("handler", "raw", "topic"),
    [
        ("on_event", b"{not json", "events"),
        ("on_event", None, "events"),
        ("on_event", orjson.dumps({"game_id": GAME, "action_id": "x"}), "events"),
        ("on_line", b"\xff\xfe", "lines"),
        ("on_line", orjson.dumps({"game_id": GAME, "item": "nope"}), "lines"),
        ("on_line", orjson.dumps([1, 2]), "lines"),
        ("on_record", orjson.dumps({"game_id": "1"}), "commentary"),
        ("on_dead_letter", b"", "dlq"),
    ],
)
def test_a_malformed_record_is_counted_and_skipped(
    handler: str, raw: bytes | None, topic: str
) -> None:
    board = Board()
    board.on_event(start_record(), 0)
    assert getattr(board, handler)(raw, 1) == []
    assert board.malformed[topic] == 1
    # ...and the next good record is read as usual.
    assert len(board.on_event(action_record(1), 2)) == 1


def test_dead_letters_are_counted_per_match_and_reason() -> None:
    board = Board()
    board.on_event(start_record(), 0)
    letter = {"error_kind": "SchemaViolation", "game_id": GAME}
    board.on_dead_letter(orjson.dumps(letter), 1)
    board.on_dead_letter(orjson.dumps(letter), 2)
    board.on_dead_letter(orjson.dumps({"error_kind": "UndecodableMessage", "game_id": None}), 3)
    summary = board.matches[GAME].summary(now_ms=4, idle_timeout_s=30)
    assert summary["dead_letters_by_reason"] == {"SchemaViolation": 2}
    assert board.malformed["dlq_unkeyed"] == 1


def test_a_dead_letter_without_a_game_id_counts_for_the_match_its_key_names() -> None:
    """Input pitchcast could not decode has no game_id, but its Kafka key (the letter's
    ``key``) names the match, as ``pitchcast dlq list`` shows it: the match's row counts
    it (before, it went to "could not read" as ``dlq_unkeyed``)."""
    board = Board()
    board.on_event(start_record(), 0)
    letter = {"error_kind": "UndecodableMessage", "game_id": None, "key": str(GAME)}
    board.on_dead_letter(orjson.dumps(letter), 1)
    board.on_dead_letter(orjson.dumps({**letter, "key": "not-a-game"}), 2)
    summary = board.matches[GAME].summary(now_ms=3, idle_timeout_s=30)
    assert summary["dead_letters_by_reason"] == {"UndecodableMessage": 1}
    assert board.malformed["dlq_unkeyed"] == 1


def test_a_new_match_start_begins_the_match_afresh() -> None:
    board = Board()
    board.on_event(start_record(), 0)
    board.on_event(action_record(1, type_name="Goal"), 1)
    board.on_event(start_record(), 2)
    assert board.matches[GAME].score == {"home": 0, "away": 0}
    assert board.matches[GAME].actions == {}


def test_a_line_read_before_its_match_start_is_kept() -> None:
    """Topics have no order between them: re-reading from the look-back, a match's lines
    may be read before its match_start. They stay; a replay's older lines do not."""
    board = Board()
    board.on_line(line_record(1, 0), 5_000)  # read first, published after the match started
    old = line_record(2, 1)
    board.on_line(old, 500)  # an earlier run of the same game id
    board.on_event(start_record(), 1_000)
    board.on_event(action_record(1), 2_000)
    kept = board.matches[GAME].lines["CASTER"]
    assert [line["action_id"] for line in kept] == [1]
    # Its latency is known once its action is read.
    assert kept[0]["latency_ms"] == 3_000
    assert board.on_line(line_record(1, 0), 6_000) == []  # still known: not shown twice


def test_story_density_silent_items_are_no_lines_and_moment_lines_no_latency_figure() -> None:
    """At ``story`` density (docs/schema-evolution.md 0.3) a record's silent items have no
    line, and kick-off / full-time lines (source ``control``, line index 100 / 101) are
    shown but are no action's line: out of the latency figures and the template share."""
    board = Board()
    board.on_event(start_record(), 0)
    board.on_event(action_record(1), 1_000)
    board.on_event(action_record(2), 2_000)
    kick_off = line_record(
        1, 100, source="control", text="킥오프! 울산 HD와 전북의 경기가 시작됩니다."
    )
    assert board.on_line(kick_off, 60_000)[0]["line"]["source"] == "control"
    board.on_line(line_record(1, 0, source="template"), 2_500)
    # A silent item is not a line, even if one reached the lines topic.
    assert board.on_line(line_record(2, 1, text="", shown=False, told_with=1), 2_600) == []
    assert board.on_line(line_record(2, 1, text=" "), 2_600) == []
    assert board.malformed["lines_silent"] == 2
    lines = board.matches[GAME].lines["CASTER"]
    assert [(ln["line_index"], ln["source"]) for ln in lines] == [(100, "control"), (0, "template")]
    summary = board.matches[GAME].summary(now_ms=61_000, idle_timeout_s=30)
    # Only the action's line counts: 1.5 s, not the kick-off line's 59 s; template 100%.
    assert summary["personas"]["CASTER"]["p95_s"] == 1.5
    assert summary["personas"]["CASTER"]["template_share"] == 1.0
    assert summary["template_share"] == 1.0
    assert summary["lines_last_minute"] == 2
    # The batch boundary says how many of its actions have a line of their own.
    record = orjson.loads(_record())
    record["items"] = [{"action_id": 1}, {"action_id": 2, "shown": False, "told_with": 1}]
    (update,) = board.on_record(orjson.dumps(record), 3_000)
    assert (update["batch"]["items"], update["batch"]["shown"]) == (2, 1)
