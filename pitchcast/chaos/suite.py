"""Run fault scenarios one after another and print their figures (``pitchcast chaos``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pitchcast.chaos.check import Figures
from pitchcast.chaos.scenarios import MODES, SCENARIOS, Setup

__all__ = ["run_scenarios", "run_suite"]


async def run_scenarios(
    names: Sequence[str],
    *,
    full: bool,
    kafka: str,
    workdir: Path,
    mode: str | None,
    echo: Callable[[str], None] = print,
    kills: int | None = None,
) -> list[Figures]:
    """Run each scenario (in each of its modes, or ``mode``) and print its figures."""
    results = []
    for name in names:
        for scenario_mode in [mode] if mode else MODES.get(name, ("live",)):
            profile = "full" if full else "ci"
            setup = Setup(profile, kafka, workdir, mode=scenario_mode, kills=kills)
            figures = await SCENARIOS[name](setup)
            echo(figures.render())
            results.append(figures)
    return results


def run_suite(
    names: Sequence[str],
    *,
    full: bool,
    kafka: str,
    workdir: Path,
    mode: str | None,
    echo: Callable[[str], None] = print,
    kills: int | None = None,
) -> list[str]:
    """Run the scenarios ``names`` against the broker ``kafka``; the failed ones' names."""
    # The scenarios' own clients retry through outages on purpose: no log line per retry,
    # and none for a producer given up while its broker was down.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("asyncio").addFilter(
        lambda record: "Unclosed AIOKafka" not in record.getMessage()
    )
    started = time.monotonic()
    echo(f"pitchcast chaos: Kafka {kafka}, logs in {workdir}")
    results = asyncio.run(
        run_scenarios(
            names, full=full, kafka=kafka, workdir=workdir, mode=mode, echo=echo, kills=kills
        )
    )
    failed = [f"{f.scenario}/{f.mode}" for f in results if not f.ok]
    echo(
        f"pitchcast chaos: {len(results) - len(failed)} of {len(results)} passed "
        f"in {time.monotonic() - started:.0f} s" + (f"; failed: {failed}" if failed else "")
    )
    return failed
