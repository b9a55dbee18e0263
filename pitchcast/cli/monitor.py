"""``pitchcast monitor``: the booth monitor's web pages (:mod:`pitchcast.monitor`)."""

from __future__ import annotations

import contextlib

import click

from pitchcast.cli.options import clear_errors, option, run_async, settings_with

__all__ = ["monitor"]


@click.command(short_help="The booth monitor: each live match on a web page.")
@option("--host", setting="monitor_host", help="Address to bind.")
@option("--port", type=int, setting="monitor_port", help="Port.")
def monitor(host: str | None, port: int | None) -> None:
    """Serve the booth monitor: each live match on a web page as pitchcast comments it.

    It reads match-events, commentary-lines, commentary and commentary-dlq with a
    consumer of its own (no consumer group, nothing committed), from
    PITCHCAST_MONITOR_LOOKBACK_S ago, and serves / (the live matches) and
    /matches/GAME_ID (the pitch, the lines per persona, batches, the story so far).
    Binding anything but loopback needs PITCHCAST_MONITOR_PASSWORD (HTTP basic auth).

    \b
    Example:
      pitchcast monitor                 # then open http://127.0.0.1:6070/
    """
    from pitchcast.monitor.command import serve_monitor

    settings = settings_with(monitor_host=host, monitor_port=port)
    with clear_errors(), contextlib.suppress(KeyboardInterrupt):
        run_async(serve_monitor(settings, echo=click.echo))
