"""The ``pitchcast`` command line.

Every command reads its settings from ``PITCHCAST_*`` environment variables (see
``pitchcast config``); flags override the few values a person changes by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import click

from pitchcast.exceptions import PitchcastError
from pitchcast.settings import Settings, load_settings

__all__ = ["main"]


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"invalid settings: {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pitchcast")
def main() -> None:
    """pitchcast: live K League match events in, Korean AI commentary out, on Kafka.

    \b
    Quick start (no Docker):
      pitchcast demo                      stack up, worker, replay a sample match, tail
    \b
    Pieces:
      pitchcast stack up|down|status      local Apache Kafka (KRaft) + Redis
      pitchcast worker                    the Faust worker (batch + commentary agents)
      pitchcast replay FILE               play a match CSV into match-events
      pitchcast tail                      print commentary as it arrives
      pitchcast eval FILE                 quality report of a match's commentary (no Kafka)
      pitchcast chaos SCENARIO [--full]   the fault suite (RELIABILITY.md)
    """


@main.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    for name, value in _settings().as_env().items():
        click.echo(f"{name}={value}")


# --- stack -------------------------------------------------------------------


@main.group()
def stack() -> None:
    """Run a local Apache Kafka broker and Redis (for machines without Docker)."""


@stack.command("up")
@click.option(
    "--brokers",
    type=click.Choice(["1", "3"]),
    help="Kafka nodes: 3 = a KRaft cluster, replication 3, min ISR 2 [PITCHCAST_STACK_BROKERS].",
)
@click.option(
    "--secure",
    is_flag=True,
    default=None,
    help="SASL_SSL (SCRAM-SHA-512) + ACLs on Kafka, TLS + password on Redis.",
)
def stack_up(brokers: str | None, secure: bool | None) -> None:
    """Start Kafka (KRaft, 127.0.0.1) and Redis; harmless when already running."""
    from pitchcast.localstack import LocalStack

    overrides = {"stack_brokers": int(brokers) if brokers else None, "stack_secure": secure}
    _run_stack(lambda s: LocalStack(s).up(echo=click.echo), **overrides)


@stack.command("down")
def stack_down() -> None:
    """Stop the Kafka and Redis processes that `stack up` started."""
    from pitchcast.localstack import LocalStack

    _run_stack(lambda s: LocalStack.as_started(s).down(echo=click.echo))


@stack.command("status")
def stack_status() -> None:
    """Say what runs; exit code 1 unless both Kafka and Redis run."""
    from pitchcast.localstack import LocalStack

    ok = _run_stack(lambda s: LocalStack.as_started(s).status(echo=click.echo))
    sys.exit(0 if ok else 1)


def _run_stack(action: object, **overrides: object) -> object:
    settings = _settings(**overrides)
    try:
        return action(settings)  # type: ignore[operator]
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc


# --- topics ------------------------------------------------------------------


@main.command()
def topics() -> None:
    """Create the topics (when missing) and check their partition counts."""
    from pitchcast.streams.admin import ensure_topics

    settings = _settings()
    try:
        for line in asyncio.run(ensure_topics(settings)):
            click.echo(line)
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc


# --- worker ------------------------------------------------------------------


@main.command()
@click.option("--web-port", type=int, help="Port of the worker's web server [PITCHCAST_WEB_PORT].")
@click.option(
    "--personas", help="Comma-separated personas, e.g. CASTER,ANALYST [PITCHCAST_PERSONAS]."
)
@click.option(
    "--backend",
    type=click.Choice(["template", "openai"]),
    help="Commentary backend [PITCHCAST_LLM_BACKEND].",
)
def worker(web_port: int | None, personas: str | None, backend: str | None) -> None:
    """Run the Faust worker: batch agent, commentary agent, idle ticks.

    Creates missing topics first and refuses to start when the match-keyed topics
    do not all have PITCHCAST_PARTITIONS partitions.
    """
    from pitchcast.app import run_worker

    settings = _settings(web_port=web_port, personas=personas, llm_backend=backend)
    try:
        run_worker(settings)
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc


# --- replay / tail -----------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--match-info",
    type=click.Path(exists=True, dir_okay=False),
    help="match_info.csv with the 17 K League columns (sent with match_start).",
)
@click.option("--speed", type=float, default=1.0, show_default=True, help="Times real time.")
@click.option("--max", "as_fast", is_flag=True, help="As fast as the broker takes it.")
@click.option("--game-id", type=int, help="Replace the game id (one file only).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def replay(
    files: tuple[str, ...],
    match_info: str | None,
    speed: float,
    as_fast: bool,
    game_id: int | None,
    quiet: bool,
) -> None:
    """Play match CSVs (K League raw_data.csv layout) into the events topic.

    Sends match_start (with the match info), every action keyed by game_id at its
    match time (periods back to back), period_end and match_end. Several FILES are
    interleaved by match time, as concurrent matches would be.

    \b
    Example:
      pitchcast replay data/events_metrica_1.csv --match-info data/match_info.csv --speed 20
    """
    from rich.progress import Progress

    from pitchcast.streams.match_csv import read_match_info
    from pitchcast.streams.replay import plan_replay
    from pitchcast.streams.replay import replay as send_replay

    if speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    if game_id is not None and len(files) > 1:
        raise click.BadParameter("only with a single file", param_hint="--game-id")
    settings = _settings()
    try:
        infos = read_match_info(Path(match_info)) if match_info else {}
        plans = []
        for name in files:
            first = _first_game_id(Path(name))
            plans.append(plan_replay(Path(name), match_info=infos.get(first), game_id=game_id))
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc
    total = sum(len(p) for p in plans)
    with Progress(disable=quiet, transient=False) as progress:
        task = progress.add_task("replaying", total=total)
        sent = asyncio.run(
            send_replay(
                settings,
                plans,
                speed=None if as_fast else speed,
                on_sent=lambda _m: progress.advance(task),
            )
        )
    click.echo(f"sent {sent} messages to {settings.topic_events}")


def _first_game_id(path: Path) -> int | None:
    from pitchcast.streams.match_csv import read_actions

    for row in read_actions(path):
        return int(row["game_id"])
    return None


@main.command()
@click.option("--from-beginning", is_flag=True, help="Start at the oldest commentary.")
@click.option("--game-id", type=int, help="Only this match.")
@click.option("--lines", "lines", is_flag=True, help="Each line as it is published (live).")
def tail(from_beginning: bool, game_id: int | None, lines: bool) -> None:
    """Print commentary as it arrives (Ctrl-C to stop).

    By default, one block per batch from the commentary topic; with --lines, each line
    from the lines topic as soon as it is valid, while the LLM writes the rest.
    """
    from pitchcast.streams.tail import tail as run_tail

    settings = _settings()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_tail(
                settings,
                from_beginning=from_beginning,
                game_id=game_id,
                echo=click.echo,
                lines=lines,
            )
        )


# --- dead letters --------------------------------------------------------------


@main.group()
def dlq() -> None:
    """Inspect dead letters and replay them after a fix.

    \b
    A dead letter is named PARTITION:OFFSET in the dead-letter topic, e.g. 2:17.
    Filters: --game-id, --reason (repeatable), --since/--until (ISO time or 30m, 2h, 1d),
    --source-offsets FIRST-LAST (offsets in the original topic).
    """


def _dlq_filters(
    ids: tuple[str, ...],
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
) -> object:
    from pitchcast.streams.dlq import Filters, parse_id, parse_offsets, parse_time

    try:
        return Filters(
            ids=frozenset(parse_id(i) for i in ids),
            game_id=game_id,
            reasons=frozenset(reasons),
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
            source_offsets=parse_offsets(source_offsets) if source_offsets else None,
        )
    except PitchcastError as exc:
        raise click.BadParameter(str(exc)) from exc


def _filter_options(command: object) -> object:
    for option in reversed(
        [
            click.option("--game-id", type=int, help="Only this match."),
            click.option(
                "--reason", "reasons", multiple=True, help="Error kind, e.g. SchemaViolation."
            ),
            click.option("--since", help="From this time: ISO 8601, or 30m / 2h / 1d ago."),
            click.option("--until", help="Before this time (same forms as --since)."),
            click.option("--source-offsets", help="FIRST-LAST offsets in the source topic."),
        ]
    ):
        command = option(command)  # type: ignore[operator]
    return command


@dlq.command("list")
@_filter_options  # type: ignore[arg-type]
@click.option("--limit", type=int, help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def dlq_list(
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List dead letters, oldest first: id, time, game, reason, source, size, message."""
    import orjson

    from pitchcast.streams.dlq import describe, format_row, read_dead_letters

    settings = _settings()
    filters = _dlq_filters((), game_id, reasons, since, until, source_offsets)
    entries = _run(read_dead_letters(settings, filters, limit=limit))  # type: ignore[arg-type]
    for entry in entries:
        click.echo(orjson.dumps(describe(entry)).decode() if as_json else format_row(entry))
    if not as_json:
        click.echo(f"{len(entries)} dead letters in {settings.topic_dlq}", err=True)


@dlq.command("show")
@click.argument("dead_letter_id")
def dlq_show(dead_letter_id: str) -> None:
    """Print one dead letter in full (with its value decoded when it is JSON)."""
    import orjson

    from pitchcast.streams.dlq import describe, read_dead_letters

    settings = _settings()
    filters = _dlq_filters((dead_letter_id,), None, (), None, None, None)
    entries = _run(read_dead_letters(settings, filters))  # type: ignore[arg-type]
    if not entries:
        raise click.ClickException(f"no dead letter {dead_letter_id} in {settings.topic_dlq}")
    click.echo(orjson.dumps(describe(entries[0]), option=orjson.OPT_INDENT_2).decode())


@dlq.command("replay")
@click.argument("ids", nargs=-1)
@_filter_options  # type: ignore[arg-type]
@click.option("--all", "everything", is_flag=True, help="Every dead letter (no filter given).")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.option("--skip-refused", is_flag=True, help="Send the others when some cannot be rebuilt.")
@click.option("--force", is_flag=True, help="Replay letters the audit file says went already.")
@click.option("--audit-file", type=click.Path(dir_okay=False), help="[PITCHCAST_DLQ_AUDIT_FILE]")
def dlq_replay(
    ids: tuple[str, ...],
    game_id: int | None,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    source_offsets: str | None,
    everything: bool,
    dry_run: bool,
    skip_refused: bool,
    force: bool,
    audit_file: str | None,
) -> None:
    """Re-inject chosen dead letters into their source topic, after a fix.

    Each original value goes back under its original key with headers
    pitchcast-replay-of / -from / -at; every record sent is appended to the audit
    file (JSON lines). Truncated letters cannot be rebuilt and are refused.

    \b
    Examples:
      pitchcast dlq replay 0:12 0:13 --dry-run
      pitchcast dlq replay --reason SchemaViolation --game-id 126283 --since 2h
    """
    from pitchcast.streams.dlq import plan_replay, read_dead_letters, replayed_ids, send_replay

    settings = _settings()
    filters = _dlq_filters(ids, game_id, reasons, since, until, source_offsets)
    if filters.empty and not everything:  # type: ignore[attr-defined]
        raise click.UsageError("choose dead letters (ids or filters), or say --all")
    audit = Path(audit_file) if audit_file else settings.dlq_audit_file
    entries = _run(read_dead_letters(settings, filters))  # type: ignore[arg-type]
    plan = plan_replay(
        entries, settings, replayed_before=replayed_ids(audit, settings.topic_dlq), force=force
    )
    for entry in plan.already:
        click.echo(f"skip {entry.id}: already replayed (see {audit}; --force to send again)")
    for entry, why in plan.refused:
        click.echo(f"refuse {entry.id}: {why}")
    if plan.refused and not skip_refused:
        raise click.ClickException(
            f"{len(plan.refused)} dead letters cannot be replayed; nothing sent"
            " (--skip-refused sends the others)"
        )
    if not plan.items:
        click.echo("nothing to replay")
        return
    if dry_run:
        for item in plan.items:
            click.echo(f"would send {item.entry.id} -> {item.topic} key={_shown_key(item.key)}")
        click.echo(f"dry run: {len(plan.items)} records would be sent; nothing sent")
        return
    sent = _run(
        send_replay(
            settings,
            plan,
            audit_file=audit,
            on_sent=lambda item, p, o: click.echo(
                f"sent {item.entry.id} -> {item.topic}:{p}:{o} key={_shown_key(item.key)}"
            ),
        )
    )
    click.echo(f"replayed {sent} records; recorded in {audit}")


def _shown_key(key: bytes | None) -> str:
    return "null" if key is None else key.decode("utf-8", "replace")


def _run(coroutine: object) -> object:
    try:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def chaos(args: tuple[str, ...]) -> None:
    """Run fault scenarios and print their figures (RELIABILITY.md).

    \b
    pitchcast chaos all                 every scenario, CI sizes
    pitchcast chaos sigkill --full      one scenario, full size (both LLM modes)
    pitchcast chaos --help              the scenarios and options
    """
    from pitchcast.chaos.cli import main as chaos_main

    chaos_main(list(args))


@main.command("serve-llm")
@click.option("--model", help="Hugging Face model to serve [PITCHCAST_LLM_MODEL].")
@click.option("--served-model-name", help="Name clients send as `model` [same as --model].")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--max-model-len", type=int, default=4096, show_default=True)
@click.option(
    "--gpu-memory-gib", type=float, help="Size for this much GPU memory [read via torch]."
)
@click.option("--dtype", default="bfloat16", show_default=True, help="`half` before Ampere.")
@click.option("--dry-run", is_flag=True, help="Print the command and its sizing; do not run it.")
def serve_llm(
    model: str | None,
    served_model_name: str | None,
    host: str,
    port: int,
    max_model_len: int,
    gpu_memory_gib: float | None,
    dtype: str,
    dry_run: bool,
) -> None:
    """Run vLLM's OpenAI-compatible server sized for this workload (GPU hosts).

    Needs the `gpu` extra (`pip install -e ".[gpu]"`) and an NVIDIA GPU. Sizes
    --max-num-seqs and --gpu-memory-utilization from the GPU's memory, turns on prefix
    caching (the static system prompts) and structured outputs. Point workers at it
    with PITCHCAST_LLM_BACKEND=openai and PITCHCAST_LLM_BASE_URL=http://HOST:PORT/v1.
    """
    import os
    import shlex
    import shutil

    from pitchcast.commentary.serving import (
        build_vllm_command,
        detect_gpu_memory_gib,
        plan_vllm,
    )

    settings = _settings()
    model = model or settings.llm_model
    served = served_model_name or model
    try:
        memory = gpu_memory_gib if gpu_memory_gib is not None else detect_gpu_memory_gib()
        plan = plan_vllm(memory, model, served, max_model_len, dtype=dtype)
        command = build_vllm_command(
            memory, model, served, max_model_len, host=host, port=port, dtype=dtype
        )
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(plan.explain())
    click.echo(shlex.join(command))
    if dry_run:
        return
    if shutil.which(command[0]) is None:
        raise click.ClickException(
            "vllm is not installed: pip install -e '.[gpu]' on a machine with an NVIDIA GPU"
        )
    # vLLM reads its API key from VLLM_API_KEY in the environment, never from argv.
    os.execvp(command[0], command)


@main.command()
@click.option("--speed", type=float, default=60.0, show_default=True, help="Times real time.")
@click.option("--max", "as_fast", is_flag=True, help="Replay as fast as possible.")
@click.option(
    "--file",
    "events_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Match CSV to replay [data/events_metrica_1.csv].",
)
@click.option("--personas", help="Comma-separated personas, e.g. CASTER,FRIEND.")
@click.option("--no-stack", is_flag=True, help="Use the Kafka/Redis of the settings as they are.")
@click.option("--game-id", type=int, help="Game id to replay under [a new one per run].")
def demo(
    speed: float,
    as_fast: bool,
    events_file: str | None,
    personas: str | None,
    no_stack: bool,
    game_id: int | None,
) -> None:
    """Start the stack and a worker, replay a sample match, print its commentary.

    Uses the built-in template backend unless PITCHCAST_LLM_BACKEND says otherwise.
    """
    from pitchcast.demo import default_data_dir, run_demo

    settings = _settings(personas=personas)
    data = default_data_dir()
    try:
        shown = run_demo(
            settings,
            events_file=Path(events_file) if events_file else data / "events_metrica_1.csv",
            match_info_file=data / "match_info.csv",
            speed=None if as_fast else speed,
            echo=click.echo,
            start_stack=not no_stack,
            game_id=game_id,
        )
    except PitchcastError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"done: {shown} commentary messages")


def _register_eval() -> None:
    from pitchcast.quality.command import eval_command

    main.add_command(eval_command, name="eval")


_register_eval()

if __name__ == "__main__":  # pragma: no cover
    main()
