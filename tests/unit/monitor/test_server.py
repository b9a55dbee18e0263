"""The monitor's web server in-process (aiohttp's test server): routes, SSE, auth, refusals."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pitchcast.exceptions import ConfigurationError
from pitchcast.monitor import server
from pitchcast.monitor.board import Board
from pitchcast.monitor.feed import FeedStatus, Hub
from pitchcast.monitor.server import MonitorState, build_app, check_binding
from tests.support.monitor_records import GAME, action_record, line_record, start_record

SECRET = "s3cret-monitor-pw"


def _state(password: str | None = None) -> MonitorState:
    board = Board()
    board.on_event(start_record(home="<script>alert(1)</script>"), 0)
    board.on_event(action_record(1), 1_000)
    board.on_line(line_record(1, 0), 2_000)
    return MonitorState(
        board, Hub(), FeedStatus(connected=True), idle_timeout_s=30, password=password,
        clock_ms=lambda: 3_000,
    )  # fmt: skip


@pytest.fixture
def state() -> MonitorState:
    return _state()


@pytest.fixture
async def client(state: MonitorState) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(state))) as test_client:
        yield test_client


async def test_pages_and_snapshots(client: TestClient) -> None:
    index = await client.get("/")
    assert index.status == 200
    assert "pitchcast monitor" in await index.text()
    assert "script-src 'self'" in index.headers["Content-Security-Policy"]
    page = await client.get(f"/matches/{GAME}")
    assert page.status == 200
    snapshot = await (await client.get(f"/api/matches/{GAME}")).json()
    # The name is data, carried as it was: the page sets it as text (the browser test).
    assert snapshot["summary"]["home"] == "<script>alert(1)</script>"
    assert snapshot["lines"]["CASTER"][0]["latency_ms"] == 1_000
    action = await (await client.get(f"/api/matches/{GAME}/actions/1")).json()
    assert action["player"] == "이강인"


async def test_an_unknown_game_is_a_404_page(client: TestClient) -> None:
    page = await client.get("/matches/999")
    assert page.status == 404
    assert "No live match" in await page.text()
    assert (await client.get("/matches/not-a-number")).status == 404
    # What the address carries is never echoed into the page.
    hostile = await client.get("/matches/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert hostile.status == 404
    assert "alert(1)" not in await hostile.text()
    assert (await client.get("/api/matches/999")).status == 404
    assert (await client.get("/api/matches/999/events")).status == 404
    assert (await client.get(f"/api/matches/{GAME}/actions/777")).status == 404


async def test_a_match_not_seen_yet_is_a_page_that_reloads_until_it_appears(
    client: TestClient,
) -> None:
    """The demo prints the match's address before the monitor has read its match_start
    (it reads on its own); the page opened then was a dead end ("No live match") until
    reloaded by hand (seen in CI: the demo test got the 404). A well-formed game id's
    404 page reloads itself; a malformed one does not."""
    page = await client.get("/matches/999")
    text = await page.text()
    assert page.status == 404
    assert '<meta http-equiv="refresh" content="3">' in text
    assert "reloads" in text
    malformed = await (await client.get("/matches/not-a-number")).text()
    assert "refresh" not in malformed


def test_the_pages_set_data_only_as_text() -> None:
    """Names and texts reach the page only through textContent and attribute values (the
    browser test shows a name with markup as text): no script parses a string as markup,
    and no page runs inline script (the Content-Security-Policy forbids it too)."""
    static = Path(server.__file__).parent / "static"
    scripts = {p.name: p.read_text(encoding="utf-8") for p in static.glob("*.js")}
    assert set(scripts) == {"index.js", "match.js"}
    for name, text in scripts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                     "eval(", "Function(", "DOMParser", "createContextualFragment"):  # fmt: skip
            assert sink not in text, f"{name} uses {sink}"
        assert "textContent" in text
    for page in static.glob("*.html"):
        tags = re.findall(r"<script\b[^>]*>(.*?)</script>", page.read_text(), re.DOTALL)
        assert tags and all(body.strip() == "" for body in tags), page.name


async def test_static_files_only_from_the_folder(client: TestClient) -> None:
    assert (await client.get("/static/match.js")).status == 200
    assert (await client.get("/static/..%2Fserver.py")).status == 404
    assert (await client.get("/static/index.html")).status == 404


async def _read_events(client: TestClient, path: str, wanted: int) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    async with client.get(path) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = ""
        while len(events) < wanted:
            raw = await asyncio.wait_for(response.content.readline(), timeout=5)
            text = raw.decode().strip()
            if text.startswith("event:"):
                name = text.split(":", 1)[1].strip()
            elif text.startswith("data:"):
                events.append((name, orjson.loads(text.split(":", 1)[1])))
    return events


async def test_a_match_stream_sends_summaries_and_its_own_updates(
    client: TestClient, state: MonitorState
) -> None:
    async def publish_soon() -> None:
        await asyncio.sleep(0.2)
        state.hub.publish(state.board.on_event(action_record(2), 2_500))
        # Another match's update never reaches this page.
        state.hub.publish([{"type": "line", "game_id": GAME + 1, "line": {}}])

    task = asyncio.create_task(publish_soon())
    events = await _read_events(client, f"/api/matches/{GAME}/events", 2)
    await task
    assert events[0][0] == "summary"
    assert events[0][1]["score"] == {"home": 0, "away": 0}
    assert events[1][0] == "action"
    assert events[1][1]["action"]["action_id"] == 2


async def test_the_index_stream_sends_summaries(client: TestClient) -> None:
    (event,) = await _read_events(client, "/api/events", 1)
    assert event[0] == "summary"
    assert [m["game_id"] for m in event[1]["matches"]] == [GAME]


async def test_a_page_too_far_behind_is_dropped_not_waited_for() -> None:
    hub = Hub()
    slow = hub.subscribe()
    hub.publish([{"type": "line", "game_id": 1}] * 5000)
    assert hub.dropped_pages == 1
    assert slow.get_nowait() is None  # its stream ends; the browser reconnects


async def test_a_password_guards_every_route_but_health() -> None:
    state = _state(password=SECRET)
    async with TestClient(TestServer(build_app(state))) as client:
        refused = await client.get("/api/matches")
        assert refused.status == 401
        assert "Basic" in refused.headers["WWW-Authenticate"]
        wrong = base64.b64encode(b"booth:nope").decode()
        assert (await client.get("/", headers={"Authorization": f"Basic {wrong}"})).status == 401
        right = base64.b64encode(f"booth:{SECRET}".encode()).decode()
        ok = await client.get("/api/matches", headers={"Authorization": f"Basic {right}"})
        assert ok.status == 200
        assert SECRET not in await ok.text()
        assert (await client.get("/health")).status == 200


def test_binding_beyond_loopback_needs_a_password() -> None:
    check_binding("127.0.0.1", None)
    check_binding("::1", None)
    check_binding("localhost", None)
    check_binding("0.0.0.0", SECRET)
    with pytest.raises(ConfigurationError, match="PITCHCAST_MONITOR_PASSWORD") as raised:
        check_binding("0.0.0.0", None)
    assert SECRET not in str(raised.value)
