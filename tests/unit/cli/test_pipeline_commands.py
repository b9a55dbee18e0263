"""The pipeline commands' own logic: which match info a replay sends."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest

from pitchcast.cli.pipeline_commands import plan_files

DATA = Path(__file__).resolve().parents[3] / "data"


def _match_start_info(plan: list) -> dict | None:
    first = plan[0].value
    assert first["control"] == "match_start"
    return first["match_info"]


def test_replay_finds_the_match_info_beside_the_file(tmp_path: Path) -> None:
    """Without --match-info, replay sends the match_info.csv of the file's folder, as
    eval does; a file alone in its folder is replayed without match info."""
    (tmp_path / "with").mkdir()
    (tmp_path / "alone").mkdir()
    beside = shutil.copy(DATA / "events_metrica_1.csv", tmp_path / "with" / "match.csv")
    shutil.copy(DATA / "match_info.csv", tmp_path / "with" / "match_info.csv")
    alone = shutil.copy(DATA / "events_metrica_1.csv", tmp_path / "alone" / "match.csv")

    with_info, without = plan_files([Path(beside), Path(alone)], match_info=None, game_id=None)

    info = _match_start_info(with_info)
    assert info is not None and info["home_team_name"] == "Home" and info["home_score"] == 3
    assert _match_start_info(without) is None


def test_an_explicit_match_info_file_wins(tmp_path: Path) -> None:
    """--match-info applies to every file, and the game id replaces the file's."""
    alone = shutil.copy(DATA / "events_metrica_1.csv", tmp_path / "match.csv")
    (plan,) = plan_files([Path(alone)], match_info=DATA / "match_info.csv", game_id=900)
    info = _match_start_info(plan)
    assert info is not None and info["game_id"] == 900
    assert {message.game_id for message in plan} == {900}


def test_the_match_info_row_of_the_new_game_id_is_used(tmp_path: Path) -> None:
    """With --game-id, a --match-info row for that id wins over the file's own game's
    (before, the file's id was looked up and the row for the new id silently ignored)."""
    info_file = tmp_path / "match_info.csv"
    rows = (DATA / "match_info.csv").read_text(encoding="utf-8").splitlines()
    row = rows[1].split(",")
    row[0], row[14] = "917", '전북 <현대> & "모터스"'  # game_id, home_team_name_ko
    info_file.write_text("\n".join([rows[0], ",".join(row)]) + "\n", encoding="utf-8")
    (plan,) = plan_files([DATA / "events_metrica_1.csv"], match_info=info_file, game_id=917)
    info = _match_start_info(plan)
    assert info is not None and info["home_team_name_ko"] == row[14]


def test_an_explicit_match_info_without_the_game_is_a_clear_error(tmp_path: Path) -> None:
    """--match-info naming neither the file's game nor --game-id: an error, not a match
    silently replayed without its teams."""
    info_file = tmp_path / "match_info.csv"
    rows = (DATA / "match_info.csv").read_text(encoding="utf-8").splitlines()
    info_file.write_text("\n".join([rows[0], "5" + rows[1][1:]]) + "\n", encoding="utf-8")
    with pytest.raises(click.BadParameter, match="no row for game 917 or 1"):
        plan_files([DATA / "events_metrica_1.csv"], match_info=info_file, game_id=917)


def test_replay_help_says_a_match_is_commented_once_under_its_id() -> None:
    """A second `pitchcast replay` of a file already commented sends every record, and
    the worker, rightly, publishes nothing again (the Redis published marker): the help
    says so and how to see it again, or a new user is left with a silent worker."""
    from click.testing import CliRunner

    from pitchcast.cli import main

    text = " ".join(CliRunner().invoke(main, ["replay", "--help"]).output.split())
    assert "not commented again" in text and "another --game-id" in text


def test_tail_help_reads_a_line_for_the_operator() -> None:
    """`tail --lines` prints `game 126283 · 0.100 · CASTER · 00:00 ...`: the help says
    that 0.100 is batch 0's kick-off line (not a decimal), what ·end is, and that the
    clock is within the period (a line carries no period)."""
    from click.testing import CliRunner

    from pitchcast.cli import main

    text = " ".join(CliRunner().invoke(main, ["tail", "--help"]).output.split())
    assert "BATCH.LINE" in text and "100" in text and "101" in text
    assert "·end" in text and "within its period" in text


def test_ctrl_c_ends_the_demo_as_it_ends_tail_and_monitor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`demo --monitor` says "the monitor stays up until Ctrl-C": Ctrl-C (at that point
    or earlier) ends it quietly with exit code 0, as it ends `tail` and `monitor`, not
    with click's "Aborted!" and exit code 1."""
    from click.testing import CliRunner

    import pitchcast.demo
    from pitchcast.cli import main

    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(pitchcast.demo, "run_demo", interrupted)
    result = CliRunner().invoke(main, ["demo", "--no-stack", "--monitor"])
    assert result.exit_code == 0, result.output
    assert "Aborted" not in result.output
    assert "stopped (Ctrl-C)" in result.output


@pytest.mark.parametrize("speed", ["0", "-2"])
def test_demo_refuses_a_speed_that_is_not_positive(speed: str) -> None:
    """As `replay --speed` does: `demo --speed 0` ended in a ZeroDivisionError traceback
    after starting the stack and a worker."""
    from click.testing import CliRunner

    from pitchcast.cli import main

    result = CliRunner().invoke(main, ["demo", "--no-stack", "--speed", speed])
    assert result.exit_code == 2
    assert "Invalid value for '--speed'" in result.output or "--speed" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
