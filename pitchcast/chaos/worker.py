"""``python -m pitchcast.chaos.worker --inject KIND:ARGS ...``: the worker with faults.

The same start-up as ``pitchcast worker`` (settings from ``PITCHCAST_*``, topics
checked, the app of :func:`pitchcast.app.create_app`), with the transport faults of
:mod:`pitchcast.chaos.inject` applied before it runs. For fault scenarios only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    from pitchcast.app import run_worker
    from pitchcast.chaos.inject import apply
    from pitchcast.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m pitchcast.chaos.worker")
    parser.add_argument("--inject", action="append", default=[], help="KIND:ARGS (repeatable)")
    args = parser.parse_args(argv)
    run_worker(load_settings(), prepare=lambda pitchcast: apply(pitchcast, args.inject))


if __name__ == "__main__":
    main()
