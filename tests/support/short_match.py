"""A short real match through the real worker, read back raw (keys, values, headers).

The contract tests (AsyncAPI, the Spring consumer) need every kind of record pitchcast
writes, not a whole match: 25 actions of sample match 1 in two personas make 3 batches
(10, 10, and 5 closed by ``period_end``), 6 commentary records and 50 lines at density
``every`` (16 at ``story``, the default: 6 action lines and 2 moment lines a persona), and
two malformed inputs make 2 dead letters.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pitchcast.commentary.density import Told, decide
from pitchcast.schemas.records import Action, MatchInfo
from pitchcast.settings import load_settings
from pitchcast.story import advance_story, new_story
from pitchcast.streams.match_csv import read_match_info
from pitchcast.streams.replay import ReplayMessage, plan_replay, replay
from tests.support.pipeline import DATA, WorkerProcess

__all__ = [
    "BAD_INPUTS",
    "PERSONAS",
    "Outgoing",
    "RawRecord",
    "ShortMatch",
    "produce",
    "read_raw",
    "run_short_match",
    "short_plan",
    "short_told",
    "shown_lines",
]

PERSONAS = ("CASTER", "FRIEND")
GAME_ID = 1
ACTIONS = 25
# Malformed inputs, keyed like the match: each becomes one dead letter.
BAD_INPUTS: tuple[tuple[bytes, bytes], ...] = (
    (b"1", b"{not json"),
    (b"1", b'{"game_id": 1, "control": "halftime"}'),
)


@dataclass(frozen=True)
class RawRecord:
    """One Kafka record as it is on the topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def json(self) -> Any:
        return orjson.loads(self.value or b"null")

    def header_map(self) -> dict[str, str]:
        """Headers decoded as UTF-8 (pitchcast writes text headers only)."""
        return {name: value.decode() for name, value in self.headers}


@dataclass(frozen=True)
class ShortMatch:
    """What the worker wrote for the short match, topic by topic."""

    commentary: list[RawRecord]
    lines: list[RawRecord]
    dead_letters: list[RawRecord]


def short_told(density: str) -> list[tuple[Action, Told]]:
    """How the short match's actions are told at ``density``: batches of 10 in log order
    (one period: the batcher's own boundaries), each decided after the story it opens
    with (the tail of the batch before), as the worker decides them."""
    actions = [Action(**m.value) for m in short_plan() if m.value.get("control") is None]
    out: list[tuple[Action, Told]] = []
    story = new_story()
    for start in range(0, len(actions), 10):
        batch = actions[start : start + 10]
        out += zip(batch, decide(batch, density, story), strict=True)  # type: ignore[arg-type]
        for action in batch:
            story = advance_story(story, action)
    return out


def shown_lines(density: str) -> int:
    """How many lines the short match gets at ``density``: its actions with a line of
    their own, and the lines of the match's flow."""
    shown = sum(told.shown for _, told in short_told(density))
    # Past ``every``, the kick-off and the half-time line (period_end closes the last batch;
    # match_end then finds no open batch).
    return shown if density == "every" else shown + 2


def short_plan(
    game_id: int = GAME_ID, actions: int = ACTIONS, *, end: bool = True
) -> list[ReplayMessage]:
    """match_start, the first ``actions`` actions, then (with ``end``) period and match end."""
    info: MatchInfo = read_match_info(DATA / "match_info.csv")[1]
    full = plan_replay(DATA / "events_metrica_1.csv", match_info=info, game_id=game_id)
    plan = full[: actions + 1]
    last = plan[-1]
    assert last.value.get("control") is None and last.value["period_id"] == 1
    if end:
        for control in ("period_end", "match_end"):
            value = {"game_id": game_id, "control": control, "period_id": 1}
            plan.append(ReplayMessage(game_id, last.at_s, value))
    return plan


async def read_raw(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[RawRecord]], bool],
    timeout: float = 90.0,
    worker: WorkerProcess | None = None,
) -> list[RawRecord]:
    """Every record of ``topic`` from the beginning, until ``until(records)`` holds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] == 0 and described["partitions"]:
                partitions = len(described["partitions"])
                break
            assert time.monotonic() < deadline, f"topic {topic} does not exist"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[RawRecord] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while not until(records):
            if time.monotonic() > deadline:
                log = worker.tail_log() if worker else ""
                raise AssertionError(f"timed out reading {topic}: {len(records)} so far\n{log}")
            if worker is not None:
                worker.assert_alive()
            batch = await consumer.getmany(timeout_ms=500)
            for tp_records in batch.values():
                records.extend(
                    RawRecord(
                        topic=r.topic,
                        partition=r.partition,
                        offset=r.offset,
                        key=r.key,
                        value=r.value,
                        headers=tuple(r.headers or ()),
                    )
                    for r in tp_records
                )
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


Outgoing = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


async def produce(bootstrap: str, topic: str, records: Sequence[Outgoing]) -> list[tuple[int, int]]:
    """Send (key, value, headers) records in order; their (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        placed = []
        for key, value, headers in records:
            meta = await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            placed.append((meta.partition, meta.offset))
        return placed
    finally:
        await producer.stop()


async def run_short_match(env: dict[str, str], worker: WorkerProcess) -> ShortMatch:
    """Replay the short match and the bad inputs; wait for every record the worker writes."""
    settings = load_settings(
        kafka_bootstrap_servers=env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"],
        topic_events=env["PITCHCAST_TOPIC_EVENTS"],
    )
    await replay(settings, [short_plan()], speed=None)
    bootstrap = settings.kafka_bootstrap_servers
    await produce(bootstrap, settings.topic_events, [(k, v, []) for k, v in BAD_INPUTS])
    personas = len(env["PITCHCAST_PERSONAS"].split(","))
    batches = math.ceil(ACTIONS / 10)
    shown = shown_lines(env.get("PITCHCAST_DENSITY", "every"))
    commentary = await read_raw(
        bootstrap,
        env["PITCHCAST_TOPIC_COMMENTARY"],
        until=lambda rs: len(rs) >= batches * personas,
        worker=worker,
    )
    lines = await read_raw(
        bootstrap,
        env["PITCHCAST_TOPIC_LINES"],
        until=lambda rs: len(rs) >= shown * personas,
        worker=worker,
    )
    dead_letters = await read_raw(
        bootstrap,
        env["PITCHCAST_TOPIC_DLQ"],
        until=lambda rs: len(rs) >= len(BAD_INPUTS),
        worker=worker,
    )
    assert len(commentary) == batches * personas
    assert len(lines) == shown * personas
    assert len(dead_letters) == len(BAD_INPUTS)
    return ShortMatch(commentary=commentary, lines=lines, dead_letters=dead_letters)
