"""Turn raw Kafka values into records, with a clear error for everything else.

Decoding happens here, from bytes, because faust acks a message its codec cannot decode
and then raises inside the agent: bad input would never reach the dead-letter topic.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pitchcast.exceptions import MessageTooLarge, SchemaViolation, UndecodableMessage
from pitchcast.schemas.records import (
    BATCH_ACTION_SCHEMA,
    BATCH_SCHEMA,
    CLOSE_REASONS,
    CONTROL_KINDS,
    PERIOD_END_SCHEMA,
    Action,
    Batch,
    BatchAction,
    BatchOpening,
    Control,
    MatchInfo,
    PeriodEnd,
    Score,
    TeamTally,
    story_from_dict,
)
from pitchcast.schemas.vocabulary import PITCH_LENGTH_M, PITCH_WIDTH_M

__all__ = [
    "MAX_PERIOD_ID",
    "MAX_TEXT_CHARS",
    "MAX_TIME_SECONDS",
    "DecodedAction",
    "decode_batch",
    "decode_event",
    "decode_handoff",
    "encode",
    "match_info_from_mapping",
]


# Periods: 1, 2 halves; 3, 4 extra time; 5 the shoot-out.
MAX_PERIOD_ID = 5
# No period lasts three hours: a larger clock is a corrupted record.
MAX_TIME_SECONDS = 3 * 3600.0
# Names and vocabulary words are short (the prompt shows 40 characters of a name). A
# longer text would be carried in the match's roster and in every later batch record,
# until a hand-off record no longer fits the message cap.
MAX_TEXT_CHARS = 100
# Integers are signed 64-bit (a Java long; orjson writes no wider). JSON parsers read a
# wider integer as a float, which may still be whole (2^64, 10^20): kept, it decoded to
# an int no record could be encoded with again.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class DecodedAction:
    action: Action
    # True when a coordinate was a little outside the pitch and was clamped onto it.
    clamped: bool


def encode(record: object) -> bytes:
    """JSON bytes of a record (dataclasses are serialised natively by orjson)."""
    return orjson.dumps(record)


def _load_object(raw: bytes | None, max_bytes: int) -> dict[str, Any]:
    if raw is None:
        raise SchemaViolation("empty value (tombstone): expected a JSON object")
    if len(raw) > max_bytes:
        raise MessageTooLarge(f"value is {len(raw)} bytes, above the cap of {max_bytes}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UndecodableMessage("value is not valid UTF-8") from exc
        raise UndecodableMessage(
            f"value is not valid JSON: {_non_finite(raw, exc.pos) or exc}"
        ) from exc
    if not isinstance(data, dict):
        raise SchemaViolation(f"expected a JSON object, got {type(data).__name__}")
    return data


# A name written before a colon (in valid JSON, only an object's keys are; a key with an
# escape in it is not counted: no K League field has one). About 6 us an action.
_NAME = re.compile(rb'"([^"\\]{1,64})"\s*:')


def _refuse_repeated_names(raw: bytes) -> None:
    """An object naming a field twice is ambiguous (parsers keep one of the values,
    orjson the last). Names are counted over the whole value first (cheap); only a
    value with a name twice (a match_start's game_id, in two objects) is parsed again
    object by object."""
    names = _NAME.findall(raw)
    if len(names) == len(set(names)):
        return

    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                first, then = orjson.dumps(seen[key]).decode(), orjson.dumps(value).decode()
                raise SchemaViolation(
                    f"field {key!r} appears twice ({first[:40]}, then {then[:40]}):"
                    " which one is meant cannot be told"
                )
            seen[key] = value
        return seen

    json.loads(raw, object_pairs_hook=check)


# NaN and Infinity are not JSON, but Python's json.dumps and Jackson (with non-numeric
# numbers allowed) write them; 1e400 overflows a double. The error names the field
# rather than a column.
_NON_FINITE = re.compile(rb'"([^"\\]{1,64})"\s*:\s*(-?Infinity|NaN|-?[0-9][0-9.]*[eE][+-]?[0-9]+)')


def _non_finite(raw: bytes, pos: int) -> str | None:
    """What a parse error at ``pos`` is, when a non-finite number stands there."""
    start = max(0, pos - 80)
    for found in _NON_FINITE.finditer(raw, start, pos + 10):
        if found.start(2) <= pos <= found.end(2):
            key = found.group(1).decode("utf-8", "replace")
            return f"field {key!r} is {found.group(2).decode()} (numbers must be finite)"
    return None


def _absent(data: dict[str, Any], key: str) -> SchemaViolation:
    """A required field without a value: missing, or there as null or "" (an empty CSV
    cell, a Java null), which a producer looking for a missing key would not find."""
    if key not in data:
        return SchemaViolation(f"missing required field {key!r}")
    return SchemaViolation(f"required field {key!r} is {orjson.dumps(data[key]).decode()}")


def _int(data: dict[str, Any], key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _absent(data, key)
        return None
    if isinstance(value, bool):
        raise SchemaViolation(f"field {key!r} must be an integer, got a boolean")
    # Producers that write every number as a float (pandas) send 3.0 for 3.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise SchemaViolation(f"field {key!r} must be an integer, got {value!r}")
    if not _INT_MIN <= value <= _INT_MAX:
        raise SchemaViolation(f"field {key!r} = {value} is outside the signed 64-bit range")
    return value


def _number(data: dict[str, Any], key: str, *, required: bool = True) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _absent(data, key)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaViolation(f"field {key!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise SchemaViolation(f"field {key!r} is not finite: {value!r}")
    return number


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _absent(data, key)
        return None
    if not isinstance(value, str):
        raise SchemaViolation(f"field {key!r} must be a string, got {value!r}")
    if len(value) > MAX_TEXT_CHARS:
        raise SchemaViolation(
            f"field {key!r} is {len(value)} characters long, above {MAX_TEXT_CHARS}"
        )
    return value


def _coordinate(value: float, limit: float, key: str, margin: float) -> tuple[float, bool]:
    if 0.0 <= value <= limit:
        return value, False
    if -margin <= value <= limit + margin:
        return min(max(value, 0.0), limit), True
    raise SchemaViolation(
        f"field {key!r} = {value} is off the pitch (0..{limit:g} m, {margin:g} m tolerance)"
    )


def _check_period(period_id: int) -> None:
    if not 1 <= period_id <= MAX_PERIOD_ID:
        raise SchemaViolation(
            f"field 'period_id' must be 1..{MAX_PERIOD_ID} (halves, extra time, shoot-out),"
            f" got {period_id}"
        )


def _decode_action(data: dict[str, Any], clamp_margin: float) -> DecodedAction:
    coords: dict[str, float] = {}
    clamped = False
    for key, limit in (
        ("start_x", PITCH_LENGTH_M),
        ("start_y", PITCH_WIDTH_M),
        ("end_x", PITCH_LENGTH_M),
        ("end_y", PITCH_WIDTH_M),
    ):
        value = _number(data, key)
        assert value is not None
        coords[key], was_clamped = _coordinate(value, limit, key, clamp_margin)
        clamped = clamped or was_clamped
    dx = _number(data, "dx")
    dy = _number(data, "dy")
    assert dx is not None and dy is not None
    if clamped:  # keep dx/dy consistent with the clamped points
        dx = coords["end_x"] - coords["start_x"]
        dy = coords["end_y"] - coords["start_y"]
    period_id = _int(data, "period_id")
    time_seconds = _number(data, "time_seconds")
    assert period_id is not None and time_seconds is not None
    _check_period(period_id)
    if not 0 <= time_seconds <= MAX_TIME_SECONDS:
        raise SchemaViolation(
            f"field 'time_seconds' must be 0..{MAX_TIME_SECONDS:g} (seconds into the period),"
            f" got {time_seconds}"
        )
    action_id = _int(data, "action_id")
    assert action_id is not None
    if action_id < 0:
        raise SchemaViolation(f"field 'action_id' must be >= 0, got {action_id}")
    action = Action(
        game_id=_int(data, "game_id"),  # type: ignore[arg-type]
        action_id=action_id,
        period_id=period_id,
        time_seconds=time_seconds,
        team_id=_int(data, "team_id"),  # type: ignore[arg-type]
        player_id=_number(data, "player_id", required=False),
        result_name=_text(data, "result_name"),
        start_x=coords["start_x"],
        start_y=coords["start_y"],
        end_x=coords["end_x"],
        end_y=coords["end_y"],
        dx=dx,
        dy=dy,
        type_name=_text(data, "type_name", required=True),  # type: ignore[arg-type]
        player_name_ko=_text(data, "player_name_ko"),
        team_name_ko=_text(data, "team_name_ko"),
        position_name=_text(data, "position_name"),
        main_position=_text(data, "main_position"),
    )
    return DecodedAction(action=action, clamped=clamped)


def match_info_from_mapping(data: dict[str, Any], *, game_id: int | None = None) -> MatchInfo:
    """A :class:`MatchInfo` from a JSON object or a CSV row (empty strings are nulls)."""
    if not isinstance(data, dict):
        raise SchemaViolation("field 'match_info' must be an object")
    cleaned = {k: (None if v == "" else v) for k, v in data.items()}
    ints = {
        k: _int(cleaned, k, required=False)
        for k in (
            "season_id",
            "competition_id",
            "game_day",
            "home_team_id",
            "away_team_id",
            "home_score",
            "away_score",
        )
    }
    texts = {
        k: _text(cleaned, k)
        for k in (
            "game_date",
            "venue",
            "competition_name",
            "country_name",
            "home_team_name",
            "home_team_name_ko",
            "away_team_name",
            "away_team_name_ko",
        )
    }
    home, away = ints["home_team_id"], ints["away_team_id"]
    if home is not None and home == away:
        # Every action of the real other team would look foreign (ImplausibleAction).
        raise SchemaViolation(f"match_info's home_team_id and away_team_id are both {home}")
    info_game_id = _int(cleaned, "game_id", required=game_id is None)
    if game_id is not None and info_game_id is not None and info_game_id != game_id:
        raise SchemaViolation(f"match_info.game_id {info_game_id} differs from game_id {game_id}")
    return MatchInfo(game_id=info_game_id if info_game_id is not None else game_id, **ints, **texts)  # type: ignore[arg-type]


def _decode_control(data: dict[str, Any]) -> Control:
    kind = data.get("control")
    if kind not in CONTROL_KINDS:
        expected = ", ".join(CONTROL_KINDS)
        raise SchemaViolation(f"unknown control {kind!r}; expected one of {expected}")
    game_id = _int(data, "game_id")
    assert game_id is not None
    info_data = data.get("match_info")
    info = None if info_data is None else match_info_from_mapping(info_data, game_id=game_id)
    period_id = _int(data, "period_id", required=False)
    if period_id is not None:
        _check_period(period_id)
    return Control(
        game_id=game_id,
        control=kind,
        period_id=period_id,
        match_info=info,
        at=_number(data, "at", required=kind == "tick"),
        after_offset=_int(data, "after_offset", required=False),
    )


def decode_event(
    raw: bytes | None, *, max_bytes: int, clamp_margin: float
) -> DecodedAction | Control:
    """Decode one ``match-events`` value; raises an :class:`InvalidMessage` subclass."""
    data = _load_object(raw, max_bytes)
    assert raw is not None  # _load_object refused a tombstone
    _refuse_repeated_names(raw)  # the feed's values only: the hand-off's are pitchcast's
    if "control" in data:
        return _decode_control(data)
    return _decode_action(data, clamp_margin)


def decode_handoff(raw: bytes | None, *, max_bytes: int) -> BatchAction | Batch | PeriodEnd:
    """Decode one ``pitchcast-batches`` value: an assigned action, a closed batch, or the
    end of a period whose batch had closed already."""
    data = _load_object(raw, max_bytes)
    if data.get("schema") == BATCH_ACTION_SCHEMA:
        return _batch_action(data)
    if data.get("schema") == PERIOD_END_SCHEMA:
        return _period_end(data)
    return _batch(data)


def _period_end(data: dict[str, Any]) -> PeriodEnd:
    try:
        close_reason = data["close_reason"]
        if close_reason not in ("period_end", "match_end"):
            raise SchemaViolation(f"a period ends by period_end or match_end, not {close_reason!r}")
        info = data.get("match_info")
        ended = data.get("ended_by_ts_ms")
        return PeriodEnd(
            game_id=int(data["game_id"]),
            batch_index=int(data["batch_index"]),
            close_reason=close_reason,
            last=_decode_action(data["last"], clamp_margin=0.0).action,
            score=Score(**data["score"]),
            match_info=None if info is None else match_info_from_mapping(info),
            ended_by_ts_ms=None if ended is None else int(ended),
            teams=tuple(TeamTally(**t) for t in data.get("teams", ())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, SchemaViolation):
            raise
        raise SchemaViolation(f"not a pitchcast period end: {exc!r}") from exc


def decode_batch(raw: bytes | None, *, max_bytes: int) -> Batch:
    """Decode one closed batch (``pitchcast.batch.v1`` or ``v2``)."""
    return _batch(_load_object(raw, max_bytes))


def _batch_action(data: dict[str, Any]) -> BatchAction:
    try:
        opening = data.get("opening")
        info = None if opening is None else opening.get("match_info")
        return BatchAction(
            game_id=int(data["game_id"]),
            batch_index=int(data["batch_index"]),
            position=int(data["position"]),
            action=_decode_action(data["action"], clamp_margin=0.0).action,
            appended_ts_ms=int(data["appended_ts_ms"]),
            opening=None
            if opening is None
            else BatchOpening(
                match_info=None if info is None else match_info_from_mapping(info),
                story=story_from_dict(opening["story"]),
                roster=tuple(opening.get("roster", ())),
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, SchemaViolation):
            raise
        raise SchemaViolation(f"not a pitchcast batch action: {exc!r}") from exc


def _batch(data: dict[str, Any]) -> Batch:
    if data.get("schema") not in (BATCH_SCHEMA, "pitchcast.batch.v1"):
        raise SchemaViolation(f"not a pitchcast batch: schema {data.get('schema')!r}")
    try:
        actions = tuple(_decode_action(a, clamp_margin=0.0).action for a in data["actions"])
        close_reason = data["close_reason"]
        if close_reason not in CLOSE_REASONS:
            raise SchemaViolation(f"unknown close_reason {close_reason!r}")
        info = data.get("match_info")
        return Batch(
            game_id=int(data["game_id"]),
            batch_index=int(data["batch_index"]),
            period_id=int(data["period_id"]),
            first_action_id=int(data["first_action_id"]),
            last_action_id=int(data["last_action_id"]),
            close_reason=close_reason,
            actions=actions,
            score=Score(**data["score"]),
            match_info=None if info is None else match_info_from_mapping(info),
            roster=tuple(data.get("roster", ())),
            closed_by_ts_ms=data.get("closed_by_ts_ms"),
            story=None if data.get("story") is None else story_from_dict(data["story"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, SchemaViolation):
            raise
        raise SchemaViolation(f"not a pitchcast batch: {exc!r}") from exc
