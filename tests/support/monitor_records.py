"""Topic records as the booth monitor reads them (raw bytes): a match start, an action,
a commentary line, all of one game."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["AWAY", "GAME", "HOME", "action_record", "line_record", "start_record"]

GAME = 4242
HOME, AWAY = 10, 20


def start_record(game_id: int = GAME, home: str = "울산 HD", away: str = "전북") -> bytes:
    return orjson.dumps(
        {
            "game_id": game_id,
            "control": "match_start",
            "period_id": 1,
            "match_info": {
                "game_id": game_id,
                "home_team_id": HOME,
                "away_team_id": AWAY,
                "home_team_name_ko": home,
                "away_team_name_ko": away,
            },
        }
    )


def action_record(
    action_id: int, *, team: int = HOME, type_name: str = "Pass", **extra: Any
) -> bytes:
    value = {
        "game_id": GAME, "action_id": action_id, "period_id": 1,
        "time_seconds": 60.0 + action_id, "team_id": team, "player_id": 7.0,
        "result_name": "Successful", "start_x": 50.0, "start_y": 30.0, "end_x": 60.0,
        "end_y": 40.0, "dx": 10.0, "dy": 10.0, "type_name": type_name,
        "player_name_ko": "이강인", "team_name_ko": "울산 HD",
    }  # fmt: skip
    value.update(extra)
    return orjson.dumps(value)


def line_record(
    action_id: int,
    index: int,
    *,
    persona: str = "CASTER",
    source: str = "llm",
    text: str = "이강인이 패스합니다.",
    **item: Any,
) -> bytes:
    return orjson.dumps(
        {
            "schema": "pitchcast.commentary_line.v1",
            "commentary_id": f"cid-{persona}-0",
            "line_index": index,
            "game_id": GAME,
            "batch_index": 0,
            "persona": persona,
            "item": {
                "action_id": action_id,
                "time_seconds": 60.0 + action_id,
                "tone": "calm",
                "description": text,
                **item,
            },
            "final": False,
            "created_at": "2026-12-06T00:00:00Z",
            "source": source,
        }
    )
