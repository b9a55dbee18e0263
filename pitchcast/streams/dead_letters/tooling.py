"""Read, inspect and replay dead letters (``pitchcast dlq list | show | replay``).

A dead letter is named by where it sits in the dead-letter topic: ``PARTITION:OFFSET``
(e.g. ``2:17``). Reading never joins a consumer group, so it moves nobody's offsets.

Replay re-injects the *original* record: the value decoded from the letter's
``value`` / ``value_encoding`` (checked against ``value_sha256``), under the original
key, into ``source_topic`` (only the configured events or batches topic), with headers
that mark it as a replay::

    pitchcast-replay-of        <source topic>:<source partition>:<source offset>
    pitchcast-replay-from      <dead-letter topic>:<partition>:<offset>
    pitchcast-replayed-at      ISO 8601 UTC

A letter whose value was truncated (larger than ``dlq_value_cap_bytes``), whose digest
does not match, or whose key was not UTF-8 cannot be rebuilt byte for byte: it is
refused, with the reason (:func:`~pitchcast.streams.dead_letters.letters.original_record`,
the inverse of how the agents build a letter). An event dead-lettered for its key can be
sent under its match's key instead (``key_by_game``: the game_id its value carries).
What was replayed is recorded twice: in those headers, in the log itself (durable, seen
by every consumer), and as one JSON line per record appended to an audit file on the
operator's side (``PITCHCAST_DLQ_AUDIT_FILE``), which also stops the same letter from
being replayed twice by accident (``--force`` overrides).
"""

from __future__ import annotations

import contextlib
import getpass
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pitchcast.exceptions import PitchcastError
from pitchcast.schemas.timestamps import utc_now_iso
from pitchcast.settings import Settings
from pitchcast.streams.admin import partition_count
from pitchcast.streams.clients import aiokafka_options
from pitchcast.streams.dead_letters.letters import original_record

__all__ = [
    "DeadLetterEntry",
    "DlqError",
    "Filters",
    "ReplayPlan",
    "parse_id",
    "parse_time",
    "plan_replay",
    "read_dead_letters",
    "send_replay",
]

REPLAY_OF = "pitchcast-replay-of"
REPLAY_FROM = "pitchcast-replay-from"
REPLAYED_AT = "pitchcast-replayed-at"

_ID = re.compile(r"^(\d+):(\d+)$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class DlqError(PitchcastError):
    """A dead-letter command that cannot be carried out as asked."""


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One record of the dead-letter topic."""

    partition: int
    offset: int
    timestamp_ms: int
    letter: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def game_id(self) -> int | None:
        game = self.letter.get("game_id")
        if game is None:
            key = self.letter.get("key")
            return int(key) if isinstance(key, str) and key.isdigit() else None
        return int(game)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which dead letters a command applies to; empty means all."""

    ids: frozenset[str] = frozenset()
    game_id: int | None = None
    reasons: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    source_offsets: tuple[int, int] | None = None  # inclusive range of original offsets

    @property
    def empty(self) -> bool:
        return not (
            self.ids
            or self.game_id is not None
            or self.reasons
            or self.since
            or self.until
            or self.source_offsets
        )

    def match(self, entry: DeadLetterEntry) -> bool:
        letter = entry.letter
        if self.ids and entry.id not in self.ids:
            return False
        if self.game_id is not None and entry.game_id != self.game_id:
            return False
        if self.reasons and str(letter.get("error_kind")).casefold() not in {
            reason.casefold() for reason in self.reasons
        }:
            return False
        if self.since is not None and entry.time < self.since:
            return False
        if self.until is not None and entry.time >= self.until:
            return False
        if self.source_offsets is not None:
            offset = letter.get("offset")
            first, last = self.source_offsets
            if not isinstance(offset, int) or not first <= offset <= last:
                return False
        return True


def parse_id(text: str) -> str:
    """``PARTITION:OFFSET`` of a dead letter, validated."""
    if not _ID.match(text.strip()):
        raise DlqError(f"{text!r} is not a dead-letter id (PARTITION:OFFSET, e.g. 2:17)")
    return text.strip()


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC if no zone) or a duration back from now: ``30m``, ``2h``, ``1d``."""
    text = text.strip()
    duration = _DURATION.match(text)
    if duration:
        amount = float(duration.group(1))
        delta = timedelta(**{_UNITS[duration.group(2)]: amount})
        return (now or datetime.now(UTC)) - delta
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DlqError(
            f"{text!r} is neither an ISO 8601 time nor a duration like 30m, 2h, 1d"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_offsets(text: str) -> tuple[int, int]:
    """``FIRST-LAST`` (inclusive) or a single offset."""
    first, sep, last = text.partition("-")
    try:
        lo, hi = int(first), int(last) if sep else int(first)
    except ValueError:
        raise DlqError(f"{text!r} is not an offset range like 100-200") from None
    if lo > hi:
        raise DlqError(f"offset range {text!r} is empty")
    return lo, hi


async def read_dead_letters(
    settings: Settings, filters: Filters = Filters(), *, limit: int | None = None
) -> list[DeadLetterEntry]:
    """Dead letters that match ``filters``, oldest first per partition, read up to the
    topic's end as it was when the call started."""
    topic = settings.topic_dlq
    count = await partition_count(settings, topic)
    partitions = [TopicPartition(topic, p) for p in range(count)]
    wanted_partitions = {int(i.split(":")[0]) for i in filters.ids}
    if wanted_partitions:
        partitions = [tp for tp in partitions if tp.partition in wanted_partitions]
    if not partitions:
        # Before the consumer starts: aiokafka's stop() right after start() with nothing
        # assigned raises CancelledError (aiokafka 0.14, its no-group coordinator).
        return []
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    found: list[DeadLetterEntry] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=5000, max_records=1000)
            if not batch:
                break  # nothing more arrives: the end moved back (deleted records)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    entry = _entry(record)
                    if entry is not None and filters.match(entry):
                        found.append(entry)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    found.sort(key=lambda e: (e.timestamp_ms, e.partition, e.offset))
    return found[-limit:] if limit else found


def _entry(record: Any) -> DeadLetterEntry | None:
    try:
        letter = orjson.loads(record.value) if record.value else None
    except orjson.JSONDecodeError:
        letter = None
    if not isinstance(letter, dict):
        # Not one of ours (someone wrote to the topic by hand): shown, never replayed.
        raw = record.value or b""
        letter = {"error_kind": "(not a dead letter)", "value_length": len(raw)}
    return DeadLetterEntry(record.partition, record.offset, record.timestamp, letter)


# --- replay -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One dead letter rebuilt into the record to send again."""

    entry: DeadLetterEntry
    topic: str
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class ReplayPlan:
    """What a replay would send, and what it refuses (with the reason)."""

    items: list[ReplayItem] = field(default_factory=list)
    refused: list[tuple[DeadLetterEntry, str]] = field(default_factory=list)
    already: list[DeadLetterEntry] = field(default_factory=list)


def _rebuild(entry: DeadLetterEntry, allowed_topics: set[str]) -> ReplayItem | str:
    letter = entry.letter
    topic = letter.get("source_topic")
    if topic not in allowed_topics:
        reads = ", ".join(sorted(allowed_topics))
        return f"source topic {topic!r} is not one pitchcast reads ({reads})"
    original = original_record(letter)
    if isinstance(original, str):
        return original
    return ReplayItem(entry=entry, topic=original.topic, key=original.key, value=original.value)


def _keyed_by_game(item: ReplayItem, events_topic: str) -> ReplayItem | str:
    """``item`` under the key its match's records take: the game_id as UTF-8 text."""
    if item.topic != events_topic:
        return f"--key-by-game re-keys records of the events topic ({events_topic}) only"
    try:
        game_id = orjson.loads(item.value or b"").get("game_id")
    except (orjson.JSONDecodeError, AttributeError):
        game_id = None
    if not isinstance(game_id, int) or isinstance(game_id, bool):
        return "--key-by-game: the value has no integer game_id to key it by"
    return replace(item, key=str(game_id).encode())


def plan_replay(
    entries: Iterable[DeadLetterEntry],
    settings: Settings,
    *,
    replayed_before: set[str] = frozenset(),  # type: ignore[assignment]
    force: bool = False,
    key_by_game: bool = False,
) -> ReplayPlan:
    """Rebuild each entry's original record, or say why it cannot be. ``key_by_game``:
    send each under its value's game_id as key (a producer that keyed it wrongly)."""
    allowed = {settings.topic_events, settings.topic_batches}
    plan = ReplayPlan()
    for entry in entries:
        if entry.id in replayed_before and not force:
            plan.already.append(entry)
            continue
        rebuilt = _rebuild(entry, allowed)
        if key_by_game and not isinstance(rebuilt, str):
            rebuilt = _keyed_by_game(rebuilt, settings.topic_events)
        if isinstance(rebuilt, str):
            plan.refused.append((entry, rebuilt))
        else:
            plan.items.append(rebuilt)
    return plan


def _headers(item: ReplayItem, dlq_topic: str, now: str) -> list[tuple[str, bytes]]:
    letter = item.entry.letter
    source = f"{letter.get('source_topic')}:{letter.get('partition')}:{letter.get('offset')}"
    return [
        (REPLAY_OF, source.encode()),
        (REPLAY_FROM, f"{dlq_topic}:{item.entry.id}".encode()),
        (REPLAYED_AT, now.encode()),
    ]


async def send_replay(
    settings: Settings,
    plan: ReplayPlan,
    *,
    audit_file: Path,
    on_sent: Callable[[ReplayItem, int, int], None] | None = None,
) -> int:
    """Send every item of ``plan`` (acks=all), one audit line each; returns how many."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", enable_idempotence=True)
    await producer.start()
    audit_file.parent.mkdir(parents=True, exist_ok=True)
    operator = _operator()
    sent = 0
    try:
        with audit_file.open("ab") as audit:
            for item in plan.items:
                now = utc_now_iso()
                meta = await producer.send_and_wait(
                    item.topic,
                    value=item.value,
                    key=item.key,
                    headers=_headers(item, settings.topic_dlq, now),
                )
                letter = item.entry.letter
                record = {
                    "replayed_at": now,
                    "operator": operator,
                    "dlq": f"{settings.topic_dlq}:{item.entry.id}",
                    "error_kind": letter.get("error_kind"),
                    "game_id": item.entry.game_id,
                    "source": f"{letter.get('source_topic')}:{letter.get('partition')}"
                    f":{letter.get('offset')}",
                    "value_sha256": letter.get("value_sha256"),
                    "key": None if item.key is None else item.key.decode("utf-8", "replace"),
                    "sent_to": f"{meta.topic}:{meta.partition}:{meta.offset}",
                }
                audit.write(orjson.dumps(record) + b"\n")
                audit.flush()  # a crash mid-run still leaves what was sent
                sent += 1
                if on_sent is not None:
                    on_sent(item, meta.partition, meta.offset)
    finally:
        await producer.stop()
    return sent


def replayed_ids(audit_file: Path, dlq_topic: str) -> set[str]:
    """Dead-letter ids of ``dlq_topic`` that the audit file says were replayed."""
    done: set[str] = set()
    try:
        lines = audit_file.read_bytes().splitlines()
    except FileNotFoundError:
        return done
    prefix = f"{dlq_topic}:"
    for line in lines:
        try:
            dlq = orjson.loads(line).get("dlq", "")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(dlq, str) and dlq.startswith(prefix):
            done.add(dlq[len(prefix) :])
    return done


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


# --- formatting -------------------------------------------------------------------


def format_row(entry: DeadLetterEntry) -> str:
    """One line per dead letter for ``dlq list``."""
    letter = entry.letter
    source = f"{letter.get('source_topic', '?')}:{letter.get('partition')}:{letter.get('offset')}"
    size = f"{letter.get('value_length', 0)}B" + ("+cut" if letter.get("value_truncated") else "")
    message = " ".join(str(letter.get("error_message", "")).split())
    if len(message) > 70:
        # Cut in the middle: a reason often ends with the value refused ("got -5.0").
        message = message[:44] + " … " + message[-23:]
    game = entry.game_id if entry.game_id is not None else "-"
    return (
        f"{entry.id:<9} {entry.time:%Y-%m-%d %H:%M:%S} game={game:<8} "
        f"{letter.get('error_kind', '?'):<20} {source} {size}  {message}"
    )


def describe(entry: DeadLetterEntry) -> dict[str, Any]:
    """The whole letter for ``dlq show``, plus where it is and its value decoded."""
    letter = entry.letter
    shown: dict[str, Any] = {"id": entry.id, "dlq_time": entry.time.isoformat(), **letter}
    value = letter.get("value")
    if isinstance(value, str) and letter.get("value_encoding") == "utf-8":
        with contextlib.suppress(orjson.JSONDecodeError):
            shown["value_decoded"] = orjson.loads(value)
    return shown
