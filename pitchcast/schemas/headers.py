"""Kafka headers of the topics other teams consume: the one place their values live.

Every record pitchcast writes to ``commentary``, ``commentary-lines`` and
``commentary-dlq`` carries ``content-type: application/json`` and a ``__TypeId__``
token. Spring's JSON deserializer maps that token to a class through its type mappings
(``spring.json.type.mapping: commentary:com.example.Commentary``), so no Java class
name travels on the wire. A new major version of a payload gets a new token (see
docs/schema-evolution.md); the tokens below never change meaning.
"""

from __future__ import annotations

from pitchcast.schemas.records import Commentary, CommentaryLine

__all__ = [
    "COMMENTARY_HEADERS",
    "CONTENT_TYPE_HEADER",
    "DEAD_LETTER_HEADERS",
    "IDEMPOTENCY_KEY_HEADER",
    "LINE_HEADERS",
    "TYPE_ID_COMMENTARY",
    "TYPE_ID_COMMENTARY_LINE",
    "TYPE_ID_DEAD_LETTER",
    "TYPE_ID_HEADER",
    "commentary_headers",
    "dead_letter_headers",
    "line_headers",
]

CONTENT_TYPE_HEADER = "content-type"
TYPE_ID_HEADER = "__TypeId__"
IDEMPOTENCY_KEY_HEADER = "idempotency-key"

TYPE_ID_COMMENTARY = "commentary"
TYPE_ID_COMMENTARY_LINE = "commentary_line"
TYPE_ID_DEAD_LETTER = "dead_letter"

_JSON = (CONTENT_TYPE_HEADER, b"application/json")

COMMENTARY_HEADERS: tuple[tuple[str, bytes], ...] = (
    _JSON,
    (TYPE_ID_HEADER, TYPE_ID_COMMENTARY.encode()),
)
LINE_HEADERS: tuple[tuple[str, bytes], ...] = (
    _JSON,
    (TYPE_ID_HEADER, TYPE_ID_COMMENTARY_LINE.encode()),
)
DEAD_LETTER_HEADERS: tuple[tuple[str, bytes], ...] = (
    _JSON,
    (TYPE_ID_HEADER, TYPE_ID_DEAD_LETTER.encode()),
)


def commentary_headers(commentary: Commentary) -> list[tuple[str, bytes]]:
    """Headers of a ``commentary`` record; the idempotency key is its ``commentary_id``."""
    return [*COMMENTARY_HEADERS, (IDEMPOTENCY_KEY_HEADER, commentary.commentary_id.encode())]


def line_headers(line: CommentaryLine) -> list[tuple[str, bytes]]:
    """Headers of a ``commentary-lines`` record; the idempotency key is the line id."""
    line_id = f"{line.commentary_id}:{line.line_index}"
    return [*LINE_HEADERS, (IDEMPOTENCY_KEY_HEADER, line_id.encode())]


def dead_letter_headers() -> list[tuple[str, bytes]]:
    """Headers of a ``commentary-dlq`` record."""
    return list(DEAD_LETTER_HEADERS)
