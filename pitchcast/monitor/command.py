"""The booth monitor's process: the reader and the web server, run together until stopped
(``pitchcast monitor``, ``pitchcast demo --monitor``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web

from pitchcast.exceptions import ConfigurationError
from pitchcast.monitor.board import Board
from pitchcast.monitor.feed import FeedStatus, Hub, read_topics
from pitchcast.monitor.server import MonitorState, build_app, check_binding
from pitchcast.settings import Settings

__all__ = ["serve_monitor"]

log = logging.getLogger("pitchcast.monitor")


async def serve_monitor(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    echo: Callable[[str], None] = print,
    started: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled)."""
    host = host or settings.monitor_host
    port = port if port is not None else settings.monitor_port
    password = settings.monitor_password.get_secret_value() if settings.monitor_password else None
    check_binding(host, password)
    board = Board(max_bytes=settings.max_message_bytes, clamp_margin=settings.clamp_margin_m)
    hub = Hub()
    status = FeedStatus()
    state = MonitorState(
        board, hub, status, idle_timeout_s=settings.idle_timeout_s, password=password
    )
    runner = web.AppRunner(build_app(state), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        await runner.cleanup()
        raise ConfigurationError(
            f"the monitor cannot listen on {host}:{port} ({exc.strerror or exc}): "
            "pick another with --port or PITCHCAST_MONITOR_PORT"
        ) from exc
    reader = asyncio.create_task(
        read_topics(settings, board, hub, status, lookback_s=settings.monitor_lookback_s)
    )
    auth = " (basic auth)" if password else ""
    echo(f"pitchcast monitor: http://{host}:{port}/{auth}")
    if started is not None:
        started.set()
    try:
        if stop is None:
            await asyncio.Future()  # until cancelled
        else:
            await stop.wait()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        hub.close()  # ends every open event stream, so the runner can close
        await runner.cleanup()
