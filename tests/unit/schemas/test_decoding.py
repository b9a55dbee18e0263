"""Hand-off records read back: the end of a period whose batch had closed already."""

from __future__ import annotations

import orjson
import pytest

from pitchcast.exceptions import SchemaViolation
from pitchcast.schemas.decoding import decode_handoff, encode
from pitchcast.schemas.records import PeriodEnd, Score
from tests.support.commentary_batches import korean_batch


def _period_end() -> PeriodEnd:
    batch = korean_batch()
    return PeriodEnd(
        game_id=batch.game_id, batch_index=4, close_reason="period_end",
        last=batch.actions[-1], score=Score(2, 1), match_info=batch.match_info,
        ended_by_ts_ms=1_700_000_000_000,
    )  # fmt: skip


def test_a_period_end_reads_back_as_it_was_sent() -> None:
    mark = _period_end()
    assert decode_handoff(encode(mark), max_bytes=65536) == mark


@pytest.mark.parametrize("reason", ["full", "idle", "whistle"])
def test_a_period_end_closed_by_anything_but_an_end_is_refused(reason: str) -> None:
    data = orjson.loads(encode(_period_end()))
    data["close_reason"] = reason
    with pytest.raises(SchemaViolation, match="period_end or match_end"):
        decode_handoff(orjson.dumps(data), max_bytes=65536)


@pytest.mark.parametrize("missing", ["last", "score", "batch_index"])
def test_a_period_end_missing_a_field_is_a_schema_violation(missing: str) -> None:
    data = orjson.loads(encode(_period_end()))
    del data[missing]
    with pytest.raises(SchemaViolation, match="not a pitchcast period end"):
        decode_handoff(orjson.dumps(data), max_bytes=65536)
