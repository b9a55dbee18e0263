"""Run fault scenarios from the command line and print their figures."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pitchcast.chaos.check import Figures
from pitchcast.chaos.scenarios import MODES, SCENARIOS, Setup

__all__ = ["main", "run_scenarios"]


async def run_scenarios(
    names: Sequence[str],
    *,
    full: bool,
    kafka: str,
    workdir: Path,
    mode: str | None,
    kills: int | None = None,
) -> list[Figures]:
    """Run each scenario (in each of its modes, or ``mode``) and print its figures."""
    results = []
    for name in names:
        for scenario_mode in [mode] if mode else MODES.get(name, ("live",)):
            profile = "full" if full else "ci"
            setup = Setup(profile, kafka, workdir, mode=scenario_mode, kills=kills)
            figures = await SCENARIOS[name](setup)
            print(figures.render(), flush=True)
            results.append(figures)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    from pitchcast.settings import load_settings

    parser = argparse.ArgumentParser(prog="pitchcast chaos", description=__doc__)
    parser.add_argument("scenarios", nargs="+", help=f"all, or: {', '.join(SCENARIOS)}")
    parser.add_argument("--full", action="store_true", help="full sizes (default: CI sizes)")
    parser.add_argument("--mode", choices=["live", "batch"], help="only this LLM mode")
    parser.add_argument("--workdir", type=Path, help="logs and private services [a temp dir]")
    parser.add_argument(
        "--kills",
        type=int,
        help="sigkill / exactly-once: this many kills (0: the line lag without kills)",
    )
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pitchcast-chaos-"))
    # The scenarios' own clients retry through outages on purpose: no log line per retry,
    # and none for a producer given up while its broker was down.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("asyncio").addFilter(
        lambda record: "Unclosed AIOKafka" not in record.getMessage()
    )
    kafka = load_settings().kafka_bootstrap_servers
    started = time.monotonic()
    print(f"pitchcast chaos: Kafka {kafka}, logs in {workdir}", flush=True)
    results = asyncio.run(
        run_scenarios(
            names, full=args.full, kafka=kafka, workdir=workdir, mode=args.mode, kills=args.kills
        )
    )
    failed = [f"{f.scenario}/{f.mode}" for f in results if not f.ok]
    print(
        f"pitchcast chaos: {len(results) - len(failed)} of {len(results)} passed "
        f"in {time.monotonic() - started:.0f} s" + (f"; failed: {failed}" if failed else "")
    )
    sys.exit(1 if failed else 0)
