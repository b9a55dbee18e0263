"""Matches unlike the samples: another game id, K League-style team ids, Korean names.

The sample matches have "Player9" and "Home" for names, two halves that end on time and
no cards or own goals. This one is written by hand (no data from elsewhere): game id
126476, 수원 삼성 (home, 4644) against FC서울 (away, 2353), players whose names end in
each kind of sound a particle cares about (a vowel, ㄹ, another 받침), of two to four
syllables, one with a Latin part, one that is Latin only; stoppage time in both halves,
a yellow and a direct red card, a goal and an own goal. ``write_match`` writes it as
``raw_data.csv`` / ``match_info.csv`` in the K League column layout.
``write_korean_sample`` writes sample match 1 (2,462 real actions) under this match's
ids, team names and Korean player names, one per Metrica player.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitchcast.streams.match_csv import ACTION_COLUMNS

__all__ = [
    "AWAY",
    "GAME_ID",
    "HOME",
    "MATCH_INFO_COLUMNS",
    "PLAYERS",
    "Player",
    "Point",
    "ScriptRow",
    "match_actions",
    "match_info_of",
    "match_info_row",
    "scripted_action",
    "write_csv",
    "write_korean_sample",
    "write_match",
]

GAME_ID = 126476
HOME = (4644, "수원 삼성", "Suwon Samsung")  # ends in ㅇ
AWAY = (2353, "FC서울", "FC Seoul")  # ends in ㄹ


@dataclass(frozen=True)
class Player:
    player_id: int
    team_id: int
    name: str
    position: str
    # How the name ends when read aloud: "vowel", "rieul" (ㄹ) or "consonant".
    ends_in: str


PLAYERS: tuple[Player, ...] = (
    Player(500101, HOME[0], "손흥민", "CF", "consonant"),  # ㄴ
    Player(500102, HOME[0], "황인범", "CM", "consonant"),  # ㅁ
    Player(500103, HOME[0], "이강인", "RW", "consonant"),  # ㄴ
    Player(500104, HOME[0], "김민재", "CB", "vowel"),
    Player(500105, HOME[0], "황보관일", "LB", "rieul"),  # four syllables, ㄹ
    Player(500106, HOME[0], "조현우", "GK", "vowel"),
    Player(500201, AWAY[0], "세징야", "CAM", "vowel"),
    Player(500202, AWAY[0], "남궁민수", "CM", "vowel"),  # four syllables
    Player(500203, AWAY[0], "기성용", "DM", "consonant"),  # ㅇ
    Player(500204, AWAY[0], "Jesse 린가드", "LW", "vowel"),  # a Latin part
    Player(500205, AWAY[0], "Kim", "CB", "consonant"),  # Latin only: 킴
    Player(500206, AWAY[0], "홍철", "LB", "rieul"),
    Player(500207, AWAY[0], "백종범", "GK", "consonant"),
)
_BY_NAME = {p.name: p for p in PLAYERS}

MATCH_INFO_COLUMNS: tuple[str, ...] = (
    "game_id", "season_id", "competition_id", "game_day", "game_date", "home_team_id",
    "away_team_id", "home_score", "away_score", "venue", "competition_name", "country_name",
    "season_name", "home_team_name", "home_team_name_ko", "away_team_name",
    "away_team_name_ko",
)  # fmt: skip

# (period, seconds, player, type, result, start (x, y), end (x, y)). Each row is
# oriented so that its acting team attacks towards x = 105 (data/PROVENANCE.md).
Point = tuple[float, float]
ScriptRow = tuple[int, float, str, str, str | None, Point, Point]
_SCRIPT: tuple[ScriptRow, ...] = (
    (1, 0.0, "손흥민", "Pass", "Successful", (52.5, 34.0), (40.0, 30.0)),
    (1, 1.2, "황인범", "Pass Received", None, (40.0, 30.0), (40.0, 30.0)),
    (1, 3.5, "황인범", "Carry", None, (40.0, 30.0), (55.0, 28.0)),
    (1, 5.0, "황인범", "Pass", "Successful", (55.0, 28.0), (70.0, 12.0)),
    (1, 6.4, "이강인", "Pass Received", None, (70.0, 12.0), (70.0, 12.0)),
    (1, 8.0, "이강인", "Cross", "Unsuccessful", (88.0, 8.0), (99.0, 34.0)),
    (1, 8.9, "Kim", "Clearance", "Successful", (6.0, 34.0), (30.0, 40.0)),
    (1, 11.0, "기성용", "Recovery", "Successful", (30.0, 40.0), (30.0, 40.0)),
    (1, 13.0, "기성용", "Pass", "Successful", (30.0, 40.0), (55.0, 50.0)),
    (1, 14.6, "세징야", "Pass Received", None, (55.0, 50.0), (55.0, 50.0)),
    (1, 16.0, "세징야", "Take-On", "Unsuccessful", (55.0, 50.0), (62.0, 48.0)),
    (1, 18.0, "황보관일", "Tackle", "Successful", (43.0, 20.0), (43.0, 20.0)),
    (1, 612.0, "남궁민수", "Foul", None, (60.0, 30.0), (60.0, 30.0)),
    (1, 613.0, "남궁민수", "Foul", "Yellow_Card", (60.0, 30.0), (60.0, 30.0)),
    (1, 700.0, "김민재", "Pass_Freekick", "Successful", (45.0, 34.0), (80.0, 30.0)),
    (1, 702.0, "손흥민", "Pass Received", None, (80.0, 30.0), (80.0, 30.0)),
    (1, 704.0, "손흥민", "Shot", "Goal", (92.0, 32.0), (105.0, 34.0)),
    (1, 704.5, "손흥민", "Goal", None, (105.0, 34.0), (105.0, 34.0)),
    (1, 2790.0, "Jesse 린가드", "Shot", "Off Target", (88.0, 40.0), (105.0, 45.0)),
    (1, 2830.0, "조현우", "Goal Kick", "Successful", (5.0, 34.0), (50.0, 34.0)),
    (2, 0.0, "세징야", "Pass", "Successful", (52.5, 34.0), (40.0, 34.0)),
    (2, 1.5, "홍철", "Pass Received", None, (40.0, 34.0), (40.0, 34.0)),
    (2, 900.0, "홍철", "Foul", "Direct_Red_Card", (30.0, 10.0), (30.0, 10.0)),
    (2, 1500.0, "이강인", "Cross", "Successful", (95.0, 60.0), (100.0, 34.0)),
    (2, 1501.0, "백종범", "Own Goal", None, (4.0, 34.0), (0.0, 34.0)),
    (2, 2700.0, "황인범", "Shot", "On Target", (85.0, 30.0), (105.0, 33.0)),
    (2, 2702.0, "백종범", "Catch", "Successful", (1.0, 35.0), (1.0, 35.0)),
    (2, 2950.0, "Kim", "Pass", "Unsuccessful", (20.0, 34.0), (60.0, 34.0)),
    (2, 2955.0, "황보관일", "Interception", "Successful", (45.0, 34.0), (45.0, 34.0)),
    (2, 3010.0, "조현우", "Catch", "Successful", (3.0, 34.0), (3.0, 34.0)),
)
# 손흥민's goal and 백종범's own goal: 2-0 to the home side.
FINAL_SCORE = (2, 0)


def scripted_action(
    game_id: int,
    action_id: int,
    row: ScriptRow,
    *,
    team: tuple[int, str, str],
    player_id: int,
    position: str,
) -> dict[str, Any]:
    """One script row as a typed action row (what ``read_actions`` returns), played by
    ``player_id`` of ``team`` (id, Korean name, English name)."""
    period, seconds, name, type_name, result, start, end = row
    return {
        "game_id": game_id,
        "action_id": action_id,
        "period_id": period,
        "time_seconds": seconds,
        "team_id": team[0],
        "player_id": float(player_id),
        "result_name": result,
        "start_x": start[0],
        "start_y": start[1],
        "end_x": end[0],
        "end_y": end[1],
        "dx": round(end[0] - start[0], 4),
        "dy": round(end[1] - start[1], 4),
        "type_name": type_name,
        "player_name_ko": name,
        "team_name_ko": team[1],
        "position_name": position,
        "main_position": position,
    }


def match_actions(*, game_id: int = GAME_ID) -> list[dict[str, Any]]:
    """The match's actions as typed rows (what ``read_actions`` returns for its CSV)."""
    rows: list[dict[str, Any]] = []
    for action_id, row in enumerate(_SCRIPT):
        player = _BY_NAME[row[2]]
        team = HOME if player.team_id == HOME[0] else AWAY
        rows.append(
            scripted_action(
                game_id, action_id, row, team=team, player_id=player.player_id,
                position=player.position,
            )
        )  # fmt: skip
    return rows


def match_info_of(
    game_id: int,
    home: tuple[int, str, str],
    away: tuple[int, str, str],
    score: tuple[int, int],
    *,
    game_day: int,
    game_date: str,
    venue: str,
) -> dict[str, Any]:
    """A ``match_info.csv`` row of a K League 1 match of 2026 (teams: id, Korean name,
    English name)."""
    return {
        "game_id": game_id,
        "season_id": 2026,
        "competition_id": 1,
        "game_day": game_day,
        "game_date": game_date,
        "home_team_id": home[0],
        "away_team_id": away[0],
        "home_score": score[0],
        "away_score": score[1],
        "venue": venue,
        "competition_name": "K League 1",
        "country_name": "South Korea",
        "season_name": "2026",
        "home_team_name": home[2],
        "home_team_name_ko": home[1],
        "away_team_name": away[2],
        "away_team_name_ko": away[1],
    }


def match_info_row(*, game_id: int = GAME_ID) -> dict[str, Any]:
    return match_info_of(
        game_id, HOME, AWAY, FINAL_SCORE, game_day=14, game_date="2026-06-13 19:30:00",
        venue="수원월드컵경기장",
    )  # fmt: skip


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` under a header of ``columns`` (None as an empty cell); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_match(folder: Path, *, game_id: int = GAME_ID, with_info: bool = True) -> Path:
    """Write ``raw_data.csv`` (and ``match_info.csv`` beside it); return the CSV's path."""
    if with_info:
        write_csv(folder / "match_info.csv", MATCH_INFO_COLUMNS, [match_info_row(game_id=game_id)])
    return write_csv(folder / "raw_data.csv", ACTION_COLUMNS, match_actions(game_id=game_id))


# Names for the 28 players of sample match 1: the match's own and more, among them a
# name suffix (Jr.), a bracketed tag and a Latin-only name (Son).
_MORE_NAMES = (
    "설영우", "조규성", "이승우(B)", "Son", "박지성 Jr.", "황희찬", "백승호", "엄원상",
    "오세훈", "정우영", "김진수", "권창훈", "이동경", "문선민", "주민규",
)  # fmt: skip
SAMPLE_GAME_ID = 126500


def write_korean_sample(folder: Path, sample: Path) -> Path:
    """Sample match 1 (``sample``: data/events_metrica_1.csv) as game 126500 of 수원 삼성
    against FC서울 with Korean names; writes match_info.csv (3-1) beside it."""
    names = [p.name for p in PLAYERS] + list(_MORE_NAMES)
    teams = {11: HOME, 12: AWAY}
    with sample.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ids = sorted({float(r["player_id"]) for r in rows})
    name_of = {pid: names[i % len(names)] for i, pid in enumerate(ids)}

    def korean(row: dict[str, str]) -> dict[str, Any]:
        pid = float(row["player_id"])
        team = teams[int(row["team_id"])]
        return {
            **row, "game_id": SAMPLE_GAME_ID, "player_id": 500000 + int(pid),
            "player_name_ko": name_of[pid], "team_id": team[0], "team_name_ko": team[1],
        }  # fmt: skip

    info = {**match_info_row(game_id=SAMPLE_GAME_ID), "home_score": 3, "away_score": 1}
    write_csv(folder / "match_info.csv", MATCH_INFO_COLUMNS, [info])
    return write_csv(folder / "raw_data.csv", ACTION_COLUMNS, [korean(row) for row in rows])
