"""The JSON Schema files accept what pitchcast writes and refuse what it must not."""

from __future__ import annotations

import orjson
import pytest

from pitchcast.commentary.assembly import build_commentary
from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.exceptions import SchemaViolation
from pitchcast.schemas.contract import SCHEMA_NAMES, validator_for
from pitchcast.schemas.decoding import decode_batch, decode_event, encode
from pitchcast.schemas.records import (
    CommentaryItem,
    CommentaryLine,
    Control,
    PeriodEnd,
    Score,
    TeamTally,
    commentary_id_for,
)
from pitchcast.streams.dead_letters import build_dead_letter
from tests.support.commentary_batches import ONE_PASS_ACTION, ONE_PASS_BATCH, ONE_PASS_MATCH_INFO


def _json(record: object) -> object:
    return orjson.loads(encode(record))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_file_is_a_valid_schema(name: str) -> None:
    """Each schema file compiles as Draft 2020-12 with its references resolved."""
    assert validator_for(name).schema["title"]


def test_records_validate_against_their_schemas() -> None:
    """An action, controls, a batch, a commentary and a dead letter each pass their schema."""
    validator_for("action").validate(_json(ONE_PASS_ACTION))
    validator_for("control").validate(
        _json(Control(game_id=1, control="match_start", match_info=ONE_PASS_MATCH_INFO))
    )
    validator_for("control").validate(_json(Control(game_id=1, control="tick", at=1.5)))
    validator_for("batch").validate(_json(ONE_PASS_BATCH))
    end = PeriodEnd(
        game_id=126283, batch_index=17, close_reason="period_end", last=ONE_PASS_ACTION,
        score=Score(1, 0), match_info=ONE_PASS_MATCH_INFO, ended_by_ts_ms=5,
        teams=(TeamTally(11, shots=1, name="서울"), TeamTally(12)),
    )  # fmt: skip
    validator_for("period_end").validate(_json(end))
    assert not validator_for("period_end").is_valid({**_json(end), "close_reason": "full"})  # type: ignore[dict-item]
    item = CommentaryItem(action_id=170, time_seconds=612.4, tone="excited", description="골!")
    result = CommentaryResult(items=(item,), source="template", model="template")
    validator_for("commentary").validate(_json(build_commentary(ONE_PASS_BATCH, "CASTER", result)))
    letter = build_dead_letter(
        source_topic="match-events", partition=0, offset=1, key=b"1", value=b"\xff\xfe",
        error_kind="UndecodableMessage", error_message="x", value_cap=4096,
    )  # fmt: skip
    validator_for("dead_letter").validate(_json(letter))


def test_schemas_refuse_wrong_messages() -> None:
    """A bad tone, an unknown control and a missing key are refused."""
    bad_item = {"action_id": 1, "time_seconds": 0, "tone": "angry", "description": "x"}
    assert not validator_for("commentary").is_valid({"items": [bad_item]})
    assert not validator_for("control").is_valid({"game_id": 1, "control": "halftime"})
    assert not validator_for("action").is_valid({"game_id": 1})


def test_batch_round_trips_through_json() -> None:
    """A batch decodes back to an equal record."""
    assert decode_batch(encode(ONE_PASS_BATCH), max_bytes=65536) == ONE_PASS_BATCH


def test_decoder_and_schema_agree_on_an_action() -> None:
    """What the decoder accepts, the schema accepts too."""
    decoded = decode_event(encode(ONE_PASS_ACTION), max_bytes=65536, clamp_margin=5.0)
    validator_for("action").validate(_json(decoded.action))  # type: ignore[union-attr]


def test_decoder_and_schema_refuse_an_overlong_name() -> None:
    """A 101-character name is refused by both; a 100-character one passes both."""
    for length, ok in ((100, True), (101, False)):
        data = {**_json(ONE_PASS_ACTION), "player_name_ko": "박" * length}
        assert validator_for("action").is_valid(data) is ok
        try:
            decode_event(orjson.dumps(data), max_bytes=65536, clamp_margin=5.0)
            decoded = True
        except SchemaViolation:
            decoded = False
        assert decoded is ok


def test_commentary_id_is_deterministic_uuid5() -> None:
    """The same batch and persona always give the same id; personas differ."""
    assert commentary_id_for(126283, 17, "CASTER") == commentary_id_for(126283, 17, "CASTER")
    assert commentary_id_for(126283, 17, "CASTER") != commentary_id_for(126283, 17, "ANALYST")
    # Pinned: consumers (Spring) may compute it too; it must never change.
    assert commentary_id_for(126283, 17, "CASTER") == "b140d7ef-7371-59da-9f70-745b01bab9a4"


def test_silent_items_follow_the_density_contract() -> None:
    """A record keeps an item per action: a silent one has shown false, no text and the
    action it was told with; a shown one has text; absent means shown (older records);
    a line is always shown."""
    commentary = validator_for("commentary")
    record = _json(
        build_commentary(
            ONE_PASS_BATCH,
            "CASTER",
            CommentaryResult(
                items=(
                    CommentaryItem(170, 612.4, "calm", "이강인의 패스."),
                    CommentaryItem(171, 613.0, "calm", "", shown=False, told_with=170),
                    CommentaryItem(172, 614.0, "calm", "", shown=False, told_with=None),
                ),
                source="template",
                model="template",
            ),
        )
    )
    assert isinstance(record, dict)
    commentary.validate(record)
    items = record["items"]
    for wrong in (
        {**items[1], "description": "말이 있는 침묵"},  # silent with a text
        {**items[0], "description": ""},  # shown without a text
        {**items[0], "told_with": 170},  # shown, yet told with another
    ):
        assert not commentary.is_valid({**record, "items": [wrong]}), wrong
    older = {k: v for k, v in items[0].items() if k not in ("shown", "told_with")}
    commentary.validate({**record, "items": [older]})
    line = _json(
        CommentaryLine(
            commentary_id=record["commentary_id"], line_index=1, game_id=1, batch_index=17,
            persona="CASTER", item=CommentaryItem(171, 613.0, "calm", "", shown=False,
            told_with=170), final=False, created_at="2026-11-22T12:00:00Z",
        )
    )  # fmt: skip
    assert not validator_for("commentary_line").is_valid(line)
