"""``pitchcast chaos``: the fault suite (RELIABILITY.md), scenario by scenario."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from pitchcast.cli.options import option, settings_with

__all__ = ["SCENARIO_NAMES", "chaos"]

# The names of pitchcast.chaos.scenarios.SCENARIOS, written out so that `--help` does not
# import the suite (0.7 s); a test keeps the two lists equal.
SCENARIO_NAMES = (
    "sigkill", "rebalance", "changelog-stall", "broker-stop", "redis", "kill-before-publish",
    "llm-faults", "malformed", "lost-ack", "dlq-fail", "skip", "idle", "exactly-once",
    "leader-kill", "broker-pause", "controller-kill", "cluster",
)  # fmt: skip


@click.command(short_help="The fault suite: scenarios and their figures.")
@click.argument("scenarios", nargs=-1, required=True)
@option("--full", is_flag=True, help="Full sizes (about 25 minutes for all) instead of CI sizes.")
@option("--mode", type=click.Choice(["live", "batch"]), default_text="each mode it runs in",
        help="Only this LLM mode.")  # fmt: skip
@option("--workdir", type=click.Path(file_okay=False, path_type=Path),
        default_text="a new temporary folder", help="Logs and private services.")  # fmt: skip
@option("--kafka", setting="kafka_bootstrap_servers", help="The shared broker, host:port.")
@option("--kills", type=click.IntRange(min=0), default_text="the scenario's own",
        help="sigkill, exactly-once: this many kills (0: the lag without kills).")  # fmt: skip
def chaos(
    scenarios: tuple[str, ...],
    full: bool,
    mode: str | None,
    workdir: Path | None,
    kafka: str | None,
    kills: int | None,
) -> None:
    """Run fault scenarios and print their figures; exit 1 when one breaks a promise.

    Scenarios that stop a broker or Redis start their own on free ports.

    \b
    SCENARIOS: all, or some of
      sigkill, rebalance, changelog-stall, broker-stop, redis, kill-before-publish,
      llm-faults, malformed, lost-ack, dlq-fail, skip, idle, exactly-once,
      leader-kill, broker-pause, controller-kill (a three-broker cluster each),
      cluster (the three in one match)

    \b
    Examples:
      pitchcast chaos all                    every scenario, CI sizes
      pitchcast chaos sigkill --full         one scenario, full size (both LLM modes)
      pitchcast chaos rebalance --mode live  one scenario in one LLM mode
    """
    names = list(SCENARIO_NAMES) if list(scenarios) == ["all"] else list(scenarios)
    unknown = [name for name in names if name not in SCENARIO_NAMES]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; known: all, {', '.join(SCENARIO_NAMES)}",
            param_hint="SCENARIOS",
        )
    from pitchcast.chaos.suite import run_suite

    failed = run_suite(
        names,
        full=full,
        kafka=kafka or settings_with().kafka_bootstrap_servers,
        workdir=workdir or Path(tempfile.mkdtemp(prefix="pitchcast-chaos-")),
        mode=mode,
        echo=click.echo,
        kills=kills,
    )
    sys.exit(1 if failed else 0)
