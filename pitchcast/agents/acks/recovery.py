"""The recovery watch: a changelog partition whose records faust consumed but never
replayed is read again, so a table recovery cannot hang.

faust-streaming 0.15.3 (with aiokafka 0.14.0) can lose a changelog partition's records
between its consumer and its recovery when an assignment starts. Seen in the fault
suite's ``rebalance`` (3 runs of 16 here, 2026-12-07): the surviving worker was
assigned the leaving worker's changelog partition, the recovery sought it to offset 0,
and then waited forever ("No event received for active tp ... since recovery start"
every 5 s) while the aiokafka consumer's position on that partition stood at the end of
the log: every record had been handed out of aiokafka's buffer, none had reached the
recovery's changelog queue. faust's fetch loop drops a fetched batch whole when it
returns while the consumer's flow is stopped (``Consumer.getmany``: "getmany called while
flow not active", then ``perform_seek``, which seeks back only the stream partitions,
the ones with a committed offset), so a fetch that was in flight across the assignment
can take a changelog partition's records with it (seen: a fetch issued before the
rebalance returned after it with all 62 records of the partition, flow stopped). The
stream partitions are not at risk (their seek to the committed offset reads them
again); the changelog partition keeps its advanced position and the recovery never
completes: the worker's stream stays paused, its commits stop, the match is never
commented. The same symptom is reported
upstream as faust-streaming/faust#155 (closed without this cause) and robinhood/faust#218.

The watch looks every :data:`WATCH_INTERVAL_S` while a recovery runs. An active changelog
partition is stalled when the consumer's position on it is past the next offset the
recovery needs, the recovery's changelog queue is empty (nothing fetched is still on its
way), and neither has moved for :data:`STALL_S`. It is sought back to that next offset
(faust's own ``Consumer.seek_wait``, which also resets the fetch loop's read offset), so
the records are fetched and replayed again; the recovery ignores any offset it has
already applied, so reading one twice changes nothing.

It reads faust's ``Recovery.in_recovery``, ``active_offsets``, ``active_remaining()``,
``TableManager.changelog_queue`` and ``App.in_transaction``, and calls
``Consumer.position`` and ``seek_wait``: the names of **faust-streaming 0.15.3**, the
version ``pyproject.toml`` pins
(``tests/unit/agents/acks/test_recovery.py`` checks they exist, and the pin).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pitchcast.metrics import Metrics

__all__ = [
    "STALL_S",
    "TRANSACTIONAL_STALL_S",
    "WATCH_INTERVAL_S",
    "ChangelogView",
    "RecoveryWatch",
    "watch_recovery",
]

log = logging.getLogger("pitchcast.recovery_watch")

#: How long a changelog partition may stand still, past what the recovery has replayed
#: and with nothing queued, before it is read again. A healthy recovery moves within a
#: fetch (aiokafka's fetch_max_wait 0.5 s); faust itself warns after 30 s without events.
STALL_S = 10.0
#: The same under ``exactly_once``: a transactional changelog ends in a commit marker,
#: which is an offset but no record, so a complete recovery looks stalled one short of
#: the end until faust's own check (``detect_aborted_tx``, after two 5 s timeouts of its
#: queue: 11.5 s in the fault suite's ``exactly-once``) moves it past the marker; the
#: watch waits that out.
TRANSACTIONAL_STALL_S = 25.0
#: How often the watch looks while a recovery runs.
WATCH_INTERVAL_S = 2.0


@dataclass(frozen=True, slots=True)
class ChangelogView:
    """One active changelog partition that still needs records, as the recovery and the
    consumer see it."""

    tp: Any  # faust's TP
    replayed: int  # the last offset the recovery applied (-1: none yet)
    position: int | None  # the consumer's next offset to hand over (None: not known yet)


class RecoveryWatch:
    """Which changelog partitions stand still past what the recovery replayed."""

    def __init__(
        self,
        *,
        stall_s: float = STALL_S,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall_s = stall_s
        self.metrics = metrics
        self._clock = clock
        # tp -> (replayed, position) last seen, and since when unchanged
        self._seen: dict[Any, tuple[tuple[int, int], float]] = {}

    def stalled(
        self, views: list[ChangelogView], *, queue_empty: bool, stall_s: float | None = None
    ) -> dict[Any, int]:
        """The partitions to read again, each with the offset to seek it to; ``stall_s``
        overrides the watch's own for this look."""
        stall_s = self.stall_s if stall_s is None else stall_s
        now = self._clock()
        out: dict[Any, int] = {}
        seen: dict[Any, tuple[tuple[int, int], float]] = {}
        for view in views:
            needed = view.replayed + 1
            if view.position is None or view.position <= needed or not queue_empty:
                continue  # nothing handed out past the recovery, or still on its way
            state = (view.replayed, view.position)
            previous = self._seen.get(view.tp)
            since = previous[1] if previous is not None and previous[0] == state else now
            if now - since >= stall_s:
                out[view.tp] = needed
                since = now  # a further stall is judged from the seek on
            seen[view.tp] = (state, since)
        self._seen = seen
        return out


async def watch_recovery(app: Any, watch: RecoveryWatch) -> int:
    """One look at faust's running recovery (a timer calls it); seeks back each stalled
    changelog partition and returns how many."""
    recovery = app.tables.recovery
    if not recovery.in_recovery:
        watch.stalled([], queue_empty=True)
        return 0
    views = []
    for tp, remaining in recovery.active_remaining().items():
        if remaining > 0:
            replayed = recovery.active_offsets.get(tp, -1)
            position = await app.consumer.position(tp)
            views.append(ChangelogView(tp, -1 if replayed is None else replayed, position))
    stall_s = max(watch.stall_s, TRANSACTIONAL_STALL_S) if app.in_transaction else watch.stall_s
    stalled = watch.stalled(views, queue_empty=app.tables.changelog_queue.empty(), stall_s=stall_s)
    if not stalled:
        return 0
    by_tp = {view.tp: view for view in views}
    for tp, offset in stalled.items():
        view = by_tp[tp]
        log.warning(
            "pitchcast.recovery.reseek: changelog %s[%d] stood at position %s for %.0f s "
            "with the recovery at %d and nothing queued; reading it again from %d",
            tp.topic,
            tp.partition,
            view.position,
            stall_s,
            view.replayed,
            offset,
        )
        if watch.metrics is not None:
            watch.metrics.add("recovery_reseeks")
    await app.consumer.seek_wait(stalled)
    return len(stalled)
