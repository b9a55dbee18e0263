"""The two sample matches the end-to-end tests replay (games 1 and 3 of ``data/``), and the
checks every test of the worker's output makes on them."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaProducer

from pitchcast.schemas.contract import validator_for
from pitchcast.settings import Settings, load_settings
from pitchcast.streams.match_csv import read_actions, read_match_info
from pitchcast.streams.replay import plan_replay, replay
from tests.support.pipeline import DATA, Record, WorkerProcess

# Batches per match: full 10s, plus one partial batch where a period's count is not /10.
EXPECTED_BATCHES = {1: 123 + 124, 3: 203 + 209}
MATCH_FILES = {1: DATA / "events_metrica_1.csv", 3: DATA / "events_metrica_3.csv"}


def replay_settings(env: dict[str, str]) -> Settings:
    """The settings a replay into the worker's events topic runs with."""
    return load_settings(
        kafka_bootstrap_servers=env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"],
        topic_events=env["PITCHCAST_TOPIC_EVENTS"],
    )


async def replay_matches(env: dict[str, str], game_ids: list[int]) -> None:
    """Replay the sample matches ``game_ids`` whole, as fast as the broker takes them."""
    infos = read_match_info(DATA / "match_info.csv")
    plans = [plan_replay(MATCH_FILES[g], match_info=infos[g]) for g in game_ids]
    await replay(replay_settings(env), plans, speed=None)


def check_match_batches(records: list[Record], game_id: int) -> None:
    """Every action exactly once, full batches but at period ends, gapless ordered indexes."""
    mine = [r for r in records if r.value["game_id"] == game_id]
    assert {r.key for r in mine} == {str(game_id)}
    assert len({r.partition for r in mine}) == 1, "one match, one partition"
    ordered = sorted(mine, key=lambda r: r.offset)
    assert [r.value["batch_index"] for r in ordered] == list(range(EXPECTED_BATCHES[game_id]))
    expected_ids = [int(row["action_id"]) for row in read_actions(MATCH_FILES[game_id])]
    seen = [item["action_id"] for r in ordered for item in r.value["items"]]
    assert seen == expected_ids
    for r in ordered:
        size = len(r.value["items"])
        assert size == 10 or r.value["close_reason"] in ("period_end", "match_end"), r.value
    final_score = ordered[-1].value["score"]
    info = read_match_info(DATA / "match_info.csv")[game_id]
    assert (final_score["home"], final_score["away"]) == (info.home_score, info.away_score)


def check_commentary_contract(records: list[Record]) -> None:
    """Each commentary record matches its schema and carries the headers consumers key on."""
    validator = validator_for("commentary")
    for r in records:
        validator.validate(r.value)
        assert r.headers["__TypeId__"] == b"commentary"
        assert r.headers["content-type"] == b"application/json"
        assert r.headers["idempotency-key"].decode() == r.value["commentary_id"]


async def replay_opening_then(env: dict[str, str], actions: int, bad: bytes) -> None:
    """Match 1's kick-off and its first ``actions`` actions, then ``bad`` (a record no
    worker can read) under the match's key."""
    settings = replay_settings(env)
    info = read_match_info(DATA / "match_info.csv")[1]
    plan = plan_replay(MATCH_FILES[1], match_info=info)
    await replay(settings, [plan[: actions + 1]], speed=None)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_events, bad, key=b"1")
    finally:
        await producer.stop()


def wait_for_records_and_a_dead_letter(
    worker: WorkerProcess, records: int, timeout_s: float
) -> dict[str, int]:
    """The worker's stats once it published ``records`` commentary records and a dead
    letter (the worker still running)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = worker.stats()
        if stats.get("commentary_published", 0) >= records and stats.get("dead_letters"):
            return stats
        worker.assert_alive()
        assert time.monotonic() < deadline, stats
        time.sleep(0.5)
