"""The booth monitor's web server: two pages, their JSON, and Server-Sent Events.

Routes (read-only; nothing here writes to Kafka or Redis):

* ``/``: the live matches (``index.html``); ``/matches/<game_id>``: one match
  (``match.html``), a 404 page for a game id the monitor has not seen;
* ``/api/matches`` and ``/api/matches/<game_id>``: the same as JSON (a snapshot), and
  ``/api/matches/<game_id>/actions/<action_id>`` for an action no longer on the pitch;
* ``/api/events`` and ``/api/matches/<game_id>/events``: live updates as SSE: every
  second a ``summary`` event, and for a match page each ``action``, ``line`` and
  ``batch`` as it is read; ``reset``/``reload`` tell the page to draw a fresh snapshot;
* ``/static/...``: the pages' script and style (no build step); ``/health``.

With a password set (``PITCHCAST_MONITOR_PASSWORD``) every route but ``/health`` asks for
HTTP basic auth (any user name); the password is compared in constant time and never
logged. Without one the server refuses to bind anything but a loopback address.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import sse_response

from pitchcast.exceptions import ConfigurationError
from pitchcast.monitor.board import Board
from pitchcast.monitor.feed import FeedStatus, Hub

__all__ = ["MonitorState", "build_app", "check_binding"]

SUMMARY_EVERY_S = 1.0
_STATIC = resources.files("pitchcast.monitor") / "static"
_NOT_FOUND = """<!doctype html><html lang="en"><head><meta charset="utf-8">{refresh}
<title>pitchcast monitor: no such match</title><link rel="stylesheet" href="/static/monitor.css">
</head><body><main class="notfound"><h1>No live match with this id</h1>
<p>The monitor has seen no match with game id {game_id}.{waiting} <a href="/">All live
matches</a></p>
</main></body></html>"""
# A game id the reader has not seen yet may be on its way (the demo prints the page's
# address before the monitor reads the match_start; a match may not have kicked off):
# its page reloads itself until the match appears.
_RELOAD_S = 3


class MonitorState:
    """The board, the hub and the reader's status, shared by the routes."""

    def __init__(
        self,
        board: Board,
        hub: Hub,
        status: FeedStatus,
        *,
        idle_timeout_s: float,
        password: str | None = None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.board = board
        self.hub = hub
        self.status = status
        self.idle_timeout_s = idle_timeout_s
        self.password = password
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))


def check_binding(host: str, password: str | None) -> None:
    """Refuse to serve beyond this machine without a password."""
    if password:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigurationError(
            f"the monitor binds {host} without a password: set PITCHCAST_MONITOR_PASSWORD "
            "(HTTP basic auth), or bind 127.0.0.1"
        )


def _authorised(request: web.Request, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, _, given = decoded.partition(":")
    return hmac.compare_digest(given.encode(), password.encode())


def _auth_middleware(state: MonitorState) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if (
            state.password
            and request.path != "/health"
            and not _authorised(request, state.password)
        ):
            return web.Response(
                status=401,
                text="authentication required",
                headers={"WWW-Authenticate": 'Basic realm="pitchcast monitor"'},
            )
        response = await handler(request)
        # The pages never load anything from elsewhere, and never run inline script.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return middleware


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _page(name: str) -> web.Response:
    return web.Response(text=(_STATIC / name).read_text(encoding="utf-8"), content_type="text/html")


def _game_id(request: web.Request) -> int | None:
    try:
        return int(request.match_info["game_id"])
    except ValueError:
        return None


def build_app(state: MonitorState) -> web.Application:
    """The aiohttp application; the reader runs beside it (``pitchcast.monitor.command``)."""
    app = web.Application(middlewares=[_auth_middleware(state)])

    def index_data() -> dict[str, Any]:
        return {
            "matches": state.board.summaries(state.clock_ms(), state.idle_timeout_s),
            "feed": state.status.as_dict(),
            "malformed": dict(state.board.malformed),
        }

    async def index(_: web.Request) -> web.Response:
        return _page("index.html")

    async def match_page(request: web.Request) -> web.Response:
        game_id = _game_id(request)
        if game_id is None or game_id not in state.board.matches:
            if game_id is None:
                text = _NOT_FOUND.format(refresh="", game_id="?", waiting="")
            else:
                text = _NOT_FOUND.format(
                    refresh=f'<meta http-equiv="refresh" content="{_RELOAD_S}">',
                    game_id=game_id,
                    waiting=f" This page reloads every {_RELOAD_S} s until it appears.",
                )
            return web.Response(status=404, text=text, content_type="text/html")
        return _page("match.html")

    async def api_matches(_: web.Request) -> web.Response:
        return _json(index_data())

    async def api_match(request: web.Request) -> web.Response:
        game_id = _game_id(request)
        board = state.board.matches.get(game_id) if game_id is not None else None
        if board is None:
            return _json({"error": "no such match"}, status=404)
        snapshot = board.snapshot(state.clock_ms(), state.idle_timeout_s)
        snapshot["feed"] = state.status.as_dict()
        return _json(snapshot)

    async def stream(request: web.Request, game_id: int | None) -> web.StreamResponse:
        queue = state.hub.subscribe()
        try:
            async with sse_response(request) as sse:
                next_summary = 0.0
                while sse.is_connected():
                    now = time.monotonic()
                    if now >= next_summary:
                        next_summary = now + SUMMARY_EVERY_S
                        if game_id is None:
                            await sse.send(orjson.dumps(index_data()).decode(), event="summary")
                        elif (board := state.board.matches.get(game_id)) is not None:
                            summary = board.summary(state.clock_ms(), state.idle_timeout_s)
                            summary["feed"] = state.status.as_dict()
                            await sse.send(orjson.dumps(summary).decode(), event="summary")
                    try:
                        update = await asyncio.wait_for(
                            queue.get(), timeout=max(0.05, next_summary - time.monotonic())
                        )
                    except TimeoutError:
                        continue
                    if update is None:
                        return sse  # dropped (too far behind) or shutting down
                    if game_id is None:
                        continue  # the index page draws summaries only
                    if update["type"] == "reload" or update.get("game_id") == game_id:
                        await sse.send(orjson.dumps(update).decode(), event=update["type"])
                return sse
        finally:
            state.hub.unsubscribe(queue)

    async def events(request: web.Request) -> web.StreamResponse:
        return await stream(request, None)

    async def match_events(request: web.Request) -> web.StreamResponse:
        game_id = _game_id(request)
        if game_id is None or game_id not in state.board.matches:
            return _json({"error": "no such match"}, status=404)
        return await stream(request, game_id)

    async def api_action(request: web.Request) -> web.Response:
        game_id = _game_id(request)
        board = state.board.matches.get(game_id) if game_id is not None else None
        try:
            action = board.action(int(request.match_info["action_id"])) if board else None
        except ValueError:
            action = None
        if action is None:
            return _json({"error": "no such action"}, status=404)
        return _json(action)

    async def health(_: web.Request) -> web.Response:
        return _json({"ok": True, "feed": state.status.as_dict()})

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kinds = {".js": "text/javascript", ".css": "text/css"}
        suffix = name[name.rfind(".") :] if "." in name else ""
        entry = _STATIC / name
        if "/" in name or suffix not in kinds or not entry.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=entry.read_text(encoding="utf-8"), content_type=kinds[suffix])

    app.router.add_get("/", index)
    app.router.add_get("/matches/{game_id}", match_page)
    app.router.add_get("/api/matches", api_matches)
    app.router.add_get("/api/matches/{game_id}", api_match)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/matches/{game_id}/events", match_events)
    app.router.add_get("/api/matches/{game_id}/actions/{action_id}", api_action)
    app.router.add_get("/health", health)
    app.router.add_get("/static/{name}", static)
    return app
