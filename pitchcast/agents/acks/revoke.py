"""A rebalance's revoke, step by step, each step bounded; all bounds from one number.

The budget is half the session timeout (:attr:`RevokeBounds.budget_s`), so the group
never gives up on this worker while it revokes. It is shared by the four steps, in the
order they run:

1. ``commit_revoked_s`` (1/15): the consumer commits what was acked on the revoked
   partitions before faust forgets those acks (:mod:`pitchcast.agents.acks.offsets`);
2. ``batch_record_s`` (2/3, at most ``PITCHCAST_REVOKE_GRACE_S``): the batch agent's
   record in progress is taken in and every record in its hand-off window is committed
   (sends acknowledged, state written, acked: :mod:`pitchcast.agents.acks.window`);
3. ``cancel_s`` (1/5, at most 5 s): the commentary work of the revoked partitions is
   cancelled, un-acked, and its tasks (LLM calls in flight) unwind;
4. ``commit_s`` (1/15): what was acked meanwhile is committed.

At the default 30 s session timeout: 1 + 10 + 3 + 1 = 15 s. A step cut at its bound is
logged and counted (``revoke_steps_cut{step}``) and the revoke goes on: a cut wait leaves
records un-acked, a cut commit leaves acks uncommitted; either way the next owner reads
those records again (at-least-once), nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from pitchcast.metrics import Metrics

__all__ = ["RevokeBounds", "RevokeSteps", "bounded", "revoke_bounds"]

log = logging.getLogger("pitchcast.revoke")

_CANCEL_CAP_S = 5.0


class RevokeBounds(NamedTuple):
    """The bound of each revoke step, in seconds; together half the session timeout."""

    commit_revoked_s: float
    batch_record_s: float
    cancel_s: float
    commit_s: float

    @classmethod
    def within(cls, session_timeout_s: float, grace_cap_s: float) -> RevokeBounds:
        budget = session_timeout_s / 2
        return cls(
            commit_revoked_s=budget / 15,
            batch_record_s=min(grace_cap_s, budget * 2 / 3),
            cancel_s=min(_CANCEL_CAP_S, budget / 5),
            commit_s=budget / 15,
        )

    @property
    def total_s(self) -> float:
        return sum(self)


def revoke_bounds(settings: Any) -> RevokeBounds:
    """The bounds for ``settings``' session timeout and revoke grace."""
    return RevokeBounds.within(settings.kafka_session_timeout_s, settings.revoke_grace_s)


async def bounded(
    step: str, bound_s: float, work: Awaitable[Any], *, metrics: Metrics | None = None
) -> bool:
    """Run one revoke step for at most ``bound_s``; False when it was cut or failed.

    Never raises (but for cancellation): a revoke that raised would crash the worker in
    the middle of a rebalance, while a step that did not finish costs only re-reads."""
    try:
        async with asyncio.timeout(bound_s):
            await work
        return True
    except TimeoutError:
        log.warning("pitchcast.revoke.step_cut", extra={"step": step, "bound_s": bound_s})
        if metrics is not None:
            metrics.add("revoke_steps_cut", step=step)
        return False
    except Exception as exc:
        log.warning(
            "pitchcast.revoke.step_failed", extra={"step": step, "error_kind": type(exc).__name__}
        )
        return False


class RevokeSteps:
    """Steps 2-4, run from the app's ``on_partitions_revoked`` signal.

    faust suspended the streams and cleared their buffers before this signal; the
    consumer rejoins the group only after it returns, so no new owner starts yet.
    """

    def __init__(
        self,
        *,
        bounds: RevokeBounds,
        batches_topic: str,
        batch_settled: Callable[[], Awaitable[Any]],
        cancel_commentary: Callable[[set[int], float], Awaitable[int]],
        commit: Callable[[], Awaitable[Any]],
        metrics: Metrics | None = None,
        began_at: Callable[[], float | None] | None = None,
    ) -> None:
        self.bounds = bounds
        self._batches_topic = batches_topic
        self._batch_settled = batch_settled
        self._cancel = cancel_commentary
        self._commit = commit
        self._metrics = metrics
        # When step 1 began (the consumer's revoke commit, before faust's own revoke and
        # this signal): the logged ``seconds`` then cover the whole revoke.
        self._began_at = began_at

    async def __call__(self, revoked: Any) -> None:
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        earlier = self._began_at() if self._began_at is not None else None
        began = signalled if earlier is None or earlier > signalled else earlier
        # 2. the batch agent's records in progress finish (sends, state, ack);
        await bounded(
            "batch_record", self.bounds.batch_record_s, self._batch_settled(),
            metrics=self._metrics,
        )  # fmt: skip
        # 3. commentary work of revoked partitions stops without acking its records
        # (the agent waits at most cancel_s for its tasks to unwind);
        partitions = {tp.partition for tp in revoked if tp.topic == self._batches_topic}
        dropped = await self._cancel(partitions, self.bounds.cancel_s)
        # 4. what was acked meanwhile is committed. (What was acked on the revoked
        # partitions before this signal was committed by the consumer, step 1.)
        await bounded("commit", self.bounds.commit_s, self._commit(), metrics=self._metrics)
        log.info(
            "pitchcast.revoked",
            extra={
                "partitions": sorted(partitions),
                "desks": dropped,
                # The whole revoke (from step 1 when known), and steps 2-4 alone.
                "seconds": round(loop.time() - began, 3),
                "steps_seconds": round(loop.time() - signalled, 3),
            },
        )
