"""The worker end to end, quickly: the smoke test that `scripts/test --quick` runs.

A short real match (25 actions of sample match 1, two personas) and two malformed inputs
go through a real ``pitchcast worker`` subprocess on the real broker and Redis; every
record it writes is read back and checked. The whole-match tests are in test_pipeline.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pitchcast.schemas.contract import validator_for
from tests.support.pipeline import WorkerProcess
from tests.support.short_match import ACTIONS, PERSONAS, run_short_match, short_plan

pytestmark = [pytest.mark.integration, pytest.mark.smoke]


async def test_a_short_match_goes_through_a_real_worker(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """One line per action and persona, in match order; one record per batch and persona;
    one dead letter per malformed input; every record valid against its schema."""
    env = {**pipeline_env, "PITCHCAST_PERSONAS": ",".join(PERSONAS)}
    worker = start_worker(env)

    short = await run_short_match(env, worker)

    action_ids = [m.value["action_id"] for m in short_plan() if "action_id" in m.value]
    assert len(action_ids) == ACTIONS
    lines = [r.json() for r in sorted(short.lines, key=lambda r: r.offset)]
    records = [r.json() for r in sorted(short.commentary, key=lambda r: r.offset)]
    for persona in PERSONAS:
        said = [line["item"]["action_id"] for line in lines if line["persona"] == persona]
        assert said == action_ids, persona
        batches = [r for r in records if r["persona"] == persona]
        assert [len(r["items"]) for r in batches] == [10, 10, 5]
        assert [r["close_reason"] for r in batches][-1] == "period_end"
        assert all(line["description"] for r in batches for line in r["items"])
    line_schema, record_schema = validator_for("commentary_line"), validator_for("commentary")
    for line in lines:
        line_schema.validate(line)
    for record in records:
        record_schema.validate(record)
    dead_letters = [r.json() for r in short.dead_letters]
    for letter in dead_letters:
        validator_for("dead_letter").validate(letter)
    assert {letter["source_topic"] for letter in dead_letters} == {env["PITCHCAST_TOPIC_EVENTS"]}
    assert all(letter["error_kind"] and letter["error_message"] for letter in dead_letters)
    worker.assert_alive()
