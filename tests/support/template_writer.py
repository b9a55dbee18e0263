"""Actions and batches for the template writer's tests: the sample matches cut into batches
of ten (Korean rosters too), one-off actions and batches, and the contract every line keeps."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from pitchcast.commentary.template import MAX_DESCRIPTION_CHARS, write_template_commentary
from pitchcast.schemas.decoding import decode_event, encode, match_info_from_mapping
from pitchcast.schemas.records import TONES, Action, Batch, CommentaryItem, MatchInfo, Score
from pitchcast.settings import PERSONAS

__all__ = [
    "INFO",
    "KOREAN_PLAYERS",
    "KOREAN_TEAMS",
    "STATED_SCORE",
    "TEAM_SOUNDS",
    "assert_same_lines_in_other_processes",
    "batches_of_ten",
    "check_items",
    "decoded_actions",
    "expected_particle_error",
    "koreanised",
    "line_action",
    "line_batch",
    "match_infos",
    "sample_match_batches",
    "scoring_home",
]

DATA = Path(__file__).resolve().parents[2] / "data"
# A score as a line states it: "2대 1".
STATED_SCORE = re.compile(r"[0-9]+대 [0-9]+")

_INT_COLUMNS = {"game_id", "action_id", "period_id", "team_id"}
_FLOAT_COLUMNS = {"player_id", "time_seconds", "start_x", "start_y", "end_x", "end_y", "dx", "dy"}
_INFO_INT_COLUMNS = {
    "game_id", "season_id", "competition_id", "game_day", "home_team_id", "away_team_id",
    "home_score", "away_score",
}  # fmt: skip
_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}

# --- Sample data -------------------------------------------------------------------------------


def _typed(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row with the JSON types the decoder expects (empty cells are nulls)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value == "":
            out[key] = None
        elif key in _INT_COLUMNS:
            out[key] = int(value)
        elif key in _FLOAT_COLUMNS:
            out[key] = float(value)
        else:
            out[key] = value
    return out


@cache
def decoded_actions(name: str) -> tuple[Action, ...]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    actions = []
    for row in rows:
        decoded = decode_event(orjson.dumps(_typed(row)), max_bytes=65536, clamp_margin=5.0)
        actions.append(decoded.action)  # type: ignore[union-attr]
    return tuple(actions)


@cache
def match_infos() -> dict[int, MatchInfo]:
    with (DATA / "match_info.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    infos = {}
    for row in rows:
        typed = {k: (int(v) if k in _INFO_INT_COLUMNS and v else v) for k, v in row.items()}
        info = match_info_from_mapping(typed)
        infos[info.game_id] = info
    return infos


def scoring_home(action: Action, info: MatchInfo) -> bool:
    home = action.team_id == info.home_team_id
    return home if action.type_name == "Goal" else not home


def batches_of_ten(actions: Sequence[Action], info: MatchInfo, size: int = 10) -> list[Batch]:
    """Batches as the batcher closes them: ``size`` actions, flushed at each period end."""
    batches: list[Batch] = []
    home = away = 0
    periods = sorted({a.period_id for a in actions})
    for period in periods:
        in_period = [a for a in actions if a.period_id == period]
        for start in range(0, len(in_period), size):
            chunk = tuple(in_period[start : start + size])
            for action in chunk:
                if action.type_name in ("Goal", "Own Goal"):
                    if scoring_home(action, info):
                        home += 1
                    else:
                        away += 1
            batches.append(
                Batch(
                    game_id=chunk[0].game_id,
                    batch_index=len(batches),
                    period_id=period,
                    first_action_id=chunk[0].action_id,
                    last_action_id=chunk[-1].action_id,
                    close_reason="full" if len(chunk) == size else "period_end",
                    actions=chunk,
                    score=Score(home=home, away=away),
                    match_info=info,
                )
            )
    return batches


def sample_match_batches(game: int) -> list[Batch]:
    """Sample match ``game`` (1 or 3) cut by :func:`batches_of_ten`, with no story (the
    real batcher's batches, story included: ``commentary_batches.sample_batches``)."""
    return batches_of_ten(decoded_actions(f"events_metrica_{game}.csv"), match_infos()[game])


# Korean rosters for the sample matches: final sound C (consonant), R (ㄹ) or V (vowel).
KOREAN_PLAYERS = {
    "손흥민": "C", "이강인": "C", "김민재": "V", "조규성": "C", "황희찬": "C", "설영우": "V",
    "정우영": "C", "황인범": "C", "이재성": "C", "김진수": "V", "조현우": "V", "백승호": "V",
    "홍현석": "C", "오현규": "V", "배준호": "V", "양민혁": "C", "엄지성": "C", "주민규": "V",
    "구자철": "R", "홍철": "R", "권경원": "C", "박용우": "V", "이기제": "V", "김태환": "C",
    "송민규": "V", "나상호": "V", "문선민": "C", "세징야": "V", "말컹": "C", "에드가": "V",
}  # fmt: skip
KOREAN_TEAMS = {
    1: ("울산 HD FC", "FC 서울"),  # V, R
    3: ("수원 삼성", "대구FC"),  # C, V
}
TEAM_SOUNDS = {"울산 HD FC": "V", "FC 서울": "R", "수원 삼성": "C", "대구FC": "V"}


def koreanised(game: int) -> tuple[list[Action], MatchInfo]:
    """A sample match with Korean player and team names (one name per player id)."""
    info = match_infos()[game]
    home_name, away_name = KOREAN_TEAMS[game]
    names = list(KOREAN_PLAYERS)
    by_player: dict[tuple[int, float | None], str] = {}
    actions = []
    for action in decoded_actions(f"events_metrica_{game}.csv"):
        key = (action.team_id, action.player_id)
        if key not in by_player:
            by_player[key] = names[len(by_player) % len(names)]
        team = home_name if action.team_id == info.home_team_id else away_name
        actions.append(replace(action, player_name_ko=by_player[key], team_name_ko=team))
    korean_info = replace(
        info,
        home_team_name=home_name,
        home_team_name_ko=home_name,
        away_team_name=away_name,
        away_team_name_ko=away_name,
    )
    return actions, korean_info


def check_items(batch: Batch, items: Sequence[CommentaryItem]) -> None:
    """The contract every writer of commentary items keeps."""
    assert len(items) == len(batch.actions)
    for action, item in zip(batch.actions, items, strict=True):
        assert item.action_id == action.action_id
        assert item.time_seconds == action.time_seconds or (
            math.isnan(item.time_seconds) and math.isnan(action.time_seconds)
        )
        assert item.tone in TONES
        assert item.description
        assert item.description == item.description.strip()
        assert len(item.description) <= MAX_DESCRIPTION_CHARS
        bad = [c for c in item.description if unicodedata.category(c) in _CONTROL_CATEGORIES]
        assert not bad, (item.description, bad)


INFO = MatchInfo(
    game_id=99,
    home_team_id=1,
    away_team_id=2,
    home_team_name="Ulsan HD FC",
    home_team_name_ko="울산 HD FC",
    away_team_name="Pohang Steelers",
    away_team_name_ko="포항 스틸러스",
)


def line_action(action_id: int = 0, **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": 99,
        "action_id": action_id,
        "period_id": 1,
        "time_seconds": 600.0 + action_id,
        "team_id": 1,
        "player_id": 7.0,
        "result_name": None,
        "start_x": 60.0,
        "start_y": 30.0,
        "end_x": 80.0,
        "end_y": 40.0,
        "dx": 20.0,
        "dy": 10.0,
        "type_name": "Pass",
        "player_name_ko": "손흥민",
        "team_name_ko": "울산 HD FC",
    }
    values.update(fields)
    return Action(**values)


def line_batch(
    actions: Iterable[Action], *, score: Score | None = None, info: MatchInfo | None = INFO
) -> Batch:
    actions = tuple(actions)
    return Batch(
        game_id=actions[0].game_id if actions else 99,
        batch_index=0,
        period_id=1,
        first_action_id=actions[0].action_id if actions else 0,
        last_action_id=actions[-1].action_id if actions else 0,
        close_reason="full",
        actions=actions,
        score=score or Score(),
        match_info=info,
    )


def expected_particle_error(text: str, name: str, sound: str) -> str | None:
    """Why the particle right after ``name`` in ``text`` is wrong, or None."""
    start = 0
    while (at := text.find(name, start)) >= 0:
        start = at + len(name)
        after = text[start:]
        batchim = sound in ("C", "R")
        if after.startswith("으로"):
            ok = sound == "C"
        elif after.startswith("로"):
            ok = sound in ("V", "R")
        elif after[:1] in ("이", "은", "을", "과"):
            ok = batchim
        elif after[:1] in ("가", "는", "를", "와"):
            ok = not batchim
        else:
            continue
        if not ok:
            return f"{name!r} ({sound}) followed by {after[:3]!r} in {text!r}"
    return None


# Writes every persona's lines of the batches on stdin (one encoded batch a line); prints
# the sha256 of their (action id, tone, text).
_LINES_DIGEST = """
import hashlib, json, sys
from pitchcast.commentary.template import write_template_commentary
from pitchcast.schemas.decoding import decode_batch
digest = hashlib.sha256()
for line in sys.stdin.buffer.read().splitlines():
    batch = decode_batch(line, max_bytes=1 << 20)
    for persona in ("CASTER", "ANALYST", "FRIEND"):
        for item in write_template_commentary(batch, persona):
            digest.update(json.dumps([item.action_id, item.tone, item.description]).encode())
print(digest.hexdigest())
"""


def assert_same_lines_in_other_processes(batches: Sequence[Batch], seeds: Sequence[str]) -> None:
    """Interpreters started with each hash seed of ``seeds`` write the same lines for
    ``batches`` (every persona) as this one (nothing hidden in a set's order)."""
    payload = b"\n".join(encode(b) for b in batches)
    digest = hashlib.sha256()
    for batch in batches:
        for persona in PERSONAS:
            for item in write_template_commentary(batch, persona):
                digest.update(json.dumps([item.action_id, item.tone, item.description]).encode())
    for seed in seeds:
        child = subprocess.run(
            [sys.executable, "-c", _LINES_DIGEST],
            input=payload,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=DATA.parent,
            timeout=120,
            check=True,
        )
        assert child.stdout.decode().strip() == digest.hexdigest(), f"PYTHONHASHSEED={seed}"
