"""``python -m pitchcast.chaos.worker --inject KIND:ARGS ...``: the worker with faults.

The same start-up as ``pitchcast worker`` (settings from ``PITCHCAST_*``, topics
checked, the app of :func:`pitchcast.app.create_app`), with the transport faults of
:mod:`pitchcast.chaos.inject` applied before it runs. For fault scenarios only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    import faust

    from pitchcast.app import create_app
    from pitchcast.chaos.inject import apply
    from pitchcast.logs import configure_logging, logging_config
    from pitchcast.settings import load_settings
    from pitchcast.streams.admin import ensure_topics

    parser = argparse.ArgumentParser(prog="python -m pitchcast.chaos.worker")
    parser.add_argument("--inject", action="append", default=[], help="KIND:ARGS (repeatable)")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    logging.getLogger("pitchcast").info(
        "pitchcast.settings %s", " ".join(f"{k}={v}" for k, v in settings.as_env().items())
    )
    for line in asyncio.run(ensure_topics(settings)):
        logging.getLogger("pitchcast").info("pitchcast.topics %s", line)
    asyncio.set_event_loop(asyncio.new_event_loop())
    pitchcast = create_app(settings)
    apply(pitchcast, args.inject)
    faust.Worker(
        pitchcast.app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings),
        quiet=True,
        redirect_stdouts=False,
    ).execute_from_commandline()


if __name__ == "__main__":
    main()
