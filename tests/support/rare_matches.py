"""Three more matches unlike the samples, with the rarer actions and names, by hand.

tests/support/unseen_match.py has one Korean-named match (a goal, an own goal, a yellow
and a red card). These three add what it leaves out, each in the K League column layout
(``write_rare_match``), every row oriented towards x = 105 for its acting team:

* ``DRAW`` (game 126601, 울산 HD v 전북 현대, 0-0): a saved penalty, a second yellow, a
  handball, offside, the post; names with a space (마틴 아담), a middle dot (안드레·루이스),
  a digit (김민혁2), Latin only (Lucas, Paul), foreign names in Hangul (구스타보, 티아고,
  아길라르: ㄹ).
* ``COMEBACK`` (game 126602, 포항 스틸러스 v 대전 하나시티즌, 2-3): a penalty goal, an own
  goal, a goal in first-half stoppage time, a winner in second-half stoppage time, a direct
  red card; names ending in ㄹ (김동철), digits after a space (홍정운 10), vowel and other
  받침 endings.
* ``CUP`` (game 126603, 광주FC v 강원 FC, 1-1 and a shoot-out): extra time (periods 3 and
  4) and the shoot-out (period 5), a goal at the first second of the second half, a
  Latin name with a space and a hyphen (Kim Dong-hyun), 가브리엘 and 허율 (ㄹ).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitchcast.streams.match_csv import ACTION_COLUMNS
from tests.support.unseen_match import (
    MATCH_INFO_COLUMNS,
    Point,
    ScriptRow,
    match_info_of,
    scripted_action,
    write_csv,
)

__all__ = ["COMEBACK", "CUP", "DRAW", "MATCHES", "RareMatch", "write_rare_match"]


@dataclass(frozen=True)
class RareMatch:
    game_id: int
    home: tuple[int, str, str]  # id, Korean name, English name
    away: tuple[int, str, str]
    players: dict[str, tuple[int, bool, str]]  # name -> (player id, home?, position)
    script: tuple[ScriptRow, ...]  # (period, seconds, player, type, result, start, end)
    final_score: tuple[int, int]


_C: Point = (52.5, 34.0)


def _roster(home: list[tuple[str, str]], away: list[tuple[str, str]], base: int) -> dict:
    players = {name: (base + i, True, pos) for i, (name, pos) in enumerate(home)}
    players |= {name: (base + 50 + i, False, pos) for i, (name, pos) in enumerate(away)}
    return players


_DRAW_PLAYERS = _roster(
        [
            ("조현우", "GK"),
            ("김영권", "CB"),
            ("설영우", "RB"),
            ("Lucas", "CF"),
            ("마틴 아담", "CF"),
            ("이청용", "RW"),
            ("보야니치", "CM"),
            ("김민혁2", "CM"),
        ],
        [
            ("송범근", "GK"),
            ("홍정호", "CB"),
            ("구스타보", "CF"),
            ("티아고", "CF"),
            ("안드레·루이스", "LW"),
            ("아길라르", "CM"),
            ("박진섭", "DM"),
            ("Paul", "RB"),
        ],
        600100,
)  # fmt: skip

DRAW = RareMatch(
    126601,
    (2354, "울산 HD", "Ulsan HD"),
    (2355, "전북 현대", "Jeonbuk Hyundai"),
    _DRAW_PLAYERS,
    (
        (1, 0.0, "마틴 아담", "Pass", "Successful", _C, (40.0, 30.0)),
        (1, 1.5, "보야니치", "Pass Received", None, (40.0, 30.0), (40.0, 30.0)),
        (1, 4.0, "보야니치", "Pass", "Successful", (40.0, 30.0), (75.0, 60.0)),
        (1, 5.5, "이청용", "Pass Received", None, (75.0, 60.0), (75.0, 60.0)),
        (1, 8.0, "이청용", "Cross", "Unsuccessful", (90.0, 62.0), (100.0, 34.0)),
        (1, 9.0, "홍정호", "Clearance", "Successful", (5.0, 34.0), (35.0, 30.0)),
        (1, 240.0, "티아고", "Offside", None, (90.0, 30.0), (90.0, 30.0)),
        (1, 300.0, "김영권", "Pass_Freekick", "Successful", (20.0, 30.0), (60.0, 34.0)),
        (1, 303.0, "Lucas", "Pass Received", None, (60.0, 34.0), (60.0, 34.0)),
        (1, 306.0, "Lucas", "Take-On", "Successful", (60.0, 34.0), (70.0, 30.0)),
        (1, 309.0, "Lucas", "Shot", "Off Target", (85.0, 30.0), (105.0, 40.0)),
        (1, 900.0, "아길라르", "Foul", "Yellow_Card", (50.0, 30.0), (50.0, 30.0)),
        (1, 1500.0, "구스타보", "Shot", "On Target", (88.0, 34.0), (105.0, 35.0)),
        (1, 1501.0, "조현우", "Catch", "Successful", (1.0, 35.0), (1.0, 35.0)),
        (1, 1800.0, "안드레·루이스", "Pass_Corner", "Successful", (105.0, 0.0), (98.0, 34.0)),
        (1, 1802.0, "설영우", "Handball_Foul", None, (4.0, 34.0), (4.0, 34.0)),
        (1, 1860.0, "구스타보", "Penalty Kick", "On Target", (94.0, 34.0), (105.0, 33.0)),
        (1, 1861.0, "조현우", "Catch", "Successful", (0.5, 33.0), (0.5, 33.0)),
        (1, 2700.0, "김민혁2", "Pass", "Successful", (40.0, 20.0), (60.0, 25.0)),
        (1, 2702.0, "마틴 아담", "Pass Received", None, (60.0, 25.0), (60.0, 25.0)),
        (2, 0.0, "티아고", "Pass", "Successful", _C, (40.0, 34.0)),
        (2, 1.5, "박진섭", "Pass Received", None, (40.0, 34.0), (40.0, 34.0)),
        (2, 600.0, "아길라르", "Foul", "Second_Yellow_Card", (45.0, 30.0), (45.0, 30.0)),
        (2, 1200.0, "마틴 아담", "Shot", "Blocked", (90.0, 30.0), (95.0, 31.0)),
        (2, 1201.0, "Paul", "Block", None, (10.0, 37.0), (10.0, 37.0)),
        (2, 1800.0, "김민혁2", "Goal Post", None, (88.0, 34.0), (105.0, 36.0)),
        (2, 2400.0, "송범근", "Goal Kick", "Successful", (5.0, 34.0), (60.0, 34.0)),
        (2, 2500.0, "보야니치", "Foul", "Direct_Red_Card", (50.0, 30.0), (50.0, 30.0)),
        (2, 2850.0, "Lucas", "Shot", "Off Target", (88.0, 30.0), (105.0, 44.0)),
        (2, 2900.0, "송범근", "Goal Kick", "Successful", (5.0, 34.0), (55.0, 34.0)),
    ),
    (0, 0),
)

_COMEBACK_PLAYERS = _roster(
        [
            ("황인재", "GK"),
            ("김동철", "CB"),
            ("완델손", "LB"),
            ("오베르단", "CM"),
            ("제카", "CF"),
            ("김인성", "RW"),
            ("홍정운 10", "CB"),
        ],
        [
            ("이창근", "GK"),
            ("마사", "CAM"),
            ("구텍", "CF"),
            ("김인균", "RW"),
            ("주세종", "CM"),
            ("Ahn", "LB"),
            ("이순민", "DM"),
        ],
        600200,
)  # fmt: skip

COMEBACK = RareMatch(
    126602,
    (2356, "포항 스틸러스", "Pohang Steelers"),
    (2357, "대전 하나시티즌", "Daejeon Hana Citizen"),
    _COMEBACK_PLAYERS,
    (
        (1, 0.0, "제카", "Pass", "Successful", _C, (40.0, 34.0)),
        (1, 1.5, "오베르단", "Pass Received", None, (40.0, 34.0), (40.0, 34.0)),
        (1, 480.0, "김인성", "Shot", "Goal", (92.0, 30.0), (105.0, 33.0)),
        (1, 481.0, "김인성", "Goal", None, (105.0, 33.0), (105.0, 33.0)),
        (1, 1200.0, "주세종", "Foul", "Yellow_Card", (40.0, 30.0), (40.0, 30.0)),
        (1, 1500.0, "이순민", "Foul", None, (12.0, 34.0), (12.0, 34.0)),
        (1, 1560.0, "제카", "Penalty Kick", "Goal", (94.0, 34.0), (105.0, 36.0)),
        (1, 1561.0, "제카", "Goal", None, (105.0, 36.0), (105.0, 36.0)),
        (1, 2200.0, "마사", "Pass_Corner", "Successful", (105.0, 68.0), (99.0, 34.0)),
        (1, 2202.0, "김동철", "Own Goal", None, (3.0, 34.0), (0.0, 34.0)),
        (1, 2760.0, "마사", "Shot", "Goal", (90.0, 40.0), (105.0, 31.0)),
        (1, 2761.0, "마사", "Goal", None, (105.0, 31.0), (105.0, 31.0)),
        (2, 0.0, "구텍", "Pass", "Successful", _C, (45.0, 30.0)),
        (2, 1.5, "이순민", "Pass Received", None, (45.0, 30.0), (45.0, 30.0)),
        (2, 700.0, "홍정운 10", "Foul", "Direct_Red_Card", (30.0, 34.0), (30.0, 34.0)),
        (2, 1500.0, "완델손", "Interception", None, (30.0, 20.0), (30.0, 20.0)),
        (2, 2000.0, "Ahn", "Cross", "Successful", (92.0, 5.0), (100.0, 34.0)),
        (2, 2001.0, "구텍", "Shot", "On Target", (100.0, 34.0), (105.0, 34.0)),
        (2, 2002.0, "황인재", "Catch", "Successful", (1.0, 34.0), (1.0, 34.0)),
        (2, 2880.0, "김인균", "Shot", "Goal", (95.0, 28.0), (105.0, 32.0)),
        (2, 2881.0, "김인균", "Goal", None, (105.0, 32.0), (105.0, 32.0)),
        (2, 2900.0, "제카", "Pass", "Successful", _C, (45.0, 34.0)),
        (2, 2960.0, "이창근", "Catch", "Successful", (2.0, 34.0), (2.0, 34.0)),
    ),
    (2, 3),
)

_CUP_PLAYERS = _roster(
        [
            ("김경민", "GK"),
            ("가브리엘", "RW"),
            ("허율", "CF"),
            ("아사니", "LW"),
            ("정호연", "CM"),
            ("변준수", "CB"),
            ("헤이스", "CAM"),
        ],
        [
            ("이광연", "GK"),
            ("야고", "CF"),
            ("김대원", "LW"),
            ("황문기", "RB"),
            ("Kim Dong-hyun", "CM"),
            ("윤일록", "RW"),
            ("강투지", "CB"),
        ],
        600300,
)  # fmt: skip

CUP = RareMatch(
    126603,
    (2358, "광주FC", "Gwangju FC"),
    (2359, "강원 FC", "Gangwon FC"),
    _CUP_PLAYERS,
    (
        (1, 0.0, "허율", "Pass", "Successful", _C, (40.0, 34.0)),
        (1, 1.5, "정호연", "Pass Received", None, (40.0, 34.0), (40.0, 34.0)),
        (1, 1300.0, "Kim Dong-hyun", "Foul", "Yellow_Card", (55.0, 30.0), (55.0, 30.0)),
        (1, 2750.0, "헤이스", "Shot_Freekick", "Off Target", (80.0, 34.0), (105.0, 42.0)),
        (2, 0.0, "야고", "Pass", "Successful", _C, (90.0, 34.0)),
        (2, 0.0, "야고", "Shot", "Goal", (92.0, 34.0), (105.0, 34.0)),
        (2, 0.5, "야고", "Goal", None, (105.0, 34.0), (105.0, 34.0)),
        (2, 1600.0, "가브리엘", "Cross", "Successful", (95.0, 60.0), (100.0, 34.0)),
        (2, 1601.0, "허율", "Shot", "Goal", (100.0, 34.0), (105.0, 35.0)),
        (2, 1602.0, "허율", "Goal", None, (105.0, 35.0), (105.0, 35.0)),
        (2, 2750.0, "윤일록", "Shot", "Off Target", (88.0, 30.0), (105.0, 50.0)),
        (3, 0.0, "아사니", "Pass", "Successful", _C, (40.0, 34.0)),
        (3, 400.0, "김대원", "Offside", None, (92.0, 20.0), (92.0, 20.0)),
        (3, 890.0, "변준수", "Clearance", "Successful", (10.0, 34.0), (50.0, 34.0)),
        (4, 0.0, "황문기", "Pass", "Successful", _C, (40.0, 34.0)),
        (4, 600.0, "강투지", "Foul", "Second_Yellow_Card", (50.0, 34.0), (50.0, 34.0)),
        (4, 920.0, "김경민", "Goal Kick", "Successful", (5.0, 34.0), (60.0, 34.0)),
        (5, 0.0, "헤이스", "Penalty Kick", "Goal", (94.0, 34.0), (105.0, 30.0)),
        (5, 60.0, "야고", "Penalty Kick", "On Target", (94.0, 34.0), (105.0, 36.0)),
        (5, 61.0, "김경민", "Catch", "Successful", (0.5, 34.0), (0.5, 34.0)),
        (5, 120.0, "아사니", "Penalty Kick", "Goal", (94.0, 34.0), (105.0, 38.0)),
        (5, 180.0, "Kim Dong-hyun", "Penalty Kick", "Off Target", (94.0, 34.0), (105.0, 45.0)),
    ),
    (1, 1),
)

MATCHES: dict[str, RareMatch] = {"draw": DRAW, "comeback": COMEBACK, "cup": CUP}


def _rows(match: RareMatch) -> list[dict[str, Any]]:
    rows = []
    for action_id, row in enumerate(match.script):
        player_id, home, position = match.players[row[2]]
        team = match.home if home else match.away
        rows.append(
            scripted_action(
                match.game_id, action_id, row, team=team, player_id=player_id, position=position
            )
        )
    return rows


def write_rare_match(folder: Path, match: RareMatch) -> Path:
    """Write ``raw_data.csv`` and ``match_info.csv`` of ``match``; return the CSV's path."""
    info = match_info_of(
        match.game_id, match.home, match.away, match.final_score, game_day=20,
        game_date="2026-07-04 19:00:00", venue="",
    )  # fmt: skip
    write_csv(folder / "match_info.csv", MATCH_INFO_COLUMNS, [info])
    return write_csv(folder / "raw_data.csv", ACTION_COLUMNS, _rows(match))
