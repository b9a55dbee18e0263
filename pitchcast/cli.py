"""The ``pitchcast`` command line.

Every command reads its settings from ``PITCHCAST_*`` environment variables (see
``pitchcast config``); flags override the few values a person changes by hand.
"""

from __future__ import annotations

import asyncio
import sys

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
    """


@main.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    for name, value in _settings().describe().items():
        click.echo(f"PITCHCAST_{name.upper()}={value}")


# --- stack -------------------------------------------------------------------


@main.group()
def stack() -> None:
    """Run a local Apache Kafka broker and Redis (for machines without Docker)."""


@stack.command("up")
def stack_up() -> None:
    """Start Kafka (KRaft, 127.0.0.1) and Redis; harmless when already running."""
    from pitchcast.localstack import LocalStack

    _run_stack(lambda s: LocalStack(s).up(echo=click.echo))


@stack.command("down")
def stack_down() -> None:
    """Stop the Kafka and Redis processes that `stack up` started."""
    from pitchcast.localstack import LocalStack

    _run_stack(lambda s: LocalStack(s).down(echo=click.echo))


@stack.command("status")
def stack_status() -> None:
    """Say what runs; exit code 1 unless both Kafka and Redis run."""
    from pitchcast.localstack import LocalStack

    ok = _run_stack(lambda s: LocalStack(s).status(echo=click.echo))
    sys.exit(0 if ok else 1)


def _run_stack(action: object) -> object:
    settings = _settings()
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


if __name__ == "__main__":  # pragma: no cover
    main()
