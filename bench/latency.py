"""Added latency: last action of a batch produced -> its commentary published.

Replays N matches (interleaved) at a chosen pace into a real broker while a
``pitchcast worker`` (template backend) runs, and, in the same run on the same log, a
raw aiokafka loop that does the batch stage by hand (decode, validate, group 10 per
match, produce). Latency per batch is the Kafka timestamp of the output record minus
the timestamp of the action record that closed the batch.

    python bench/latency.py --speed 1 --seconds 120      # matchday pace, 2 minutes
    python bench/latency.py --speed 100                  # whole matches at 100x
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson
from _common import (
    Worker,
    bench_env,
    count_until,
    create_topics,
    delete_topics,
    expected_batches,
    percentile,
    sample_plans,
)
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pitchcast.schemas.decoding import DecodedAction, decode_event
from pitchcast.settings import load_settings
from pitchcast.streams.replay import ReplayMessage, replay


def _plans(matches: int, seconds: float | None) -> list[list[ReplayMessage]]:
    plans = sample_plans(matches, first_game_id=2000)
    if seconds is None:
        return plans
    cut = []
    for plan in plans:  # the first minutes, then match_end
        head = [m for m in plan if m.at_s <= seconds and "control" not in m.value]
        period = head[-1].value["period_id"]
        end = [
            ReplayMessage(m.game_id, seconds, {**m.value, "period_id": period})
            for m in plan
            if m.value.get("control") == "match_end"
        ]
        cut.append([plan[0], *head, *end])
    return cut


async def _raw_loop(bootstrap: str, source: str, sink: str, expected: int) -> None:
    """The baseline: the batch stage by hand, batch timestamp = closing action's."""
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=f"{source}-raw", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    buffers: dict[bytes, list] = defaultdict(list)  # type: ignore[type-arg]
    produced = 0

    async def flush(key: bytes, closed_by_ms: int) -> None:
        nonlocal produced
        actions = sorted(buffers.pop(key), key=lambda a: a.action_id)
        value = orjson.dumps({"actions": actions, "closed_by_ts_ms": closed_by_ms})
        await (await producer.send(sink, key=key, value=value))
        produced += 1

    try:
        while produced < expected:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event = decode_event(record.value, max_bytes=65536, clamp_margin=5.0)
                    key = record.key
                    if isinstance(event, DecodedAction):
                        buffer = buffers[key]
                        if buffer and buffer[-1].period_id != event.action.period_id:
                            await flush(key, record.timestamp)
                        buffers[key].append(event.action)
                        if len(buffers[key]) >= 10:
                            await flush(key, record.timestamp)
                    elif event.control in ("period_end", "match_end") and buffers.get(key):
                        await flush(key, record.timestamp)
    finally:
        await consumer.stop()
        await producer.stop()


def _latencies_ms(records: list, closed_by: dict[tuple[int, int], int] | None) -> list[float]:  # type: ignore[type-arg]
    values = []
    for r in records:
        v = orjson.loads(r.value)
        closed = (
            v.get("closed_by_ts_ms")
            if closed_by is None
            else closed_by.get((v["game_id"], v["batch_index"]))
        )
        if closed is not None:
            values.append(r.timestamp - closed)
    return values


def _line(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} n={len(values):5d}  p50 {percentile(values, 50):7.1f} ms"
        f"  p99 {percentile(values, 99):7.1f} ms  max {max(values):7.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=4)
    parser.add_argument("--speed", type=float, default=100.0, help="times real time")
    parser.add_argument("--seconds", type=float, help="only the first N s of match time")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    env = bench_env(args.bootstrap, args.redis, args.partitions)
    prefix = env["PITCHCAST_APP_ID"].removesuffix("-app")
    raw_sink = f"{prefix}-raw-batches"
    topics = [v for k, v in env.items() if k.startswith("PITCHCAST_TOPIC_")]
    await create_topics(args.bootstrap, [*topics, raw_sink], args.partitions)
    settings = load_settings(
        kafka_bootstrap_servers=args.bootstrap, topic_events=env["PITCHCAST_TOPIC_EVENTS"]
    )
    plans = _plans(args.matches, args.seconds)
    expected = expected_batches(plans)
    print(
        f"{args.matches} matches at {args.speed:g}x, {expected} batches"
        + (f", first {args.seconds:g} s of match time" if args.seconds else ", whole matches")
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            worker = Worker(env, Path(tmp) / "worker.log")
            try:
                worker.wait_ready()
                raw = asyncio.create_task(
                    _raw_loop(args.bootstrap, env["PITCHCAST_TOPIC_EVENTS"], raw_sink, expected)
                )
                await asyncio.sleep(2.0)  # both consumers in place before the first action
                await replay(settings, plans, speed=args.speed)
                timeout = 120 + (args.seconds or 6000) / args.speed
                commentary = await count_until(
                    args.bootstrap, env["PITCHCAST_TOPIC_COMMENTARY"], expected, timeout
                )
                batches = await count_until(
                    args.bootstrap, env["PITCHCAST_TOPIC_BATCHES"], expected, 30
                )
                await asyncio.wait_for(raw, 60)
                raw_batches = await count_until(args.bootstrap, raw_sink, expected, 30)
            finally:
                worker.stop()
        closed_by = {
            (v["game_id"], v["batch_index"]): v["closed_by_ts_ms"]
            for v in (orjson.loads(r.value) for r in batches)
        }
        print(_line("raw aiokafka loop -> batch", _latencies_ms(raw_batches, None)))
        print(_line("pitchcast -> pitchcast-batches", _latencies_ms(batches, None)))
        print(_line("pitchcast -> commentary (template)", _latencies_ms(commentary, closed_by)))
    finally:
        await delete_topics(args.bootstrap, prefix)


if __name__ == "__main__":
    asyncio.run(main())
