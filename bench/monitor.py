"""Does the booth monitor keep up? Line -> page delay vs a raw consumer, same run.

A round of N matches (kicking off together) is replayed at ``--speed`` into the real
broker while a real ``pitchcast worker`` (template backend, every persona) comments it.
In this process, at the same time:

* the baseline: a raw aiokafka consumer on ``commentary-lines`` (no group, assigned),
  timing each line from its broker timestamp (LogAppendTime) to its arrival;
* the monitor (its reader, board and web server, as ``pitchcast monitor`` runs them) with
  one page open per match plus the index page, as SSE clients over HTTP: each ``line``
  event is timed from the same broker timestamp to its arrival at the page.

A page that falls too far behind is dropped by the monitor (and would reconnect); the
benchmark counts those, and the lines each page received against the lines published.

    python bench/monitor.py --matches 6 --speed 10 --minutes 6
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from _common import Worker, bench_env, count_actions, create_topics, percentile, round_plans
from aiokafka import AIOKafkaConsumer, TopicPartition

from pitchcast.monitor.command import serve_monitor
from pitchcast.settings import load_settings
from pitchcast.streams.replay import replay

PERSONAS = "CASTER,ANALYST,FRIEND"


async def _raw_lines(bootstrap: str, topic: str, partitions: int, delays: list[float]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now_ms = time.time() * 1000
                delays.extend(now_ms - r.timestamp for r in records)
    finally:
        await consumer.stop()


async def _page(url: str, delays: list[float], seen: set[str]) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:  # a dropped page reconnects, as a browser's EventSource does
            async with session.get(url) as response:
                event = ""
                async for raw in response.content:
                    text = raw.decode().strip()
                    if text.startswith("event:"):
                        event = text[6:].strip()
                    elif text.startswith("data:") and event == "line":
                        line = orjson.loads(text[5:])["line"]
                        if line["id"] not in seen:
                            seen.add(line["id"])
                            delays.append(time.time() * 1000 - line["ts_ms"])
            await asyncio.sleep(0.5)


async def main(args: argparse.Namespace) -> None:
    env = bench_env(args.bootstrap, args.redis, args.partitions)
    env["PITCHCAST_PERSONAS"] = PERSONAS
    topics = [v for k, v in env.items() if k.startswith("PITCHCAST_TOPIC_")]
    await create_topics(args.bootstrap, topics, args.partitions)
    plans = round_plans(args.matches, args.minutes, first_game_id=880_000)
    expected_lines = count_actions(plans) * len(PERSONAS.split(","))
    settings = load_settings(
        kafka_bootstrap_servers=args.bootstrap,
        topic_events=env["PITCHCAST_TOPIC_EVENTS"],
        topic_lines=env["PITCHCAST_TOPIC_LINES"],
        topic_commentary=env["PITCHCAST_TOPIC_COMMENTARY"],
        topic_dlq=env["PITCHCAST_TOPIC_DLQ"],
        partitions=args.partitions,
        monitor_port=args.port,
    )
    raw_delays: list[float] = []
    page_delays: dict[int, list[float]] = {}
    page_seen: dict[int, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(env, Path(tmp) / "worker.log")
        stop = asyncio.Event()
        started = asyncio.Event()
        monitor = asyncio.create_task(
            serve_monitor(settings, echo=lambda _: None, started=started, stop=stop)
        )
        tasks: list[asyncio.Task[None]] = []
        try:
            await asyncio.to_thread(worker.wait_ready)
            await started.wait()
            tasks.append(
                asyncio.create_task(
                    _raw_lines(
                        args.bootstrap, env["PITCHCAST_TOPIC_LINES"], args.partitions, raw_delays
                    )
                )
            )
            # Pages open once the matches are known (their first record read).
            await replay(settings, [p[:2] for p in plans], speed=None)
            base = f"http://127.0.0.1:{args.port}"
            async with aiohttp.ClientSession() as session:
                for plan in plans:
                    gid = plan[0].game_id
                    while (await session.get(f"{base}/api/matches/{gid}")).status != 200:
                        await asyncio.sleep(0.2)
            for plan in plans:
                gid = plan[0].game_id
                page_delays[gid], page_seen[gid] = [], set()
                url = f"{base}/api/matches/{gid}/events"
                tasks.append(asyncio.create_task(_page(url, page_delays[gid], page_seen[gid])))
            index_seen: set[str] = set()
            tasks.append(asyncio.create_task(_page(f"{base}/api/events", [], index_seen)))
            started_at = time.monotonic()
            await replay(settings, [p[2:] for p in plans], speed=args.speed)
            replay_s = time.monotonic() - started_at
            deadline = time.monotonic() + 120
            while sum(len(s) for s in page_seen.values()) < expected_lines - 2 * args.matches * 3:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stop.set()
            with contextlib.suppress(Exception):
                await monitor
            worker.stop()

    page_all = [d for delays in page_delays.values() for d in delays]
    received = sum(len(s) for s in page_seen.values())
    print(
        f"{args.matches} matches x 3 personas at {args.speed:g}x, {args.minutes:g} match minutes "
        f"each; replay {replay_s:.0f} s; lines published ~{expected_lines} "
        f"({expected_lines / max(replay_s, 1):.0f}/s)"
    )
    for name, delays in (
        ("raw consumer: line -> arrival", raw_delays),
        ("monitor page: line -> arrival", page_all),
    ):
        print(
            f"{name:32s} n={len(delays):6d}  p50 {percentile(delays, 50):7.1f} ms  "
            f"p95 {percentile(delays, 95):7.1f}  p99 {percentile(delays, 99):7.1f}  "
            f"max {max(delays, default=float('nan')):7.1f} ms"
        )
    pages = len(page_seen)
    print(f"lines received by the {pages} match pages: {received} of {len(raw_delays)} published")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--matches", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=6.0, help="match minutes per match")
    parser.add_argument("--speed", type=float, default=10.0, help="times real time")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--port", type=int, default=6071, help="the monitor's port")
    asyncio.run(main(parser.parse_args()))
