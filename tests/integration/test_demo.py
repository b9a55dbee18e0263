"""``pitchcast demo --monitor`` on a real worker, broker and Redis: the monitor starts
with the demo, prints the match's address, and shows the match while it is commented.

The demo's own stack start is left out (the test's broker and Redis are used, as
``--no-stack`` does); the rest is the demo's code path after its worker is ready. At
``story`` density, the default, so the page also gets the kick-off and half-time lines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from pitchcast.demo import _replay_and_tail
from pitchcast.settings import load_settings
from pitchcast.streams.match_csv import read_match_info
from pitchcast.streams.replay import ReplayMessage, plan_replay
from tests.support.pipeline import DATA, WorkerProcess, free_port

pytestmark = pytest.mark.integration

GAME_ID = 7_700_101
ACTIONS = 45  # the last batch is open when the half ends: period_end closes it
PERSONAS = ("CASTER", "FRIEND")


def _plan() -> list[ReplayMessage]:
    """The first actions of the first half, then the half's and the match's end."""
    info = read_match_info(DATA / "match_info.csv")[1]
    full = plan_replay(DATA / "events_metrica_1.csv", match_info=info, game_id=GAME_ID)
    head = full[: ACTIONS + 1]
    at = head[-1].at_s
    ends = [
        {"game_id": GAME_ID, "control": "period_end", "period_id": 1},
        {"game_id": GAME_ID, "control": "match_end", "period_id": 1},
    ]
    return [*head, *(ReplayMessage(GAME_ID, at, value) for value in ends)]


async def test_demo_monitor_shows_the_match_while_it_is_commented(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {**pipeline_env, "PITCHCAST_PERSONAS": ",".join(PERSONAS), "PITCHCAST_DENSITY": "story"}
    start_worker(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    settings = load_settings(monitor_port=port)
    printed: list[str] = []
    demo = asyncio.create_task(
        _replay_and_tail(
            settings, _plan(), GAME_ID, None, printed.append, len(PERSONAS), monitor=True
        )
    )
    try:
        deadline = time.monotonic() + 120
        while "the match is over; the monitor stays up until Ctrl-C" not in printed:
            assert not demo.done(), demo.exception() or printed
            assert time.monotonic() < deadline, printed
            await asyncio.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        assert f"watch it: {url}/matches/{GAME_ID}" in printed
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            # The monitor reads on its own, behind the demo's tail: its page for a match
            # not read yet reloads itself (test_server.py); here, wait until it is read.
            for _ in range(100):
                page = await client.get(f"/matches/{GAME_ID}")
                if page.status_code != 404:
                    break
                await asyncio.sleep(0.2)
            assert page.status_code == 200
            # Then for it to hold the match's last lines.
            for _ in range(100):
                snapshot = (await client.get(f"/api/matches/{GAME_ID}")).json()
                lines = snapshot["lines"]
                if all(any(ln["line_index"] == 101 for ln in lines.get(p, [])) for p in PERSONAS):
                    break
                await asyncio.sleep(0.2)
        for persona in PERSONAS:
            shown = lines[persona]
            # Kick-off before the first action, half-time after the last: control lines.
            moments = {ln["line_index"]: ln["source"] for ln in shown if ln["line_index"] >= 100}
            assert moments == {100: "control", 101: "control"}, persona
            # At story density some actions are silent: no empty line stands for them.
            assert all(ln["text"].strip() for ln in shown)
            told = [ln for ln in shown if ln["source"] != "control"]
            assert 0 < len(told) < ACTIONS
            assert all(ln["latency_ms"] is not None for ln in told)
            figures = snapshot["summary"]["personas"][persona]
            assert figures["template_share"] == 1.0  # the template backend: every line
        # The batch boundaries say how many of their actions have a line of their own.
        batches = [b for bs in snapshot["batches"].values() for b in bs]
        assert sum(b["items"] for b in batches) == ACTIONS * len(PERSONAS)
        assert sum(b["shown"] for b in batches) < ACTIONS * len(PERSONAS)
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
