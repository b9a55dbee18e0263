"""Batches for commentary tests: Korean names, and real batches of the sample matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pitchcast.schemas.records import Action, Batch, Control, MatchInfo, Score
from pitchcast.streams.batching import advance
from pitchcast.streams.match_csv import read_actions, read_match_info

__all__ = [
    "DATA",
    "HOME_PLAYERS",
    "ONE_PASS_ACTION",
    "ONE_PASS_BATCH",
    "ONE_PASS_MATCH_INFO",
    "OUTSIDER",
    "korean_batch",
    "korean_match_info",
    "sample_actions",
    "sample_batches",
]

DATA = Path(__file__).resolve().parents[2] / "data"

# One pass in one batch, every field set: the record the schema and header tests write.
ONE_PASS_ACTION = Action(
    game_id=126283, action_id=170, period_id=1, time_seconds=612.4, team_id=2354,
    player_id=77.0, result_name="Successful", start_x=50.0, start_y=30.0, end_x=60.0,
    end_y=35.0, dx=10.0, dy=5.0, type_name="Pass", player_name_ko="이강인",
    team_name_ko="울산 HD FC", position_name="CM", main_position="CM",
)  # fmt: skip
ONE_PASS_MATCH_INFO = MatchInfo(
    game_id=126283, home_team_id=2354, away_team_id=4639, home_score=1, away_score=0,
    home_team_name_ko="울산 HD FC", away_team_name_ko="포항 스틸러스",
)  # fmt: skip
ONE_PASS_BATCH = Batch(
    game_id=126283, batch_index=17, period_id=1, first_action_id=170, last_action_id=170,
    close_reason="full", actions=(ONE_PASS_ACTION,), score=Score(1, 0),
    match_info=ONE_PASS_MATCH_INFO, roster=("이강인",), closed_by_ts_ms=1,
)  # fmt: skip


# (player_id, name, position) per team; the first team is at home.
HOME_PLAYERS = (
    (10, "김민재", "CB"),
    (7, "손흥민", "CF"),
    (19, "이강인", "CAM"),
    (1, "조현우", "GK"),
)
AWAY_PLAYERS = ((9, "주민규", "CF"), (8, "세징야", "CAM"), (4, "홍정호", "CB"))
# On the roster (seen earlier in the match) but in no action of the batch.
OUTSIDER = "이동국"

# (team, player index, type, result, start, end)
_SCRIPT = (
    (0, 0, "Pass", "Successful", (30.5, 20.0), (45.25, 22.0)),
    (0, 1, "Pass Received", None, (45.25, 22.0), (45.25, 22.0)),
    (0, 1, "Carry", None, (45.25, 22.0), (60.123, 18.987)),
    (0, 1, "Pass", "Successful", (60.123, 18.987), (80.0, 40.0)),
    (0, 2, "Pass Received", None, (80.0, 40.0), (80.0, 40.0)),
    (0, 2, "Shot", "On Target", (88.0, 36.5), (105.0, 34.0)),
    (1, 0, "Catch", "Successful", (2.0, 34.0), (2.0, 34.0)),
    (1, 1, "Pass", "Unsuccessful", (20.0, 34.0), (55.0, 60.0)),
    (0, 3, "Interception", "Successful", (50.0, 8.0), (50.0, 8.0)),
    (0, 0, "Foul", "Yellow_Card", (40.0, 30.0), (40.0, 30.0)),
)


def korean_match_info(game_id: int = 126283) -> MatchInfo:
    """울산 HD (home) vs 전북 현대; the final score 3-1 must never reach a prompt."""
    return MatchInfo(
        game_id=game_id,
        season_id=2024,
        game_day=5,
        game_date="2024-03-30 14:00:00",
        home_team_id=4220,
        away_team_id=4219,
        home_score=3,
        away_score=1,
        venue="울산문수축구경기장",
        competition_name="K League 1",
        home_team_name="Ulsan HD",
        home_team_name_ko="울산 HD",
        away_team_name="Jeonbuk",
        away_team_name_ko="전북 현대",
    )


def korean_batch(
    count: int = 10,
    *,
    first_action_id: int = 170,
    score: Score | None = None,
    names: dict[int, str] | None = None,
) -> Batch:
    """A batch of ``count`` (<= 10) actions of a K League 1 match with Korean names,
    running score 1-0 unless ``score`` says otherwise.

    ``names`` overrides player names by player id (for hostile-name tests).
    """
    info = korean_match_info()
    teams = (
        (info.home_team_id or 0, info.home_team_name_ko, HOME_PLAYERS),
        (4219, info.away_team_name_ko, AWAY_PLAYERS),
    )
    actions = []
    for offset, (team, player, kind, result, start, end) in enumerate(_SCRIPT[:count]):
        team_id, team_name, players = teams[team]
        player_id, name, position = players[player]
        if names and player_id in names:
            name = names[player_id]
        actions.append(
            Action(
                game_id=info.game_id,
                action_id=first_action_id + offset,
                period_id=1,
                time_seconds=600.0 + 7.5 * offset,
                team_id=team_id,
                player_id=float(player_id),
                result_name=result,
                start_x=start[0],
                start_y=start[1],
                end_x=end[0],
                end_y=end[1],
                dx=end[0] - start[0],
                dy=end[1] - start[1],
                type_name=kind,
                player_name_ko=name,
                team_name_ko=team_name,
                position_name=position,
                main_position=position,
            )
        )
    roster = (*(n for _, n, _ in HOME_PLAYERS + AWAY_PLAYERS), OUTSIDER, "울산 HD", "전북 현대")
    return Batch(
        game_id=info.game_id,
        batch_index=17,
        period_id=1,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason="full",
        actions=tuple(actions),
        score=score if score is not None else Score(1, 0),
        match_info=info,
        roster=roster,
    )


def sample_actions(name: str = "events_metrica_1.csv") -> list[Action]:
    """Every action of a sample match, in log order."""
    return [Action(**row) for row in read_actions(DATA / name)]


def sample_batches(
    name: str = "events_metrica_1.csv",
    game_id: int = 1,
    *,
    rename: Callable[[Action], Action] | None = None,
) -> list[Batch]:
    """Every batch of a sample match, formed by the real batcher (running scores and the
    story at each batch's open included); ``rename`` may change each action first (other
    names, for particle tests)."""
    info = read_match_info(DATA / "match_info.csv")[game_id]
    actions = [Action(**row) for row in read_actions(DATA / name)]
    if rename is not None:
        actions = [rename(action) for action in actions]
    state = None
    batches: list[Batch] = []
    offset = 0

    def feed(event: Action | Control) -> None:
        nonlocal state, offset
        step = advance(state, event, offset=offset, timestamp_ms=offset)
        offset += 1
        state = step.state
        batches.extend(step.closed)

    feed(Control(game_id=game_id, control="match_start", match_info=info))
    period = actions[0].period_id
    for action in actions:
        if action.period_id != period:
            feed(Control(game_id=game_id, control="period_end", period_id=period))
            period = action.period_id
        feed(action)
    feed(Control(game_id=game_id, control="match_end", period_id=period))
    return [b if b.match_info else replace(b, match_info=info) for b in batches]
