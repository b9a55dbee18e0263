"""The monitor's process: a clear error when it cannot listen, and a password that never
shows (no service: the broker address is a closed port, so the reader only retries)."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket

import httpx
import pytest

from pitchcast.exceptions import ConfigurationError
from pitchcast.monitor.command import serve_monitor
from pitchcast.settings import load_settings
from tests.support.pipeline import free_port

SECRET = "booth-pw-7f3a91"
NO_BROKER = "127.0.0.1:1"


async def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = load_settings(kafka_bootstrap_servers=NO_BROKER)
        with pytest.raises(ConfigurationError, match=f"cannot listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(serve_monitor(settings, port=port, echo=lambda _: None), 10)


async def test_binding_beyond_loopback_without_a_password_is_refused() -> None:
    settings = load_settings(kafka_bootstrap_servers=NO_BROKER, monitor_host="0.0.0.0")
    with pytest.raises(ConfigurationError, match="PITCHCAST_MONITOR_PASSWORD"):
        await serve_monitor(settings, port=free_port(), echo=lambda _: None)


async def test_the_password_is_never_printed_logged_or_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    settings = load_settings(kafka_bootstrap_servers=NO_BROKER, monitor_password=SECRET)
    printed: list[str] = []
    started, stop = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(
        serve_monitor(settings, port=port, echo=printed.append, started=started, stop=stop)
    )
    await asyncio.wait_for(started.wait(), 10)
    url = f"http://127.0.0.1:{port}"
    right = {"Authorization": "Basic " + base64.b64encode(f"x:{SECRET}".encode()).decode()}
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        assert (await client.get("/")).status_code == 401
        bodies = [(await client.get(path, headers=right)).text for path in ("/", "/api/matches")]
        bodies.append((await client.get("/health")).text)
        # The reader has met the closed port by now (it says so in the log and on /health).
        for _ in range(50):
            if "cannot read the topics" in caplog.text:
                break
            await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(serving, 10)
    assert printed == [f"pitchcast monitor: {url}/ (basic auth)"]
    assert "cannot read the topics" in caplog.text
    for shown in [*printed, caplog.text, *bodies]:
        assert SECRET not in shown
