"""More feed glitches through the real worker, broker and Redis (tests/integration/
test_unseen_match.py has the first set): one partition carrying three matches at once.

Match A (game 126476, tests/support/unseen_match.py) has a gap in its action ids, an
action whose clock goes back, one whose clock jumps an hour, the same action id with
other content, a re-sent ``period_end`` (right after it, and of the first half once the
second is under way), a first-half action after the half's end, the end of a period not
yet played, extra time, a shoot-out, an action after ``match_end`` and a copy of an
earlier one after it. Match B, game id 2^63 - 1 on A's partition and interleaved with
it, has only a ``match_start`` naming one team twice (so no match info: a third team's
action is refused once two were seen, as is an action naming its team twice); its
names are null, empty, blank, emoji, Latin or 100 characters long, one of 101
characters, coordinates a little and far off the pitch, an unknown type and result.
Match C is game 0. Besides: a record of A keyed as B, and a game id of 2^64 keyed as
itself. With the template, and with the LLM test double (the prompt carries the
glitches).

Every good action is told once per persona, every line id is published once, each bad
record is dead-lettered once with its reason, copies are dropped and counted, and the
worker keeps running.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from pitchcast.schemas.contract import validator_for
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.integration.conftest import PARTITIONS
from tests.support.pipeline import WorkerProcess, lines_told, read_lines_and_letters, read_topic
from tests.support.unseen_match import GAME_ID, match_actions, match_info_row

pytestmark = pytest.mark.integration

PERSONAS = ("CASTER", "FRIEND")
GAME_C = 0


def _same_partition_as(game_id: int) -> int:
    """The largest signed 64-bit game id whose key lands on ``game_id``'s partition."""
    every = list(range(PARTITIONS))
    partition = DefaultPartitioner()(str(game_id).encode(), every, every)
    candidate = 2**63 - 1
    while DefaultPartitioner()(str(candidate).encode(), every, every) != partition:
        candidate -= 1
    return candidate


GAME_B = _same_partition_as(GAME_ID)


def _control(game_id: int, control: str, **fields: Any) -> dict[str, Any]:
    return {"game_id": game_id, "control": control, **fields}


def _match_a() -> tuple[list[dict[str, Any]], list[int], dict[str, str]]:
    """A's records in send order, its good action ids, and its bad records by nonce."""
    rows = match_actions()
    for row in rows[15:]:
        row["action_id"] += 100  # ids 15..114 never come
    rows[9]["time_seconds"] = 1.0  # the clock goes back 13 s
    rows[12]["time_seconds"] += 3600.0  # and jumps an hour (전반 45+26분)
    last = rows[-1]
    extra = [
        {**last, "action_id": 130, "period_id": 3, "time_seconds": 30.0},
        {**last, "action_id": 131, "period_id": 3, "time_seconds": 400.0},
        {**last, "action_id": 132, "period_id": 4, "time_seconds": 20.0},
        {**last, "action_id": 133, "period_id": 4, "time_seconds": 900.0},
    ]
    kicks = [
        {**last, "action_id": 134, "period_id": 5, "time_seconds": 10.0, "type_name": "Shot",
         "result_name": "Goal", "start_x": 94.0, "start_y": 34.0, "end_x": 105.0,
         "end_y": 34.0},
        {**last, "action_id": 135, "period_id": 5, "time_seconds": 70.0, "type_name": "Shot",
         "result_name": "On Target", "start_x": 94.0, "start_y": 34.0, "end_x": 105.0,
         "end_y": 36.0},
    ]  # fmt: skip
    bad: dict[str, str] = {}
    sent: list[dict[str, Any]] = [_control(GAME_ID, "match_start", match_info=match_info_row())]
    for row in rows[:20]:
        sent.append(row)
        if row["action_id"] == 4:  # the same id, other content: dropped
            sent.append({**row, "type_name": "Goal", "result_name": None, "nonce": "copy"})
    sent += [_control(GAME_ID, "period_end", period_id=1)] * 2  # the copy: dropped
    straggler = {**rows[19], "action_id": 50, "time_seconds": 2840.0}  # after the whistle
    sent.append(straggler)
    for i, row in enumerate(rows[20:]):
        sent.append(row)
        if i == 1:
            sent.append(_control(GAME_ID, "period_end", period_id=1))  # a copy: dropped
            sent.append(_control(GAME_ID, "period_end", period_id=4, nonce="future-end"))
            bad["future-end"] = "ImplausibleControl"
    sent += [_control(GAME_ID, "period_end", period_id=2), *extra[:2]]
    sent += [_control(GAME_ID, "period_end", period_id=3), *extra[2:]]
    sent += [_control(GAME_ID, "period_end", period_id=4), *kicks]
    sent += [_control(GAME_ID, "period_end", period_id=5), _control(GAME_ID, "match_end")]
    sent.append({**last, "action_id": 136, "nonce": "late"})
    sent.append({**rows[2], "nonce": "copy after the end"})  # dropped, not late
    bad["late"] = "LateAction"
    good = [r["action_id"] for r in rows] + [50] + [a["action_id"] for a in extra + kicks]
    return sent, good, bad


def _match_b() -> tuple[list[dict[str, Any]], list[int], dict[str, str]]:
    """B's records (no match_start), its good ids, its bad records by nonce."""
    rows = [{**r, "game_id": GAME_B} for r in match_actions()[:12]]
    names = [None, "", "   ", "⚽🔥", "Jesse Lingard", "가" * 100, "손흥민 ⚽", "\u200b"]
    for row, name in zip(rows, names, strict=False):
        row["player_name_ko"] = name
    rows[1]["team_name_ko"] = None
    rows[2]["start_x"], rows[2]["end_y"] = -3.0, 71.5  # a little off: clamped
    rows[3]["type_name"], rows[3]["result_name"] = "Drop Ball", None
    rows[4]["result_name"] = "Offside_Flag"
    rows[5]["player_id"] = None
    bad = {"long-name": "SchemaViolation", "far-off": "SchemaViolation"}
    # Its only match_start names one team twice: refused, B's actions of both teams told.
    one_team = {**match_info_row(game_id=GAME_B), "away_team_id": rows[0]["team_id"]}
    bad["one-team"] = "SchemaViolation"
    bad["third-team"] = "ImplausibleAction"
    sent = [
        _control(GAME_B, "match_start", match_info=one_team, nonce="one-team"),
        *rows[:10],
        {**rows[9], "action_id": 40, "player_name_ko": "나" * 101, "nonce": "long-name"},
        {**rows[9], "action_id": 41, "start_x": -50.0, "nonce": "far-off"},
        # Both teams seen and no match info: a third team's action (and goal) is refused.
        {**rows[9], "action_id": 42, "team_id": 77, "type_name": "Goal", "nonce": "third-team"},
        *rows[10:],
        _control(GAME_B, "match_end"),
    ]
    return sent, [r["action_id"] for r in rows], bad


def _match_c() -> tuple[list[dict[str, Any]], list[int]]:
    rows = [{**r, "game_id": GAME_C} for r in match_actions()[:3]]
    info = match_info_row(game_id=GAME_C)
    return [
        _control(GAME_C, "match_start", match_info=info),
        *rows,
        _control(GAME_C, "match_end"),
    ], [r["action_id"] for r in rows]


def _plan() -> tuple[list[tuple[bytes, bytes]], dict[int, list[int]], dict[str, str]]:
    a, good_a, bad = _match_a()
    b, good_b, bad_b = _match_b()
    c, good_c = _match_c()
    bad |= bad_b
    messages: list[tuple[bytes, bytes]] = []
    # B interleaved with A, one record after each of A's until B is done.
    for i, record in enumerate(a):
        messages.append((str(GAME_ID).encode(), orjson.dumps(record)))
        if i < len(b):
            messages.append((str(GAME_B).encode(), orjson.dumps(b[i])))
        if i == 5:
            messages += [(str(GAME_C).encode(), orjson.dumps(r)) for r in c]
    messages += [(str(GAME_B).encode(), orjson.dumps(r)) for r in b[len(a) :]]
    # A record of A keyed as B's; a game id past 64 bits keyed as itself.
    stray = {**match_actions()[5], "action_id": 60, "nonce": "mis-keyed"}
    messages.append((str(GAME_B).encode(), orjson.dumps(stray)))
    huge = orjson.dumps({**stray, "game_id": 7, "nonce": "huge-game"})
    huge = huge.replace(b'"game_id":7', b'"game_id":18446744073709551616')
    messages.append((b"18446744073709551616", huge))
    # A key of 600 KB (the broker takes records of up to 1 MB): its letter must fit too.
    long_key = b"\x00" * 600_000
    messages.append((long_key, orjson.dumps({**stray, "action_id": 61, "nonce": "long-key"})))
    # One of B's actions naming its team twice: which one is meant cannot be told.
    twice = orjson.dumps({**match_actions()[6], "game_id": GAME_B, "action_id": 62})
    twice = twice[:-1] + b',"nonce":"twice","team_id":77}'
    messages.append((str(GAME_B).encode(), twice))
    bad["twice"] = "SchemaViolation"
    bad |= {"mis-keyed": "SchemaViolation", "huge-game": "SchemaViolation"}
    bad |= {"long-key": "SchemaViolation"}
    return messages, {GAME_ID: good_a, GAME_B: good_b, GAME_C: good_c}, bad


@pytest.mark.parametrize(
    ("backend", "mode"), [("template", "live"), ("llm", "live"), ("llm", "batch")]
)
async def test_glitches_of_three_matches_on_one_partition(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    backend: str,
    mode: str,
) -> None:
    env = {
        **pipeline_env,
        "PITCHCAST_DENSITY": "every",
        "PITCHCAST_PERSONAS": ",".join(PERSONAS),
        "PITCHCAST_LLM_MODE": mode,
    }
    server = None
    if backend == "llm":  # the prompt carries the glitches too (the test double answers)
        server = FakeLLMServer(model="pitchcast-test-model").start()
        env |= {
            "PITCHCAST_LLM_BACKEND": "openai",
            "PITCHCAST_LLM_BASE_URL": server.base_url,
            "PITCHCAST_LLM_MODEL": "pitchcast-test-model",
        }
    try:
        await _run(env, start_worker(env))
    finally:
        if server is not None:
            server.stop()


async def _run(env: dict[str, str], worker: WorkerProcess) -> None:
    messages, good, bad = _plan()
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(env["PITCHCAST_TOPIC_EVENTS"], key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()

    n_good = sum(len(ids) for ids in good.values())
    lines, letters = await read_lines_and_letters(
        env, worker, lines=n_good * len(PERSONAS), letters=len(bad)
    )
    told = lines_told(lines)
    for r in lines:
        text = r.value["item"]["description"]
        assert "None" not in text and "{" not in text and "\u200b" not in text, text
        assert "가" * 42 not in text, text  # a long name is cut (40 and a particle 가)
    for game_id, ids in good.items():
        for persona in PERSONAS:
            got = {a: told[(game_id, persona, a)] for a in ids}
            assert [a for a, n in got.items() if n != 1] == [], (game_id, persona, got)
    assert sum(told.values()) == n_good * len(PERSONAS), "a line for a bad record"

    reasons: dict[str, str] = {}
    for letter in letters:
        validator_for("dead_letter").validate(letter.value)
        nonce = orjson.loads(letter.value["value"])["nonce"]
        assert nonce not in reasons, f"{nonce} dead-lettered twice"
        reasons[nonce] = letter.value["error_kind"]
        assert letter.value["error_message"], letter.value
    assert reasons == bad
    stats = worker.stats()
    assert stats.get("dead_letters") == len(bad)
    assert stats.get("duplicates_dropped{kind=action_id}") == 2
    assert stats.get("duplicates_dropped{kind=control}") == 2


async def test_a_match_on_another_partition_than_its_key_s_loses_nothing_to_a_tick(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    """A feed partitioned by CRC32 (librdkafka's default), not murmur2: match A on a
    partition its key does not hash to, idle long enough mid-half for a tick, then the
    rest of it. Every action is told once (the tick went to the key's partition, and the
    records after it were dropped as redeliveries)."""
    env = {
        **pipeline_env,
        "PITCHCAST_DENSITY": "every",
        "PITCHCAST_PERSONAS": "CASTER",
        "PITCHCAST_IDLE_TIMEOUT_S": "1.5",
        "PITCHCAST_TICK_INTERVAL_S": "0.5",
    }
    worker = start_worker(env)
    every = list(range(PARTITIONS))
    right = DefaultPartitioner()(str(GAME_ID).encode(), every, every)
    wrong = (right + 1) % PARTITIONS
    rows = match_actions()[:16]
    first = [_control(GAME_ID, "match_start", match_info=match_info_row()), *rows[:5]]
    rest = [*rows[5:], _control(GAME_ID, "match_end")]
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for part in (first, rest):
            for record in part:
                await producer.send(
                    env["PITCHCAST_TOPIC_EVENTS"], key=str(GAME_ID).encode(),
                    value=orjson.dumps(record), partition=wrong,
                )  # fmt: skip
            await producer.flush()
            if part is first:
                # Another match on the key's own partition, ahead in offsets.
                for n in range(50):
                    other = {**rows[0], "game_id": 1, "action_id": n}
                    await producer.send(
                        env["PITCHCAST_TOPIC_EVENTS"], key=b"1", value=orjson.dumps(other),
                        partition=right,
                    )  # fmt: skip
                await producer.flush()
                await asyncio.sleep(5.0)  # the idle tick is written meanwhile
        await producer.flush()
    finally:
        await producer.stop()
    lines = await read_topic(
        bootstrap,
        env["PITCHCAST_TOPIC_LINES"],
        until=lambda rs: (
            {r.value["item"]["action_id"] for r in rs if r.value["game_id"] == GAME_ID}
            >= {r["action_id"] for r in rows}
        ),
        worker=worker,
        timeout=60,
    )
    worker.assert_alive()
    told = Counter(r.value["item"]["action_id"] for r in lines if r.value["game_id"] == GAME_ID)
    assert told == Counter(r["action_id"] for r in rows)
    assert worker.stats().get("ticks_sent", 0) >= 1
