"""Lanes at a density: the LLM is asked only for shown rows, only those become lines,
and the record keeps every action (the publisher seam alone, no Kafka or Redis)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import pytest

from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.openai import OpenAIBackend
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.density import decide
from pitchcast.commentary.desk import Desk
from pitchcast.commentary.lanes import Lanes
from pitchcast.commentary.service import AlreadyPublished, CommentaryService
from pitchcast.metrics import Metrics
from pitchcast.schemas.records import Batch, BatchAction, BatchOpening, commentary_id_for
from pitchcast.settings import load_settings
from pitchcast.story import new_story
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.agents import LLM_TAG, ScriptedRowsBackend
from tests.support.commentary_batches import sample_batches
from tests.support.llm import asked_rows, config_for
from tests.support.memory_publisher import MemoryPublisher


def _batch() -> Batch:
    # Sample match 3, batch 0: passes, receptions and carries (silent rows between shown).
    return sample_batches("events_metrica_3.csv", game_id=3)[0]


def _lanes(publisher: MemoryPublisher, backend: ScriptedRowsBackend, mode: str) -> Lanes:
    metrics = Metrics()
    writer = CommentaryService(
        backend, TemplateBackend(), RedisStore(enabled=False), metrics=metrics
    )
    settings = load_settings(llm_mode=mode, density="story", llm_backend="openai")
    return Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)


def _action(batch: Batch, position: int) -> BatchAction:
    opening = None
    if position == 0:
        opening = BatchOpening(batch.match_info, new_story(batch.match_info), ())
    return BatchAction(
        game_id=batch.game_id, batch_index=batch.batch_index, position=position,
        action=batch.actions[position], appended_ts_ms=position, opening=opening,
    )  # fmt: skip


async def test_live_lane_asks_only_for_shown_rows() -> None:
    batch = _batch()
    told = decide(batch.actions, "story")
    shown = [p for p, t in enumerate(told) if t.shown]
    assert 0 < len(shown) < len(batch.actions)
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    lanes = _lanes(publisher, backend, "live")
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    task = asyncio.create_task(lanes.write(desk, work, "CASTER"))
    for position in range(len(batch.actions)):  # one by one, as they arrive
        work.take_action(_action(batch, position))
        work.notify()
        await asyncio.sleep(0.01)
    work.take_close(batch)
    work.notify()
    result = await asyncio.wait_for(task, 5)
    assert not isinstance(result, AlreadyPublished)

    asked = [row for _, _, rows in backend.calls for row in rows]
    assert asked == [p + 1 for p in shown]  # each shown row once, no silent one
    # The match's first batch opens with the kick-off line (not an item of the record).
    assert [line.line_index for line in publisher.sent] == [100, *shown]
    assert publisher.sent[0].source == "control"
    assert all(line.item.description.endswith(LLM_TAG) for line in publisher.sent[1:])
    assert [i.action_id for i in result.items] == [a.action_id for a in batch.actions]
    for item, decision in zip(result.items, told, strict=True):
        assert (item.shown, item.told_with) == (decision.shown, decision.told_with)
        assert bool(item.description) is decision.shown
    assert result.source == "llm"  # silent items have no writer: not "mixed"


@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_a_restart_publishes_stored_shown_lines_and_never_a_silent_one(mode: str) -> None:
    batch = _batch()
    told = decide(batch.actions, "story")
    silent = next(p for p, t in enumerate(told) if not t.shown)
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    first = _lanes(publisher, backend, mode)
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    for position in range(len(batch.actions)):
        work.take_action(_action(batch, position))
    work.take_close(batch)
    await first.write(desk, work, "CASTER")
    # A new owner finds every line stored, the silent ones never published.
    cid = commentary_id_for(batch.game_id, batch.batch_index, "CASTER")
    assert publisher.lines[(cid, silent)][1] is False
    for key in publisher.lines:
        publisher.lines[key][1] = False  # as if no line had been published
    publisher.sent.clear()
    again = await _lanes(publisher, ScriptedRowsBackend(), mode).write(desk, work, "CASTER")
    assert not isinstance(again, AlreadyPublished)
    assert [line.line_index for line in publisher.sent] == [
        100,
        *(p for p, t in enumerate(told) if t.shown),
    ]
    stored = orjson.loads(publisher.lines[(cid, silent)][0])  # type: ignore[arg-type]
    assert stored["item"]["shown"] is False and stored["item"]["description"] == ""


async def test_batch_lane_asks_only_for_shown_rows() -> None:
    batch = _batch()
    told = decide(batch.actions, "story")
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    work.take_close(batch)
    result = await _lanes(publisher, backend, "batch").write(desk, work, "CASTER")
    assert not isinstance(result, AlreadyPublished)
    shown = [p for p, t in enumerate(told) if t.shown]
    assert backend.batch_rows == [tuple(p + 1 for p in shown)]
    assert [line.line_index for line in publisher.sent] == [100, *shown]
    assert [(i.shown, i.told_with) for i in result.items] == [(t.shown, t.told_with) for t in told]


async def test_every_density_tells_no_moments_and_asks_every_row() -> None:
    batch = _batch()
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    metrics = Metrics()
    writer = CommentaryService(
        backend, TemplateBackend(), RedisStore(enabled=False), metrics=metrics
    )
    settings = load_settings(llm_mode="batch", density="every", llm_backend="openai")
    lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    work.take_close(replace(batch, close_reason="period_end"))
    await lanes.write(desk, work, "CASTER")
    assert backend.batch_rows == [None]
    assert [line.line_index for line in publisher.sent] == list(range(len(batch.actions)))


async def test_a_batch_closed_by_period_end_is_followed_by_half_time_once() -> None:
    batch = replace(_batch(), close_reason="period_end")
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    work.take_close(batch)
    await _lanes(publisher, backend, "batch").write(desk, work, "CASTER")
    assert publisher.sent[-1].line_index == 101 and publisher.sent[-1].source == "control"
    assert "전반" in publisher.sent[-1].item.description
    # A new owner finds the moment lines published: it publishes neither again.
    sent = len(publisher.sent)
    await _lanes(publisher, ScriptedRowsBackend(), "batch").write(desk, work, "CASTER")
    assert publisher.sent[sent:] == []


@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_key_density_asks_nothing_for_a_batch_without_key_events(mode: str) -> None:
    batch = _batch()
    assert not any(t.shown for t in decide(batch.actions, "key"))  # a build-up: no key event
    publisher, backend = MemoryPublisher(), ScriptedRowsBackend()
    metrics = Metrics()
    writer = CommentaryService(
        backend, TemplateBackend(), RedisStore(enabled=False), metrics=metrics
    )
    settings = load_settings(llm_mode=mode, density="key", llm_backend="openai")
    lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    for position in range(len(batch.actions)):
        work.take_action(_action(batch, position))
    work.take_close(batch)
    result = await lanes.write(desk, work, "CASTER")
    assert not isinstance(result, AlreadyPublished)
    assert backend.calls == [] and backend.batch_calls == []
    assert [line.source for line in publisher.sent] == ["control"]  # the kick-off only
    assert [i.shown for i in result.items] == [False] * len(batch.actions)
    assert all(i.told_with is None for i in result.items)
    assert result.source == "llm" and result.fallback_reason is None


async def test_a_backing_friend_s_half_time_line_takes_its_team_s_side() -> None:
    """PITCHCAST_FRIEND_SUPPORTS reaches the moment lines: the half-time line of a FRIEND
    backing sample match 3's away team (id 32) is its own, with a standing tone."""
    batch = replace(_batch(), close_reason="period_end")
    publisher = MemoryPublisher()
    metrics = Metrics()
    writer = CommentaryService(
        ScriptedRowsBackend(), TemplateBackend(), RedisStore(enabled=False), metrics=metrics
    )
    settings = load_settings(llm_mode="batch", density="story", friend_supports="32")
    lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
    desk = Desk(batch.game_id, b"1", 0)
    work = desk.work(batch.batch_index)
    work.take_close(batch)
    await lanes.write(desk, work, "FRIEND")
    half_time = publisher.sent[-1]
    assert half_time.line_index == 101 and half_time.source == "control"
    assert half_time.item.tone in ("excited", "tense", "disappointed"), half_time.item


def _corner_and_shot_batch() -> Batch:
    # Sample match 3, batch 68: a corner (row 3) and a shot (row 6) among a clearance, a
    # throw-in restart, duels, a reception and a recovery.
    return sample_batches("events_metrica_3.csv", game_id=3)[68]


@pytest.mark.usefixtures("instant_retries")
@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_key_density_asks_the_real_llm_backend_only_for_key_rows(
    fake_llm: FakeLLMServer, mode: str
) -> None:
    """Issue 16, `key` with the OpenAI backend against the fake LLM: a batch with a corner
    and a shot among routine play asks only for those two rows (live: as they arrive),
    only they become lines (the LLM's), and the record keeps every action, the others
    silent."""
    batch = _corner_and_shot_batch()
    told = decide(batch.actions, "key", batch.story)
    key_rows = [p for p, t in enumerate(told) if t.shown]
    assert [batch.actions[p].type_name for p in key_rows] == ["Pass_Corner", "Shot"]
    metrics = Metrics()
    backend = OpenAIBackend(config_for(fake_llm))
    writer = CommentaryService(
        backend, TemplateBackend(), RedisStore(enabled=False), metrics=metrics
    )
    settings = load_settings(llm_mode=mode, density="key", llm_backend="openai")
    publisher = MemoryPublisher()
    lanes = Lanes(settings=settings, writer=writer, publisher=publisher, metrics=metrics)
    desk = Desk(batch.game_id, b"3", 0)
    work = desk.work(batch.batch_index)
    try:
        task = asyncio.create_task(lanes.write(desk, work, "CASTER"))
        opening = BatchOpening(batch.match_info, batch.story, ())
        for position, action in enumerate(batch.actions):  # one by one, as they arrive
            work.take_action(
                BatchAction(
                    game_id=batch.game_id, batch_index=batch.batch_index, position=position,
                    action=action, appended_ts_ms=position,
                    opening=opening if position == 0 else None,
                )
            )  # fmt: skip
            work.notify()
            await asyncio.sleep(0.01)
        work.take_close(batch)
        work.notify()
        result = await asyncio.wait_for(task, 10)
    finally:
        await backend.aclose()
    assert not isinstance(result, AlreadyPublished)

    # Each key row asked for once (live: one request a row; batch: one for both).
    assert asked_rows(fake_llm) == [(p + 1, batch.actions[p].type_name) for p in key_rows]
    assert fake_llm.request_count == (len(key_rows) if mode == "live" else 1)
    assert [line.line_index for line in publisher.sent] == key_rows
    assert {line.source for line in publisher.sent} == {"llm"}
    assert [i.action_id for i in result.items] == [a.action_id for a in batch.actions]
    for item, decision in zip(result.items, told, strict=True):
        assert (item.shown, item.told_with) == (decision.shown, decision.told_with)
        assert bool(item.description) is decision.shown
    assert result.source == "llm" and result.fallback_reason is None
