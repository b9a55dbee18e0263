"""A batch half written by one owner and finished by the next, with the real Redis store."""

from __future__ import annotations

import asyncio
import time

import pytest

from pitchcast.cache import RedisStore
from tests.support.agents import Harness, ScriptedRowsBackend, handoff_records

pytestmark = pytest.mark.integration


async def _wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("crash_after", [1, 5, 9])
async def test_the_next_owner_reuses_published_lines_and_asks_only_for_the_rest(
    redis_url: str,
    unique_name,
    crash_after: int,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 8.3: no line id carries two texts, and the record agrees with the lines shown."""
    namespace = unique_name("handover")
    records = handoff_records(5, 10)  # 10 actions, the close, then match_end's nothing
    first = Harness.build(ScriptedRowsBackend(), llm_mode="live")
    first.store = RedisStore(redis_url, namespace=namespace)
    first.__post_init__()
    await first.feed(5, records[:crash_after])
    await _wait(lambda: len(first.lines.sent) == crash_after)
    await first.agent.revoke()  # the rebalance (or a crash): nothing acked
    assert first.acked == [] and first.commentary.sent == []

    backend = ScriptedRowsBackend()
    second = Harness.build(backend, llm_mode="live")
    second.store = RedisStore(redis_url, namespace=namespace)
    second.__post_init__()
    await second.feed(5, records)  # redelivered from the committed offset (the start)
    await _wait(lambda: len(second.commentary.sent) == 1)
    asked = [row for _g, _b, rows in backend.calls for row in rows]
    assert asked == list(range(crash_after + 1, 11)), "published lines are not asked again"

    texts: dict[tuple[str, int], set[str]] = {}
    for sent in first.lines.sent + second.lines.sent:
        line = sent.value
        texts.setdefault((line["commentary_id"], line["line_index"]), set()).add(
            line["item"]["description"]
        )
    assert len(texts) == 10 and all(len(t) == 1 for t in texts.values())
    assert len(second.lines.sent) == 10 - crash_after, "published lines are not sent again"
    (record,) = [s.value for s in second.commentary.sent]
    shown = [texts[(record["commentary_id"], i)].pop() for i in range(10)]
    assert [item["description"] for item in record["items"]] == shown
    assert second.metrics.get("lines_restored") == crash_after
    for store in (first.store, second.store):
        await store.aclose()
