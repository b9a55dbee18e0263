"""How `pitchcast tail` (and the demo) print commentary records."""

from __future__ import annotations

from pitchcast.streams.tail import format_commentary


def test_a_record_prints_its_shown_items_only() -> None:
    """Items told with another line (density) have no text: they are not printed."""
    record = {
        "game_id": 1, "batch_index": 0, "persona": "CASTER", "period_id": 1,
        "score": {"home": 0, "away": 0}, "close_reason": "full", "source": "template",
        "items": [
            {"action_id": 1, "time_seconds": 61.0, "tone": "calm", "description": "패스.",
             "shown": True, "told_with": None},
            {"action_id": 2, "time_seconds": 62.0, "tone": "calm", "description": "",
             "shown": False, "told_with": 1},
            {"action_id": 3, "time_seconds": 63.0, "tone": "calm", "description": "옛 기록."},
        ],
    }  # fmt: skip
    lines = format_commentary(record).splitlines()
    assert len(lines) == 3  # the header, then items 1 and 3 (absent shown: shown)
    assert lines[1].endswith("[calm] 패스.") and lines[2].endswith("[calm] 옛 기록.")


def test_a_batch_clock_is_the_match_clock_in_extra_time_too() -> None:
    """The blocks give the match clock (2H 48:00, three minutes into the second half);
    extra time starts at 90 and 105 minutes, not at 00:00 (the lines say 연장 전반 91분)."""
    shown = {}
    for period in (1, 2, 3, 4):
        record = {
            "game_id": 1, "batch_index": 0, "persona": "CASTER", "period_id": period,
            "score": {}, "close_reason": "full", "source": "template",
            "items": [{"action_id": 1, "time_seconds": 65.0, "tone": "calm", "description": "."}],
        }  # fmt: skip
        shown[period] = format_commentary(record).splitlines()[1].split()[:2]
    assert shown == {
        1: ["1H", "01:05"], 2: ["2H", "46:05"], 3: ["3H", "91:05"], 4: ["4H", "106:05"]
    }  # fmt: skip


async def test_a_broker_that_does_not_answer_is_named_in_one_error() -> None:
    # `pitchcast tail` with the broker down: one clear line, not aiokafka's traceback.
    import pytest

    from pitchcast.exceptions import ConfigurationError
    from pitchcast.settings import load_settings
    from pitchcast.streams.tail import tail
    from tests.support.redis_fixtures import free_port

    servers = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConfigurationError, match=f"cannot reach Kafka at {servers}"):
        await tail(load_settings(kafka_bootstrap_servers=servers), from_beginning=True)
