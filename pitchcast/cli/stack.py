"""``pitchcast stack up|down|status``: a local Kafka broker and Redis without Docker."""

from __future__ import annotations

import sys

import click

from pitchcast.cli.options import clear_errors, option, settings_with

__all__ = ["stack"]


@click.group(short_help="A local Kafka broker and Redis (no Docker).")
def stack() -> None:
    """Run a local Apache Kafka broker and Redis (for machines without Docker).

    Ports and folder come from PITCHCAST_STACK_KAFKA_PORT, _KAFKA_CONTROLLER_PORT,
    _REDIS_PORT and _DIR (see `pitchcast config`); on other ports than 9092 and 6379,
    point the other commands at the stack with PITCHCAST_KAFKA_BOOTSTRAP_SERVERS and
    PITCHCAST_REDIS_URL (`stack up` prints both addresses; `demo` finds them itself).

    \b
    Examples:
      pitchcast stack up
      pitchcast stack up --brokers 3          a three-node KRaft cluster
      pitchcast stack up --secure             SASL_SSL + ACLs on Kafka, TLS + password on Redis
      pitchcast stack status && pitchcast stack down
    """


@stack.command("up", short_help="Start Kafka (KRaft) and Redis, if not running.")
@option(
    "--brokers",
    type=click.Choice(["1", "3"]),
    setting="stack_brokers",
    help="Kafka nodes: 3 is a KRaft cluster with replication 3 and min ISR 2.",
)
@option(
    "--secure",
    is_flag=True,
    default=None,
    setting="stack_secure",
    help="SASL_SSL (SCRAM-SHA-512) and ACLs on Kafka, TLS and a password on Redis.",
)
def stack_up(brokers: str | None, secure: bool | None) -> None:
    """Start Kafka (KRaft, 127.0.0.1) and Redis; harmless when already running.

    Prints the addresses the other commands use (PITCHCAST_KAFKA_BOOTSTRAP_SERVERS,
    PITCHCAST_REDIS_URL).

    \b
    Examples:
      pitchcast stack up
      PITCHCAST_STACK_KAFKA_PORT=19092 PITCHCAST_STACK_REDIS_PORT=16379 pitchcast stack up
    """
    from pitchcast.localstack import LocalStack

    settings = settings_with(stack_brokers=int(brokers) if brokers else None, stack_secure=secure)
    with clear_errors():
        LocalStack(settings).up(echo=click.echo)


@stack.command("down")
def stack_down() -> None:
    """Stop the Kafka and Redis processes that `stack up` started.

    Their data stays in PITCHCAST_STACK_DIR for the next `stack up`.

    \b
    Example:
      pitchcast stack down
    """
    from pitchcast.localstack import LocalStack

    with clear_errors():
        LocalStack.as_started(settings_with()).down(echo=click.echo)


@stack.command("status")
def stack_status() -> None:
    """Say what runs; exit code 1 unless both Kafka and Redis run.

    \b
    Example:
      pitchcast stack status || pitchcast stack up
    """
    from pitchcast.localstack import LocalStack

    with clear_errors():
        ok = LocalStack.as_started(settings_with()).status(echo=click.echo)
    sys.exit(0 if ok else 1)
