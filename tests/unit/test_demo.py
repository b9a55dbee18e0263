"""``pitchcast demo``: its worker runs with the settings its options give; its replay plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitchcast.demo import default_data_dir, demo_plan, run_demo, worker_env
from pitchcast.settings import load_settings
from pitchcast.streams.match_csv import MalformedCsv, read_actions

DATA = default_data_dir()


def test_the_demo_worker_runs_at_the_density_and_personas_of_the_options() -> None:
    # `pitchcast demo --density every --personas CASTER,FRIEND` with PITCHCAST_DENSITY=key
    # in the environment: the options win, as they do for every other command.
    settings = load_settings(density="every", personas=["CASTER", "FRIEND"])
    env = worker_env(settings, {"PITCHCAST_DENSITY": "key", "PATH": "/usr/bin"})
    assert env["PITCHCAST_DENSITY"] == "every"
    assert env["PITCHCAST_PERSONAS"] == "CASTER,FRIEND"
    assert env["PATH"] == "/usr/bin"


def test_the_demo_worker_talks_to_the_stack_the_demo_started() -> None:
    settings = load_settings(
        kafka_bootstrap_servers="127.0.0.1:19092", redis_url="redis://127.0.0.1:16379/0"
    )
    env = worker_env(settings, {})
    assert env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["PITCHCAST_REDIS_URL"] == "redis://127.0.0.1:16379/0"


def _season_file(folder: Path, *, info: bool) -> Path:
    """A file of two games (1 and 3), as K League's raw_data.csv holds a season."""
    first = (DATA / "events_metrica_1.csv").read_text(encoding="utf-8")
    third = (DATA / "events_metrica_3.csv").read_text(encoding="utf-8").split("\n", 1)[1]
    path = folder / "raw_data.csv"
    path.write_text(first + third, encoding="utf-8")
    if info:
        text = (DATA / "match_info.csv").read_text(encoding="utf-8")
        (folder / "match_info.csv").write_text(text.replace("Team A", "Suwon"), encoding="utf-8")
    return path


def test_a_file_of_several_games_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # `pitchcast demo --file raw_data.csv`: refused naming --only-game, an option the
    # demo has, before the stack or the worker is started.
    printed: list[str] = []
    with pytest.raises(MalformedCsv, match="--only-game"):
        run_demo(
            load_settings(),
            events_file=_season_file(tmp_path, info=False),
            match_info_file=DATA / "match_info.csv",
            speed=None,
            echo=printed.append,
        )
    assert printed == []


def test_one_game_of_a_season_file_with_the_match_info_beside_it(tmp_path: Path) -> None:
    plan = demo_plan(
        _season_file(tmp_path, info=True), DATA / "match_info.csv", game_id=77, only_game=3
    )
    start = plan[0].value
    assert start["control"] == "match_start"
    assert {m.game_id for m in plan} == {77}
    assert start["match_info"]["home_team_name"] == "Suwon"  # the file beside, not data/
    actions = [m for m in plan if "action_id" in m.value]
    assert len(actions) == len(list(read_actions(DATA / "events_metrica_3.csv")))


class _Worker:
    """The demo's worker process, as far as run_demo handles it once it is ready."""

    def send_signal(self, signum: int) -> None:
        pass

    def wait(self, timeout: float) -> int:
        return 0


@pytest.mark.parametrize("start_stack", [True, False])
def test_stack_down_is_suggested_only_when_the_demo_started_the_stack(
    monkeypatch: pytest.MonkeyPatch, start_stack: bool
) -> None:
    # `pitchcast demo --no-stack` on a shared broker and Redis: the demo started neither,
    # so its goodbye must not suggest `stack down` (which would stop what others use).
    import pitchcast.demo as demo
    import pitchcast.localstack as localstack

    class Stack:
        kafka_bootstrap_servers, redis_url = "127.0.0.1:9092", "redis://127.0.0.1:6379/0"

        def __init__(self, settings: object) -> None:
            pass

        def up(self, echo: object) -> None:
            pass

    async def no_topics(settings: object) -> list[str]:
        return []

    async def shown(*args: object) -> int:
        return 1

    monkeypatch.setattr(localstack, "LocalStack", Stack)
    monkeypatch.setattr(demo, "ensure_topics", no_topics)
    monkeypatch.setattr(demo, "_start_worker", lambda settings, log: _Worker())
    monkeypatch.setattr(demo, "_wait_ready", lambda worker, log: None)
    monkeypatch.setattr(demo, "_replay_and_tail", shown)
    printed: list[str] = []
    run_demo(
        load_settings(),
        events_file=DATA / "events_metrica_1.csv",
        match_info_file=DATA / "match_info.csv",
        speed=None,
        echo=printed.append,
        start_stack=start_stack,
    )
    assert printed[-1].startswith("worker stopped")
    assert ("stack down" in printed[-1]) is start_stack


def test_a_stack_port_held_by_a_running_broker_points_to_no_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A developer with Kafka and Redis already running on 9092 / 6379 runs `pitchcast
    # demo`: the stack cannot take the ports, and the way out is to use them as they are.
    import pitchcast.localstack as localstack
    from pitchcast.exceptions import PortTaken

    class Stack:
        def __init__(self, settings: object) -> None:
            pass

        def up(self, echo: object) -> None:
            raise PortTaken("port 9092 for Kafka is taken by pid 7 (java), ...")

    monkeypatch.setattr(localstack, "LocalStack", Stack)
    with pytest.raises(PortTaken) as caught:
        run_demo(
            load_settings(),
            events_file=DATA / "events_metrica_1.csv",
            match_info_file=DATA / "match_info.csv",
            speed=None,
            echo=lambda line: None,
        )
    assert "port 9092 for Kafka is taken" in str(caught.value)
    assert "pitchcast demo --no-stack" in str(caught.value)
