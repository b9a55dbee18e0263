"""Template latency (no LLM): event -> line and event -> commentary record, vs raw aiokafka.

Replays a round of N matches (kicking off together, ``_common.round_plans``) at a chosen
pace into a real broker while a ``pitchcast worker`` (template backend, live mode by
default) runs and, in the same process on the same log at the same time, a raw aiokafka
baseline that makes the same two Kafka hops by hand with nothing else: events ->
hand-off (decode, validate, produce one record per action and one per closed batch of
10, await each ack) and hand-off -> lines (decode, produce a line per action record and
a record per batch record, await each ack). No state, no changelog, no Redis, no
template writing.

Every topic uses LogAppendTime, so every figure is one broker clock:

* event -> hand-off: the action's ``batch_action`` record minus the action;
* event -> line: the line on ``commentary-lines`` minus its action;
* event -> record: the ``commentary`` record minus the batch's last action.

``--py-spy FILE`` samples the worker during the replay (``py-spy record --format raw``,
collapsed stacks) and prints where its time goes.

    python bench/latency.py --speed 10 --matches 6 --minutes 10
    python bench/latency.py --speed 1 --matches 6 --minutes 2        # matchday pace
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson
from _common import (
    BATCH_ACTION,
    Worker,
    bench_env,
    count_actions,
    count_until,
    cpu_seconds,
    create_topics,
    delete_topics,
    expected_batches,
    percentile,
    read_quiet,
    read_until,
    round_plans,
    until_marked,
)
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pitchcast.schemas.decoding import DecodedAction, decode_event
from pitchcast.settings import load_settings
from pitchcast.streams.replay import replay


async def _hop_one(bootstrap: str, source: str, sink: str, expected: int) -> None:
    """Baseline hop 1: a record per action at once, one per batch of 10 when it closes."""
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=f"{source}-raw1", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    buffers: dict[bytes, list] = defaultdict(list)  # type: ignore[type-arg]
    sent = 0

    async def send(key: bytes, value: dict) -> None:  # type: ignore[type-arg]
        nonlocal sent
        await (await producer.send(sink, key=key, value=orjson.dumps(value)))
        sent += 1

    try:
        while sent < expected:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event = decode_event(record.value, max_bytes=65536, clamp_margin=5.0)
                    key = record.key
                    if isinstance(event, DecodedAction):
                        buffer = buffers[key]
                        if buffer and buffer[-1].period_id != event.action.period_id:
                            await send(key, {"batch": buffers.pop(key)})
                        buffers[key].append(event.action)
                        await send(key, {"action": event.action})
                        if len(buffers[key]) >= 10:
                            await send(key, {"batch": buffers.pop(key)})
                    elif event.control in ("period_end", "match_end") and buffers.get(key):
                        await send(key, {"batch": buffers.pop(key)})
    finally:
        await consumer.stop()
        await producer.stop()


async def _hop_two(bootstrap: str, source: str, sink: str, expected: int) -> None:
    """Baseline hop 2: a line per action record, a record per batch record."""
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=f"{source}-raw2", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    sent = 0
    try:
        while sent < expected:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    value = orjson.loads(record.value)
                    if "action" in value:
                        out = {
                            "line": value["action"]["action_id"],
                            "game": value["action"]["game_id"],
                        }
                    else:
                        out = {"record": [a["action_id"] for a in value["batch"]]}
                    await (await producer.send(sink, key=record.key, value=orjson.dumps(out)))
                    sent += 1
    finally:
        await consumer.stop()
        await producer.stop()


def _appended(events: list) -> dict[tuple[int, int], int]:  # type: ignore[type-arg]
    out = {}
    for r in events:
        v = orjson.loads(r.value)
        if "action_id" in v:
            out[(v["game_id"], v["action_id"])] = r.timestamp
    return out


def _raw_latencies(records: list, appended: dict) -> tuple[list[float], list[float]]:  # type: ignore[type-arg]
    """(per action, per batch) latencies of a raw sink, from the events' timestamps."""
    per_action, per_batch = [], []
    for r in records:
        v = orjson.loads(r.value)
        if "action" in v:
            per_action.append(
                r.timestamp - appended[(v["action"]["game_id"], v["action"]["action_id"])]
            )
        elif "line" in v:
            per_action.append(r.timestamp - appended[(v["game"], v["line"])])
        else:
            ids = [a["action_id"] for a in v["batch"]] if "batch" in v else v["record"]
            game = int(r.key)
            per_batch.append(r.timestamp - max(appended[(game, i)] for i in ids))
    return per_action, per_batch


def _pitchcast_latencies(
    appended: dict,
    handoff: list,
    lines: list,
    records: list,  # type: ignore[type-arg]
) -> tuple[list[float], list[float], list[float]]:
    to_handoff, to_line, to_record = [], [], []
    for r in handoff:
        v = orjson.loads(r.value)
        if "position" in v:
            to_handoff.append(r.timestamp - appended[(v["game_id"], v["action"]["action_id"])])
    for r in lines:
        v = orjson.loads(r.value)
        to_line.append(r.timestamp - appended[(v["game_id"], v["item"]["action_id"])])
    for r in records:
        v = orjson.loads(r.value)
        to_record.append(
            r.timestamp - max(appended[(v["game_id"], i["action_id"])] for i in v["items"])
        )
    return to_handoff, to_line, to_record


def _line(name: str, values: list[float]) -> str:
    return (
        f"{name:<40} n={len(values):5d}  p50 {percentile(values, 50):6.1f} ms"
        f"  p95 {percentile(values, 95):6.1f}  p99 {percentile(values, 99):6.1f}"
        f"  max {max(values):7.1f} ms"
    )


def summarize_profile(path: Path, top: int = 30) -> None:
    """Where the worker's samples are (py-spy's collapsed stacks; idle threads are not
    sampled): functions by inclusive share of the samples."""
    inclusive: Counter[str] = Counter()
    total = 0
    for raw in path.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        n = int(count)
        total += n
        names = set()
        for frame in stack.split(";"):
            function, _, where = frame.partition(" (")
            names.add(f"{function} ({where.split(':')[0].rsplit('/', 1)[-1]}")
        for name in names:
            inclusive[name] += n
    print(f"\npy-spy: {total} samples of the worker; functions by inclusive share")
    for name, n in inclusive.most_common(top):
        print(f"  {100 * n / max(total, 1):5.1f}%  {name})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=6)
    parser.add_argument("--speed", type=float, default=10.0, help="times real time")
    parser.add_argument("--minutes", type=float, default=10.0, help="match minutes per match")
    parser.add_argument("--mode", choices=("live", "batch"), default="live")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--py-spy", type=Path, default=None, help="collapsed stacks of the worker")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    env = bench_env(args.bootstrap, args.redis, args.partitions)
    env["PITCHCAST_LLM_MODE"] = args.mode
    prefix = env["PITCHCAST_APP_ID"].removesuffix("-app")
    raw_handoff, raw_lines = f"{prefix}-raw-handoff", f"{prefix}-raw-lines"
    topics = {k: v for k, v in env.items() if k.startswith("PITCHCAST_TOPIC_")}
    await create_topics(args.bootstrap, [*topics.values(), raw_handoff, raw_lines], args.partitions)
    settings = load_settings(
        kafka_bootstrap_servers=args.bootstrap, topic_events=topics["PITCHCAST_TOPIC_EVENTS"]
    )
    plans = round_plans(args.matches, args.minutes, first_game_id=2000)
    actions, batches = count_actions(plans), expected_batches(plans)
    print(
        f"{args.matches} matches at {args.speed:g}x, {args.minutes:g} match minutes each "
        f"({actions} actions, {batches} batches), template backend, {args.mode} mode"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            worker = Worker(env, Path(tmp) / "worker.log")
            spy = None
            try:
                worker.wait_ready()
                raw = [
                    asyncio.create_task(
                        _hop_one(
                            args.bootstrap,
                            topics["PITCHCAST_TOPIC_EVENTS"],
                            raw_handoff,
                            actions + batches,
                        )
                    ),
                    asyncio.create_task(
                        _hop_two(args.bootstrap, raw_handoff, raw_lines, actions + batches)
                    ),
                ]
                await asyncio.sleep(3.0)  # every consumer in place before the first action
                if args.py_spy:
                    spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record", "--format", "raw", "--rate", "250", "--nonblocking",
                            "-o", str(args.py_spy), "--pid", str(worker.process.pid),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                cpu0, started = cpu_seconds(worker.process.pid), time.monotonic()
                await replay(settings, plans, speed=args.speed)
                timeout = 120 + args.minutes * 60 / args.speed
                # Every line, then (a batch's lines go before its record) the last records.
                lines = await count_until(
                    args.bootstrap, topics["PITCHCAST_TOPIC_LINES"], actions, timeout
                )
                wall = time.monotonic() - started
                cpu = cpu_seconds(worker.process.pid) - cpu0
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                records = await read_quiet(
                    args.bootstrap, topics["PITCHCAST_TOPIC_COMMENTARY"], 3.0, 60
                )
                await asyncio.wait_for(asyncio.gather(*raw), 60)
            finally:
                worker.stop()
        events = await count_until(args.bootstrap, topics["PITCHCAST_TOPIC_EVENTS"], actions, 30)
        handoff = await read_until(
            args.bootstrap,
            topics["PITCHCAST_TOPIC_BATCHES"],
            until_marked(actions, BATCH_ACTION),
            30,
        )
        raw1 = await count_until(args.bootstrap, raw_handoff, actions + batches, 30)
        raw2 = await count_until(args.bootstrap, raw_lines, actions + batches, 30)
    finally:
        await delete_topics(args.bootstrap, prefix)

    appended = _appended(events)
    raw1_action, _ = _raw_latencies(raw1, appended)
    raw2_line, raw2_record = _raw_latencies(raw2, appended)
    to_handoff, to_line, to_record = _pitchcast_latencies(appended, handoff, lines, records)
    print(f"worker CPU {cpu:.1f} s over {wall:.0f} s ({100 * cpu / wall:.0f}% of a core)")
    print(_line("raw aiokafka: event -> hand-off record", raw1_action))
    print(_line("raw aiokafka: event -> line (2 hops)", raw2_line))
    print(_line("raw aiokafka: event -> record (2 hops)", raw2_record))
    print(_line("pitchcast: event -> hand-off record", to_handoff))
    print(_line("pitchcast: event -> line", to_line))
    print(_line("pitchcast: event -> commentary record", to_record))
    for name, values in (("event -> line", to_line), ("event -> record", to_record)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        ok = "met" if p50 <= 20 and p99 <= 100 else "missed"
        print(f"target {name}: p50 {p50:.0f} ms (<= 20), p99 {p99:.0f} ms (<= 100): {ok}")
    if args.py_spy and args.py_spy.exists():
        summarize_profile(args.py_spy)


if __name__ == "__main__":
    asyncio.run(main())
