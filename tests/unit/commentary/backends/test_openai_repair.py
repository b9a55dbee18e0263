"""OpenAIBackend's answers that fail validation: one repair asks again for the rows at
fault only; a second wrong answer is rejected with the reasons."""

from __future__ import annotations

import logging

import pytest

from pitchcast.exceptions import CommentaryRejected
from pitchcast.testing.fake_llm import FakeLLMServer, Fault
from tests.support.commentary_batches import OUTSIDER, korean_batch
from tests.support.llm import ItemRecorder, MakeBackend, last_user_message

# Retries are instant here unless a test asks for real_backoff (tests/support/llm_fixtures.py).
pytestmark = pytest.mark.usefixtures("instant_retries")

BATCH = korean_batch()
ACTION_IDS = [a.action_id for a in BATCH.actions]


@pytest.mark.parametrize("structured", [True, False], ids=["json", "lines"])
async def test_a_missing_line_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, structured: bool
) -> None:
    """Nine lines for ten actions: one repair asks for row 10 only, and the batch completes."""
    fake_llm.script(Fault("wrong_count"), None)
    recorder = ItemRecorder()
    result = await make_backend(structured_output=structured).write(
        BATCH, "CASTER", on_item=recorder
    )
    assert [i.action_id for i in result.items] == ACTION_IDS
    assert recorder.action_ids == ACTION_IDS
    assert fake_llm.request_count == 2
    repair = fake_llm.requests[1]
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    review = last_user_message(repair)
    assert "missing n=10" in review and "[요청] 10번, 1줄" in review
    if structured:
        lines = repair["response_format"]["json_schema"]["schema"]["properties"]["lines"]
        assert [item["prefixItems"][0]["const"] for item in lines["prefixItems"]] == [10]
    assert result.usage.completion_tokens > 0


async def test_wrong_twice_is_rejected(make_backend: MakeBackend, fake_llm: FakeLLMServer) -> None:
    """Exactly one repair: a second wrong answer raises CommentaryRejected with the reasons."""
    fake_llm.script(Fault("wrong_count"), Fault("wrong_count"), None)
    with pytest.raises(CommentaryRejected) as caught:
        await make_backend().write(BATCH, "CASTER")
    assert caught.value.reasons == ["missing n=10"]
    assert fake_llm.request_count == 2


async def test_malformed_json_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """Content that breaks the format gets one repair for every row, then succeeds."""
    fake_llm.script(Fault("malformed"), None)
    result = await make_backend().write(BATCH, "CASTER")
    assert len(result.items) == 10
    review = last_user_message(fake_llm.requests[1])
    assert "[요청] 1~10번, 10줄" in review


async def test_invented_names_are_rejected(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A roster name outside the batch fails validation, twice means CommentaryRejected."""
    fake_llm.script(Fault("invented_name", name=OUTSIDER), Fault("invented_name", name=OUTSIDER))
    with pytest.raises(CommentaryRejected) as caught:
        await make_backend().write(BATCH, "CASTER")
    assert caught.value.reasons == [f"n=1: names someone not in this batch: {OUTSIDER}"]
    assert OUTSIDER in last_user_message(fake_llm.requests[1])


async def test_an_invented_name_is_repaired_on_that_row_only(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """A content problem on row 1 keeps rows 2-10; the repair asks for row 1 alone."""
    fake_llm.script(Fault("invented_name", name=OUTSIDER), None)
    recorder = ItemRecorder()
    result = await make_backend().write(BATCH, "CASTER", on_item=recorder)
    assert OUTSIDER not in " ".join(i.description for i in result.items)
    assert "[요청] 1번, 1줄" in last_user_message(fake_llm.requests[1])
    assert recorder.action_ids == ACTION_IDS


@pytest.mark.parametrize("kind", ["unknown_row", "unknown_ref", "bad_tone"])
async def test_unknown_rows_references_and_tones_are_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, kind: str
) -> None:
    """An invented row number, an undefined {P99} or a tone off the list gets one repair."""
    fake_llm.script(Fault(kind), None)  # type: ignore[arg-type]
    result = await make_backend().write(BATCH, "CASTER")
    assert [i.action_id for i in result.items] == ACTION_IDS
    assert fake_llm.request_count == 2


async def test_extra_lines_after_a_complete_answer_need_no_repair(
    make_backend: MakeBackend, fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Every row valid plus a line for a row that does not exist: accepted, with a warning."""
    fake_llm.script(Fault("extra_line"))
    with caplog.at_level(logging.WARNING, logger="pitchcast.llm"):
        result = await make_backend(structured_output=False).write(BATCH, "CASTER")
    assert len(result.items) == 10
    assert fake_llm.request_count == 1
    assert any(r.getMessage() == "pitchcast.llm.extra_lines_ignored" for r in caplog.records)


async def test_a_cut_at_max_tokens_is_repaired(
    make_backend: MakeBackend, fake_llm: FakeLLMServer
) -> None:
    """finish_reason "length": the rows past the cut are asked for in the repair."""
    backend = make_backend(max_tokens=120, structured_output=False)
    recorder = ItemRecorder()
    with pytest.raises(CommentaryRejected) as caught:
        await backend.write(BATCH, "CASTER", on_item=recorder)
    assert any("cut at its max_tokens" in reason for reason in caught.value.reasons)
    assert fake_llm.request_count == 2
    # The lines that made it before the cut went out, in order, and stay out.
    assert recorder.action_ids == ACTION_IDS[: len(recorder.items)]
    assert len(recorder.items) >= 2
