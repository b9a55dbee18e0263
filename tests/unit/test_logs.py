"""Log output: context from ``extra`` reaches text and JSON lines, secrets never do."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from pitchcast.logs import REDACTED, JsonFormatter, TextFormatter, logging_config, secrets_of
from pitchcast.settings import load_settings

SECRET = 's3cret-sentinel-Ü"q'


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler]]:  # type: ignore[type-arg]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("pitchcast.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_text_lines_carry_the_extra_context(capture) -> None:  # type: ignore[no-untyped-def]
    """game_id, batch_index, persona and error_kind follow the message as key=value."""
    logger, stream, handler = capture
    handler.setFormatter(TextFormatter())
    logger.warning(
        "pitchcast.commentary.fallback",
        extra={"game_id": 7, "batch_index": 3, "persona": "CASTER", "reason": "a b"},
    )
    line = stream.getvalue().strip()
    assert line.endswith(
        'pitchcast.commentary.fallback game_id=7 batch_index=3 persona=CASTER reason="a b"'
    )
    assert " WARNING pitchcast.test_logs " in line


def test_json_lines_are_one_object_each_with_context_and_traceback(capture) -> None:  # type: ignore[no-untyped-def]
    """PITCHCAST_LOG_FORMAT=json: one JSON object per line, extra fields at the top level."""
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("pitchcast.batch_failed", extra={"game_id": 1, "error_kind": "ValueError"})
    logger.info("pitchcast.plain")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (orjson.loads(line) for line in lines)
    assert first["message"] == "pitchcast.batch_failed" and first["level"] == "ERROR"
    assert first["logger"] == "pitchcast.test_logs"
    assert first["game_id"] == 1 and first["error_kind"] == "ValueError"
    assert "ValueError: boom" in first["exc_info"] and "time" in first
    assert second["message"] == "pitchcast.plain"


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter])
def test_secrets_are_redacted_from_every_field(capture, formatter) -> None:  # type: ignore[no-untyped-def]
    """A secret in the message, an argument or an extra field comes out masked."""
    logger, stream, handler = capture
    handler.setFormatter(formatter(secrets=[SECRET]))
    logger.info("pitchcast.oops %s", SECRET, extra={"url": f"redis://:{SECRET}@h/0"})
    out = stream.getvalue()
    assert SECRET not in out and orjson.dumps(SECRET).decode()[1:-1] not in out
    assert out.count(REDACTED) == 2


def test_secrets_of_settings_and_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret setting is collected, the URL password too; the config picks the format."""
    monkeypatch.setenv("PITCHCAST_REDIS_PASSWORD", "redis-pass-1")
    monkeypatch.setenv("PITCHCAST_LLM_API_KEY", "sk-key-2")
    monkeypatch.setenv("PITCHCAST_KAFKA_SASL_PASSWORD", "kafka-pass-3")
    monkeypatch.setenv("PITCHCAST_REDIS_URL", "redis://u:url-pass-4@h:6379/0")
    monkeypatch.setenv("PITCHCAST_LOG_FORMAT", "json")
    settings = load_settings()
    assert set(secrets_of(settings)) == {"redis-pass-1", "sk-key-2", "kafka-pass-3", "url-pass-4"}
    config = logging_config(settings)
    assert config["handlers"]["default"]["formatter"] == "json"


def test_per_endpoint_keys_and_the_monitor_password_are_secrets_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PITCHCAST_LLM_API_KEYS (one key per endpoint, an empty entry for none) and
    PITCHCAST_MONITOR_PASSWORD are masked by `pitchcast config` like the other secrets,
    so the log formatters redact them too (before, only PITCHCAST_LLM_API_KEY was)."""
    monkeypatch.setenv("PITCHCAST_LLM_BASE_URL", "http://a:8000/v1,http://b:8000/v1,http://c/v1")
    monkeypatch.setenv("PITCHCAST_LLM_API_KEYS", "rp-key-a,,local-key-c")
    monkeypatch.setenv("PITCHCAST_MONITOR_PASSWORD", "booth-pass-5")
    assert set(secrets_of(load_settings())) == {"rp-key-a", "local-key-c", "booth-pass-5"}
