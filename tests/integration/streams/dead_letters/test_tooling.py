"""`pitchcast dlq list | show | replay` on a real broker, around a real worker.

A worker with a small message-size cap dead-letters an oversized action (and a value too
large to keep whole, and junk); after the "fix" (a worker without that cap), replaying
the action's dead letter completes its batch.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from pitchcast.settings import load_settings
from pitchcast.streams.admin import read_range
from pitchcast.streams.dead_letters.tooling import Filters, read_dead_letters
from pitchcast.streams.match_csv import read_actions, read_match_info
from pitchcast.streams.replay import plan_replay
from tests.support.asyncapi_contract import (
    channel_for_address,
    check_record,
    load_document,
    message_contracts,
)
from tests.support.pipeline import DATA, REPO, WorkerProcess, read_topic
from tests.support.utils import CreateTopics, UniqueName

pytestmark = pytest.mark.integration


async def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pitchcast.cli", "dlq", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def _wait(worker: WorkerProcess, name: str, expected: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.stats().get(name, 0) < expected:
        worker.assert_alive()
        assert time.monotonic() < deadline, worker.stats()
        time.sleep(0.3)


async def test_list_show_and_replay_after_a_fix(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """List with filters, show one, refuse a truncated letter, dry-run, replay, audit, no repeat."""
    audit = tmp_path / "audit.jsonl"
    env = {**pipeline_env, "PITCHCAST_DLQ_AUDIT_FILE": str(audit)}
    first = start_worker({**env, "PITCHCAST_MAX_MESSAGE_BYTES": "1024"}, name="capped")
    events = env["PITCHCAST_TOPIC_EVENTS"]
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]

    rows = list(read_actions(DATA / "events_metrica_1.csv"))[:10]
    info = read_match_info(DATA / "match_info.csv")[1]
    start = plan_replay(DATA / "events_metrica_1.csv", match_info=info)[0].value
    big = {**rows[3], "note": "x" * 1500}  # above the 1,024-byte cap, below the letter cap
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(events, orjson.dumps(start), key=b"1")
        for row in rows:
            value = big if row is rows[3] else row
            await producer.send_and_wait(events, orjson.dumps(value), key=b"1")
        await producer.send_and_wait(events, b"{not json", key=b"1")
        huge = orjson.dumps({**rows[0], "note": "y" * 9000})  # kept truncated in the letter
        await producer.send_and_wait(events, huge, key=b"1")
    finally:
        await producer.stop()
    _wait(first, "dead_letters", 3)
    assert first.stats()["events_in{kind=action}"] == 9
    first.stop()

    listed = await _cli(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 3 and "3 dead letters" in listed.stderr
    too_large = await _cli(env, "list", "--reason", "MessageTooLarge", "--json")
    letters = [orjson.loads(line) for line in too_large.stdout.splitlines()]
    assert [bool(x["value_truncated"]) for x in letters] == [False, True]
    oversized = letters[0]
    assert oversized["value_decoded"]["action_id"] == rows[3]["action_id"]
    offset = oversized["offset"]
    by_offset = await _cli(env, "list", "--source-offsets", f"{offset}-{offset}", "--game-id", "1")
    assert len(by_offset.stdout.splitlines()) == 1 and oversized["id"] in by_offset.stdout
    assert (await _cli(env, "list", "--game-id", "2")).stdout == ""
    assert (await _cli(env, "list", "--since", "1h")).stdout.count("\n") == 3
    assert (await _cli(env, "list", "--until", "1h")).stdout == ""

    shown = await _cli(env, "show", oversized["id"])
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout)["error_kind"] == "MessageTooLarge"
    assert (await _cli(env, "show", "9:999")).returncode == 1

    refused = await _cli(env, "replay", "--reason", "MessageTooLarge", "--dry-run")
    assert refused.returncode == 1 and "truncated" in refused.stdout
    assert "nothing sent" in refused.stderr
    assert (await _cli(env, "replay")).returncode == 2  # no selection, no --all
    dry = await _cli(env, "replay", "--reason", "MessageTooLarge", "--skip-refused", "--dry-run")
    assert dry.returncode == 0 and f"would send {oversized['id']} -> {events}" in dry.stdout
    assert not audit.exists()

    # The fix: a worker without the small cap. Then the replay completes the batch.
    second = start_worker(env, name="fixed")
    replayed = await _cli(env, "replay", oversized["id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed 1 records" in replayed.stdout
    _wait(second, "commentary_published", 1)
    commentary = await read_topic(
        bootstrap, env["PITCHCAST_TOPIC_COMMENTARY"], until=lambda rs: len(rs) >= 1
    )
    assert {i["action_id"] for i in commentary[0].value["items"]} == {r["action_id"] for r in rows}

    (record,) = [line for line in audit.read_text().splitlines() if line]
    entry = orjson.loads(record)
    assert entry["dlq"] == f"{env['PITCHCAST_TOPIC_DLQ']}:{oversized['id']}"
    assert entry["source"] == f"{events}:{oversized['partition']}:{offset}"
    topic, partition, sent_offset = entry["sent_to"].rsplit(":", 2)
    settings = load_settings(kafka_bootstrap_servers=bootstrap)
    read = await read_range(settings, topic, int(partition), int(sent_offset), int(sent_offset))
    (again,) = read.records
    headers = {k: v.decode() for k, v in again.headers}
    assert headers["pitchcast-replay-of"] == entry["source"]
    assert headers["pitchcast-replay-from"] == entry["dlq"]
    assert again.key == b"1" and orjson.loads(again.value) == big
    # docs/asyncapi.yaml describes the replayed record, replay headers included.
    document = load_document()
    contracts = message_contracts(document, channel_for_address(document, "match-events"))
    assert check_record(contracts, key="1", headers=headers, value=big) == "action"

    twice = await _cli(env, "replay", oversized["id"])
    assert twice.returncode == 0 and "already replayed" in twice.stdout
    assert len(audit.read_text().splitlines()) == 1


async def test_an_id_on_a_partition_the_topic_lacks_is_not_found(
    kafka_bootstrap: str, create_topics: CreateTopics, unique_name: UniqueName
) -> None:
    """`pitchcast dlq show 9:9` on a 6-partition topic: no such letter, not a traceback
    (aiokafka's consumer, stopped with nothing assigned, raised CancelledError)."""
    (topic,) = await create_topics(unique_name("dlq"), partitions=6)
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap, topic_dlq=topic)
    assert await read_dead_letters(settings, Filters(ids=frozenset({"9:9"}))) == []


async def test_a_mis_keyed_event_replayed_under_its_match_key_is_taken_in(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """A producer keyed an action of match 1 by "2": dead-lettered for its key. Replayed
    as it was, it would be refused again; ``--key-by-game`` sends it keyed "1", and the
    worker takes it into its match."""
    env = {**pipeline_env, "PITCHCAST_DLQ_AUDIT_FILE": str(tmp_path / "audit.jsonl")}
    worker = start_worker(env, name="keys")
    events = env["PITCHCAST_TOPIC_EVENTS"]
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    rows = list(read_actions(DATA / "events_metrica_1.csv"))[:3]
    info = read_match_info(DATA / "match_info.csv")[1]
    start = plan_replay(DATA / "events_metrica_1.csv", match_info=info)[0].value
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(events, orjson.dumps(start), key=b"1")
        for row in rows:
            key = b"2" if row is rows[1] else b"1"
            await producer.send_and_wait(events, orjson.dumps(row), key=key)
    finally:
        await producer.stop()
    _wait(worker, "dead_letters", 1)
    _wait(worker, "events_in{kind=action}", 2)  # "2" may be another partition: any order
    (letter,) = [
        orjson.loads(line) for line in (await _cli(env, "list", "--json")).stdout.splitlines()
    ]
    assert letter["game_id"] == 1 and "key '2'" in letter["error_message"]

    dry = await _cli(env, "replay", letter["id"], "--key-by-game", "--dry-run")
    assert dry.returncode == 0 and f"would send {letter['id']} -> {events} key=1" in dry.stdout
    replayed = await _cli(env, "replay", letter["id"], "--key-by-game")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    _wait(worker, "events_in{kind=action}", 3)
    assert worker.stats()["dead_letters"] == 1  # not refused again
    entry = orjson.loads((tmp_path / "audit.jsonl").read_text())
    assert entry["key"] == "1"
