"""The LLM stage end to end: real Kafka and Redis, the worker as a subprocess, and the
fake OpenAI-compatible server (a test double, :mod:`pitchcast.testing.fake_llm`)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import orjson
import pytest

from pitchcast.schemas.contract import validator_for
from pitchcast.streams.match_csv import read_actions
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.pipeline import WorkerProcess, read_topic
from tests.support.sample_matches import (
    EXPECTED_BATCHES,
    MATCH_FILES,
    check_commentary_contract,
    check_match_batches,
    replay_matches,
)

pytestmark = pytest.mark.integration

MODEL = "pitchcast-test-model"
API_KEY = "sk-pitchcast-test-do-not-log-7f3a"


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    """A fresh fake LLM server per test, serving MODEL only (like a vLLM served name)."""
    server = FakeLLMServer(model=MODEL).start()
    yield server
    server.stop()


def _llm_env(pipeline_env: dict[str, str], server: FakeLLMServer, **extra: str) -> dict[str, str]:
    return {
        **pipeline_env,
        "PITCHCAST_LLM_BACKEND": "openai",
        "PITCHCAST_LLM_BASE_URL": server.base_url,
        "PITCHCAST_LLM_MODEL": MODEL,
        "PITCHCAST_LLM_API_KEY": API_KEY,
        **extra,
    }


async def _commentary(env: dict[str, str], worker: WorkerProcess, expected: int) -> list:  # type: ignore[type-arg]
    return await read_topic(
        env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"],
        env["PITCHCAST_TOPIC_COMMENTARY"],
        until=lambda rs: len(rs) >= expected,
        worker=worker,
        timeout=180,
    )


async def _check_lines(env: dict[str, str], worker: WorkerProcess, commentary: list) -> None:  # type: ignore[type-arg]
    """Every line of every commentary is on commentary-lines, in order per match."""
    total = sum(len(r.value["items"]) for r in commentary)
    lines = await read_topic(
        env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"],
        env["PITCHCAST_TOPIC_LINES"],
        until=lambda rs: len(rs) >= total,
        worker=worker,
    )
    validator = validator_for("commentary_line")
    by_id = {r.value["commentary_id"]: r.value for r in commentary}
    seen: set[tuple[str, int]] = set()
    for line in lines:
        validator.validate(line.value)
        assert line.headers["__TypeId__"] == b"commentary_line"
        record = by_id[line.value["commentary_id"]]
        index = line.value["line_index"]
        assert record["items"][index] == line.value["item"]
        if line.value["final"]:
            assert index == len(record["items"]) - 1
        elif index == len(record["items"]) - 1:
            # Only a batch closed early after its last line went out lacks a final line.
            assert record["close_reason"] != "full"
        seen.add((line.value["commentary_id"], index))
    assert len(seen) == total
    assert len(lines) == total, "every line published once"
    order = [
        (r.value["batch_index"], r.value["line_index"])
        for r in sorted(lines, key=lambda r: r.offset)
    ]
    assert order == sorted(order), "lines of a match leave in batch and line order"


@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_healthy_llm_comments_every_batch_and_replays_hit_redis(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    llm_server: FakeLLMServer,
    mode: str,
) -> None:
    """Every batch comes from the LLM; the same match replayed again costs no LLM request."""
    env = _llm_env(pipeline_env, llm_server, PITCHCAST_LLM_MODE=mode)
    worker = start_worker(env)
    await replay_matches(env, [1])
    expected = EXPECTED_BATCHES[1]
    records = await _commentary(env, worker, expected)
    assert len(records) == expected
    check_match_batches(records, 1)
    check_commentary_contract(records)
    for r in records:
        # Live forks: a line repeating an earlier one of its burst is the template's.
        if r.value["source"] != "llm":
            assert mode == "live" and r.value["source"] == "mixed", r.value
            assert r.value["fallback_reason"].startswith("repeated_in_burst"), r.value
    # The whole match arrives at once here: bursts of ten rows, where the fake writer's
    # openings come round again (pitchcast/testing/fake_writer.py): most lines stay its.
    stats = worker.stats()
    by_llm = stats.get("lines_published{persona=CASTER,source=llm}", 0)
    assert by_llm > 0.6 * stats["lines_published"], stats
    assert {r.value["model"] for r in records} <= {MODEL, f"{MODEL}+template"}
    assert all(r.value["usage"]["completion_tokens"] > 0 for r in records)
    await _check_lines(env, worker, records)
    requests_after_first_run = llm_server.request_count
    assert requests_after_first_run >= expected

    # The same match again: same batches, same commentary ids, nothing new for the LLM.
    await replay_matches(env, [1])
    deadline = time.monotonic() + 90
    while worker.stats().get("commentary_already_published", 0) < expected:
        worker.assert_alive()
        assert time.monotonic() < deadline, worker.stats()
        time.sleep(0.2)
    assert llm_server.request_count == requests_after_first_run
    again = await _commentary(env, worker, expected)
    assert len(again) == expected, "no duplicate commentary_id reached the topic"
    assert API_KEY not in worker.log_path.read_text(errors="replace")


async def test_faults_on_a_share_of_requests_never_lose_a_batch(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    llm_server: FakeLLMServer,
) -> None:
    """With 30% of requests failing in every way, every batch is published and flagged."""
    deadline_s = 4.0
    env = _llm_env(
        pipeline_env,
        llm_server,
        PITCHCAST_LLM_BATCH_DEADLINE_S=str(deadline_s),
        PITCHCAST_LLM_READ_TIMEOUT_S="1.5",
        PITCHCAST_LLM_BREAKER_FAILURES="1000",  # this test is about retries, not the breaker
        PITCHCAST_LLM_WARMUP="true",
    )
    llm_server.fault_rate = 0.3
    llm_server.random_faults = (
        "status", "rate_limit", "wrong_count", "malformed", "garbage", "bad_tone",
        "invented_name", "unknown_ref", "cut_stream", "hang",
    )  # fmt: skip
    worker = start_worker(env)
    await replay_matches(env, [1])
    expected = EXPECTED_BATCHES[1]
    records = await _commentary(env, worker, expected)
    assert len(records) == expected
    check_match_batches(records, 1)
    check_commentary_contract(records)
    sources = defaultdict(int)
    for r in records:
        sources[r.value["source"]] += 1
        if r.value["source"] == "llm":
            assert r.value["fallback_reason"] is None
        else:
            assert r.value["fallback_reason"], r.value
    # Live forks: a batch is ten requests, so few batches are all the LLM's; count lines.
    stats = worker.stats()
    by_llm = sum(v for k, v in stats.items() if k.startswith("lines_published{") and "llm" in k)
    assert by_llm > stats["lines_published"] // 2, stats
    assert sources["template"] + sources["mixed"] > 0, sources
    assert len(set(llm_server.faults_applied) - {None}) >= 5
    # Deadlines and cut streams cut requests, never a line's publication: every line of
    # every record is out once (a line claimed as its request's deadline passed was not).
    await _check_lines(env, worker, records)
    assert worker.stats().get("llm_warmups") == 1
    assert any(p["max_tokens"] == 1 for p in llm_server.requests), "match_start warmed the LLM"

    # No batch kept asking the LLM past its deadline (requests grouped by their prompt).
    by_prompt: dict[str, list[float]] = defaultdict(list)
    for payload, arrived in zip(llm_server.requests, llm_server.arrivals, strict=True):
        by_prompt[payload["messages"][1]["content"]].append(arrived)
    spans = [max(times) - min(times) for times in by_prompt.values()]
    assert max(spans) <= deadline_s + 0.5, max(spans)
    # Issue 7 item 6: a hung first request is cut in time for a retry (it waits at most
    # half the deadline), so its batch asks again instead of ending at the deadline.
    hung_first = [
        prompt
        for prompt in by_prompt
        if next(
            fault
            for payload, fault in zip(llm_server.requests, llm_server.faults_applied, strict=True)
            if payload["messages"][1]["content"] == prompt
        )
        == "hang"
    ]
    for prompt in hung_first:
        assert len(by_prompt[prompt]) >= 2, "a hung first request was not retried"
    assert API_KEY not in worker.log_path.read_text(errors="replace")


async def test_live_forks_killed_mid_burst_publish_no_line_twice_with_two_texts(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    llm_server: FakeLLMServer,
) -> None:
    """Issue 15: live mode, bursts written by four forks at once; SIGKILL while forks are
    in flight, restart: every action once, every line id published with one text only,
    each record exactly the lines published for it."""
    llm_server.set_pacing(ttft_s=0.03, tpot_s=0.001)  # forks overlap, a batch in ~0.3 s
    env = _llm_env(
        pipeline_env,
        llm_server,
        PITCHCAST_LLM_MODE="live",
        PITCHCAST_LLM_LIVE_FORKS="4",
        PITCHCAST_KAFKA_SESSION_TIMEOUT_S="6",
    )
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    first = start_worker(env, "doomed")
    await replay_matches(env, [1])
    await read_topic(
        bootstrap, env["PITCHCAST_TOPIC_LINES"], until=lambda rs: len(rs) >= 150, worker=first
    )
    assert first.stats().get("llm_in_flight", 0) >= 1, "killed with forks in flight"
    assert first.process is not None
    first.process.kill()  # mid-burst: no shutdown, no commit
    first.process.wait(10)
    second = start_worker(env, "survivor")
    expected = EXPECTED_BATCHES[1]
    records = await read_topic(
        bootstrap,
        env["PITCHCAST_TOPIC_COMMENTARY"],
        until=lambda rs: len({r.value["batch_index"] for r in rs}) >= expected,
        worker=second,
        timeout=240,
    )
    versions: dict[int, set[bytes]] = defaultdict(set)
    for r in records:
        versions[r.value["batch_index"]].add(orjson.dumps(r.value["items"]))
    assert sorted(versions) == list(range(expected))
    assert all(len(v) == 1 for v in versions.values()), "a batch published with two texts"
    seen = [item["action_id"] for r in _first_of_each(records) for item in r.value["items"]]
    assert seen == [int(row["action_id"]) for row in read_actions(MATCH_FILES[1])]
    total = sum(len(r.value["items"]) for r in _first_of_each(records))
    lines = await read_topic(
        bootstrap,
        env["PITCHCAST_TOPIC_LINES"],
        until=lambda rs: (
            len({(r.value["commentary_id"], r.value["line_index"]) for r in rs}) >= total
        ),
        worker=second,
    )
    texts: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    for line in lines:
        texts[(line.value["commentary_id"], line.value["line_index"])].add(
            orjson.dumps(line.value["item"])
        )
    assert len(texts) == total
    assert [key for key, t in texts.items() if len(t) > 1] == [], "a line id with two texts"
    for r in _first_of_each(records):
        for index, item in enumerate(r.value["items"]):
            assert texts[(r.value["commentary_id"], index)] == {orjson.dumps(item)}


def _first_of_each(records: list) -> list:  # type: ignore[type-arg]
    """One record per batch (a batch published twice, at least once, is the same batch)."""
    by_index = {}
    for r in sorted(records, key=lambda r: r.offset):
        by_index.setdefault(r.value["batch_index"], r)
    return [by_index[i] for i in sorted(by_index)]
