"""Pipeline throughput: pitchcast (template backend) vs a raw aiokafka loop, same broker.

Both read the same pre-produced ``match-events`` log of N matches. The baseline does
the batch stage's logical work by hand (decode, validate, group 10 per match, produce,
await acks); pitchcast runs its real worker (changelog-backed state, batches topic,
commentary agent, template commentary, Redis marker). Prints actions/s for both, the
worker's CPU time, and when the batch stage (the hand-off records) and the lines were done,
from the topics' broker timestamps.

    python bench/throughput.py --matches 6 --partitions 6
    python bench/throughput.py --matches 6 --partitions 6 --workers 2   # one group, 2 processes
    python bench/throughput.py --matches 6 --partitions 6 --density story   # the default density
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
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
    read_quiet,
    read_until,
    sample_plans,
)
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pitchcast.schemas.decoding import DecodedAction, decode_event
from pitchcast.settings import load_settings
from pitchcast.streams.replay import replay


async def _baseline(bootstrap: str, source: str, sink: str, expected: int) -> float:
    """Decode, validate, group 10 per match, produce, await acks: by hand."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"{source}-baseline",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    buffers: dict[bytes, list] = defaultdict(list)  # type: ignore[type-arg]
    produced = 0
    started = time.perf_counter()
    try:
        while produced < expected:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event = decode_event(record.value, max_bytes=65536, clamp_margin=5.0)
                    key = record.key
                    flush = False
                    if isinstance(event, DecodedAction):
                        buffer = buffers[key]
                        if buffer and buffer[-1].period_id != event.action.period_id:
                            await _send(producer, sink, key, buffer)
                            produced += 1
                            buffers[key] = buffer = []
                        buffer.append(event.action)
                        flush = len(buffer) >= 10
                    else:
                        flush = event.control in ("period_end", "match_end")
                    if flush and buffers[key]:
                        await _send(producer, sink, key, buffers.pop(key))
                        produced += 1
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def _send(producer: AIOKafkaProducer, topic: str, key: bytes, actions: list) -> None:  # type: ignore[type-arg]
    actions.sort(key=lambda a: a.action_id)
    await (await producer.send(topic, key=key, value=orjson.dumps({"actions": actions})))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=6)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes in one consumer group"
    )
    parser.add_argument(
        "--density",
        choices=("every", "story", "moments", "key"),
        default="every",
        help="lines told (every: one a action, the benches' default; story: the product's)",
    )
    args = parser.parse_args()

    env = bench_env(args.bootstrap, args.redis, args.partitions)
    env["PITCHCAST_DENSITY"] = args.density
    prefix = env["PITCHCAST_APP_ID"].removesuffix("-app")
    settings = load_settings(
        kafka_bootstrap_servers=args.bootstrap, topic_events=env["PITCHCAST_TOPIC_EVENTS"]
    )
    plans = sample_plans(args.matches, first_game_id=1000)
    actions = sum(1 for p in plans for m in p if "control" not in m.value)
    expected = expected_batches(plans)
    topics = [v for k, v in env.items() if k.startswith("PITCHCAST_TOPIC_")]
    await create_topics(args.bootstrap, [*topics, f"{prefix}-baseline-out"], args.partitions)
    try:
        await replay(settings, plans, speed=None)
        print(f"log: {args.matches} matches, {actions} actions, {expected} batches expected")

        seconds = await _baseline(
            args.bootstrap, env["PITCHCAST_TOPIC_EVENTS"], f"{prefix}-baseline-out", expected
        )
        print(f"baseline aiokafka loop : {seconds:6.2f} s  {actions / seconds:8.0f} actions/s")

        with tempfile.TemporaryDirectory() as tmp:
            workers = [Worker(env, Path(tmp) / f"worker{n}.log") for n in range(args.workers)]
            try:
                # The clock starts when the first worker is up; the others join its
                # group while it works (a rebalance inside the measured run).
                workers[0].wait_ready()
                started = time.perf_counter()
                started_ms = time.time() * 1000
                for worker in workers[1:]:
                    worker.wait_ready()
                out = await count_until(
                    args.bootstrap, env["PITCHCAST_TOPIC_COMMENTARY"], expected, timeout=600
                )
                seconds = time.perf_counter() - started
                rss = max(_peak_rss_mib(w.process.pid) for w in workers)
                cpu = sum(_cpu_seconds(w.process.pid) for w in workers)
            finally:
                for worker in workers:
                    worker.stop()
        assert len(out) >= expected, f"only {len(out)} of {expected} commentary messages"
        print(
            f"pitchcast worker       : {seconds:6.2f} s  {actions / seconds:8.0f} actions/s"
            f"  (batches + template commentary; {args.workers} worker process(es),"
            f" peak RSS {rss:.0f} MiB, CPU {cpu:.1f} s)"
        )
        # The batch stage alone: from the start to the last hand-off record's broker
        # timestamp (LogAppendTime, this machine's clock).
        handoff = await read_until(
            args.bootstrap,
            env["PITCHCAST_TOPIC_BATCHES"],
            lambda records: len(records) >= actions + expected,
            timeout=60,
        )
        stage_s = (max(r.timestamp for r in handoff) - started_ms) / 1000
        print(
            f"  of which hand-off    : {stage_s:6.2f} s  {actions / stage_s:8.0f} actions/s"
            f"  (events -> pitchcast-batches, {len(handoff)} records)"
        )
        if args.density == "every":
            lines = await read_until(
                args.bootstrap,
                env["PITCHCAST_TOPIC_LINES"],
                lambda records: len(records) >= actions,
                timeout=60,
            )
        else:  # fewer lines than actions: every line is out before its batch's record
            lines = await read_quiet(args.bootstrap, env["PITCHCAST_TOPIC_LINES"], 2.0, 60)
        first, last = ((f(r.timestamp for r in lines) - started_ms) / 1000 for f in (min, max))
        print(
            f"  lines                : {len(lines)} at density {args.density},"
            f" first at {first:.2f} s, last at {last:.2f} s,"
            f" {len(lines) / (last - first):.0f} lines/s between"
        )
        print("domain need: 6 matches x ~1 action/s = ~6 actions/s")
    finally:
        await delete_topics(args.bootstrap, prefix)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    asyncio.run(main())
