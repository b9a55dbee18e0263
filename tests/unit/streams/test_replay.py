"""Replay planning: what the replay command sends, and in which order."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pitchcast.streams.match_csv import ACTION_COLUMNS, MalformedCsv, read_match_info
from pitchcast.streams.replay import interleave, plan_replay
from tests.support.unseen_match import GAME_ID, match_actions, write_match

DATA = Path(__file__).resolve().parents[3] / "data"


def test_plan_brackets_the_match_with_controls() -> None:
    """match_start first (with info), a period_end per period, match_end last."""
    info = read_match_info(DATA / "match_info.csv")[1]
    plan = plan_replay(DATA / "events_metrica_1.csv", match_info=info)
    controls = [
        (m.value["control"], m.value.get("period_id")) for m in plan if "control" in m.value
    ]
    assert controls == [
        ("match_start", None),
        ("period_end", 1),
        ("period_end", 2),
        ("match_end", 2),
    ]
    assert plan[0].value["match_info"]["home_team_name"] == "Home"
    assert len(plan) == 2462 + 4


def test_match_time_never_goes_back() -> None:
    """Periods are laid back to back, so the replay clock is monotonic."""
    plan = plan_replay(DATA / "events_metrica_3.csv")
    times = [m.at_s for m in plan]
    assert times == sorted(times)
    assert times[-1] > 90 * 60 * 0.9


def test_game_id_override_rewrites_every_message() -> None:
    """--game-id replays one match under another id, match info included."""
    info = read_match_info(DATA / "match_info.csv")[1]
    plan = plan_replay(DATA / "events_metrica_1.csv", match_info=info, game_id=77)
    assert {m.value["game_id"] for m in plan} == {77}
    assert plan[0].value["match_info"]["game_id"] == 77


def _broken(line_no: int, change: str) -> str:
    lines = (DATA / "events_metrica_1.csv").read_text().splitlines()[:6]
    fields = lines[line_no - 1].split(",")
    if change == "time":
        fields[3] = "soon"
    else:
        fields.append("extra")
    lines[line_no - 1] = ",".join(fields)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("game_id,action_id\n1,0\n", 1, "missing columns"),
        (_broken(3, "time"), 3, "is not a number"),
        (_broken(5, "extra"), 5, "wrong number of fields"),
    ],
)
def test_malformed_csv_is_refused_with_its_line_number(
    tmp_path: Path, content: str, line: int, needle: str
) -> None:
    """A broken CSV names the file and the line, before anything is sent."""
    path = tmp_path / "match.csv"
    path.write_text(content)
    with pytest.raises(MalformedCsv) as caught:
        plan_replay(path)
    assert caught.value.line == line
    assert needle in str(caught.value)


def test_a_match_is_sent_in_its_file_order_when_its_clock_goes_back(tmp_path: Path) -> None:
    """Actions out of time order within a second are sent as the file has them (the feed's
    log order, which ``pitchcast eval`` plays too), even interleaved with another match."""
    rows = match_actions()
    rows[5]["time_seconds"], rows[6]["time_seconds"] = 8.9, 8.4  # 6 before 5 on the clock
    glitched = tmp_path / "glitched"
    glitched.mkdir()
    path = glitched / "raw_data.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ACTION_COLUMNS)
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    plan = plan_replay(path)
    other = plan_replay(write_match(tmp_path / "other", game_id=GAME_ID + 1))
    assert list(interleave([plan])) == plan
    both = list(interleave([plan, other]))
    assert [m for m in both if m.game_id == GAME_ID] == plan
    assert [m for m in both if m.game_id == GAME_ID + 1] == other
    assert len(both) == len(plan) + len(other)


def _two_games(folder: Path) -> Path:
    """One CSV holding two games, as the K League raw_data.csv holds all 198 of a season."""
    first = write_match(folder / "a").read_text(encoding="utf-8")
    second = write_match(folder / "b", game_id=GAME_ID + 1).read_text(encoding="utf-8")
    path = folder / "raw_data.csv"
    path.write_text(first + second.split("\n", 1)[1], encoding="utf-8")
    return path


def test_a_file_of_several_games_is_never_merged_into_one(tmp_path: Path) -> None:
    """--game-id renames one game; on a file of several it merged them all into one match
    (repeated action ids, periods going back). Refused, naming the way to choose one."""
    path = _two_games(tmp_path)
    for game_id in (None, 77):
        with pytest.raises(MalformedCsv) as caught:
            plan_replay(path, game_id=game_id)
        assert "2 games in one file" in str(caught.value)
        assert "--only-game" in str(caught.value)


def test_one_game_of_a_file_of_several_is_played_alone(tmp_path: Path) -> None:
    """``only_game`` plays that game's actions only, under its id or the --game-id given."""
    path = _two_games(tmp_path)
    plan = plan_replay(path, only_game=GAME_ID + 1)
    assert {m.game_id for m in plan} == {GAME_ID + 1}
    assert len(plan) == len(match_actions()) + 4
    assert {m.game_id for m in plan_replay(path, only_game=GAME_ID, game_id=77)} == {77}
    with pytest.raises(MalformedCsv, match="no actions of game 5"):
        plan_replay(path, only_game=5)


async def test_a_broker_that_does_not_answer_is_named_in_one_error() -> None:
    # `pitchcast replay` with the broker down: one clear line, not aiokafka's traceback.
    from pitchcast.exceptions import ConfigurationError
    from pitchcast.settings import load_settings
    from pitchcast.streams.replay import replay
    from tests.support.redis_fixtures import free_port

    servers = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConfigurationError, match=f"cannot reach Kafka at {servers}"):
        await replay(load_settings(kafka_bootstrap_servers=servers), [[]], speed=None)
