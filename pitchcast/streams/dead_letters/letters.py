"""Dead letters: built (enough to understand and replay a message that failed), sent, and
read back into the original record.

:func:`build_dead_letter` keeps the raw value as text or base64, capped, with its length
and digest; :func:`original_record` is its inverse (what ``pitchcast dlq replay`` sends
again), refusing what cannot be rebuilt byte for byte; :class:`DeadLetters` sends them,
keyed like their source so they stay on the match's partition.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pitchcast.metrics import Metrics
from pitchcast.schemas.decoding import encode
from pitchcast.schemas.headers import dead_letter_headers
from pitchcast.schemas.records import DeadLetter
from pitchcast.schemas.timestamps import utc_now_iso
from pitchcast.streams.sending import send_until_acked

__all__ = ["DeadLetters", "OriginalRecord", "build_dead_letter", "original_record"]

log = logging.getLogger("pitchcast.output")

# A key kept whole in a letter (a match key is a game id: at most 20 bytes). Kafka takes
# keys up to the record cap, and a letter holds its key twice (as its key and, escaped,
# in its value): a longer one is cut here, or its letter would not fit on the topic.
KEY_CAP = 256


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
    extra = dict(extra or {})
    if key is not None and len(key) > KEY_CAP:
        extra |= {"key_length": len(key), "key_truncated": True}
        key = key[:KEY_CAP]
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
        extra=extra,
    )


@dataclass(frozen=True, slots=True)
class OriginalRecord:
    """The record a dead letter describes, rebuilt byte for byte."""

    topic: str
    key: bytes | None
    value: bytes | None


def original_record(letter: Mapping[str, Any]) -> OriginalRecord | str:
    """The original record of a dead letter (as read from the topic), or why it cannot
    be rebuilt byte for byte."""
    if letter.get("value_truncated"):
        return (
            f"the value was truncated to the dead-letter cap ({letter.get('value_length')} bytes"
            " originally); it cannot be rebuilt: re-send it from the producer"
        )
    text = letter.get("value")
    value: bytes | None
    if text is None:
        value = None
    elif letter.get("value_encoding") == "base64":
        try:
            value = base64.b64decode(text, validate=True)
        except ValueError:
            return "the base64 value does not decode"
    else:
        value = str(text).encode("utf-8")
    digest = hashlib.sha256(value or b"").hexdigest()
    if letter.get("value_sha256") and digest != letter["value_sha256"]:
        return "the rebuilt value does not match value_sha256 (the letter is not the original)"
    if (letter.get("extra") or {}).get("key_truncated"):
        return (
            f"the key was truncated to {KEY_CAP} bytes"
            f" ({letter['extra'].get('key_length')} bytes originally); it cannot be rebuilt"
        )
    key_text = letter.get("key")
    if isinstance(key_text, str) and "\ufffd" in key_text:
        return "the original key was not UTF-8; it cannot be rebuilt"
    key = None if key_text is None else str(key_text).encode("utf-8")
    return OriginalRecord(topic=str(letter.get("source_topic")), key=key, value=value)


class DeadLetters:
    """Writes dead letters keyed like their source, so they stay on the match's partition.

    A dead letter that cannot be delivered raises :class:`DeliveryFailed`: the record
    it describes must not be acked either.
    """

    def __init__(
        self, topic: Any, *, value_cap: int, metrics: Metrics, budget_s: float = 120.0
    ) -> None:
        self._topic = topic
        self._value_cap = value_cap
        self._metrics = metrics
        self._budget_s = budget_s

    async def send(
        self,
        *,
        source_topic: str,
        partition: int | None,
        offset: int | None,
        key: bytes | None,
        value: bytes | None,
        error_kind: str,
        error_message: str,
        game_id: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> DeadLetter:
        letter = build_dead_letter(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            error_kind=error_kind,
            error_message=error_message,
            value_cap=self._value_cap,
            game_id=game_id,
            extra=extra,
        )
        if (key is None or len(key) > KEY_CAP) and game_id is not None:
            key = str(game_id).encode()
        elif key is not None:
            key = key[:KEY_CAP]
        await send_until_acked(
            self._topic,
            key=key,
            value=encode(letter),
            headers=dead_letter_headers(),
            budget_s=self._budget_s,
            metrics=self._metrics,
        )
        self._metrics.add("dead_letters", reason=error_kind)
        log.warning(
            "pitchcast.dead_letter kind=%s topic=%s partition=%s offset=%s: %s",
            error_kind,
            source_topic,
            partition,
            offset,
            letter.error_message,
            extra={
                "error_kind": error_kind,
                "source_topic": source_topic,
                "partition": partition,
                "offset": offset,
                "game_id": game_id,
            },
        )
        return letter
