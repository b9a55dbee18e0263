"""The pipeline's commands: config, topics, worker, replay, tail, demo."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pitchcast.cli.options import clear_errors, option, run_async, settings_with

if TYPE_CHECKING:
    from pitchcast.streams.replay import ReplayMessage

__all__ = ["config", "demo", "plan_files", "replay", "tail", "topics", "worker"]

_BACKENDS = click.Choice(["template", "openai"], case_sensitive=False)
_DENSITIES = click.Choice(["every", "story", "key"], case_sensitive=False)


@click.command(short_help="Print the effective settings, secrets masked.")
def config() -> None:
    """Print the effective settings (secrets masked).

    \b
    Every setting is an environment variable, PITCHCAST_ + its name in upper case;
    this prints them as they would be written, e.g. PITCHCAST_PERSONAS=CASTER,ANALYST.
    A PITCHCAST_* variable that names no setting is named on stderr (a typo).

    \b
    Examples:
      pitchcast config | grep KAFKA
      PITCHCAST_PERSONAS=CASTER,FRIEND pitchcast config    # check values before a worker
    """
    for name, value in settings_with().as_env().items():
        click.echo(f"{name}={value}")


@click.command(short_help="Create missing topics, check partition counts.")
def topics() -> None:
    """Create the topics (when missing) and check their partition counts.

    With PITCHCAST_CREATE_TOPICS=false it creates nothing and names the missing ones.
    The partition count of every match-keyed topic must be PITCHCAST_PARTITIONS; the
    worker refuses to start otherwise (a running system cannot change it safely).

    \b
    Examples:
      pitchcast topics
      PITCHCAST_CREATE_TOPICS=false pitchcast topics    # only check: create nothing
    """
    from pitchcast.streams.admin import ensure_topics

    for line in run_async(ensure_topics(settings_with())):
        click.echo(line)


@click.command(short_help="Run the Faust worker (batcher and commentator).")
@option("--web-port", type=int, setting="web_port", help="Port of the worker's web server.")
@option("--personas", setting="personas", help="Comma-separated personas, e.g. CASTER,ANALYST.")
@option("--backend", type=_BACKENDS, setting="llm_backend", help="Commentary backend.")
@option("--density", type=_DENSITIES, setting="density", help="What is told: every, story, key.")
def worker(
    web_port: int | None, personas: str | None, backend: str | None, density: str | None
) -> None:
    """Run the Faust worker: batch agent, commentary agent, idle ticks.

    Creates missing topics first (PITCHCAST_CREATE_TOPICS=false: a missing one stops
    the start with its name) and refuses to start when the match-keyed topics do not all
    have PITCHCAST_PARTITIONS partitions.

    \b
    Example:
      PITCHCAST_LLM_BACKEND=openai PITCHCAST_LLM_BASE_URL=http://gpu:8000/v1 pitchcast worker
    """
    from pitchcast.app import run_worker

    settings = settings_with(
        web_port=web_port, personas=personas, llm_backend=backend, density=density
    )
    with clear_errors():
        run_worker(settings)


@click.command(short_help="Play match CSVs into the events topic.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@option(
    "--match-info",
    type=click.Path(exists=True, dir_okay=False),
    default_text="match_info.csv beside each FILE, if any",
    help="match_info.csv with the 17 K League columns (sent with match_start): the row "
    "of --game-id, else of the file's game.",
)
@option("--speed", type=float, default=1.0, help="Times real time.")
@option("--max", "as_fast", is_flag=True, help="As fast as the broker takes it.")
@option("--game-id", type=int, default_text="the file's", help="Replace the game id (one file).")
@option("--only-game", type=int, default_text="the file's only game",
        help="Play only this game of a file that holds several (one file).")  # fmt: skip
@option("--quiet", is_flag=True, help="No progress bar.")
def replay(
    files: tuple[str, ...],
    match_info: str | None,
    speed: float,
    as_fast: bool,
    game_id: int | None,
    only_game: int | None,
    quiet: bool,
) -> None:
    """Play match CSVs (K League raw_data.csv layout) into the events topic.

    FILES: CSVs with those columns in any order, delimited by commas, semicolons or
    tabs, in UTF-8, UTF-16 or Excel's Korean CP949, gzip'd or not; or JSON lines (one
    action object a line). A file that cannot be read is named with its line, and
    nothing is sent.

    Sends match_start (with the match info), every action keyed by game_id at its
    match time (periods back to back), period_end and match_end. Several FILES are
    interleaved by match time, as concurrent matches would be.

    A match is commented once under its game id: replayed again, its batches are
    recognised as already published (Redis, PITCHCAST_PUBLISHED_TTL_S) and not
    commented again. To see it commented again, replay it under another --game-id.

    \b
    Examples:
      pitchcast replay data/events_metrica_1.csv --speed 20
      pitchcast replay data/events_metrica_1.csv data/events_metrica_3.csv --max
    """
    from rich.progress import Progress

    from pitchcast.streams.replay import replay as send_replay

    if speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    if game_id is not None and len(files) > 1:
        raise click.BadParameter("only with a single file", param_hint="--game-id")
    if only_game is not None and len(files) > 1:
        raise click.BadParameter("only with a single file", param_hint="--only-game")
    settings = settings_with()
    with clear_errors():
        plans = plan_files(
            [Path(name) for name in files],
            match_info=Path(match_info) if match_info else None,
            game_id=game_id,
            only_game=only_game,
        )
    total = sum(len(p) for p in plans)
    with Progress(disable=quiet, transient=False) as progress:
        task = progress.add_task("replaying", total=total)
        sent = run_async(
            send_replay(
                settings,
                plans,
                speed=None if as_fast else speed,
                on_sent=lambda _m: progress.advance(task),
            )
        )
    click.echo(f"sent {sent} messages to {settings.topic_events}")


def plan_files(
    files: list[Path], *, match_info: Path | None, game_id: int | None, only_game: int | None = None
) -> list[list[ReplayMessage]]:
    """The replay plan of each match CSV, with the match info of ``match_info``, else of
    the match_info.csv beside each file (as ``pitchcast eval`` finds it), else none."""
    from pitchcast.streams.match_csv import MalformedCsv, first_game_id, match_info_for
    from pitchcast.streams.replay import plan_replay

    plans = []
    for path in files:
        # The row of the id the match is replayed under first, else of the game played.
        played = only_game if only_game is not None else first_game_id(path)
        wanted = [g for g in (game_id, played) if g is not None]
        try:
            info = match_info_for(path, wanted, given=match_info)
        except MalformedCsv as exc:
            if match_info is None:
                raise
            raise click.BadParameter(str(exc), param_hint="--match-info") from None
        plans.append(plan_replay(path, match_info=info, game_id=game_id, only_game=only_game))
    return plans


@click.command(short_help="Print commentary as it arrives.")
@option("--from-beginning", is_flag=True, help="Start at the oldest commentary.")
@option("--game-id", type=int, default_text="every match", help="Only this match.")
@option("--lines", "lines", is_flag=True, help="Each line as it is published (live).")
def tail(from_beginning: bool, game_id: int | None, lines: bool) -> None:
    """Print commentary as it arrives (Ctrl-C to stop).

    By default, one block per batch from the commentary topic; with --lines, each line
    from the lines topic as soon as it is valid, while the LLM writes the rest, as
    `game ID · BATCH.LINE · PERSONA · MM:SS [tone] text`: LINE 100 and 101 are the
    match's flow (kick-off, half-time, full time...) before and after a batch, `·end` marks
    a batch's last line, and the clock is the action's time within its period (a line
    carries no period; the blocks say 1H / 2H).

    \b
    Example:
      pitchcast tail --lines --game-id 126283
    """
    from pitchcast.streams.tail import tail as run_tail

    settings = settings_with()
    with contextlib.suppress(KeyboardInterrupt):
        run_async(
            run_tail(
                settings,
                from_beginning=from_beginning,
                game_id=game_id,
                echo=click.echo,
                lines=lines,
            )
        )


@click.command(short_help="Stack, worker, a sample match: commentary on screen.")
@option("--speed", type=float, default=60.0, help="Times real time.")
@option("--max", "as_fast", is_flag=True, help="Replay as fast as possible.")
@option(
    "--file",
    "events_file",
    type=click.Path(exists=True, dir_okay=False),
    default_text="data/events_metrica_1.csv",
    help="Match file to replay, in any form `replay` reads (with the match_info.csv"
    " beside it, if any).",
)
@option("--personas", setting="personas", help="Comma-separated personas, e.g. CASTER,FRIEND.")
@option("--density", type=_DENSITIES, setting="density", help="What is told: every, story, key.")
@option("--no-stack", is_flag=True, help="Use the Kafka/Redis of the settings as they are.")
@option("--game-id", type=int, default_text="a new one per run", help="Game id to replay under.")
@option("--only-game", type=int, default_text="the file's only game",
        help="Play only this game of a file that holds several.")  # fmt: skip
@option(
    "--monitor",
    "with_monitor",
    is_flag=True,
    help="Serve the booth monitor too and print the address of the match's page.",
)
def demo(
    speed: float,
    as_fast: bool,
    events_file: str | None,
    personas: str | None,
    density: str | None,
    no_stack: bool,
    game_id: int | None,
    only_game: int | None,
    with_monitor: bool,
) -> None:
    """Start the stack and a worker, replay a sample match, print its commentary.

    Uses the built-in template backend unless PITCHCAST_LLM_BACKEND says otherwise.

    \b
    Examples:
      pitchcast demo
      pitchcast demo --max --personas CASTER,FRIEND
      pitchcast demo --monitor       # watch it on http://127.0.0.1:6070/
    """
    from pitchcast.demo import default_data_dir, run_demo

    if speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    settings = settings_with(personas=personas, density=density)
    data = default_data_dir()
    try:
        with clear_errors():
            shown = run_demo(
                settings,
                events_file=Path(events_file) if events_file else data / "events_metrica_1.csv",
                match_info_file=data / "match_info.csv",
                speed=None if as_fast else speed,
                echo=click.echo,
                start_stack=not no_stack,
                game_id=game_id,
                monitor=with_monitor,
                only_game=only_game,
            )
    except KeyboardInterrupt:  # how --monitor ends, and a demo cut short: not an error
        click.echo("stopped (Ctrl-C)")
        return
    click.echo(f"done: {shown} commentary messages")
