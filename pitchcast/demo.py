"""``pitchcast demo``: stack up, worker, replay of a sample match, commentary on screen."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pitchcast.exceptions import PitchcastError, PortTaken
from pitchcast.settings import Settings
from pitchcast.streams.admin import ensure_topics
from pitchcast.streams.match_csv import (
    first_game_id,
    match_info_beside,
    match_info_for,
    read_match_info,
)
from pitchcast.streams.replay import ReplayMessage, plan_replay, replay
from pitchcast.streams.tail import tail

__all__ = ["default_data_dir", "demo_plan", "run_demo", "worker_env"]


def default_data_dir() -> Path:
    """The sample matches: ``data/`` of the repository (or of the working directory)."""
    beside_package = Path(__file__).resolve().parents[1] / "data"
    return beside_package if beside_package.is_dir() else Path.cwd() / "data"


def worker_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The demo worker's environment: ``environ`` with the settings the demo's options
    (``--personas``, ``--density``) and its stack may have changed on top."""
    return {
        **environ,
        "PITCHCAST_PERSONAS": ",".join(settings.personas),
        "PITCHCAST_DENSITY": settings.density,
        "PITCHCAST_LLM_BACKEND": settings.llm_backend,
        "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PITCHCAST_REDIS_URL": settings.redis_url,
    }


def _start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = worker_env(settings, os.environ)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pitchcast.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(worker: subprocess.Popen[bytes], log_path: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise PitchcastError(f"the worker exited with {worker.returncode}; see {log_path}")
        if "Worker]: Ready" in log_path.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise PitchcastError(f"the worker was not ready after {timeout:.0f} s; see {log_path}")


def demo_plan(
    events_file: Path,
    match_info_file: Path,
    *,
    game_id: int | None = None,
    only_game: int | None = None,
) -> list[ReplayMessage]:
    """The demo's replay: ``events_file`` with the match info of the ``match_info.csv``
    beside it (as ``pitchcast replay`` finds it), else of ``match_info_file``; under
    ``game_id``, else a fresh one (Redis remembers what was published, and a replay of
    the same game id would rightly be deduplicated to nothing)."""
    source_game = only_game if only_game is not None else first_game_id(events_file)
    games = [source_game] if source_game is not None else []
    if match_info_beside(events_file) is not None:  # warns when it lacks the game
        info = match_info_for(events_file, games)
    else:
        infos = read_match_info(match_info_file)  # the sample's: silent without the game
        info = next((infos[g] for g in games if g in infos), None)
    return plan_replay(
        events_file,
        match_info=info,
        game_id=game_id if game_id is not None else 900_000 + int(time.time()) % 100_000,
        only_game=only_game,
    )


def run_demo(
    settings: Settings,
    *,
    events_file: Path,
    match_info_file: Path,
    speed: float | None,
    echo: Callable[[str], None],
    start_stack: bool = True,
    game_id: int | None = None,
    monitor: bool = False,
    only_game: int | None = None,
) -> int:
    """Run the whole pipeline on one sample match; returns how many batches were shown.

    ``match_info_file`` is used when no ``match_info.csv`` lies beside ``events_file``
    (as ``pitchcast replay`` finds it); ``only_game`` picks one game of a file of several.
    With ``monitor``, the booth monitor serves the match's page while it is commented,
    and stays up after the match until Ctrl-C.
    """
    # The plan first: a file the replay would refuse stops the demo before anything starts.
    plan = demo_plan(events_file, match_info_file, game_id=game_id, only_game=only_game)
    game_id = plan[0].game_id
    if start_stack:
        from pitchcast.localstack import LocalStack

        stack = LocalStack(settings)
        try:
            stack.up(echo=echo)
        except PortTaken as exc:
            # Often a Kafka or Redis the user already runs: the demo can use them as they are.
            raise PortTaken(
                f"{exc} Or use the Kafka and Redis already running: pitchcast demo --no-stack"
                " (at PITCHCAST_KAFKA_BOOTSTRAP_SERVERS and PITCHCAST_REDIS_URL)."
            ) from None
        # Talk to the stack just started, wherever its ports are.
        settings = settings.model_copy(
            update={
                "kafka_bootstrap_servers": stack.kafka_bootstrap_servers,
                "redis_url": stack.redis_url,
            }
        )
    for line in asyncio.run(ensure_topics(settings)):
        echo(f"topics: {line}")
    log_path = Path(settings.stack_dir).parent / "demo-worker.log"
    echo(f"starting the worker (log: {log_path}) ...")
    worker = _start_worker(settings, log_path)
    try:
        _wait_ready(worker, log_path)
        last_batches = len(settings.personas)
        pace = "as fast as possible" if speed is None else f"{speed:g}x real time"
        echo(f"replaying {events_file.name} (game {game_id}, {len(plan)} messages, {pace})")
        return asyncio.run(
            _replay_and_tail(settings, plan, game_id, speed, echo, last_batches, monitor)
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        # --no-stack: Kafka and Redis are someone else's; `stack down` is not ours to suggest.
        hint = "; `pitchcast stack down` stops Kafka and Redis" if start_stack else ""
        echo(f"worker stopped{hint}")


async def _replay_and_tail(
    settings: Settings,
    plan: list,  # type: ignore[type-arg]
    game_id: int,
    speed: float | None,
    echo: Callable[[str], None],
    last_batches: int,
    monitor: bool = False,
) -> int:
    serving: asyncio.Task[None] | None = None
    if monitor:
        from pitchcast.monitor.command import serve_monitor

        started = asyncio.Event()
        serving = asyncio.create_task(serve_monitor(settings, echo=echo, started=started))
        waiting = asyncio.create_task(started.wait())
        # A monitor that cannot start (its port taken) says why at once, not after 30 s.
        await asyncio.wait({serving, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if serving.done():
            serving.result()  # raises what stopped it
        if not started.is_set():
            serving.cancel()
            raise PitchcastError("the booth monitor did not start within 30 s")
        address = f"http://{settings.monitor_host}:{settings.monitor_port}"
        echo(f"watch it: {address}/matches/{game_id}")
    shown = await _replay_and_tail_only(settings, plan, game_id, speed, echo, last_batches)
    if serving is not None:
        echo("the match is over; the monitor stays up until Ctrl-C")
        await serving
    return shown


async def _replay_and_tail_only(
    settings: Settings,
    plan: list,  # type: ignore[type-arg]
    game_id: int,
    speed: float | None,
    echo: Callable[[str], None],
    last_batches: int,
) -> int:
    last_action_id = max(m.value["action_id"] for m in plan if "action_id" in m.value)
    finished: set[str] = set()

    def is_last(message: dict[str, object]) -> bool:
        # The match is done when every persona's batch with its last action was shown.
        if message.get("last_action_id") == last_action_id:
            finished.add(str(message.get("persona")))
        return len(finished) >= last_batches

    ready = asyncio.Event()
    tailing = asyncio.create_task(
        tail(
            settings,
            from_beginning=False,
            game_id=game_id,
            echo=echo,
            until=is_last,
            ready=ready,
        )
    )
    await asyncio.wait_for(ready.wait(), timeout=60)
    await replay(settings, [plan], speed=speed)
    try:
        return await asyncio.wait_for(tailing, timeout=120)
    except TimeoutError:
        raise PitchcastError(
            "the match was replayed but its last commentary did not arrive within 120 s"
        ) from None
