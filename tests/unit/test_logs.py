"""Log output: context from ``extra`` reaches text and JSON lines, secrets never do."""

from __future__ import annotations

import ast
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "DESIGN.md", "RELIABILITY.md", "BENCHMARKS.md", "docs/operations.md")
# A log event as the docs write it: `pitchcast.ledger.gap`; `pitchcast.*.stopping` is a family.
_EVENT = re.compile(r"`(pitchcast\.[a-z_][a-z0-9_.]*[a-z0-9_])`")


def _logged_strings() -> set[str]:
    """Every string literal of the package: a log call's message starts with its event."""
    strings = set()
    for path in (REPO / "pitchcast").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return strings


def test_every_log_event_the_docs_name_is_logged() -> None:
    """An operator greps the log for the event a runbook names: it must be one the code
    writes (a module path, `pitchcast.commentary.live`, is a logger name, not an event)."""
    strings = _logged_strings()
    missing = []
    for doc in DOCS:
        for event in _EVENT.findall((REPO / doc).read_text(encoding="utf-8")):
            module = REPO.joinpath(*event.split("."))
            if module.with_suffix(".py").is_file() or module.is_dir() or event.endswith(".json"):
                continue  # a module (a logger's name) or a file (the dashboard's pitchcast.json)
            if not any(s == event or s.startswith((event + " ", event + ":")) for s in strings):
                missing.append(f"{doc}: {event}")
    assert missing == []
