"""The fault suite's checker fails on every planted fault (it must never pass vacuously).

Each test starts from a small recorded run that keeps every promise (:func:`_run`: the
records each topic held, read to its end, and the group's commits), plants exactly one
fault in it, and shows the checker fails with a message naming that fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from pitchcast.chaos.check import (
    Expected,
    Figures,
    check_commits,
    check_topics,
    find_secrets,
    value_digest,
)
from pitchcast.chaos.harness import RawRecord
from pitchcast.chaos.malformed import KINDS, MatchPoint, bad_message
from pitchcast.schemas.records import commentary_id_for

GAME = 1
ACTIONS = [1, 2, 3, 4]
T0 = 1_800_000_000_000  # broker time (ms) of the first action on the events topic
ROW = {
    "game_id": 1, "action_id": 5, "period_id": 1, "time_seconds": 3.0, "team_id": 11,
    "player_id": 19.0, "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0,
    "end_y": 4.0, "dx": 2.0, "dy": 2.0, "type_name": "Pass", "player_name_ko": "P",
    "team_name_ko": "Home",
}  # fmt: skip
BAD_JSON = b"{oops"
EVENTS = "events"


def _record(value: Any, offset: int, timestamp: int = T0, partition: int = 0) -> RawRecord:
    raw = value if isinstance(value, bytes) or value is None else orjson.dumps(value)
    return RawRecord(partition, offset, timestamp, b"1", raw, ())


def _item(action_id: int, text: str = "좋은 패스입니다.") -> dict[str, Any]:
    return {"action_id": action_id, "time_seconds": float(action_id), "tone": "calm",
            "description": text}  # fmt: skip


def _commentary(
    batch_index: int, ids: list[int], persona: str = "CASTER", **over: Any
) -> dict[str, Any]:
    return {
        "commentary_id": commentary_id_for(GAME, batch_index, persona), "game_id": GAME,
        "batch_index": batch_index, "persona": persona, "period_id": 1,
        "first_action_id": ids[0], "last_action_id": ids[-1], "close_reason": "full",
        "score": {"home": 0, "away": 0}, "items": [_item(i) for i in ids],
        "source": "llm", "model": "m", "usage": {}, "fallback_reason": None, **over,
    }  # fmt: skip


def _lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "commentary_id": record["commentary_id"],
            "line_index": n,
            "game_id": GAME,
            "batch_index": record["batch_index"],
            "persona": record["persona"],
            "item": item,
            "final": True,
        }
        for n, item in enumerate(record["items"])
    ]


def _letter(digest: str, reason: str, offset: int) -> dict[str, Any]:
    return {"source_topic": EVENTS, "partition": 0, "offset": offset,
            "value_sha256": digest, "error_kind": reason}  # fmt: skip


@dataclass
class Recorded:
    """What the topics held at the end of a run, the group's commits, and what was sent."""

    commentary: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    line_times: list[int]
    handoff: list[dict[str, Any]]
    letters: list[dict[str, Any]]
    events: list[RawRecord]
    sent_bad: list[tuple[str, str]]
    dropped: list[str]
    commits: dict[str, dict[int, tuple[int, int]]]
    personas: tuple[str, ...] = ("CASTER",)
    extra: dict[str, Any] = field(default_factory=dict)
    kills: int = 0

    def check(self) -> Figures:
        figures = Figures("unit", "ci", kills=self.kills)
        expected = Expected(
            actions={GAME: ACTIONS},
            times={GAME: {i: float(i) for i in ACTIONS}},
            personas=self.personas,
            dead_letters=self.sent_bad,
            dropped=self.dropped,
            **self.extra,
        )
        check_topics(
            figures,
            expected,
            commentary=[_record(c, n) for n, c in enumerate(self.commentary)],
            lines=[
                _record(x, n, t)
                for n, (x, t) in enumerate(zip(self.lines, self.line_times, strict=True))
            ],
            handoff=[_record(h, n) for n, h in enumerate(self.handoff)],
            dead_letters=[_record(d, n) for n, d in enumerate(self.letters)],
            events=self.events,
        )
        check_commits(figures, self.commits, {"events": self.events})
        return figures


def _run() -> Recorded:
    """Four actions in two batches, one bad JSON message and three tombstones (each its
    own record, all with the digest of b""), one exact duplicate dropped; every line 0.5 s
    after its action; the group committed the end of the events topic."""
    events: list[RawRecord] = []
    sent_bad: list[tuple[str, str]] = []
    letters: list[dict[str, Any]] = []
    for n, action_id in enumerate(ACTIONS):
        events.append(_record({**ROW, "action_id": action_id}, len(events), T0 + n * 1000))
    for bad in (BAD_JSON, None, None, None):
        reason = "UndecodableMessage" if bad else "SchemaViolation"
        sent_bad.append((value_digest(bad), reason))
        letters.append(_letter(value_digest(bad), reason, len(events)))
        events.append(_record(bad, len(events), T0 + 4000))
    copy = orjson.dumps({**ROW, "action_id": 2})
    events.append(_record(copy, len(events), T0 + 4000))
    first, second = _commentary(0, [1, 2]), _commentary(1, [3, 4])
    lines = _lines(first) + _lines(second)
    handoff = [
        {"schema": "pitchcast.batch_action.v1", "game_id": GAME, "batch_index": i // 2,
         "position": i % 2, "action": {"action_id": a}}
        for i, a in enumerate(ACTIONS)
    ]  # fmt: skip
    return Recorded(
        commentary=[first, second],
        lines=lines,
        line_times=[T0 + (a - 1) * 1000 + 500 for a in ACTIONS],
        handoff=handoff,
        letters=letters,
        events=events,
        sent_bad=sent_bad,
        dropped=[value_digest(copy)],
        commits={"events": {0: (len(events), len(events))}},
    )


def _fails_naming(run: Recorded, *words: str) -> Figures:
    figures = run.check()
    text = "\n".join(figures.problems)
    assert not figures.ok
    for word in words:
        assert word in text, figures.problems
    return figures


# --- the run as recorded passes ------------------------------------------------------------


def test_the_recorded_run_passes_and_counts_every_record() -> None:
    """Copies (same content) are counted, not failed; each tombstone has its own letter."""
    run = _run()
    run.commentary.append(run.commentary[0])
    run.lines.append(run.lines[0])
    run.line_times.append(run.line_times[0] + 60_000)  # a late copy: the first one counts
    run.extra["line_bound_s"] = 1.0
    figures = run.check()
    assert figures.ok, figures.problems
    assert figures.commentary_copies == 1 and figures.line_copies == 1 and figures.lost == 0
    assert figures.dead_letters == {"SchemaViolation": 3, "UndecodableMessage": 1}
    assert sorted(figures.line_lags) == [0.5] * 4  # from the events topic's broker time


# --- commentary ----------------------------------------------------------------------------


def test_lost_is_the_sum_over_game_and_persona() -> None:
    """One action lost for each of two personas: lost 2, not the max (1)."""
    run = _run()
    run.personas = ("CASTER", "FRIEND")
    friend = [_commentary(0, [1, 2], "FRIEND"), _commentary(1, [3], "FRIEND")]
    run.commentary = [_commentary(0, [1, 2]), _commentary(1, [4]), *friend]
    run.lines = [x for c in run.commentary for x in _lines(c)]
    run.line_times = [T0] * len(run.lines)
    figures = _fails_naming(run, "CASTER: 1 actions never commented", "FRIEND: 1 actions never")
    assert figures.lost == 2


def test_an_action_in_two_batches_fails() -> None:
    run = _run()
    run.commentary[1] = _commentary(1, [2, 3, 4])
    run.lines = [x for c in run.commentary for x in _lines(c)]
    run.line_times = [T0] * len(run.lines)
    _fails_naming(run, "actions in two batches, e.g. [2]")


def test_an_action_that_was_never_sent_fails() -> None:
    run = _run()
    run.commentary[1] = _commentary(1, [3, 4, 99])
    run.lines = [x for c in run.commentary for x in _lines(c)]
    run.line_times = [T0] * len(run.lines)
    _fails_naming(run, "commented actions are not real, e.g. [99]")


def test_a_missing_batch_index_and_two_contents_for_one_id_fail() -> None:
    run = _run()
    run.commentary.append(_commentary(3, [4]))
    run.commentary.append({**run.commentary[0], "close_reason": "idle"})
    run.lines += _lines(_commentary(3, [4]))
    run.line_times += [T0] * 1
    _fails_naming(run, "batch_index missing [2]", "published with 2 contents")


def test_a_record_not_from_the_llm_without_its_reason_fails() -> None:
    run = _run()
    run.commentary[1] = {**run.commentary[1], "source": "template"}
    _fails_naming(run, "carry no fallback_reason (missing reason)")
    run.commentary[1]["fallback_reason"] = "deadline"
    assert run.check().ok


# --- lines ---------------------------------------------------------------------------------


def test_two_texts_for_one_line_id_fail() -> None:
    run = _run()
    run.lines.append({**run.lines[1], "item": _item(2, "다른 문장입니다.")})
    run.line_times.append(run.line_times[1])
    _fails_naming(run, f"line {run.lines[1]['commentary_id']}:1 published with 2 texts")


def test_a_missing_line_and_a_line_unlike_its_record_fail() -> None:
    run = _run()
    del run.lines[3], run.line_times[3]
    run.lines[0] = {**run.lines[0], "item": _item(1, "다른 줄입니다.")}
    _fails_naming(run, ":1 (batch 1) missing", ":0 (batch 0) differs from its record")


def test_a_late_line_fails_measured_from_the_action_on_the_events_topic() -> None:
    """The bound counts from the action's record on the events topic, not the hand-off."""
    run = _run()
    run.extra["line_bound_s"] = 2.0
    run.line_times[2] = T0 + 2000 + 2100  # action 3 was sent at T0 + 2 s
    figures = _fails_naming(run, "1 lines late: published more than 2 s after their action")
    assert max(figures.line_lags) == 2.1


def test_a_bound_with_lines_it_cannot_measure_fails() -> None:
    """A line whose action is not on the events topic read has no lag: under a bound it
    fails rather than pass unmeasured (and with no events read at all, every line does)."""
    run = _run()
    run.extra["line_bound_s"] = 2.0
    run.events = [e for e in run.events if b'"action_id":3,' not in (e.value or b"")]
    _fails_naming(run, "1 lines unmeasured")
    run = _run()
    run.extra["line_bound_s"] = 2.0
    run.events = []
    run.commits = {}
    figures = _fails_naming(run, "4 lines unmeasured")
    assert figures.line_lags == []


# --- hand-off ------------------------------------------------------------------------------


def test_two_actions_at_one_hand_off_position_fail() -> None:
    run = _run()
    run.handoff.append({**run.handoff[0], "action": {"action_id": 7}})
    _fails_naming(run, "hand-off ('action', 1, 0, 0) carries 2 different contents")


def test_hand_off_copies_are_counted_and_foreign_records_skipped() -> None:
    run = _run()
    run.handoff += [run.handoff[0], {"schema": "pitchcast.batch.v2", "oops": 1}]
    figures = run.check()
    assert figures.ok, figures.problems
    assert figures.handoff_copies == 1 and figures.handoff_records == 5


def _period_end(action_id: int, reason: str = "period_end") -> dict[str, object]:
    return {
        "schema": "pitchcast.period_end.v1", "game_id": 1, "batch_index": 0,
        "close_reason": reason, "last": {"action_id": action_id},
    }  # fmt: skip


def test_a_period_end_hand_off_record_is_checked_like_the_others() -> None:
    """The end of a period after its batch closed: a copy is counted (the suite crashed
    on this record before: a KeyError on "actions"), one with another content fails."""
    run = _run()
    records = len(run.handoff)
    run.handoff += [_period_end(3), _period_end(3)]
    figures = run.check()
    assert figures.ok, figures.problems
    assert figures.handoff_copies == 1 and figures.handoff_records == records + 2
    run.handoff.append(_period_end(3, "match_end"))
    _fails_naming(run, "hand-off ('period_end', 1, 0) carries 2 different contents")


# --- dead letters --------------------------------------------------------------------------


def test_a_bad_message_without_its_dead_letter_fails() -> None:
    run = _run()
    del run.letters[0]
    _fails_naming(run, "1 bad messages have no dead letter with their reason (missing)")


def test_each_tombstone_counts_on_its_own() -> None:
    """Three tombstones share one digest: two letters for three of them is one missing."""
    run = _run()
    del run.letters[3]
    _fails_naming(run, "1 bad messages have no dead letter", "sent {'UndecodableMessage': 1")


def test_a_dead_letter_with_another_reason_fails() -> None:
    run = _run()
    run.letters[0] = {**run.letters[0], "error_kind": "SchemaViolation"}
    _fails_naming(run, "dead letters with a wrong reason", "missing")


def test_a_value_with_a_right_and_a_wrong_letter_fails() -> None:
    """The right letter is there; a second one with another reason still fails."""
    run = _run()
    wrong = {**run.letters[0], "offset": 99, "error_kind": "MessageTooLarge"}
    run.letters.append(wrong)
    _fails_naming(run, "1 dead letters with a wrong reason", "lettered MessageTooLarge")


def test_a_duplicated_dead_letter_fails() -> None:
    """One record lettered twice, with nothing that could redeliver it; and one letter
    more than the messages sent with that value."""
    run = _run()
    run.letters.append(run.letters[1])
    _fails_naming(run, "1 dead letters duplicated for one source record")
    run = _run()
    run.letters.append({**run.letters[1], "offset": 98})
    _fails_naming(run, "1 dead letters more than the bad messages sent (duplicated)")


def test_a_redelivered_dead_letter_is_a_counted_copy_after_a_kill() -> None:
    run = _run()
    run.letters.append(run.letters[1])
    run.kills = 1
    figures = run.check()
    assert figures.ok, figures.problems
    assert figures.dead_letter_copies == 1


def test_a_dropped_duplicate_that_became_a_dead_letter_fails() -> None:
    run = _run()
    run.letters.append(_letter(run.dropped[0], "ImplausibleAction", 8))
    _fails_naming(run, "1 dropped duplicates became dead letters")


def test_a_dead_letter_of_a_value_never_sent_as_bad_fails() -> None:
    run = _run()
    run.letters.append(_letter(value_digest(b"a real action"), "SchemaViolation", 2))
    _fails_naming(run, "1 dead letters of values never sent as bad")


def test_the_old_mapping_form_of_expected_letters_still_works() -> None:
    expected = Expected(actions={}, times={}, personas=(), dead_letters={"ab": "X"})
    assert expected.dead_letters == [("ab", "X")]


# --- commits -------------------------------------------------------------------------------


def test_an_uncommitted_offset_fails() -> None:
    """The commit is checked against the end offset, not the last record read."""
    run = _run()
    end = len(run.events)
    run.commits = {"events": {0: (end - 1, end)}}
    _fails_naming(run, "uncommitted offsets", f"'events[0]': '{end - 1} of {end}'")


def test_only_transaction_markers_may_lie_past_a_commit() -> None:
    """exactly_once: a commit marker ends the partition; a record past the commit fails."""
    held = [_record({"n": n}, n) for n in range(3)]
    figures = Figures("unit", "ci")
    check_commits(figures, {"batches": {0: (3, 4)}}, {"batches": held}, markers=True)
    assert figures.ok, figures.problems
    check_commits(figures, {"batches": {0: (2, 4)}}, {"batches": held}, markers=True)
    assert figures.problems == [
        "uncommitted offsets: commits stuck below the end {'batches[0]': '2 of 4'}"
    ]


# --- secrets and the malformed kinds -------------------------------------------------------


def test_a_leaked_secret_is_named_by_where_not_what() -> None:
    leaks = find_secrets(["s3cret"], {"worker0.log": "ok", "topic dlq": b"..s3cret.."})
    assert leaks == ["secret #1 appears in topic dlq"]


def test_the_malformed_messages_cover_fifteen_kinds_and_are_unique() -> None:
    """At least 15 kinds, each value distinct (found again by its sha256)."""
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
