"""Live lanes with forks against a fake LLM server that counts requests in flight per lane."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.openai import OpenAIBackend
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.desk import Desk
from pitchcast.commentary.lanes import Lanes
from pitchcast.commentary.service import AlreadyPublished, CommentaryService
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import BatchAction, BatchOpening
from pitchcast.settings import load_settings
from pitchcast.story import new_story
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.commentary_batches import korean_batch
from tests.support.llm import config_for
from tests.support.memory_publisher import MemoryPublisher

pytestmark = pytest.mark.usefixtures("instant_retries")


class LaneCountingServer(FakeLLMServer):
    """The fake server, counting chat requests in flight per lane (match and persona)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.now: Counter[tuple[str, str]] = Counter()
        self.peak: Counter[tuple[str, str]] = Counter()

    async def _chat(self, request: Any, writer: asyncio.StreamWriter) -> bool:
        payload = json.loads(request.body)
        lane = (payload.get("user", ""), payload["messages"][0]["content"][:40])
        self.now[lane] += 1
        self.peak[lane] = max(self.peak[lane], self.now[lane])
        try:
            return await super()._chat(request, writer)
        finally:
            self.now[lane] -= 1


@pytest.fixture
def counting_server() -> Any:
    server = LaneCountingServer(ttft_s=0.05, tpot_s=0.003).start()
    yield server
    server.stop()


async def _run_lanes(server: LaneCountingServer, *, forks: int, games: int = 3) -> Any:
    settings = load_settings(llm_mode="live", llm_live_forks=forks, llm_max_in_flight=32)
    metrics = Metrics()
    backend = OpenAIBackend(config_for(server, model="fake"))
    writer = CommentaryService(
        backend, TemplateBackend(), RedisStore(enabled=False), metrics=metrics, max_in_flight=32
    )
    publisher = MemoryPublisher()
    lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
    tasks, works = [], []
    for game in range(games):
        batch = replace(korean_batch(10), game_id=900 + game, batch_index=0)
        desk = Desk(batch.game_id, b"7", 0)
        desk.next_to_publish = 0
        work = desk.work(0)
        opening = BatchOpening(batch.match_info, new_story(batch.match_info))
        for position, action in enumerate(batch.actions):  # a burst: all ten at once
            work.take_action(
                BatchAction(
                    game_id=batch.game_id, batch_index=0, position=position, action=action,
                    appended_ts_ms=0, opening=opening if position == 0 else None,
                )
            )  # fmt: skip
        work.take_close(batch)
        work.notify()
        works.append(work)
        tasks.append(asyncio.create_task(lanes.run(desk, "CASTER")))
    try:
        async with asyncio.timeout(20):
            while not all("CASTER" in w.results for w in works):
                await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await backend.aclose()
    return works, publisher, metrics


@pytest.mark.parametrize("forks", [1, 3])
async def test_a_lane_never_has_more_requests_in_flight_than_its_forks(
    counting_server: LaneCountingServer, forks: int
) -> None:
    """Three matches, a burst of ten rows each: per lane at most ``forks`` requests at
    once (and that many really run side by side); every line once, in order. (The fake
    server's lines of one burst often open alike: the template rewrites those.)"""
    works, publisher, metrics = await _run_lanes(counting_server, forks=forks)
    assert len(counting_server.peak) == 3
    assert set(counting_server.peak.values()) == {forks}
    assert counting_server.request_count == (30 if forks > 1 else 3)
    for work in works:
        result = work.results["CASTER"]
        assert not isinstance(result, AlreadyPublished)
        mine = [line for line in publisher.sent if line.game_id == work.game_id]
        assert [line.line_index for line in mine] == list(range(10))
    template_lines = sum(line.source == "template" for line in publisher.sent)
    assert template_lines == metrics.get("live_burst_repeats") < 30
    assert metrics.get("fallbacks") == metrics.get("fallbacks", reason="repeated_in_burst")
