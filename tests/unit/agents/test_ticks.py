"""Idle ticks: which matches get a tick, and how often."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pitchcast.agents.ticks import IdleTicker
from pitchcast.metrics import Metrics
from pitchcast.streams.batching import MatchState
from tests.support.commentary_batches import sample_actions


def _state(game_id: int, offset: int | None, *, ended: bool = False) -> MatchState:
    action = replace(sample_actions()[0], game_id=game_id)
    opened = [action] if offset is not None else []
    return MatchState(game_id=game_id, open=opened, open_offset=offset, ended=ended)


class _Topic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, *, key: bytes | None, value: bytes, **_: Any) -> Any:
        self.sent.append((key, value))

        async def acked() -> None:
            return None

        return acked()


def test_an_open_batch_is_due_after_sitting_unchanged_for_the_timeout() -> None:
    """Only the worker's clock counts; empty and ended matches never tick."""
    states = {b"1": _state(1, 7), b"3": _state(3, None), b"4": _state(4, 9, ended=True)}
    ticker = IdleTicker(
        read_states=lambda: list(states.items()), events_topic=None, idle_timeout_s=30.0,
        metrics=Metrics(),
    )  # fmt: skip
    assert ticker.due(now=100.0) == []  # first sight: counting starts
    assert ticker.due(now=129.9) == []
    assert ticker.due(now=130.0) == [(b"1", 1, 7)]
    states[b"1"] = _state(1, 8)  # an action joined: counting starts again
    assert ticker.due(now=131.0) == []
    assert ticker.due(now=160.9) == []
    assert ticker.due(now=161.0) == [(b"1", 1, 8)]


async def test_ticks_name_the_newest_action_and_repeat_every_half_timeout() -> None:
    """A written tick carries after_offset; it is not repeated before half a timeout."""
    clock = [100.0]
    topic = _Topic()
    ticker = IdleTicker(
        read_states=lambda: [(b"1", _state(1, 7))], events_topic=topic, idle_timeout_s=30.0,
        metrics=Metrics(), clock=lambda: clock[0], wall_clock=lambda: 5_000.0,
    )  # fmt: skip
    assert await ticker.tick() == 0
    clock[0] = 130.0
    assert await ticker.tick() == 1
    assert b'"after_offset":7' in topic.sent[0][1]
    clock[0] = 140.0
    assert await ticker.tick() == 0
    clock[0] = 145.0
    assert await ticker.tick() == 1


async def test_a_tick_that_cannot_be_sent_is_tried_again_not_fatal() -> None:
    """The broker being away must not crash the worker through its timer."""

    class _Down(_Topic):
        async def send(self, **_: Any) -> Any:
            raise ConnectionError("broker away")

    clock = [100.0]
    ticker = IdleTicker(
        read_states=lambda: [(b"1", _state(1, 7))], events_topic=_Down(), idle_timeout_s=30.0,
        metrics=Metrics(), clock=lambda: clock[0],
    )  # fmt: skip
    await ticker.tick()
    clock[0] = 130.0
    assert await ticker.tick() == 0
    assert ticker.due(now=131.0) == [(b"1", 1, 7)], "still due: it will be tried again"
