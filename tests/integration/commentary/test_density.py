"""Density on a real worker, broker and Redis: only shown lines go out (and the lines of
the match's flow: kick-off, half-time), the record keeps every action.

The short match (25 actions of sample match 1, two personas) goes through a real
``pitchcast worker`` subprocess at ``story`` density, in live and in batch mode.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pitchcast.schemas.contract import validator_for
from tests.support.pipeline import WorkerProcess
from tests.support.short_match import PERSONAS, run_short_match, short_told

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_story_density_publishes_only_shown_lines_and_keeps_every_item(
    pipeline_env: dict[str, str], start_worker: Callable[..., WorkerProcess], mode: str
) -> None:
    env = {
        **pipeline_env,
        "PITCHCAST_PERSONAS": ",".join(PERSONAS),
        "PITCHCAST_DENSITY": "story",
        "PITCHCAST_LLM_MODE": mode,
    }
    worker = start_worker(env)
    short = await run_short_match(env, worker)
    worker.stop()

    decided = short_told("story")  # each batch after the story it opens with
    actions = [a for a, _ in decided]
    told = [t for _, t in decided]
    shown_ids = [a.action_id for a, t in decided if t.shown]
    # The match has both kinds, or the test proves nothing.
    assert 0 < len(shown_ids) < len(actions)

    lines = [r.json() for r in sorted(short.lines, key=lambda r: r.offset)]
    records = [r.json() for r in sorted(short.commentary, key=lambda r: r.offset)]
    line_schema, record_schema = validator_for("commentary_line"), validator_for("commentary")
    for persona in PERSONAS:
        moments = [
            line for line in lines if line["persona"] == persona and line.get("source") == "control"
        ]
        # Kick-off before the first line, half-time after the last (period_end closed it).
        assert [(m["batch_index"], m["line_index"]) for m in moments] == [(0, 100), (2, 101)]
        assert (
            "킥오프" in moments[0]["item"]["description"]
            or "시작" in moments[0]["item"]["description"]
        )
        assert "전반" in moments[1]["item"]["description"]
        mine = [
            line for line in lines if line["persona"] == persona and line.get("source") != "control"
        ]
        assert [line["item"]["action_id"] for line in mine] == shown_ids, persona
        batches_of = sorted(
            (r for r in records if r["persona"] == persona), key=lambda r: r["batch_index"]
        )
        items = [item for record in batches_of for item in record["items"]]
        # One item per action, in order: the Spring contract.
        assert [len(r["items"]) for r in batches_of] == [10, 10, 5]
        assert [item["action_id"] for item in items] == [a.action_id for a in actions]
        by_line = {(ln["commentary_id"], ln["line_index"]): ln["item"] for ln in mine}
        for record in batches_of:
            for index, item in enumerate(record["items"]):
                decision = told[record["batch_index"] * 10 + index]
                assert item["shown"] is decision.shown
                assert item["told_with"] == decision.told_with
                line = by_line.get((record["commentary_id"], index))
                if decision.shown:
                    assert item["description"] and line == item  # the line is the item
                else:
                    assert item["description"] == "" and line is None
    for line in lines:
        line_schema.validate(line)
    for record in records:
        record_schema.validate(record)
