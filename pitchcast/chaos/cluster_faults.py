"""Fault scenarios on a three-node Kafka cluster (replication 3, ``min.insync.replicas=2``):
the partition leader SIGKILLed mid-match and restarted, a broker paused (SIGSTOP) longer
than the broker session timeout and resumed, the active controller SIGKILLed and
restarted. ``cluster`` runs the three one after the other in one match on one cluster:
the reduced form CI runs (one cluster start instead of three).

Each runs one whole match (CI: its first actions of each period) through a real worker
on the private cluster (:class:`~.cluster.PrivateCluster`), checked by the same checker
as every scenario, and proves its premise: the node hit really led what the scenario
says (the match's partition, the worker's group, the quorum), the leadership really
moved, and the node came back into every ISR afterwards.

Sizes are in each function (``setup.size(ci, full)``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from itertools import pairwise

from aiokafka.partitioner import DefaultPartitioner

from pitchcast.chaos.check import Figures
from pitchcast.chaos.cluster import PrivateCluster
from pitchcast.chaos.harness import Feed, Outgoing
from pitchcast.chaos.run import Run, match_slice
from pitchcast.chaos.setup import Setup, count_messages, fake_llm, line_lags

__all__ = [
    "IN_CLUSTER_RUN",
    "Beside",
    "all_three",
    "broker_pause",
    "controller_kill",
    "hold_until_fed",
    "leader_kill",
    "record_fed",
    "sections",
]

#: The scenarios ``cluster`` (:func:`all_three`) runs together in one match.
IN_CLUSTER_RUN = ("leader-kill", "broker-pause", "controller-kill")

# A broker that misses heartbeats to the controller this long is fenced and loses its
# leaderships (Kafka's broker.session.timeout.ms default, which the stack keeps).
BROKER_SESSION_TIMEOUT_S = 9.0
# How much longer than that a pause lasts: when the paused node is also the active
# controller, a new one is elected first (KRaft's quorum fetch timeout 2 s plus its
# election timeout 1 s, defaults) and only then starts counting the session; 5 s of slack
# once failed on CI with the paused node in that double role.
PAUSE_PAST_SESSION_S = 10.0
_PARTITIONS = 3
# How long past its planned time a node is held down (or paused) for the first record
# sent beside it to be acknowledged by the other two: when the node led the match's
# partition, that takes the fencing (the broker session timeout, 9 s) plus a metadata
# refresh, and CI once restarted the node 12.4 s after the kill with the send still
# waiting ("nothing was fed while the node was down").
HELD_FOR_A_RECORD_S = 30.0


def _partition_of(game_id: int) -> int:
    every = list(range(_PARTITIONS))
    return int(DefaultPartitioner()(str(game_id).encode(), every, every))


class Beside:
    """The section of the match fed beside one fault. The fault starts it the moment its
    node is hit, so a send is out while the node is down whatever the faults before it
    cost and wherever the match pauses; the fault keeps the node down until the other two
    acknowledge one (:func:`hold_until_fed`), which is what its premise checks."""

    def __init__(self, feed: Feed, section: Sequence[tuple[float, Outgoing]], speed: float):
        self.feed = feed
        self.section = section
        self.speed = speed
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(_play(self.feed, self.section, self.speed))

    async def finish(self) -> None:
        """The whole section sent (started here if the fault never got to it)."""
        self.start()
        assert self.task is not None
        await self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


Fault = Callable[[PrivateCluster, Run, Figures, Beside], Awaitable[None]]


async def _play(feed: Feed, section: Sequence[tuple[float, Outgoing]], speed: float) -> None:
    """One section at the match's pace, from its own first record."""
    if section:
        origin = section[0][0]
        await feed.play([(at_s - origin, m) for at_s, m in section], speed=speed)


def sections(
    messages: Sequence[tuple[float, Outgoing]], *, at: float, faults: int
) -> list[Sequence[tuple[float, Outgoing]]]:
    """The match cut into the part before the first fault (``at`` of it), one equal part
    beside each fault, and the rest after the last."""
    n = len(messages)
    first = int(n * at)
    share = (n - first) // (faults + 1)
    bounds = [0, *(first + share * k for k in range(faults + 1)), n]
    return [messages[a:b] for a, b in pairwise(bounds)]


async def _on_cluster(
    setup: Setup, name: str, faults: Sequence[Fault], *, at: float, match_s: float
) -> Figures:
    """A match through a worker on a private cluster: ``at`` of it fed, then the faults
    one after the other, each with its own section of the match fed beside it and each
    once the previous one's node is back in every ISR, then the rest of the match; every
    node is up again before the final check. The feed waits for the faults, not the
    faults for the feed: on the match's own clock, a kill that fell into a pause of the
    match once had nothing fed while its node was down."""
    cluster = PrivateCluster(setup.workdir / f"private-cluster-{name}")
    match = match_slice(1, per_period=setup.size(120, None))
    try:
        await asyncio.to_thread(cluster.start)
        async with setup.run(
            name,
            kafka=cluster.bootstrap,
            partitions=_PARTITIONS,
            llm=fake_llm(),
            env={**cluster.env, "PITCHCAST_KAFKA_SESSION_TIMEOUT_S": "6"},
        ) as run:
            await run.start_worker()
            run.supervise()  # a worker that exits is a crash (counted), restarted
            extra = run.figures.extra
            topics = [run.topics[t] for t in ("events", "batches", "commentary", "lines")]
            isr_bound = setup.size(60, 120)
            speed = match.duration_s / match_s
            before, *beside, after = sections(match.outgoing(), at=at, faults=len(faults))
            await _play(run.feed, before, speed)
            for n, (fault, section) in enumerate(zip(faults, beside, strict=True)):
                if n and await cluster.wait_in_sync(topics, timeout_s=isr_bound) is None:
                    run.figures.problems.append("a node never came back into every ISR")
                beside = Beside(run.feed, section, speed)
                try:
                    await fault(cluster, run, run.figures, beside)
                    await beside.finish()
                finally:
                    beside.cancel()
            await _play(run.feed, after, speed)
            count_messages(run, match)
            extra["feed retries"] = run.feed.retries
            back = await cluster.wait_in_sync(topics, timeout_s=isr_bound)
            if back is None:
                run.figures.problems.append("a node never came back into every ISR")
            else:
                extra["all three in every ISR again after (s)"] = round(back, 1)
            figures = await run.finish(run.expected([match]), timeout_s=setup.size(240, 600))
    finally:
        cluster.stop()
    lags = sorted(line_lags(run))
    if lags:
        figures.extra["line lag p50 / p90 / max (s)"] = (
            f"{lags[len(lags) // 2]:.2f} / {lags[len(lags) * 9 // 10]:.2f} / {lags[-1]:.2f}"
        )
    if figures.crashes:
        figures.problems.append(
            f"the worker exited {figures.crashes} time(s) instead of riding out the fault"
        )
    return figures


async def hold_until_fed(feed: Feed, sent: int, *, at: float, planned_s: float) -> float:
    """Wait out ``planned_s`` from ``at``, then on until a record sent since the feed
    stood at ``sent`` is acknowledged (at most :data:`HELD_FOR_A_RECORD_S` more); returns
    how long past the plan that took."""
    await asyncio.sleep(max(0.0, planned_s - (time.monotonic() - at)))
    due = time.monotonic()
    while feed.sent == sent and time.monotonic() - due < HELD_FOR_A_RECORD_S:
        await asyncio.sleep(0.1)
    return time.monotonic() - due


def record_fed(figures: Figures, fault: str, fed: int, held_s: float, state: str) -> None:
    """The premise every cluster fault shares: the other two took records meanwhile."""
    figures.extra[f"{fault}: records fed while the node was {state}"] = fed
    figures.extra[f"{fault}: held {state} past its time for a record (s)"] = round(held_s, 1)
    if fed == 0:
        figures.problems.append(f"{fault}: nothing was fed while the node was {state}")


# --- the faults ----------------------------------------------------------------------------


def _kill_leader(down_s: float) -> Fault:
    """SIGKILL of the node leading the match's events partition; restarted after
    ``down_s``. The worker reads and writes through the other two meanwhile."""

    async def fault(cluster: PrivateCluster, run: Run, figures: Figures, beside: Beside) -> None:
        extra = figures.extra
        topic, partition = run.topics["events"], _partition_of(1)
        leader, isr = (await cluster.partitions(topic))[partition]
        extra["leader-kill: killed node (leader of the match's events partition)"] = leader
        extra["leader-kill: ISR before"] = isr
        sent = run.feed.sent
        await asyncio.to_thread(cluster.kill, leader)
        killed_at = time.monotonic()
        beside.start()
        figures.kills += 1
        moved = await cluster.wait_leader_moves(topic, partition, leader, timeout_s=30)
        if moved is None:
            figures.problems.append(f"leader-kill: the leadership never left node {leader}")
        else:
            extra["leader-kill: new leader elected after (s)"] = round(moved, 2)
            extra["leader-kill: new leader"] = (await cluster.partitions(topic))[partition][0]
        held = await hold_until_fed(run.feed, sent, at=killed_at, planned_s=down_s)
        fed = run.feed.sent - sent
        await asyncio.to_thread(cluster.start)  # the killed node again (`stack up` blocks)
        extra["leader-kill: node down, kill to answering again (s)"] = round(
            time.monotonic() - killed_at, 1
        )
        record_fed(figures, "leader-kill", fed, held, "down")

    return fault


def _pause_coordinator(paused_s: float) -> Fault:
    """SIGSTOP of the worker group's coordinator (a node that answers nothing yet keeps
    its connections open) for ``paused_s``, longer than the broker session timeout; then
    SIGCONT."""

    async def fault(cluster: PrivateCluster, run: Run, figures: Figures, beside: Beside) -> None:
        extra = figures.extra
        group = f"{run.prefix}-app"
        node = await cluster.coordinator(group)
        extra["broker-pause: the paused node was the active controller"] = (
            cluster.active_controller() == node
        )
        topic = run.topics["events"]
        leaders = {p: leader for p, (leader, _) in (await cluster.partitions(topic)).items()}
        led = [p for p, leader in leaders.items() if leader == node]
        extra["broker-pause: paused node (the group's coordinator)"] = node
        extra["broker-pause: events partitions it led"] = led
        sent = run.feed.sent
        held, fed = 0.0, 0
        cluster.pause(node)
        paused_at = time.monotonic()
        beside.start()
        try:
            # The coordinator (the leader of the group's __consumer_offsets partition)
            # must move off the paused node once the controller fences it.
            moved_s: float | None = None
            while time.monotonic() - paused_at < paused_s:
                try:
                    now = await cluster.coordinator(group, not_asking=node)
                except Exception:  # no coordinator mid-failover: ask again
                    now = node
                if now != node:
                    moved_s = time.monotonic() - paused_at
                    extra["broker-pause: coordinator moved to"] = now
                    break
                await asyncio.sleep(0.25)
            if moved_s is None:
                figures.problems.append(
                    f"broker-pause: the coordinator stayed on node {node} for {paused_s:g} s"
                )
            else:
                extra["broker-pause: coordinator moved after (s)"] = round(moved_s, 2)
            for partition in led:
                moved = await cluster.wait_leader_moves(topic, partition, node, timeout_s=10)
                if moved is None:
                    figures.problems.append(
                        f"broker-pause: events[{partition}] still led by the paused node"
                    )
            held = await hold_until_fed(run.feed, sent, at=paused_at, planned_s=paused_s)
            fed = run.feed.sent - sent
        finally:
            cluster.resume(node)
        extra["broker-pause: paused for (s)"] = round(time.monotonic() - paused_at, 1)
        record_fed(figures, "broker-pause", fed, held, "paused")

    return fault


def _kill_controller(down_s: float) -> Fault:
    """SIGKILL of the active KRaft controller (a combined node: its broker dies too); the
    other two elect a new one; restarted after ``down_s``."""

    async def fault(cluster: PrivateCluster, run: Run, figures: Figures, beside: Beside) -> None:
        extra = figures.extra
        controller = cluster.active_controller()
        if controller is None:
            figures.problems.append("controller-kill: no active controller in the nodes' logs")
            return
        extra["controller-kill: killed node (the active controller)"] = controller
        sent = run.feed.sent
        await asyncio.to_thread(cluster.kill, controller)
        killed_at = time.monotonic()
        beside.start()
        figures.kills += 1
        moved = await cluster.wait_controller_moves(controller, timeout_s=30)
        if moved is None:
            figures.problems.append(f"controller-kill: no new controller after node {controller}")
        else:
            extra["controller-kill: new controller elected after (s)"] = round(moved, 2)
            extra["controller-kill: new controller"] = cluster.active_controller()
        held = await hold_until_fed(run.feed, sent, at=killed_at, planned_s=down_s)
        fed = run.feed.sent - sent
        await asyncio.to_thread(cluster.start)
        extra["controller-kill: node down, kill to answering again (s)"] = round(
            time.monotonic() - killed_at, 1
        )
        record_fed(figures, "controller-kill", fed, held, "down")

    return fault


# --- the scenarios ----------------------------------------------------------------------


async def leader_kill(setup: Setup) -> Figures:
    """The leader of the match's partition SIGKILLed at 40% of the match, restarted."""
    fault = _kill_leader(setup.size(8.0, 30.0))
    return await _on_cluster(setup, "leader-kill", [fault], at=0.4, match_s=setup.size(40.0, 120.0))


async def broker_pause(setup: Setup) -> Figures:
    """The group's coordinator paused past the broker session timeout at 40%, resumed."""
    fault = _pause_coordinator(setup.size(BROKER_SESSION_TIMEOUT_S + PAUSE_PAST_SESSION_S, 30.0))
    return await _on_cluster(
        setup, "broker-pause", [fault], at=0.4, match_s=setup.size(40.0, 120.0)
    )


async def controller_kill(setup: Setup) -> Figures:
    """The active controller SIGKILLed at 40% of the match, restarted."""
    fault = _kill_controller(setup.size(8.0, 30.0))
    return await _on_cluster(
        setup, "controller-kill", [fault], at=0.4, match_s=setup.size(40.0, 120.0)
    )


async def all_three(setup: Setup) -> Figures:
    """The three faults in turn in one match on one cluster: CI's reduced form, at CI
    size whatever the profile (the full sizes are the three scenarios on their own)."""
    reduced = replace(setup, profile="ci")
    faults = [
        _kill_leader(8.0),
        _pause_coordinator(BROKER_SESSION_TIMEOUT_S + PAUSE_PAST_SESSION_S),
        _kill_controller(8.0),
    ]
    # Each fault has its own section of the match fed beside it (see _on_cluster), so
    # the match's length no longer has to outlast the faults' worst case.
    return await _on_cluster(reduced, "cluster", faults, at=0.1, match_s=120.0)
