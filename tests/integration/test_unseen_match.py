"""A match unlike the samples through the real worker, broker and Redis, with feed glitches.

tests/integration/test_pipeline.py already sends bytes that are not JSON or not UTF-8,
values that are not objects, missing fields, NaN and off-pitch coordinates, a period
that is not a number, an oversized value, an unknown control and wrong keys. This test
adds what it leaves out, one glitch at a time in one Korean-named match (game 126476,
tests/support/unseen_match.py): the same action twice, two actions out of order within a
second, an unknown action type, an unknown player without a name, an action of a period
that skips one, an action with a null type, and a second match that never had a
``match_start``. Every good action is told once per persona, every line id is published
once, each bad record is dead-lettered with its reason and the worker keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from pitchcast.schemas.contract import validator_for
from pitchcast.streams.match_csv import read_actions
from pitchcast.streams.replay import plan_replay
from tests.support.pipeline import WorkerProcess, lines_told, read_lines_and_letters
from tests.support.unseen_match import GAME_ID, match_info_row, write_match

pytestmark = pytest.mark.integration

PERSONAS = ("CASTER", "FRIEND")
NO_INFO_GAME = GAME_ID + 1


def _messages(csv_rows: list[dict[str, Any]]) -> tuple[list[tuple[int, dict[str, Any]]], dict]:
    """(game id, value) in send order, and what each glitch should give."""
    rows = [dict(r) for r in csv_rows]
    last = rows[-1]
    unknown_type = {**last, "action_id": 30, "time_seconds": 3020.0, "type_name": "Drop Ball",
                    "result_name": None}  # fmt: skip
    unknown_player = {**last, "action_id": 31, "time_seconds": 3030.0, "player_id": 999999.0,
                      "player_name_ko": None, "main_position": None}  # fmt: skip
    skipped_period = {**last, "action_id": 32, "period_id": 4}
    null_type = {**last, "action_id": 33, "type_name": None}
    sent: list[tuple[int, dict[str, Any]]] = [
        (GAME_ID, {"game_id": GAME_ID, "control": "match_start", "match_info": match_info_row()})
    ]
    order = list(range(len(rows)))
    order[5], order[6] = 6, 5  # 6 is sent before 5: out of order within a second
    for action_id in order:
        sent.append((GAME_ID, rows[action_id]))
        if action_id == 3:
            sent.append((GAME_ID, dict(rows[3])))  # the same action again
        if action_id == 19:
            sent.append((GAME_ID, {"game_id": GAME_ID, "control": "period_end", "period_id": 1}))
    sent += [(GAME_ID, unknown_type), (GAME_ID, skipped_period), (GAME_ID, null_type)]
    sent += [(GAME_ID, unknown_player)]
    # A match whose feed never sent match_start: its actions are still told.
    for row in csv_rows[:4]:
        sent.append((NO_INFO_GAME, {**row, "game_id": NO_INFO_GAME}))
    sent += [
        (GAME_ID, {"game_id": GAME_ID, "control": "match_end", "period_id": 2}),
        (NO_INFO_GAME, {"game_id": NO_INFO_GAME, "control": "match_end", "period_id": 1}),
    ]
    good = {GAME_ID: [*range(30), 30, 31], NO_INFO_GAME: list(range(4))}
    bad = {32: "skip", 33: "type_name"}
    return sent, {"good": good, "bad": bad}


async def test_unseen_match_with_feed_glitches(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Any,
) -> None:
    env = {**pipeline_env, "PITCHCAST_DENSITY": "every", "PITCHCAST_PERSONAS": ",".join(PERSONAS)}
    worker = start_worker(env)
    path = write_match(tmp_path / "match")
    assert len(plan_replay(path)) == 30 + 4  # the CSV is the match the rows below send
    sent, expected = _messages(list(read_actions(path)))
    bootstrap = env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for game_id, value in sent:
            await producer.send(
                env["PITCHCAST_TOPIC_EVENTS"], key=str(game_id).encode(), value=orjson.dumps(value)
            )
        await producer.flush()
    finally:
        await producer.stop()

    n_good = sum(len(ids) for ids in expected["good"].values())
    lines, letters = await read_lines_and_letters(
        env, worker, lines=n_good * len(PERSONAS), letters=len(expected["bad"])
    )
    told = lines_told(lines)
    for r in lines:
        text = r.value["item"]["description"]
        assert "None" not in text and "999999" not in text and "{" not in text, text
    for game_id, ids in expected["good"].items():
        for persona in PERSONAS:
            got = [told[(game_id, persona, a)] for a in ids]
            assert got == [1] * len(ids), (game_id, persona, got)
    assert sum(told.values()) == n_good * len(PERSONAS), "a line for a bad record"

    assert len(letters) == len(expected["bad"])
    by_action: dict[int, dict[str, Any]] = {}
    for letter in letters:
        validator_for("dead_letter").validate(letter.value)
        by_action[orjson.loads(letter.value["value"])["action_id"]] = letter.value
    assert sorted(by_action) == sorted(expected["bad"])
    for action_id, needle in expected["bad"].items():
        assert needle in by_action[action_id]["error_message"], by_action[action_id]
    stats = worker.stats()
    assert stats.get("dead_letters") == len(expected["bad"])
    # The same action twice is dropped and counted, not dead-lettered (DESIGN.md).
    assert stats.get("duplicates_dropped{kind=action_id}") == 1
    assert stats.get("action_anomalies{kind=unknown_type_name}") == 1
