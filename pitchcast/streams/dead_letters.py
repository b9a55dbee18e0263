"""Build dead letters: enough to understand and replay a message that failed."""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

from pitchcast.schemas.records import DeadLetter, utc_now_iso

__all__ = ["build_dead_letter", "utc_now_iso"]


def _printable(raw: bytes, cap: int) -> tuple[str, Literal["utf-8", "base64"]]:
    """The first ``cap`` bytes as text when the value is UTF-8, else as base64."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw[:cap]).decode("ascii"), "base64"
    # The cap may cut a multi-byte character in two: drop the broken tail.
    return raw[:cap].decode("utf-8", errors="ignore"), "utf-8"


def build_dead_letter(
    *,
    source_topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    error_kind: str,
    error_message: str,
    value_cap: int,
    game_id: int | None = None,
    extra: dict[str, object] | None = None,
) -> DeadLetter:
    """A dead letter for one message; the raw value is kept as text or base64, capped."""
    raw = value or b""
    text, encoding = _printable(raw, value_cap)
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=None if key is None else key.decode("utf-8", errors="replace"),
        value=None if value is None else text,
        value_encoding=encoding,
        value_length=len(raw),
        value_sha256=hashlib.sha256(raw).hexdigest(),
        value_truncated=len(raw) > value_cap,
        error_kind=error_kind,
        error_message=error_message[:1000],
        failed_at=utc_now_iso(),
        game_id=game_id,
        extra=extra or {},
    )
