"""The faust floor: what faust-streaming alone does per action on this machine.

bench/throughput.py measures pitchcast against a raw aiokafka loop. This bench asks
what part of the gap is faust's own per-record machinery (the stream, the conductor,
the sensors, the producer, the changelog), whatever pitchcast does on top: a bare faust
app, no pitchcast code, reads the same pre-produced ``match-events`` log and does only
the hops pitchcast's shape needs, with no logic, no Redis and no ack awaited:

* ``consume``: one agent reads each event (faust acks it);
* ``changelog``: the same, and writes 64 bytes to a changelogged table per event;
* ``handoff``: the same, and sends one record per event to a second topic;
* ``lines``: the same, and a second agent reads that topic and sends one record per
  record it reads to a third topic (pitchcast's two hops: events -> hand-off -> lines);
* ``runs``: the best case of hand-off records that carry runs: one table write and one
  hand-off record per 10 events of a match, and the second agent sends one record per
  event of each run it reads (still one line per action). A match's last events short
  of a run of 10 stay behind: the clock stops at the last expected line.

Each shape runs in its own worker process (``python bench/faust_floor.py --serve``),
the clock from the worker's "Ready" to the last expected record's broker timestamp
(LogAppendTime) on its last topic; CPU is the worker's. The raw aiokafka loop of
bench/throughput.py runs first in the same run, as the baseline.

    python bench/faust_floor.py --matches 6 --partitions 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    REPO,
    bench_env,
    create_topics,
    delete_topics,
    expected_batches,
    read_until,
    sample_plans,
)
from throughput import _baseline, _cpu_seconds

from pitchcast.settings import load_settings
from pitchcast.streams.replay import replay

SHAPES = ("consume", "changelog", "handoff", "lines", "runs")
RUN = 10  # events a hand-off record carries in the ``runs`` shape


def serve(shape: str, bootstrap: str, app_id: str, source: str, mid: str, out: str) -> None:
    """The worker: a faust app of ``shape`` (runs until SIGTERM)."""
    import faust

    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=int(os.environ["FLOOR_PARTITIONS"]),
        producer_acks=-1,
    )
    events = app.topic(source, key_type=bytes, value_type=bytes, value_serializer="raw")
    handoff = app.topic(mid, key_type=bytes, value_type=bytes, value_serializer="raw")
    lines = app.topic(out, key_type=bytes, value_type=bytes, value_serializer="raw")
    table = app.Table(f"{app_id}-state", default=None, key_type=bytes, value_type=bytes)
    payload = b"x" * 64

    runs: dict[bytes, list[bytes]] = {}

    @app.agent(events)
    async def take(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            key = event.message.key
            if shape == "runs":
                run = runs.setdefault(key, [])
                run.append(event.message.value)
                if len(run) == RUN:
                    table[key] = payload
                    await handoff.send(key=key, value=b"\n".join(runs.pop(key)))
                continue
            if shape != "consume":
                table[key] = payload
            if shape in ("handoff", "lines"):
                await handoff.send(key=key, value=event.message.value)

    if shape == "runs":

        @app.agent(handoff)
        async def write_runs(stream):  # type: ignore[no-untyped-def]
            async for event in stream.events():
                for value in event.message.value.split(b"\n"):
                    await lines.send(key=event.message.key, value=value)

    if shape == "lines":

        @app.agent(handoff)
        async def write(stream):  # type: ignore[no-untyped-def]
            async for event in stream.events():
                await lines.send(key=event.message.key, value=event.message.value)

    worker = faust.Worker(app, loglevel="INFO", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


async def measure(
    shape: str,
    args: argparse.Namespace,
    source: str,
    actions: int,
    per_match: list[int],
) -> str:
    """One shape in its own worker: seconds for the whole log, actions/s, CPU.
    ``per_match``: each match's records (actions and controls)."""
    records = sum(per_match)
    prefix = f"floor-{shape}-{os.getpid()}-{int(time.time())}"
    mid, out = f"{prefix}-handoff", f"{prefix}-lines"
    await create_topics(args.bootstrap, [mid, out], args.partitions)
    last_topic = {"consume": None, "changelog": None, "handoff": mid}.get(shape, out)
    if shape == "runs":
        records = sum(n - n % RUN for n in per_match)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "worker.log"
        env = {**os.environ, "FLOOR_PARTITIONS": str(args.partitions)}
        argv = [sys.executable, __file__, "--serve", shape, "--bootstrap", args.bootstrap]
        argv += ["--app-id", f"{prefix}-app", "--topics", source, mid, out, "worker"]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                argv, env={**env, "PYTHONPATH": str(REPO)}, stdout=handle,
                stderr=subprocess.STDOUT, cwd=Path(tmp),
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 90
                while "Ready" not in log.read_text(errors="replace"):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"worker not ready:\n{log.read_text()}")
                    await asyncio.sleep(0.05)
                started_ms = time.time() * 1000
                ready_cpu = _cpu_seconds(process.pid)  # start-up (imports, group join) left out
                if last_topic is None:
                    # No output topic: done when the group's committed offsets reach the end.
                    seconds = await _until_committed(args, source, f"{prefix}-app", records)
                else:
                    out = await read_until(
                        args.bootstrap, last_topic, lambda r: len(r) >= records, timeout=600
                    )
                    seconds = (max(r.timestamp for r in out) - started_ms) / 1000
                cpu = _cpu_seconds(process.pid) - ready_cpu
            finally:
                process.terminate()
                process.wait(30)
    await delete_topics(args.bootstrap, prefix)
    return (
        f"faust {shape:<10}   : {seconds:6.2f} s  {actions / seconds:8.0f} actions/s"
        f"  (worker CPU {cpu:.1f} s, {cpu / actions * 1e3:.2f} ms an action)"
    )


async def _until_committed(args: argparse.Namespace, topic: str, group: str, total: int) -> float:
    """Seconds until ``group`` has committed every record of ``topic`` (polled)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap)
    await admin.start()
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < 600:
            offsets = await admin.list_consumer_group_offsets(group)
            done = sum(m.offset for tp, m in offsets.items() if tp.topic == topic and m.offset > 0)
            if done >= total:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{group} did not commit {total} records of {topic}")
    finally:
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=6)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    args = parser.parse_args()

    env = bench_env(args.bootstrap, "redis://127.0.0.1:6379/0", args.partitions)
    prefix = env["PITCHCAST_APP_ID"].removesuffix("-app")
    source = env["PITCHCAST_TOPIC_EVENTS"]
    settings = load_settings(kafka_bootstrap_servers=args.bootstrap, topic_events=source)
    plans = sample_plans(args.matches, first_game_id=1000)
    records = sum(len(p) for p in plans)  # actions and control records
    actions = sum(1 for p in plans for m in p if "control" not in m.value)
    await create_topics(args.bootstrap, [source, f"{prefix}-baseline-out"], args.partitions)
    try:
        await replay(settings, plans, speed=None)
        print(f"log: {args.matches} matches, {actions} actions, {records} records")
        seconds = await _baseline(
            args.bootstrap, source, f"{prefix}-baseline-out", expected_batches(plans)
        )
        print(f"baseline aiokafka loop: {seconds:6.2f} s  {actions / seconds:8.0f} actions/s")
        for shape in args.shapes:
            print(await measure(shape, args, source, actions, [len(p) for p in plans]))
    finally:
        await delete_topics(args.bootstrap, prefix)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--serve", choices=SHAPES)
        parser.add_argument("--bootstrap")
        parser.add_argument("--app-id")
        parser.add_argument("--topics", nargs=3)
        known, rest = parser.parse_known_args()
        sys.argv = [sys.argv[0], *rest]
        serve(known.serve, known.bootstrap, known.app_id, *known.topics)
    else:
        asyncio.run(main())
