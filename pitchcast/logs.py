"""Logging for every pitchcast command, the Faust worker included.

faust's worker replaces the root handler when it starts (``mode.utils.logging
.setup_logging``), and mode's formatter prints only ``extra["data"]``, so the context
pitchcast passes in ``extra`` (game_id, batch_index, persona, error_kind ...) used to
vanish. :func:`logging_config` builds the dictConfig the worker is given instead
(``faust.Worker(logging_config=...)``), and :func:`configure_logging` applies it before
the worker starts. One handler on stdout, one of two formatters:

* ``PITCHCAST_LOG_FORMAT=text`` (default): ``time [pid] LEVEL logger message key=value ...``,
  every ``extra`` field appended, so the context reaches plain-text output too;
* ``PITCHCAST_LOG_FORMAT=json``: one JSON object per line (python-json-logger's orjson
  formatter): ``time``, ``level``, ``logger``, ``message``, then every ``extra`` field,
  and ``exc_info`` as text when there is one.

The other commands (``eval``, ``replay``, ``tail``, ``dlq`` ...) print their own output on
stdout, so :func:`configure_command_logging` gives them one handler on stderr, with the
same formatters, at WARNING (or ``PITCHCAST_LOG_LEVEL`` when it is set): their warnings
and errors keep their context (a refused LLM's ``hint``), not only the event name.

Both formatters redact the secret settings (Redis password, the password inside the
Redis URL, LLM API key or keys, Kafka SASL password, monitor password) from the finished
line: pitchcast never logs them, and this catches a library that would.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import Iterable
from typing import Any

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

from pitchcast.settings import Settings, split_list

__all__ = [
    "JsonFormatter",
    "TextFormatter",
    "configure_command_logging",
    "configure_logging",
    "logging_config",
    "secrets_of",
]

REDACTED = "**********"

# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__
) | {"message", "asctime", "taskName", "extra"}
_TEXT_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s %(message)s"


def secrets_of(settings: Settings) -> list[str]:
    """The secret values in ``settings``, longest first (so no prefix hides a longer one)."""
    found: list[str] = []
    for secret in (
        settings.redis_password,
        settings.llm_api_key,
        settings.kafka_sasl_password,
        settings.monitor_password,
    ):
        if secret is not None and secret.get_secret_value():
            found.append(secret.get_secret_value())
    if settings.llm_api_keys is not None:  # one key per endpoint, comma-separated
        found.extend(split_list(settings.llm_api_keys.get_secret_value()))
    url_password = _url_password(settings.redis_url)
    if url_password:
        found.append(url_password)
    # Very short values would redact ordinary words; settings that short are not secrets.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _url_password(url: str) -> str | None:
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    creds = rest.rpartition("@")[0]
    return creds.split(":", 1)[1] if ":" in creds else None


class _Redactor:
    """Replaces each secret, as written and as JSON would escape it, in a finished line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms.add(secret)
            forms.add(orjson.dumps(secret).decode()[1:-1])
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for form in self._forms:
            if form in line:
                line = line.replace(form, REDACTED)
        return line


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text == "" or any(c.isspace() or c in '="' for c in text):
        return orjson.dumps(text).decode()  # quoted, so key=value pairs stay parseable
    return text


class TextFormatter(logging.Formatter):
    """The standard line, then ``key=value`` for every ``extra`` field; secrets redacted."""

    def __init__(self, fmt: str = _TEXT_FORMAT, secrets: Iterable[str] = (), **kwargs: Any):
        super().__init__(fmt, **kwargs)
        self._redact = _Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            context = " ".join(f"{k}={_text_value(v)}" for k, v in extras.items())
            head, newline, rest = line.partition("\n")  # keep a traceback below the context
            line = f"{head} {context}{newline}{rest}"
        return self._redact(line)


class JsonFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter with pitchcast's field names; secrets redacted."""

    def __init__(self, secrets: Iterable[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("reserved_attrs", sorted(_STANDARD_ATTRS - {"message"}))
        super().__init__(**kwargs)
        self._redact = _Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def logging_config(settings: Settings) -> dict[str, Any]:
    """The dictConfig for ``settings``: one stdout handler, text or JSON, secrets redacted."""
    formatter = "json" if settings.log_format == "json" else "text"
    secrets = secrets_of(settings)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": "pitchcast.logs.TextFormatter", "secrets": secrets},
            "json": {"()": "pitchcast.logs.JsonFormatter", "secrets": secrets},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": formatter,
                "level": settings.log_level,
            }
        },
        "root": {"level": settings.log_level, "handlers": ["default"]},
    }


def configure_logging(settings: Settings) -> None:
    """Apply :func:`logging_config` now (the worker, before faust takes it over)."""
    logging.config.dictConfig(logging_config(settings))
    # Python warnings become log records, so JSON output stays one object per line.
    logging.captureWarnings(True)


class _CommandHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is when the record comes (a test runner
    or click's CliRunner may swap it), so it never holds on to a closed stream."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_command_logging(settings: Settings) -> None:
    """Log lines of a command other than the worker: on stderr (stdout is the command's
    output), formatted and redacted as the worker's, from WARNING up unless
    ``PITCHCAST_LOG_LEVEL`` is set. Replaces the handler an earlier call added."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CommandHandler)]:
        root.removeHandler(old)
    handler = _CommandHandler()
    secrets = secrets_of(settings)
    handler.setFormatter(
        JsonFormatter(secrets=secrets)
        if settings.log_format == "json"
        else TextFormatter(secrets=secrets)
    )
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    handler.setLevel(level)
    if root.getEffectiveLevel() > handler.level:
        root.setLevel(handler.level)
    root.addHandler(handler)
