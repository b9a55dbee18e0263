"""Dead letters: built, sent keyed like their source, and read back into the original."""

from __future__ import annotations

import orjson

from pitchcast.metrics import Metrics
from pitchcast.streams.dead_letters import (
    DeadLetters,
    OriginalRecord,
    build_dead_letter,
    original_record,
)
from tests.support.agents import RawTopic as Topic


def _letter(value: bytes | None, *, key: bytes | None = b"7", cap: int = 8192) -> dict:  # type: ignore[type-arg]
    letter = build_dead_letter(
        source_topic="ev", partition=0, offset=5, key=key, value=value,
        error_kind="SchemaViolation", error_message="bad", value_cap=cap,
    )  # fmt: skip
    return orjson.loads(orjson.dumps(letter))  # as read from the topic


def test_a_letter_gives_back_its_original_record_byte_for_byte() -> None:
    for value in ('{"a": "가"}'.encode(), b"\xff\x00\xfe", b"", None):
        assert original_record(_letter(value)) == OriginalRecord("ev", b"7", value)
    assert original_record(_letter(b"{}", key=None)) == OriginalRecord("ev", None, b"{}")


def test_what_cannot_be_rebuilt_is_refused_with_the_reason() -> None:
    assert "truncated" in str(original_record(_letter(b"x" * 600, cap=256)))
    tampered = _letter(b'{"a": 1}')
    tampered["value"] = '{"a": 2}'
    assert "value_sha256" in str(original_record(tampered))
    assert "not UTF-8" in str(original_record(_letter(b"{}", key=b"\xff")))


async def test_a_letter_without_a_key_is_keyed_by_its_match() -> None:
    topic, metrics = Topic(), Metrics()
    letters = DeadLetters(topic, value_cap=1024, metrics=metrics, budget_s=0.3)
    letter = await letters.send(
        source_topic="ev", partition=1, offset=2, key=None, value=b"{oops",
        error_kind="UndecodableMessage", error_message="bad json", game_id=42,
    )  # fmt: skip
    assert orjson.loads(topic.sent[0])["error_kind"] == "UndecodableMessage"
    assert letter.value == "{oops" and metrics.get("dead_letters") == 1


class _KeyedTopic:
    """Keeps each send's key and value."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    def get_topic_name(self) -> str:
        return "dlq"

    async def send(
        self, *, key: bytes | None, value: bytes, headers: object, force: bool
    ) -> object:
        self.sent.append((key, value))

        async def acked() -> None:
            return None

        return acked()


async def test_a_letter_of_a_huge_key_fits_on_the_dead_letter_topic() -> None:
    """A record keyed by 600 KB of NULs (the broker takes it: 1 MB records) was sent to
    the dead-letter topic with the key twice, as its key and escaped in the letter
    (\\u0000, six bytes each): 4 MB, never acknowledged, so the worker stopped on it and
    again after each restart. The letter keeps the first bytes of a long key and says
    so; it is keyed by its match (or that cut key)."""
    topic = _KeyedTopic()
    letters = DeadLetters(topic, value_cap=1024, metrics=Metrics(), budget_s=0.3)
    huge = b"\x00" * 600_000
    for game_id in (42, None):
        await letters.send(
            source_topic="ev", partition=1, offset=2, key=huge, value=b'{"game_id": 42}',
            error_kind="SchemaViolation", error_message="bad key", game_id=game_id,
        )  # fmt: skip
    (key_a, _), (key_b, _) = topic.sent
    assert key_a == b"42" and key_b is not None and huge.startswith(key_b)
    for key, value in topic.sent:
        assert len(key or b"") + len(value) < 16_384
        letter = orjson.loads(value)
        assert letter["extra"] == {"key_length": 600_000, "key_truncated": True}
        assert "key was truncated" in str(original_record(letter))
    # A key of a usual length is kept whole.
    assert _letter(b"{}", key=b"126476")["key"] == "126476"
    assert _letter(b"{}", key=b"126476")["extra"] == {}
