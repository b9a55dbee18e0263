"""The Spring Boot example consumes what pitchcast's real worker produced.

The worker (template backend) comments a short match and dead-letters two bad inputs
into this test's own topics; the test then appends, on the same partitions, poison
records (bad JSON, a Java class name as ``__TypeId__``, a payload of the wrong shape)
followed by redelivered copies of real records. ``mvn test`` in examples/spring-consumer
runs the example application against those topics (PitchcastOutputTest, plus the
broker-free DeserializationTest); the Java test checks every field of every record,
that each id is shown once and that the poison is logged and skipped, and writes what it
mapped to a result file that this test checks again.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.pipeline import REPO, WorkerProcess
from tests.support.short_match import (
    PERSONAS,
    Outgoing,
    RawRecord,
    produce,
    run_short_match,
)
from tests.support.utils import unavailable

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "spring-consumer"
# Cold: Maven resolves Spring Boot once (~250 jars); warm: compile and two test classes.
MAVEN_TIMEOUT_S = 900.0


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
    """Every field mapped, each commentary and line shown once, poison logged and skipped."""
    mvn = _tool("mvn")
    _tool("javac")  # Maven compiles the example: a JDK, not only a JRE
    env = {**pipeline_env, "PITCHCAST_PERSONAS": ",".join(PERSONAS)}
    worker = start_worker(env)
    output = await run_short_match(env, worker)
    worker.stop()
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

    originals = {r.json()["commentary_id"]: r.json() for r in output.commentary}
    mapped = {c["commentary_id"]: c for c in result["commentary"]}
    assert mapped.keys() == originals.keys()
    for commentary_id, original in originals.items():
        assert _same(original, mapped[commentary_id]), (original, mapped[commentary_id])
    line_ids = {f"{r.json()['commentary_id']}:{r.json()['line_index']}" for r in output.lines}
    assert {f"{x['commentary_id']}:{x['line_index']}" for x in result["lines"]} == line_ids
    mapped_lines = _by_line(result, output)
    assert all(_same(r.json(), m) for r, m in zip(output.lines, mapped_lines, strict=True))
    assert sorted(result["shown"]) == sorted([*originals, *line_ids]), "each id shown once"
    assert result["redelivered"] == 2
    assert result["commentary_received"] == len(output.commentary) + 1
    poison = {(p["topic"], p["partition"], p["offset"]) for p in result["poison"]}
    assert poison == {
        *((topics["commentary"], r.partition, r.offset) for r in appended_commentary[:2]),
        (topics["lines"], appended_lines[0].partition, appended_lines[0].offset),
    }
    letters = {d["value_sha256"]: d for d in result["dead_letters"]}
    for letter in output.dead_letters:
        assert _same(letter.json(), letters[letter.json()["value_sha256"]])


def _by_line(result: dict[str, Any], output: Any) -> list[Any]:
    """The mapped lines in the order of the original records."""
    by_id = {f"{x['commentary_id']}:{x['line_index']}": x for x in result["lines"]}
    return [by_id[f"{r.json()['commentary_id']}:{r.json()['line_index']}"] for r in output.lines]
