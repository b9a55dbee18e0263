"""Reading one action for the template writer: clean text, pitch geometry, minute, kind.

Everything here is pure and total: any action the schema accepts (NaN or infinite
coordinates, odd periods, unknown types) gives a result, never an exception.

Coordinates follow the K League convention: metres on 105 x 68, the acting team
attacks towards x = 105, and y = 0 is the acting team's right touchline.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Final

from pitchcast.pitch import (  # one place: the density decision and the story use them too
    PITCH_X,
    PITCH_Y,
    Geometry,
    carry_kind,
    depth,
    finite,
    geometry,
    pass_kind,
)
from pitchcast.schemas.records import Action

__all__ = [
    "ACTION_KINDS",
    "ATTACKING_DEPTHS",
    "PITCH_X",
    "PITCH_Y",
    "SHOT_TYPES",
    "Geometry",
    "classify",
    "clean",
    "depth",
    "direction",
    "finite",
    "geometry",
    "line_kind",
    "minute_text",
    "minute_text_of",
    "scored_from",
    "zone",
]


def clean(text: object, limit: int) -> str:
    """Printable, single-line text of at most ``limit`` characters ('' for None)."""
    if not isinstance(text, str):
        return ""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Zl", "Zp") or char in "\t\n\r\v\f":
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs"):
            kept.append(char)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


# --- Pitch geometry ----------------------------------------------------------------------------


ATTACKING_DEPTHS: Final = frozenset({"final_third", "box", "six"})

# Plain words (CASTER, FRIEND): (right flank, centre, left flank). y = 0 is the right side.
_PLAIN_ZONES: Mapping[str, tuple[str, str, str]] = {
    "own_box": ("자기 페널티 박스 오른쪽", "자기 페널티 박스 안", "자기 페널티 박스 왼쪽"),
    "own_third": ("자기 진영 오른쪽 깊은 곳", "자기 진영 깊숙한 곳", "자기 진영 왼쪽 깊은 곳"),
    "own_half": ("자기 진영 오른쪽", "자기 진영 중앙", "자기 진영 왼쪽"),
    "opp_half": ("하프라인 너머 오른쪽", "하프라인 너머 중앙", "하프라인 너머 왼쪽"),
    "final_third": ("상대 진영 오른쪽 측면", "페널티 박스 앞", "상대 진영 왼쪽 측면"),
    "box": ("페널티 박스 오른쪽", "페널티 박스 중앙", "페널티 박스 왼쪽"),
    "six": ("골문 바로 앞", "골문 바로 앞", "골문 바로 앞"),
}
# Everyday words (FRIEND): the places a fan names from the sofa, same thirds as plain.
_CASUAL_ZONES: Mapping[str, tuple[str, str, str]] = {
    "own_box": ("자기 골문 앞 오른쪽", "자기 골문 앞", "자기 골문 앞 왼쪽"),
    "own_third": ("뒤쪽 오른편 깊은 데", "자기 골대 쪽 깊은 데", "뒤쪽 왼편 깊은 데"),
    "own_half": ("자기 쪽 오른편", "자기 쪽 가운데", "자기 쪽 왼편"),
    "opp_half": ("상대 쪽 오른편", "상대 쪽 가운데", "상대 쪽 왼편"),
    "final_third": ("상대 골대 쪽 오른편", "박스 바로 앞", "상대 골대 쪽 왼편"),
    "box": ("박스 안 오른쪽", "박스 한가운데", "박스 안 왼쪽"),
    "six": ("골대 코앞", "골대 코앞", "골대 코앞"),
}
# Tactical words (ANALYST): depth and one of five vertical lanes, right to left.
_TACTICAL_DEPTHS: Mapping[str, str] = {
    "own_box": "자기 박스",
    "own_third": "수비 지역",
    "own_half": "자기 진영",
    "opp_half": "상대 진영",
    "final_third": "파이널 서드",
    "box": "상대 박스",
    "six": "골 에어리어",
}
_TACTICAL_LANES = ("우측면", "우측 하프스페이스", "중앙", "좌측 하프스페이스", "좌측면")


def zone(x: float, y: float, tactical: bool, *, casual: bool = False) -> str:
    """The zone's name in plain words, in an analyst's words when ``tactical``, or in a
    friend's everyday words when ``casual``."""
    where = depth(x, y)
    if tactical:
        if where == "six":
            return _TACTICAL_DEPTHS[where]
        lane = min(int(y / (PITCH_Y / 5)), 4) if y > 0 else 0
        return f"{_TACTICAL_DEPTHS[where]} {_TACTICAL_LANES[lane]}"
    lane = 0 if y < PITCH_Y / 3 else (2 if y > 2 * PITCH_Y / 3 else 1)
    return (_CASUAL_ZONES if casual else _PLAIN_ZONES)[where][lane]


def direction(dx: float, dy: float, tactical: bool, *, casual: bool = False) -> str:
    """Where the ball went, for the acting team: +x is forward, +y is to its left
    (``casual``: 앞 rather than 전방)."""
    angle = math.degrees(math.atan2(dy, dx))
    side = ("좌측" if tactical else "왼쪽") if angle > 0 else ("우측" if tactical else "오른쪽")
    back = "후방" if tactical else "뒤"
    turn = abs(angle)
    ahead = "앞" if casual else "전방"
    if turn <= 30:
        return ahead
    if turn <= 70:
        return f"{side} {ahead}"
    if turn < 110:
        return side
    if turn < 150:
        return f"{side} {back}"
    return back


def scored_from(goal: Action, previous: Action | None) -> tuple[float, float] | None:
    """Where a ``Goal`` row's goal was scored from. The row sits where the ball crossed
    the line (data/PROVENANCE.md: at its shot's end point), so it is its shot's start,
    the row before it (the same player's shot with result ``Goal``); without that shot,
    the row's own place unless it is on the goal line, where it says nothing (None)."""
    if (
        previous is not None
        and previous.type_name in SHOT_TYPES
        and previous.result_name == "Goal"
        and previous.player_id == goal.player_id
        and previous.team_id == goal.team_id
    ):
        shot = geometry(previous)
        return shot.x, shot.y
    own = geometry(goal)
    return None if own.x >= PITCH_X - 0.5 else (own.x, own.y)


def line_kind(x: float, y: float) -> str:
    """Which line a ball going out at (x, y) crosses."""
    if x <= 0.5 or x >= PITCH_X - 0.5:
        return "골라인"
    if y <= 0.5 or y >= PITCH_Y - 0.5:
        return "터치라인"
    return "라인"


# Period -> (name, clock at its start, regular end) in minutes.
_HALVES: Mapping[int, tuple[str, int, int]] = {
    1: ("전반", 0, 45),
    2: ("후반", 45, 90),
    3: ("연장 전반", 90, 105),
    4: ("연장 후반", 105, 120),
}


def minute_text_of(period: int, clock: int) -> str:
    """``전반 12분``, ``후반 22분``, ``후반 45+3분`` for the match clock minute ``clock`` of
    ``period``: counted from the start of the half, as Korean broadcasts and K League
    reports count it (the 67th minute is 후반 22분; 후반 48분 reads as added time), with
    the added time past the half's length (45, or 15 in extra time)."""
    if period in _HALVES:
        name, start, end = _HALVES[period]
        played, length = max(clock - start, 1), end - start
        return f"{name} {played}분" if played <= length else f"{name} {length}+{played - length}분"
    if period == 5:
        return "승부차기"
    return f"{min(max(period, 0), 99)}피리어드 {min(max(clock, 0), 999)}분"


def minute_text(period_id: object, time_seconds: object) -> str:
    """``전반 12분``, ``후반 45+3분``, ``연장 전반 8분``... (the minute being played)."""
    period = period_id if isinstance(period_id, int) and not isinstance(period_id, bool) else 1
    seconds = max(finite(time_seconds, 0.0), 0.0)
    minute = min(int(seconds // 60) + 1, 999)
    start = _HALVES[period][1] if period in _HALVES else 0
    return minute_text_of(period, start + minute)


# --- Kinds -----------------------------------------------------------------------------------

_SHOT_KINDS: Mapping[str | None, str] = {
    "On Target": "shot_on",
    "Off Target": "shot_off",
    "Blocked": "shot_blocked",
    "Goal": "shot_goal",
    "Low Quality Shot": "shot_weak",
    "Keeper Rush-Out": "shot_rush",
    None: "shot_plain",
}
# A penalty scored, saved or missed is told as a penalty (the shot banks say it only
# where their {슈팅} slot stands); other results keep the shot banks.
_PENALTY_KINDS: Mapping[str | None, str] = {
    "Goal": "penalty_goal",
    "On Target": "penalty_saved",
    "Off Target": "penalty_missed",
}
SHOT_TYPES: Final = frozenset({"Shot", "Shot_Freekick", "Penalty Kick"})
_CARD_KINDS: Mapping[str, str] = {
    "Yellow_Card": "yellow",
    "Second_Yellow_Card": "second_yellow",
    "Direct_Red_Card": "red",
}
# Types whose result says whether they worked: (kind when it did, kind when it did not).
_TWO_WAY: Mapping[str, tuple[str, str]] = {
    "Cross": ("cross_ok", "cross_fail"),
    "Pass_Freekick": ("freekick_ok", "freekick_fail"),
    "Pass_Corner": ("corner_ok", "corner_fail"),
    "Goal Kick": ("goalkick_ok", "goalkick_fail"),
    "Throw-In": ("throwin_ok", "throwin_fail"),
    "Duel": ("duel_won", "duel_lost"),
    "Tackle": ("tackle_won", "tackle_lost"),
    "Take-On": ("takeon_won", "takeon_lost"),
    "Aerial Clearance": ("aerial_ok", "aerial_fail"),
}
# Types that carry no result (NaN) in K League.
_ONE_WAY: Mapping[str, str] = {
    "Pass Received": "received",
    "Ball Received": "ball_received",
    "Recovery": "recovery",
    "Interception": "interception",
    "Intervention": "intervention",
    "Clearance": "clearance",
    "Block": "block",
    "Deflection": "deflection",
    "Hit": "hit",
    "Out": "out",
    "Foul_Throw": "foul_throw",
    "Offside": "offside",
    "Catch": "catch",
    "Parry": "parry",
    "Error": "error",
    "Pause": "pause",
    "Defensive Line Support": "line_support",
    "Goal Miss": "goal_miss",
    "Goal Post": "goal_post",
}
_PASS_KINDS = ("pass_forward", "pass_back", "pass_side", "pass_long", "pass_switch", "pass_box")

# Every kind a line can be written for: the phrasebook has a section for each.
ACTION_KINDS: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(
        [
            *_PASS_KINDS,
            "pass_fail",
            "carry",
            "carry_forward",
            *_ONE_WAY.values(),
            *(kind for pair in _TWO_WAY.values() for kind in pair),
            "duel",
            *_SHOT_KINDS.values(),
            "penalty_goal",
            "penalty_saved",
            "penalty_missed",
            "goal",
            "goal_plain",
            "own_goal",
            "own_goal_plain",
            "foul",
            "handball",
            "foul_penalty",
            "handball_penalty",
            *_CARD_KINDS.values(),
            "unknown",
        ]
    )
)


def classify(type_name: str, result: str | None, shape: Geometry) -> tuple[str, str | None]:
    """(kind, result to add as a note) for one action.

    Goals come out as ``goal`` / ``own_goal``: the writer turns them into the
    ``_plain`` kinds when the score cannot be told.
    """
    ok = result in (None, "Successful")
    failed = result == "Unsuccessful"
    if type_name == "Pass":
        if failed:
            return "pass_fail", None
        return pass_kind(shape), None if ok else result
    if type_name in _TWO_WAY:
        good, bad = _TWO_WAY[type_name]
        if result is None and type_name in ("Duel", "Tackle", "Take-On"):
            return "duel", None  # a contest with no winner recorded
        if failed:
            return bad, None
        return good, None if ok else result
    if type_name in SHOT_TYPES:
        if type_name == "Penalty Kick" and result in _PENALTY_KINDS:
            return _PENALTY_KINDS[result], None  # banks of their own: each line says 페널티킥
        if result in _SHOT_KINDS:
            return _SHOT_KINDS[result], None
        return "shot_plain", result
    if type_name in ("Foul", "Handball_Foul"):
        if result in _CARD_KINDS:
            return _CARD_KINDS[result], None
        if depth(shape.x, shape.y) == "own_box":  # in the fouling team's own box: a penalty
            return ("foul_penalty" if type_name == "Foul" else "handball_penalty"), result
        return ("foul" if type_name == "Foul" else "handball"), result
    if type_name in ("Goal", "Own Goal"):
        kind = "goal" if type_name == "Goal" else "own_goal"
        return kind, None if result in (None, "Successful", "Goal") else result
    if type_name == "Carry":
        return carry_kind(shape), None if ok else result
    if type_name in _ONE_WAY:
        return _ONE_WAY[type_name], None if ok else result
    return "unknown", result
