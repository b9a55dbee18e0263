"""``pitchcast stack up|down|status``: a local Kafka broker and Redis without Docker."""

from __future__ import annotations

import sys

import click

from pitchcast.cli.options import clear_errors, settings_with

__all__ = ["stack"]


@click.group(short_help="A local Kafka broker and Redis (no Docker).")
def stack() -> None:
    """Run a local Apache Kafka broker and Redis (for machines without Docker).

    \b
    Ports and folder come from PITCHCAST_STACK_* (see `pitchcast config`).
    Examples:
      pitchcast stack up
      pitchcast stack status && pitchcast stack down
    """


@stack.command("up")
def stack_up() -> None:
    """Start Kafka (KRaft, 127.0.0.1) and Redis; harmless when already running."""
    from pitchcast.localstack import LocalStack

    with clear_errors():
        LocalStack(settings_with()).up(echo=click.echo)


@stack.command("down")
def stack_down() -> None:
    """Stop the Kafka and Redis processes that `stack up` started."""
    from pitchcast.localstack import LocalStack

    with clear_errors():
        LocalStack(settings_with()).down(echo=click.echo)


@stack.command("status")
def stack_status() -> None:
    """Say what runs; exit code 1 unless both Kafka and Redis run."""
    from pitchcast.localstack import LocalStack

    with clear_errors():
        ok = LocalStack(settings_with()).status(echo=click.echo)
    sys.exit(0 if ok else 1)
