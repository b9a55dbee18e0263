"""Dead letters, in one place: the record type is :class:`pitchcast.schemas.records.DeadLetter`.

* :mod:`.letters`: building a letter from a failed record, sending it (both agents use
  :class:`DeadLetters`), and rebuilding the original record from one;
* :mod:`.tooling`: ``pitchcast dlq list | show | replay`` (reads the topic without a
  consumer group; replays through :func:`.letters.original_record`).
"""

from pitchcast.streams.dead_letters.letters import (
    DeadLetters,
    OriginalRecord,
    build_dead_letter,
    original_record,
)

__all__ = ["DeadLetters", "OriginalRecord", "build_dead_letter", "original_record"]
