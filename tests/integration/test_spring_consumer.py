"""The Spring Boot example consumes what pitchcast's real worker produced.

The worker (template backend) comments a short match and dead-letters two bad inputs
into this test's own topics. First, what it wrote must still be what the example's
fixtures hold (``scripts/export-spring-fixtures`` exports them from the same run; compared
after normalising timestamps and the personas' interleaving). Then the test appends, on
the same partitions, poison records (bad JSON, a Java class name as ``__TypeId__``, a
payload of the wrong shape) followed by redelivered copies of real records, and runs
``mvn test`` in examples/spring-consumer once: the standalone tests (the embedded-broker
EmbeddedBrokerTest on the fixtures, DeserializationTest, RetryBackOffTest,
StoreDurabilityTest, TopicSettingsTest) and, with the plan, PitchcastOutputTest against these topics. The
Java test checks that every batch is stored as its record says and writes the store to a
result file that this test checks again; this test also reads the example's dead-letter
topics (``<topic>-dlt``): exactly the poison, byte for byte, with Spring's ``kafka_dlt-*``
headers.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.pipeline import REPO, WorkerProcess
from tests.support.short_match import (
    PERSONAS,
    Outgoing,
    RawRecord,
    produce,
    read_raw,
    run_short_match,
)
from tests.support.utils import unavailable

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "spring-consumer"
# Cold: Maven resolves Spring Boot once (~300 jars); warm: compile and five test classes
# (about a minute on 2 cores, most of it the embedded broker's test).
MAVEN_TIMEOUT_S = 900.0


def _exporter() -> ModuleType:
    """scripts/export-spring-fixtures as a module (its file name has no .py)."""
    path = REPO / "scripts" / "export-spring-fixtures"
    loader = importlib.machinery.SourceFileLoader("export_spring_fixtures", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _tool(name: str) -> str:
    """The path of ``name``; its absence fails the test in CI and skips it elsewhere."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not found: the Spring consumer test needs a Java 17 JDK and Maven"
        unavailable(reason)
    return path


def _entry(channel: str, role: str, record: RawRecord) -> dict[str, Any]:
    """One record of the plan the Java test reads."""
    try:
        value = record.json()
    except orjson.JSONDecodeError:
        value = None
    return {
        "channel": channel,
        "role": role,
        "partition": record.partition,
        "offset": record.offset,
        "type_id": record.header_map().get("__TypeId__"),
        "value": value,
    }


async def _append(bootstrap: str, topic: str, records: list[Outgoing]) -> list[RawRecord]:
    placed = await produce(bootstrap, topic, records)
    return [
        RawRecord(topic, partition, offset, key, value, tuple(headers))
        for (key, value, headers), (partition, offset) in zip(records, placed, strict=True)
    ]


def _typed(token: str) -> list[tuple[str, bytes]]:
    return [("content-type", b"application/json"), ("__TypeId__", token.encode())]


def _same(original: Any, mapped: Any) -> bool:
    """Equal JSON values; ``*_at`` timestamps equal as instants."""
    if isinstance(original, dict) and isinstance(mapped, dict):
        if original.keys() != mapped.keys():
            return False
        for key, value in original.items():
            if key.endswith("_at") and isinstance(value, str):
                if datetime.fromisoformat(value) != datetime.fromisoformat(mapped[key]):
                    return False
            elif not _same(value, mapped[key]):
                return False
        return True
    if isinstance(original, list) and isinstance(mapped, list):
        return len(original) == len(mapped) and all(map(_same, original, mapped))
    return bool(original == mapped)


def _report(log_path: Path) -> str:
    """The tail of Maven's output and the surefire summaries, for a failure message."""
    lines = log_path.read_text(errors="replace").splitlines()[-80:]
    reports = sorted((EXAMPLE / "target" / "surefire-reports").glob("*.txt"))
    summaries = [p.read_text(errors="replace") for p in reports]
    return "\n".join([*lines, *summaries])


@pytest.mark.timeout(MAVEN_TIMEOUT_S + 180)
async def test_spring_consumer_reads_pitchcast_output(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Fixtures current; each batch stored once as its record says; poison dead-lettered as is."""
    mvn = _tool("mvn")
    _tool("javac")  # Maven compiles the example: a JDK, not only a JRE
    # The fixtures' density (scripts/export-spring-fixtures): silent items in the records.
    env = {**pipeline_env, "PITCHCAST_PERSONAS": ",".join(PERSONAS), "PITCHCAST_DENSITY": "story"}
    worker = start_worker(env)
    output = await run_short_match(env, worker)
    worker.stop()
    exporter = _exporter()
    fresh = exporter.fixture_files(output, env["PITCHCAST_TOPIC_EVENTS"])
    for name, content in fresh.items():
        committed = (exporter.FIXTURES / name).read_text()
        assert exporter.normalised(content) == exporter.normalised(committed), (
            f"{name} is out of date: run scripts/export-spring-fixtures and commit the result"
        )
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    topics = {
        "commentary": env["PITCHCAST_TOPIC_COMMENTARY"],
        "lines": env["PITCHCAST_TOPIC_LINES"],
        "dlq": env["PITCHCAST_TOPIC_DLQ"],
    }
    for letter in output.dead_letters:
        assert letter.header_map()["__TypeId__"] == "dead_letter"

    # Poison first, then redelivered copies: reading the copies proves the consumer went on.
    first, line = output.commentary[0], output.lines[0]
    bad_shape = orjson.dumps({"commentary_id": "x", "line_index": "three", "item": []})
    appended_commentary = await _append(
        bootstrap,
        topics["commentary"],
        [
            (first.key, b"{not json", _typed("commentary")),
            (first.key, first.value or b"", _typed("com.example.evil.Gadget")),
            (first.key, first.value or b"", list(first.headers)),
        ],
    )
    appended_lines = await _append(
        bootstrap,
        topics["lines"],
        [
            (line.key, bad_shape, _typed("commentary_line")),
            (line.key, line.value or b"", list(line.headers)),
        ],
    )
    assert [r.partition for r in appended_commentary] == [first.partition] * 3
    assert [r.partition for r in appended_lines] == [line.partition] * 2

    records = [
        *(_entry("commentary", "original", r) for r in output.commentary),
        *(_entry("lines", "original", r) for r in output.lines),
        *(_entry("dlq", "original", r) for r in output.dead_letters),
        *(_entry("commentary", "poison", r) for r in appended_commentary[:2]),
        _entry("commentary", "duplicate", appended_commentary[2]),
        _entry("lines", "poison", appended_lines[0]),
        _entry("lines", "duplicate", appended_lines[1]),
    ]
    result_path = tmp_path / "spring-result.json"
    plan_path = tmp_path / "spring-plan.json"
    plan = {
        "bootstrap": bootstrap,
        "group_id": unique_name("spring"),
        "topics": topics,
        "records": records,
        "result": str(result_path),
        "timeout_s": 120,
    }
    plan_path.write_bytes(orjson.dumps(plan))

    log_path = tmp_path / "maven.log"
    began = time.monotonic()
    with log_path.open("wb") as log:
        completed = subprocess.run(
            [mvn, "-q", "-B", "test", f"-Dpitchcast.expected={plan_path}"],
            cwd=EXAMPLE,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=MAVEN_TIMEOUT_S,
            check=False,
        )
    took = time.monotonic() - began
    assert completed.returncode == 0, f"mvn test failed after {took:.0f} s:\n{_report(log_path)}"
    # The broker-backed Java test ran (it is skipped without the plan) and wrote its result.
    assert result_path.exists(), f"PitchcastOutputTest did not run:\n{_report(log_path)}"
    result = orjson.loads(result_path.read_bytes())

    # Each batch stored once, complete, with exactly its record's items; duplicates were upserts.
    originals = {r.json()["commentary_id"]: r.json() for r in output.commentary}
    stored = {b["commentary_id"]: b for b in result["batches"]}
    assert stored.keys() == originals.keys()
    for commentary_id, original in originals.items():
        batch = stored[commentary_id]
        assert batch["complete"], batch
        assert _same(original["items"], batch["items"]), (original["items"], batch["items"])
        last = max(
            r.json()["line_index"]
            for r in output.lines
            # Kick-off and half-time lines (source control) are no items of the batch.
            if r.json()["commentary_id"] == commentary_id and r.json().get("source") != "control"
        )
        # The last line may have come after its record (the topics are not ordered with
        # respect to each other): then it changed nothing, and the record completed the batch.
        assert batch["final_line_index"] in (None, last)
    # Kick-off and half-time lines, in no record, are stored too (commentary_moment).
    moments = {(m["commentary_id"], m["line_index"]): m["description"] for m in result["moments"]}
    flow = {
        (r.json()["commentary_id"], r.json()["line_index"]): r.json()["item"]["description"]
        for r in output.lines
        if r.json().get("source") == "control"
    }
    assert flow, "the run published no kick-off or half-time line"
    assert moments == flow
    letters = {d["value_sha256"]: d for d in result["dead_letters"]}
    for letter in output.dead_letters:
        assert _same(letter.json(), letters[letter.json()["value_sha256"]])

    # The poison, and only the poison, on the example's own dead-letter topics, byte for byte.
    for channel, poison in (("commentary", appended_commentary[:2]), ("lines", appended_lines[:1])):
        dlt = await _read_all(bootstrap, f"{topics[channel]}-dlt")
        assert len(dlt) == len(poison), dlt
        by_offset = {_long_header(r, "kafka_dlt-original-offset"): r for r in dlt}
        for original in poison:
            letter = by_offset[original.offset]
            headers = dict(letter.headers)
            assert letter.value == original.value
            assert letter.key == original.key
            assert headers["kafka_dlt-original-topic"] == topics[channel].encode()
            assert headers["kafka_dlt-exception-fqcn"].endswith(b".DeserializationException")
            assert headers.get("__TypeId__") == dict(original.headers).get("__TypeId__")
    assert await _read_all(bootstrap, f"{topics['dlq']}-dlt") == []


def _long_header(record: RawRecord, name: str) -> int:
    """A header Spring writes as a big-endian long (``kafka_dlt-original-offset``)."""
    (raw,) = [value for key, value in record.headers if key == name]
    return int.from_bytes(raw, "big", signed=True)


async def _read_all(bootstrap: str, topic: str) -> list[RawRecord]:
    """Every record ``topic`` holds now (up to its end offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0 and described["partitions"], f"no topic {topic}"
    tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        total = sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
    return await read_raw(bootstrap, topic, until=lambda records: len(records) >= total)
