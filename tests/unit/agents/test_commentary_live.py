"""The commentary agent in process: live lanes, ordering, acks, isolation between matches."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest

from tests.support.agents import LLM_TAG, Harness, ScriptedRowsBackend, handoff_records


async def _wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_live_lines_then_records_then_acks() -> None:
    """Lines leave in order as actions arrive; a batch's records are acked after its record."""
    harness = Harness.build(ScriptedRowsBackend(), personas="CASTER,FRIEND")
    records = handoff_records(7, 25)
    await harness.feed(7, records)
    await _wait(lambda: len(harness.commentary.sent) == 6)  # 10, 10, 5 x two personas
    for persona in ("CASTER", "FRIEND"):
        mine = [s.value for s in harness.lines.sent if s.value["persona"] == persona]
        order = [(v["batch_index"], v["line_index"]) for v in mine]
        assert order == sorted(order) and len(order) == len(set(order)) == 25
        # Every line the "LLM" wrote says so; the template rewrites a line of a burst that
        # repeats an earlier one (pitchcast.checks.bursts), and the line says that too.
        tagged = [v["item"]["description"].endswith(LLM_TAG) for v in mine]
        assert tagged == [v["source"] == "llm" for v in mine]
        assert sum(v["source"] == "llm" for v in mine) >= 20
        records_of = [s.value for s in harness.commentary.sent if s.value["persona"] == persona]
        for record in records_of:
            published = [v["item"] for v in mine if v["commentary_id"] == record["commentary_id"]]
            assert record["items"] == published  # the record is exactly the lines shown
            assert record["source"] in ("llm", "mixed")
    assert sorted(offset for _, offset in harness.acked) == list(range(len(records)))


@pytest.mark.parametrize("forks", [1, 4])
async def test_each_burst_asks_only_for_what_arrived_since_the_last_one(forks: int) -> None:
    """One burst per arrival burst, never across a batch boundary, rows in order; with
    forks, one request per row of the burst, else one request for the burst."""
    backend = ScriptedRowsBackend(delay_s=0.05)
    harness = Harness.build(backend, llm_live_forks=forks)
    records = handoff_records(8, 20)
    for record in records:  # actions arrive one every 20 ms, faster than an answer
        await harness.feed(8, [record])
        await asyncio.sleep(0.02)
    await _wait(lambda: len(harness.commentary.sent) == 2)
    by_batch: dict[int, list[int]] = defaultdict(list)
    for _game, batch_index, rows in backend.bursts:
        assert list(rows) == list(range(rows[0], rows[-1] + 1))
        by_batch[batch_index].extend(rows)
    assert by_batch == {0: list(range(1, 11)), 1: list(range(1, 11))}
    assert len(backend.bursts) < 20, "rows that arrived together share a burst"
    assert len(backend.calls) == (20 if forks > 1 else len(backend.bursts))


async def test_batch_mode_waits_for_the_window_and_asks_once() -> None:
    """PITCHCAST_LLM_MODE=batch: one request per closed batch, lines after the close."""
    backend = ScriptedRowsBackend()
    harness = Harness.build(backend, llm_mode="batch")
    await harness.feed(9, handoff_records(9, 10))
    await _wait(lambda: len(harness.commentary.sent) == 1)
    assert backend.calls == [] and backend.batch_calls == [(9, 0)]
    (record,) = [s.value for s in harness.commentary.sent]
    assert len(record["items"]) == 10 and len(harness.lines.sent) == 10


@pytest.mark.parametrize(("mode", "forks"), [("live", 1), ("live", 4), ("batch", 1)])
async def test_a_hanging_match_never_delays_the_others(mode: str, forks: int) -> None:
    """Issue 8.2: one match's LLM calls all hang; five others keep their latency. With
    forks (issue 15), the hanging match's forks hold slots too, and still no other's."""
    backend = ScriptedRowsBackend(delay_s=0.01, hang_games={6})
    harness = Harness.build(
        backend, llm_mode=mode, llm_max_in_flight=2, llm_live_deadline_s=4.0,
        llm_batch_deadline_s=4.0, llm_live_forks=forks,
    )  # fmt: skip
    streams = {game: handoff_records(game, 20) for game in range(1, 7)}
    fed: dict[tuple[int, int], float] = {}
    loop = asyncio.get_running_loop()
    for i in range(max(len(r) for r in streams.values())):
        for game, records in streams.items():
            if i < len(records):
                fed[(game, i)] = loop.time()
                await harness.feed(game, [records[i]])
        await asyncio.sleep(0.005)
    healthy = {1, 2, 3, 4, 5}
    await _wait(lambda: sum(s.value["game_id"] in healthy for s in harness.commentary.sent) == 10)
    done_at = loop.time()
    first_fed = min(fed.values())
    # Well before the hanging match's deadline (4 s): they never waited for its slots.
    # (The margin is wide: feeding alone takes ~0.3 s, and a loaded machine took 2.04 s.)
    assert not any(s.value["game_id"] == 6 for s in harness.commentary.sent)
    assert done_at - first_fed < 3.0, "the healthy matches finished long before the deadline"
    # The hanging match is not lost: the template writes it at its deadline.
    await _wait(lambda: len(harness.commentary.sent) == 12, timeout=15)
    stuck = [s.value for s in harness.commentary.sent if s.value["game_id"] == 6]
    assert {r["source"] for r in stuck} == {"template"}
    # A burst's forks timing out together are one failure for the breaker, as one
    # request was: the hanging match does not open it for everyone.
    assert {r["fallback_reason"] for r in stuck} == {"deadline"}


async def _feed_at(harness: Harness, game: int, records: list[bytes], first_offset: int) -> None:
    for i, value in enumerate(records):
        offset = first_offset + i

        async def ack(offset: int = offset) -> None:
            harness.acked.append((game, offset))

        await harness.agent.submit(
            key=str(game).encode(), value=value, partition=0, offset=offset, ack=ack
        )


async def test_acks_never_pass_an_earlier_unpublished_batch_of_the_partition() -> None:
    """Review F1: match B published first must not let the commit pass match A's records."""
    backend = ScriptedRowsBackend(hang_games={1})
    harness = Harness.build(backend, llm_live_deadline_s=1.5)
    a, b = handoff_records(1, 10), handoff_records(2, 10)
    await _feed_at(harness, 1, a, 0)
    await _feed_at(harness, 2, b, len(a))
    await _wait(lambda: any(s.value["game_id"] == 2 for s in harness.commentary.sent))
    assert harness.acked == [], "B is published, but A's records come first on the partition"
    await _wait(lambda: len(harness.commentary.sent) == 2, timeout=10)
    await _wait(lambda: len(harness.acked) == len(a) + len(b))
    assert [offset for _, offset in harness.acked] == list(range(len(a) + len(b)))


async def test_a_desk_idle_for_long_still_writes_the_next_batch(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Review F2: lanes never give up on their own; only an empty desk is dropped."""
    import pitchcast.agents.commentary as commentary_agent

    monkeypatch.setattr(commentary_agent, "_DESK_IDLE_S", 0.3)
    harness = Harness.build(ScriptedRowsBackend())
    records = handoff_records(3, 20)
    first = next(i for i, r in enumerate(records) if b'"pitchcast.batch.v2"' in r) + 1
    await _feed_at(harness, 3, records[:first], 0)
    await _wait(lambda: len(harness.commentary.sent) == 1)
    await asyncio.sleep(0.8)  # longer than the idle time, with nothing pending
    await _feed_at(harness, 3, records[first:], first)
    await _wait(lambda: len(harness.commentary.sent) == 2)


async def test_a_line_that_cannot_be_published_stops_the_worker_unacked() -> None:
    """Review F4: a line is part of the contract; its send failing is not swallowed."""
    from pitchcast.exceptions import DeliveryFailed

    crashed: list[BaseException] = []
    harness = Harness.build(ScriptedRowsBackend(), delivery_timeout_s=0.2)

    async def crash(exc: BaseException) -> None:
        crashed.append(exc)

    harness.agent._crash = crash
    sends = 0
    original = harness.lines.send

    async def flaky(**kwargs):  # type: ignore[no-untyped-def]
        nonlocal sends
        sends += 1
        if sends >= 3:
            raise ConnectionError("broker away")
        return await original(**kwargs)

    harness.lines.send = flaky  # type: ignore[method-assign]
    await _feed_at(harness, 4, handoff_records(4, 10), 0)
    await _wait(lambda: bool(crashed))
    assert isinstance(crashed[0], DeliveryFailed)
    assert harness.acked == [] and harness.commentary.sent == []


async def test_a_record_send_that_outlives_a_revoke_neither_acks_nor_stops_the_worker() -> None:
    """A revoke drops the partition's ack order while the publisher is inside a record
    send that completes through the cancellation (a send awaited to its ack): the
    publisher must let the records go (the next owner reads them again), not crash on
    the order that is gone (a KeyError once stopped a worker in the scale-out test)."""
    harness = Harness.build(ScriptedRowsBackend(), personas="CASTER")
    inside, finish = asyncio.Event(), asyncio.Event()
    publisher = harness.agent.publisher
    real_send = publisher.send_record

    async def send_through_cancel(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        try:
            await finish.wait()
        except asyncio.CancelledError:
            await finish.wait()  # the send finishes anyway; the cancel is swallowed
        return await real_send(*args, **kwargs)

    publisher.send_record = send_through_cancel  # type: ignore[method-assign]
    crashes: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    harness.agent._crash = crash
    await harness.feed(9, handoff_records(9, 10))
    await _wait(inside.is_set)
    revoke = asyncio.create_task(harness.agent.revoke({0}, timeout_s=0.5))
    await asyncio.sleep(0.05)
    finish.set()
    assert await revoke == 1
    await asyncio.sleep(0.1)
    assert crashes == [] and harness.metrics.get("worker_stops") == 0
    assert harness.acked == [], "a revoked partition's records are not acked"


async def test_a_timeout_out_of_a_record_send_stops_the_worker_unacked() -> None:
    """The publisher's idle wait ends in TimeoutError; one from publishing a record is a
    failure like any other (the worker stops), not an idle desk dropped without a word
    (its records were then never acked, holding every later ack of the partition)."""
    crashed: list[BaseException] = []
    harness = Harness.build(ScriptedRowsBackend(), personas="CASTER")

    async def crash(exc: BaseException) -> None:
        crashed.append(exc)

    harness.agent._crash = crash

    async def timing_out(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise TimeoutError("a deadline inside the publisher")

    harness.agent.publisher.send_record = timing_out  # type: ignore[method-assign]
    await harness.feed(5, handoff_records(5, 10))
    await _wait(lambda: bool(crashed), timeout=3.0)
    assert isinstance(crashed[0], TimeoutError)
    assert harness.acked == [] and harness.metrics.get("worker_stops") == 1
