"""Hand-off records read back: the end of a period whose batch had closed already."""

from __future__ import annotations

import math
from dataclasses import replace

import orjson
import pytest

from pitchcast.exceptions import SchemaViolation
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.records import PeriodEnd, Score, TeamTally
from tests.support.commentary_batches import korean_batch


def _period_end() -> PeriodEnd:
    batch = korean_batch()
    return PeriodEnd(
        game_id=batch.game_id, batch_index=4, close_reason="period_end",
        last=batch.actions[-1], score=Score(2, 1), match_info=batch.match_info,
        ended_by_ts_ms=1_700_000_000_000,
    )  # fmt: skip


def test_a_period_end_reads_back_as_it_was_sent() -> None:
    mark = _period_end()
    assert decode_handoff(encode(mark), max_bytes=65536) == mark
    named = replace(mark, teams=(TeamTally(4219, shots=2, name="전북 현대"), TeamTally(4220)))
    assert decode_handoff(encode(named), max_bytes=65536) == named


def test_a_period_end_written_before_teams_were_sent_reads_with_none() -> None:
    data = orjson.loads(encode(_period_end()))
    del data["teams"]
    assert decode_handoff(orjson.dumps(data), max_bytes=65536).teams == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", ["full", "idle", "whistle"])
def test_a_period_end_closed_by_anything_but_an_end_is_refused(reason: str) -> None:
    data = orjson.loads(encode(_period_end()))
    data["close_reason"] = reason
    with pytest.raises(SchemaViolation, match="period_end or match_end"):
        decode_handoff(orjson.dumps(data), max_bytes=65536)


@pytest.mark.parametrize("missing", ["last", "score", "batch_index"])
def test_a_period_end_missing_a_field_is_a_schema_violation(missing: str) -> None:
    data = orjson.loads(encode(_period_end()))
    del data[missing]
    with pytest.raises(SchemaViolation, match="not a pitchcast period end"):
        decode_handoff(orjson.dumps(data), max_bytes=65536)


@pytest.mark.parametrize("field", ["start_x", "team_id", "type_name"])
def test_a_null_field_is_not_called_missing(field: str) -> None:
    """`"start_x": null` (an empty CSV cell, a Java producer's null) is present: the dead
    letter's reason must not send its producer looking for a key that is there."""
    from pitchcast.schemas.decoding import decode_event

    action = {
        "game_id": 1, "action_id": 0, "period_id": 1, "time_seconds": 1.0, "team_id": 11,
        "player_id": 19.0, "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0,
        "end_y": 4.0, "dx": 2.0, "dy": 2.0, "type_name": "Pass", "player_name_ko": "가",
        "team_name_ko": "나",
    }  # fmt: skip
    with pytest.raises(SchemaViolation, match=f"required field '{field}' is null"):
        decode_event(orjson.dumps({**action, field: None}), max_bytes=65536, clamp_margin=5.0)
    absent = {k: v for k, v in action.items() if k != field}
    with pytest.raises(SchemaViolation, match=f"missing required field '{field}'"):
        decode_event(orjson.dumps(absent), max_bytes=65536, clamp_margin=5.0)


_ACTION = {
    "game_id": 1, "action_id": 0, "period_id": 1, "time_seconds": 1.0, "team_id": 11,
    "player_id": 19.0, "result_name": None, "start_x": 1.0, "start_y": 2.0, "end_x": 3.0,
    "end_y": 4.0, "dx": 2.0, "dy": 2.0, "type_name": "Pass",
}  # fmt: skip


@pytest.mark.parametrize("field", ["game_id", "action_id", "team_id"])
@pytest.mark.parametrize("value", [b"18446744073709551616", b"100000000000000000000", b"1e20"])
def test_an_integer_beyond_64_bits_is_refused(field: str, value: bytes) -> None:
    """JSON parsers read an integer past 64 bits as a float (2^64 and 10^20 exactly), which
    came back as a Python int no record can be encoded with again (orjson refuses it): the
    batch agent raised on its hand-off send and the worker stopped."""
    from pitchcast.schemas.decoding import decode_event

    raw = orjson.dumps({**_ACTION, field: 7}).replace(
        b'"%s":7' % field.encode(), b'"%s":%s' % (field.encode(), value)
    )
    with pytest.raises(SchemaViolation, match=rf"field '{field}'.*64-bit"):
        decode_event(raw, max_bytes=65536, clamp_margin=5.0)


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0])
def test_an_integer_within_64_bits_is_kept(value: int) -> None:
    from pitchcast.schemas.decoding import decode_event

    decoded = decode_event(
        orjson.dumps({**_ACTION, "game_id": value}), max_bytes=65536, clamp_margin=5.0
    )
    assert decoded.action.game_id == value  # type: ignore[union-attr]
    assert orjson.loads(encode(decoded.action))["game_id"] == value


def test_a_match_info_integer_beyond_64_bits_is_refused() -> None:
    from pitchcast.schemas.decoding import decode_event

    info = b'{"game_id": 1, "home_score": 1e20}'
    raw = b'{"game_id": 1, "control": "match_start", "match_info": %s}' % info
    with pytest.raises(SchemaViolation, match=r"home_score.*64-bit"):
        decode_event(raw, max_bytes=65536, clamp_margin=5.0)


def test_a_match_info_naming_one_team_twice_is_refused() -> None:
    """home_team_id == away_team_id: accepted, it made every action of the real other
    team look foreign (ImplausibleAction), so one bad match_start dead-lettered half a
    match. Refused at decoding instead; the match goes on without it."""
    from pitchcast.schemas.decoding import decode_event

    info = {"game_id": 1, "home_team_id": 11, "away_team_id": 11}
    raw = orjson.dumps({"game_id": 1, "control": "match_start", "match_info": info})
    with pytest.raises(SchemaViolation, match="home_team_id and away_team_id are both 11"):
        decode_event(raw, max_bytes=65536, clamp_margin=5.0)


@pytest.mark.parametrize("period", [0, -3, 6, 99])
def test_a_control_naming_a_period_that_cannot_be_is_refused(period: int) -> None:
    """period_end of period -3 was dropped as the copy of an earlier period's end, of
    period 99 refused as one not yet started: neither says what is wrong with it."""
    from pitchcast.schemas.decoding import decode_event

    for kind in ("period_end", "match_end"):
        raw = orjson.dumps({"game_id": 1, "control": kind, "period_id": period})
        with pytest.raises(SchemaViolation, match=r"field 'period_id' must be 1\.\.5"):
            decode_event(raw, max_bytes=65536, clamp_margin=5.0)


@pytest.mark.parametrize(
    ("token", "value"), [("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf)]
)
def test_a_non_finite_number_names_its_field(token: str, value: float) -> None:
    """Python's json.dumps (and Jackson with non-numeric numbers on) writes NaN and
    Infinity, which are not JSON: the dead letter said only "unexpected character ...
    column 139", not which field held what."""
    import json

    from pitchcast.exceptions import UndecodableMessage
    from pitchcast.schemas.decoding import decode_event

    action = orjson.loads(encode(korean_batch().actions[0]))
    raw = json.dumps({**action, "start_x": value}).encode()
    assert token.encode() in raw
    with pytest.raises(UndecodableMessage) as caught:
        decode_event(raw, max_bytes=65536, clamp_margin=5.0)
    message = str(caught.value)
    assert f"field 'start_x' is {token}" in message and "not valid JSON" in message
    with pytest.raises(UndecodableMessage, match="field 'start_y' is -1e999"):
        decode_event(b'{"game_id": 1, "start_y": -1e999}', max_bytes=65536, clamp_margin=5.0)
    with pytest.raises(UndecodableMessage, match="unexpected character"):
        decode_event(b'{"start_x": Nope}', max_bytes=65536, clamp_margin=5.0)


def test_a_field_given_twice_is_refused_with_both_values() -> None:
    """{"team_id": 12, ..., "team_id": 99}: JSON parsers keep one of the two (orjson the
    last), so the action was told for team 99 without a word. The same name in two
    objects (a match_start's game_id and its match_info's) is no duplicate."""
    from pitchcast.schemas.decoding import decode_event

    action = orjson.loads(encode(korean_batch().actions[0]))
    raw = orjson.dumps(action)[:-1] + b', "team_id" : 99}'
    with pytest.raises(SchemaViolation, match=r"field 'team_id' appears twice \(\d+, then 99\)"):
        decode_event(raw, max_bytes=65536, clamp_margin=5.0)
    nested = orjson.dumps({"game_id": 5, "control": "match_start", "match_info": {"game_id": 5}})
    assert decode_event(nested, max_bytes=65536, clamp_margin=5.0).game_id == 5
    inner = nested[:-2] + b',"game_id":6}}'
    with pytest.raises(SchemaViolation, match="field 'game_id' appears twice"):
        decode_event(inner, max_bytes=65536, clamp_margin=5.0)
    named = orjson.dumps({**action, "player_name_ko": 'team_id": 1, "team_id'})
    assert (
        decode_event(named, max_bytes=65536, clamp_margin=5.0).action.team_id == action["team_id"]
    )
