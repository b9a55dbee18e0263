"""Real records of every topic conform to docs/asyncapi.yaml: keys, headers and payloads.

A short match in two personas, two malformed inputs, and a second match left idle (so
pitchcast writes a ``tick`` and closes a batch as ``idle``) go through the real worker;
every record on the five topics is then checked against its channel in the document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from pitchcast.settings import load_settings
from pitchcast.streams.replay import replay
from tests.support.asyncapi_contract import (
    channel_for_address,
    check_record,
    load_document,
    message_contracts,
)
from tests.support.pipeline import WorkerProcess
from tests.support.short_match import (
    BAD_INPUTS,
    PERSONAS,
    RawRecord,
    read_raw,
    run_short_match,
    short_plan,
)

pytestmark = pytest.mark.integration

IDLE_GAME = 2
IDLE_ACTIONS = 3


def _count(topic: str, records: list[RawRecord]) -> int:
    """Records of a topic; on the hand-off, closed batches only (other kinds may join it)."""
    if topic == "batches":
        return sum("actions" in r.json() for r in records)
    return len(records)


def _is_tick(record: RawRecord) -> bool:
    return b'"control":"tick"' in (record.value or b"")


async def test_every_record_conforms_to_the_asyncapi_document(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """Each record is accepted by exactly one message of its channel, every message seen."""
    env = {
        **pipeline_env,
        "PITCHCAST_PERSONAS": ",".join(PERSONAS),
        "PITCHCAST_IDLE_TIMEOUT_S": "2",
        "PITCHCAST_TICK_INTERVAL_S": "0.5",
    }
    worker = start_worker(env)
    short = await run_short_match(env, worker)
    settings = load_settings(
        kafka_bootstrap_servers=env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"],
        topic_events=env["PITCHCAST_TOPIC_EVENTS"],
    )
    await replay(settings, [short_plan(IDLE_GAME, IDLE_ACTIONS, end=False)], speed=None)
    bootstrap = settings.kafka_bootstrap_servers

    def idle_commentary(records: list[RawRecord]) -> bool:
        idle = [r for r in records if r.json()["game_id"] == IDLE_GAME]
        return len(idle) >= len(PERSONAS)

    commentary = await read_raw(
        bootstrap, env["PITCHCAST_TOPIC_COMMENTARY"], until=idle_commentary, worker=worker
    )
    idle_batch = [r.json() for r in commentary if r.json()["game_id"] == IDLE_GAME]
    assert {c["close_reason"] for c in idle_batch} == {"idle"}
    expected = {
        "commentary": len(short.commentary) + len(PERSONAS),
        "lines": len(short.lines) + IDLE_ACTIONS * len(PERSONAS),
        "dlq": len(short.dead_letters),
        "batches": len(short.commentary) // len(PERSONAS) + 1,
    }
    topics = {
        "events": env["PITCHCAST_TOPIC_EVENTS"],
        "batches": env["PITCHCAST_TOPIC_BATCHES"],
        "commentary": env["PITCHCAST_TOPIC_COMMENTARY"],
        "lines": env["PITCHCAST_TOPIC_LINES"],
        "dlq": env["PITCHCAST_TOPIC_DLQ"],
    }
    records = {
        name: await read_raw(
            bootstrap,
            topics[name],
            until=lambda rs, n=count, name=name: _count(name, rs) >= n,
            worker=worker,
        )
        for name, count in expected.items()
    }
    records["events"] = await read_raw(
        bootstrap, topics["events"], until=lambda rs: any(map(_is_tick, rs))
    )
    worker.stop()
    for name, count in expected.items():
        assert _count(name, records[name]) == count, name

    document = load_document()
    defaults = load_settings()
    default_topic = {
        "events": defaults.topic_events,
        "batches": defaults.topic_batches,
        "commentary": defaults.topic_commentary,
        "lines": defaults.topic_lines,
        "dlq": defaults.topic_dlq,
    }
    injected = {value for _, value in BAD_INPUTS}
    seen: Counter[str] = Counter()
    controls: Counter[str] = Counter()
    for name, topic_records in records.items():
        contracts = message_contracts(document, channel_for_address(document, default_topic[name]))
        for record in topic_records:
            if name == "events" and record.value in injected:
                continue  # the test's own malformed input: dead-lettered, not a message
            value = record.json()
            message = check_record(
                contracts,
                key=None if record.key is None else record.key.decode(),
                headers=record.header_map(),
                value=value,
            )
            seen[message] += 1
            if message == "control":
                controls[value["control"]] += 1
    assert set(seen) == {
        "action",
        "control",
        "batch_action",
        "batch",
        "commentary",
        "commentary_line",
        "dead_letter",
    }
    assert set(controls) == {"match_start", "period_end", "match_end", "tick"}
