"""Fault scenarios around the worker's processes and services: SIGKILLs, a rebalance with
LLM calls in flight, the broker or Redis stopped, a kill between the LLM's answer and
publication, exactly_once under SIGKILL, an idle match, and faust's lost changelog fetch
(planted) in a table recovery.

Sizes are in each function (``setup.size(ci, full)``).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import orjson

from pitchcast.chaos.check import Figures
from pitchcast.chaos.harness import Outgoing
from pitchcast.chaos.run import MatchSlice, Run, match_slice
from pitchcast.chaos.services import PrivateKafka, SlowProxy
from pitchcast.chaos.setup import (
    Setup,
    async_hooks,
    conversation,
    count_messages,
    fake_llm,
    game_on,
    merge,
    moments,
    revokes,
)
from pitchcast.settings import load_settings

__all__ = [
    "broker",
    "changelog_stall",
    "exactly_once",
    "idle",
    "kill_before_publish",
    "outage_missed",
    "rebalance",
    "redis",
    "sigkill",
    "stall_missed",
]


# --- SIGKILL ----------------------------------------------------------------------------


async def sigkill(setup: Setup, *, guarantee: str = "at_least_once") -> Figures:
    """SIGKILL of the worker at random moments during a replay, restarted each time."""
    rng = random.Random(setup.seed)
    match = match_slice(1, per_period=setup.size(150, None))
    kills = setup.size(1 if guarantee == "exactly_once" else 2, 3)
    if setup.kills is not None:
        kills = setup.kills
    env = {"PITCHCAST_KAFKA_SESSION_TIMEOUT_S": "6"}
    name = "sigkill"
    if guarantee != "at_least_once":
        env["PITCHCAST_PROCESSING_GUARANTEE"] = guarantee
        name = "exactly-once"
    eos = guarantee == "exactly_once"
    async with setup.run(
        name,
        personas=("CASTER", "FRIEND"),
        llm=fake_llm(ttft_s=0.03),
        env=env,
        read_committed=eos,
    ) as run:
        messages = match.outgoing()
        at = moments(rng, len(messages), kills) if kills else []
        if eos and kills:
            # One more kill, at the worst moment for transactions: just after a
            # commentary record was acknowledged, before faust commits.
            first = await run.start_worker(inject=["kill-after-publish:4"])
            run.expect_exit(first)

            async def restart_after_injected_kill() -> None:
                while first.alive:
                    await asyncio.sleep(0.1)
                run.figures.kills += 1
                run.figures.restarts += 1
                await run.start_worker(ready=False)

            run.background(restart_after_injected_kill())
        else:
            await run.start_worker()

        async def kill() -> None:
            live = run.live_workers
            if live:
                await run.kill(live[-1])

        speed = match.duration_s / setup.size(18.0, 90.0)
        await run.feed.play(messages, speed=speed, hooks=dict.fromkeys(at, kill))
        count_messages(run, match)
        run.figures.extra["killed before messages"] = at
        # Kills delay the lines in flight (the figures' line lag): no bound here.
        figures = await run.finish(run.expected([match]), timeout_s=setup.size(180, 400))
    return figures


async def exactly_once(setup: Setup) -> Figures:
    """The SIGKILL scenario with processing_guarantee=exactly_once, read_committed readers."""
    return await sigkill(setup, guarantee="exactly_once")


# --- rebalance with a slow LLM -----------------------------------------------------------


def _two_matches(
    setup: Setup,
) -> tuple[MatchSlice, MatchSlice, list[tuple[float, Outgoing]], float]:
    """Two sample matches on the two partitions, merged, and the speed that feeds each
    at 2.5 actions/s (``rebalance``, ``changelog-stall``)."""
    per_period = setup.size(25, 200)
    first = match_slice(1, per_period=per_period, game_id=game_on(0, 2, 100))
    second = match_slice(3, per_period=per_period, game_id=game_on(1, 2, 100))
    speed = max(first.duration_s, second.duration_s) / (len(first.action_ids) / 2.5)
    return first, second, merge(first, second), speed


async def rebalance(setup: Setup) -> Figures:
    """A second worker joins mid-match and leaves later, LLM calls in flight meanwhile."""
    first, second, messages, speed = _two_matches(setup)
    # A paced LLM (time to first token of an A40) that keeps up with 2.5 actions/s per
    # match: every lane has a request in flight most of the time.
    tpot = 0.01
    async with setup.run(
        "rebalance",
        partitions=2,
        llm=fake_llm(ttft_s=0.22, tpot_s=tpot),
    ) as run:
        await run.start_worker()
        joined = asyncio.Event()

        async def join() -> None:
            async def start() -> None:
                await run.start_worker()
                joined.set()

            run.background(start())

        async def leaving() -> None:
            await joined.wait()
            run.figures.extra["second worker's stats"] = {
                k: v for k, v in (await run.stop(run.workers[1])).items()
                if k in ("desks_revoked", "commentary_published", "lines_published")
            }  # fmt: skip

        async def leave() -> None:
            run.background(leaving())

        n = len(messages)
        await run.feed.play(messages, speed=speed, hooks={n * 3 // 10: join, n * 7 // 10: leave})
        count_messages(run, first, second)
        figures = await run.finish(run.expected([first, second]), timeout_s=setup.size(240, 600))
    seen = revokes(run)
    figures.extra["revokes (seconds, desks cancelled)"] = seen
    # The documented bound (DESIGN.md, docs/operations.md): a revoke, every step of it,
    # within half the session timeout the workers ran with.
    bound = load_settings(**_session(run)).kafka_session_timeout_s / 2
    figures.extra["revoke bound (s)"] = bound
    if not seen:
        figures.problems.append("no revoke was logged: the rebalance missed the worker")
    if not any(desks for _, desks in seen):
        figures.problems.append("no revoke cancelled commentary work in flight")
    if any(seconds < 0 or seconds > bound for seconds, _ in seen):
        figures.problems.append(f"a revoke took longer than {bound:g} s (or did not say)")
    return figures


async def changelog_stall(setup: Setup) -> Figures:
    """faust's lost changelog fetch, planted: a second worker joins mid-match, and in the
    first worker's table recovery that follows, one changelog partition's records are
    consumed without being replayed (injection ``changelog-drop``). Without the recovery
    watch (``agents/acks/recovery.py``) that recovery waits forever and the first
    worker's matches stop; with it, the partition is read again and nothing is lost."""
    first, second, messages, speed = _two_matches(setup)
    async with setup.run("changelog-stall", partitions=2, llm=fake_llm()) as run:
        await run.start_worker(inject=["changelog-drop"])

        async def join() -> None:
            run.background(run.start_worker())

        await run.feed.play(messages, speed=speed, hooks={len(messages) * 3 // 10: join})
        count_messages(run, first, second)
        figures = await run.finish(run.expected([first, second]), timeout_s=setup.size(180, 400))
    logs = (run.dir / "worker0.log").read_text(errors="replace")
    figures.problems += stall_missed(figures, logs)
    return figures


def stall_missed(figures: Figures, log: str) -> list[str]:
    """The changelog-stall premise, from the first worker's log: the drop was planted in
    a recovery, and the watch read the partition again. Empty when both happened."""
    drops, reseeks = log.count(_DROPPED), log.count(_RESEEK)
    figures.extra["changelog drops planted / partitions read again"] = f"{drops} / {reseeks}"
    problems = []
    if not drops:
        problems.append("no changelog drop was planted: no recovery had records to replay")
    elif not reseeks:
        problems.append("the recovery watch never read the dropped changelog partition again")
    return problems


_DROPPED = "pitchcast.chaos.changelog_dropped"
_RESEEK = "pitchcast.recovery.reseek"


def _session(run: Run) -> dict[str, float]:
    timeout = run.env().get("PITCHCAST_KAFKA_SESSION_TIMEOUT_S")
    return {} if timeout is None else {"kafka_session_timeout_s": float(timeout)}


# --- the broker stopped -------------------------------------------------------------------


async def broker(setup: Setup) -> Figures:
    """The broker stopped for a while mid-match, started again: the worker recovers alone."""
    outage_s = setup.size(6.0, 20.0)
    kafka = PrivateKafka(setup.workdir / "private-kafka")
    kafka.start()
    match = match_slice(1, per_period=setup.size(150, None))
    try:
        # A slow LLM (0.5 s to the first token): lines are being written when the broker
        # goes, so the worker has sends to make during the outage.
        async with setup.run(
            "broker-stop",
            kafka=kafka.bootstrap,
            llm=fake_llm(ttft_s=0.5),
        ) as run:
            await run.start_worker()
            run.supervise()  # a worker that exits is a crash (counted), restarted

            async def outage() -> None:
                kafka.stop()
                await asyncio.sleep(outage_s)
                kafka.start()

            async def stop_broker() -> None:
                run.background(outage())

            messages = match.outgoing()
            speed = match.duration_s / setup.size(20.0, 90.0)
            await run.feed.play(messages, speed=speed, hooks={len(messages) * 4 // 10: stop_broker})
            count_messages(run, match)
            run.figures.extra["broker stopped for (s)"] = outage_s
            run.figures.extra["feed retries"] = run.feed.retries
            figures = await run.finish(run.expected([match]), timeout_s=setup.size(240, 600))
    finally:
        kafka.stop()
    if figures.crashes:
        figures.problems.append(
            f"the worker exited {figures.crashes} time(s) instead of recovering"
        )
    figures.problems += outage_missed(figures, [w.log_text() for w in run.workers])
    return figures


# What aiokafka 0.14 logs when a consumer loses its broker: a fetch that failed
# (consumer/fetcher.py), the group coordinator given up (consumer/group_coordinator.py).
_CONSUMER_LOST = ("Failed fetch messages from", "Marking the coordinator dead")


def outage_missed(figures: Figures, logs: list[str]) -> list[str]:
    """The broker-stop premise: the outage reached both sides of the worker. Its
    producers: a send retried or acknowledged late (the worker's own counts); its
    consumer: a failed fetch or a coordinator marked dead in its log (counted into
    ``figures.extra``). Empty when both did."""
    lost = {marker: sum(log.count(marker) for log in logs) for marker in _CONSUMER_LOST}
    figures.extra["consumer: failed fetches / coordinator marked dead"] = (
        f"{lost[_CONSUMER_LOST[0]]} / {lost[_CONSUMER_LOST[1]]}"
    )
    problems = []
    felt = figures.worker.get("send_retries", 0) + figures.worker.get("sends_acked_late", 0)
    if not felt:
        problems.append("the outage missed the worker's sends: none retried or acked late")
    if not any(lost.values()):
        problems.append(
            "the outage missed the worker's consumer: no failed fetch, no coordinator lost"
        )
    return problems


# --- Redis stopped, and Redis slow -----------------------------------------------------------


async def redis(setup: Setup) -> Figures:
    """Redis stopped mid-match and started again (empty); later slower than its timeout."""
    outage_s = setup.size(3.0, 20.0)
    match = match_slice(1, per_period=setup.size(120, None))
    async with setup.run(
        "redis",
        personas=("CASTER", "FRIEND"),
        llm=fake_llm(),
    ) as run:
        proxy = SlowProxy(run.redis.port).start()
        run.extra_env["PITCHCAST_REDIS_URL"] = f"redis://127.0.0.1:{proxy.port}/0"
        try:
            await run.start_worker()

            async def down() -> None:
                run.redis.stop()
                await asyncio.sleep(outage_s)
                run.redis.start()

            async def slow() -> None:
                proxy.delay_s = 0.6  # the worker's Redis socket timeout is 0.25 s
                await asyncio.sleep(outage_s)
                proxy.delay_s = 0.0

            messages = match.outgoing()
            n = len(messages)
            hooks = {
                n * 2 // 10: lambda: run.background(down()),
                n * 6 // 10: lambda: run.background(slow()),
            }
            speed = match.duration_s / setup.size(15.0, 90.0)
            await run.feed.play(messages, speed=speed, hooks=async_hooks(hooks))
            count_messages(run, match)
            run.figures.extra["redis stopped, then slow, for (s) each"] = outage_s
            figures = await run.finish(run.expected([match]), timeout_s=setup.size(180, 400))
        finally:
            proxy.stop()
    if figures.crashes or len(run.workers) != 1:
        figures.problems.append("the worker restarted")
    if not figures.worker.get("redis_outages"):
        figures.problems.append("the worker never saw Redis go away")
    return figures


# --- killed after the LLM answered, before publication ---------------------------------------


async def kill_before_publish(setup: Setup) -> Figures:
    """The worker killed after the LLM answered a batch, before its record was published:
    the restart publishes it from what Redis holds, with no second LLM request."""
    batch = 3
    match = match_slice(1, per_period=setup.size(40, 300))
    messages = match.outgoing()
    # Everything up to (and with) the action that closes batch `batch`: nothing after it.
    actions_seen = 0
    cut = 0
    for i, (_, (_, value, _)) in enumerate(messages):
        if b'"control"' not in (value or b""):
            actions_seen += 1
        if actions_seen == (batch + 1) * 10:
            cut = i + 1
            break
    llm = fake_llm()
    async with setup.run(
        "kill-before-publish",
        personas=("CASTER", "FRIEND"),
        llm=llm,
        env={"PITCHCAST_KAFKA_SESSION_TIMEOUT_S": "6"},
    ) as run:
        doomed = await run.start_worker(inject=[f"kill-before-publish:{batch}"])
        run.expect_exit(doomed)
        await run.feed.play(messages[:cut], speed=None)
        while doomed.alive:
            await asyncio.sleep(0.2)
        run.figures.kills += 1
        before = llm.requests
        asked = {conversation(p) for p in before}
        run.figures.restarts += 1
        await run.start_worker()
        await run.feed.play(messages[cut:], speed=None)
        count_messages(run, match)
        figures = await run.finish(run.expected([match]), timeout_s=setup.size(120, 300))
    again = [p for p in llm.requests[len(before) :] if conversation(p) in asked]
    figures.extra["llm requests before the kill"] = len(before)
    figures.extra["requests again for answered batches"] = len(again)
    if doomed.returncode != -9:
        figures.problems.append(f"the injected kill did not happen (exit {doomed.returncode})")
    if again:
        figures.problems.append(f"{len(again)} LLM requests repeated an answered batch")
    restored = figures.worker.get("lines_restored", 0)
    if not restored:
        figures.problems.append("the restart restored no line from Redis")
    return figures


# --- idle flush ---------------------------------------------------------------------------


async def idle(setup: Setup) -> Figures:
    """A match goes quiet mid-batch: an idle tick closes the open batch, end to end."""
    match = match_slice(1, per_period=setup.size(25, 95))
    messages = match.outgoing()
    async with setup.run(
        "idle",
        llm=fake_llm(),
        env={"PITCHCAST_IDLE_TIMEOUT_S": "3", "PITCHCAST_TICK_INTERVAL_S": "0.5"},
    ) as run:
        await run.start_worker()

        async def quiet() -> None:
            await asyncio.sleep(6.0)  # twice the idle timeout

        # Go quiet in the middle of a batch of period 1 (and not at its end).
        await run.feed.play(messages, speed=None, hooks={len(messages) // 4: quiet})
        count_messages(run, match)
        figures = await run.finish(run.expected([match]), timeout_s=120)
    reasons = Counter(
        orjson.loads(r.value or b"{}")["close_reason"] for r in run.records.get("commentary", [])
    )
    figures.extra["close reasons"] = dict(reasons)
    if not reasons.get("idle"):
        figures.problems.append("no batch was closed by an idle tick")
    return figures
