"""Density on a real worker, broker and Redis: only shown lines go out (and the lines of
the match's flow: kick-off, half-time), the record keeps every action.

The short match (25 actions of sample match 1, two personas) goes through a real
``pitchcast worker`` subprocess at ``story`` density, in live and in batch mode, with the
template backend and with the OpenAI backend against the fake LLM server (a test double,
:mod:`pitchcast.testing.fake_llm`), which must be asked for the shown rows only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from pitchcast.schemas.contract import validator_for
from pitchcast.testing.fake_llm import FakeLLMServer
from tests.support.llm import TEST_API_KEY, TEST_MODEL, asked_rows
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


@pytest.mark.parametrize("mode", ["live", "batch"])
async def test_story_density_with_the_llm_asks_only_for_shown_rows(
    pipeline_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    fake_llm: FakeLLMServer,
    mode: str,
) -> None:
    """Issue 16, the OpenAI backend on a real worker at ``story``: the fake LLM is asked
    for each shown row once per persona and for no silent one; ``commentary-lines``
    carries the shown lines only, each the LLM's (or the template's with the record's
    reason); the record keeps one item per action, silent items with ``told_with``."""
    env = {
        **pipeline_env,
        "PITCHCAST_PERSONAS": ",".join(PERSONAS),
        "PITCHCAST_DENSITY": "story",
        "PITCHCAST_LLM_MODE": mode,
        "PITCHCAST_LLM_BACKEND": "openai",
        "PITCHCAST_LLM_BASE_URL": fake_llm.base_url,
        "PITCHCAST_LLM_MODEL": TEST_MODEL,
        "PITCHCAST_LLM_API_KEY": TEST_API_KEY,
    }
    worker = start_worker(env)
    short = await run_short_match(env, worker)
    worker.stop()

    decided = short_told("story")
    shown = [(i % 10, a, t) for i, (a, t) in enumerate(decided) if t.shown]
    assert 0 < len(shown) < len(decided)
    # Each shown row asked for once per persona (its number in its batch and its type).
    expected: Counter[tuple[int, str]] = Counter()
    for row, action, _ in shown:
        expected[(row + 1, action.type_name)] += len(PERSONAS)
    assert Counter(asked_rows(fake_llm)) == expected

    records = [r.json() for r in short.commentary]
    lines = [r.json() for r in sorted(short.lines, key=lambda r: r.offset)]
    reasons = {r["commentary_id"]: r["fallback_reason"] for r in records}
    for persona in PERSONAS:
        mine = [ln for ln in lines if ln["persona"] == persona and ln.get("source") != "control"]
        assert [ln["item"]["action_id"] for ln in mine] == [a.action_id for _, a, _ in shown]
        for line in mine:
            assert line["source"] in ("llm", "template"), line
            if line["source"] == "template":  # a live line the burst check rewrote
                assert reasons[line["commentary_id"]], line
        assert sum(ln["source"] == "llm" for ln in mine) > len(mine) / 2, mine
        items = [
            item
            for record in sorted(
                (r for r in records if r["persona"] == persona), key=lambda r: r["batch_index"]
            )
            for item in record["items"]
        ]
        assert [item["action_id"] for item in items] == [a.action_id for a, _ in decided]
        for item, (_, told) in zip(items, decided, strict=True):
            assert item["shown"] is told.shown
            assert item["told_with"] == told.told_with
            assert bool(item["description"]) is told.shown
    assert TEST_API_KEY not in worker.log_path.read_text(errors="replace")
