"""Fault scenarios on what pitchcast reads and writes: failing LLM requests, malformed
input with hostile names, lost acknowledgements on the hand-off, a failing dead-letter
topic, and records of the events topic never handed to the batch agent.

Sizes are in each function (``setup.size(ci, full)``).
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import re
from collections import Counter
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from pitchcast.chaos.check import Figures, value_digest
from pitchcast.chaos.harness import Feed, Outgoing
from pitchcast.chaos.malformed import HOSTILE_NAMES, KINDS, MatchPoint, bad_message
from pitchcast.chaos.run import match_slice
from pitchcast.chaos.setup import (
    Setup,
    count_messages,
    exits,
    fake_llm,
    request_spans,
)
from pitchcast.commentary.prompt import SECTION_ACTIONS, SECTION_PLAYERS
from pitchcast.testing.fake_llm import Fault

__all__ = ["dlq_fail", "llm_faults", "lost_ack", "malformed", "skip"]


# --- 30% of LLM requests failing ---------------------------------------------------------


_FAULTS: tuple[Fault, ...] = (
    Fault("status", status=500), Fault("status", status=503),
    Fault("status", status=502, echo_headers=True),  # the key in the error body
    Fault("status", status=400), Fault("status", status=401),
    Fault("status", status=404, null_code=True),
    Fault("status", status=422, error_type="BadRequestError"),
    Fault("rate_limit", retry_after=0.2), Fault("rate_limit", retry_after=None),
    Fault("hang"), Fault("hang", delay_s=0.8),
    Fault("slow", ttft_s=2.5), Fault("slow", tpot_s=0.05),
    Fault("garbage"), Fault("cut_stream", after_tokens=3), Fault("cut_stream", after_tokens=40),
    Fault("malformed"), Fault("wrong_count"), Fault("extra_line"), Fault("unknown_row"),
    Fault("bad_tone"), Fault("invented_name", name="Player21"), Fault("unknown_ref"),
    Fault("stream_error", status=500), Fault("stream_error", status=400, null_code=True),
    Fault("stream_error", status=429, after_tokens=0),
)  # fmt: skip


# What a live line's lag holds besides its two deadlines (the batch agent's hop from the
# events topic to the hand-off, the template, the line's own send and ack).
HOPS_S = 2.0
# The deadlines the scenario gives the worker (RELIABILITY.md states the bound they make).
BATCH_DEADLINE_S, LIVE_DEADLINE_S = 4.0, 3.0


def live_line_bound(live_deadline_s: float) -> float:
    """The latest a live line may come after its action: the lane's request in flight
    when the action arrived (at most one deadline: one request per lane at a time), then
    the request that asks for the action's line (one more; the template writes at once
    what it did not), plus :data:`HOPS_S`."""
    return 2 * live_deadline_s + HOPS_S


async def llm_faults(setup: Setup) -> Figures:
    """30% of LLM requests failing in every way the test server can."""
    rng = random.Random(setup.seed)
    deadline_s, live_deadline_s = BATCH_DEADLINE_S, LIVE_DEADLINE_S
    match = match_slice(1, per_period=setup.size(120, None))
    llm = fake_llm(ttft_s=0.05, tpot_s=0.001)
    # 30% of requests get a fault; the faults go round every variant, in a shuffled order.
    faults = itertools.cycle(rng.sample(_FAULTS, len(_FAULTS)))
    llm.script(*[next(faults) if rng.random() < 0.3 else None for _ in range(20_000)])
    async with setup.run(
        "llm-faults",
        personas=("CASTER", "FRIEND"),
        llm=llm,
        env={
            "PITCHCAST_LLM_BATCH_DEADLINE_S": str(deadline_s),
            "PITCHCAST_LLM_LIVE_DEADLINE_S": str(live_deadline_s),
            "PITCHCAST_LLM_READ_TIMEOUT_S": "1.5",
            "PITCHCAST_LLM_BREAKER_FAILURES": "1000",  # retries and fallbacks, not the breaker
            "PITCHCAST_LLM_WARMUP": "true",
        },
    ) as run:
        await run.start_worker()
        speed = match.duration_s / setup.size(15.0, 180.0)
        await run.feed.play(match.outgoing(), speed=speed)
        count_messages(run, match)
        bound = live_line_bound(live_deadline_s) if setup.mode == "live" else None
        expected = run.expected([match], line_bound_s=bound)
        figures = await run.finish(expected, timeout_s=setup.size(240, 900))
    applied = Counter(k for k in llm.faults_applied if k)
    figures.extra["faults applied"] = dict(applied)
    figures.extra["fault share"] = round(sum(applied.values()) / max(len(llm.faults_applied), 1), 3)
    sources: Counter[str] = Counter()
    for record in run.records.get("commentary", []):  # each carries its reason (checked)
        sources[orjson.loads(record.value or b"{}")["source"]] += 1
    figures.extra["sources"] = dict(sources)
    if len(applied) < 10:
        figures.problems.append(f"only {len(applied)} fault kinds were applied")
    if setup.mode == "batch":
        spans = request_spans(llm)
        figures.extra["longest batch (s, first to last request)"] = round(max(spans, default=0), 2)
        if any(span > deadline_s + 0.5 for span in spans):
            figures.problems.append("a batch kept asking the LLM past its deadline")
    else:
        figures.extra["line bound (s after its action, checked)"] = bound
    return figures


# --- malformed messages ------------------------------------------------------------------


async def malformed(setup: Setup) -> Figures:
    """Thousands of malformed messages of every kind mixed into a match, names hostile."""
    rng = random.Random(setup.seed)
    count = setup.size(1_500, 10_500)
    match = match_slice(1, per_period=setup.size(150, None))
    # Real actions carrying hostile names: commented like any other, inert for the LLM.
    hostile_ids = set(rng.sample(match.action_ids[20:], 2 * len(HOSTILE_NAMES)))
    names = dict(zip(sorted(hostile_ids), HOSTILE_NAMES * 2, strict=True))
    messages = match.outgoing()
    info = {"home": 11, "away": 12}
    plan: list[Outgoing] = []
    bad: list[Any] = []
    sent_ids: list[int] = []
    period = 1
    # Between the 12th record and the last action (after match_end, actions are late).
    last_action = max(i for i, (_, (_, v, _)) in enumerate(messages) if b'"control"' not in v)
    slots = sorted(rng.choices(range(12, last_action), k=count))
    kinds = list(KINDS)
    s = 0
    for i, (_, (key, value, headers)) in enumerate(messages):
        data = orjson.loads(value or b"{}")
        if "action_id" in data:
            if data["action_id"] in names:
                # A player of its own (the prompt names a player by the first name seen).
                data["player_name_ko"] = names[data["action_id"]]
                data["player_id"] = 900.0 + sorted(names).index(data["action_id"])
                value = orjson.dumps(data)
            sent_ids.append(data["action_id"])
            period = data["period_id"]
            last = data
        plan.append((key, value, headers))
        while s < len(slots) and slots[s] == i:
            point = MatchPoint(match.game_id, last, sent_ids, period, info["home"], info["away"])
            message = bad_message(kinds[s % len(kinds)], point, s, rng)
            bad.append(message)
            plan.append((message.key, message.value, []))
            s += 1
    async with setup.run(
        "malformed",
        llm=fake_llm(),
    ) as run:
        worker = await run.start_worker()
        await run.feed.play([(0.0, out) for out in plan], speed=None)
        count_messages(run, match)
        run.figures.messages["malformed"] = len(bad)
        letters = [b for b in bad if b.outcome != "dropped"]
        expected = run.expected(
            [match],
            # One entry per message sent (the tombstones share one digest).
            dead_letters=[(value_digest(b.value), b.outcome) for b in letters],
            dropped=[value_digest(b.value) for b in bad if b.outcome == "dropped"],
        )
        figures = await run.finish(expected, timeout_s=setup.size(240, 900))
        prompts = list(run.llm.requests) if run.llm else []
    dropped_sent = sum(b.outcome == "dropped" for b in bad)
    dropped_seen = run.stats.get("duplicates_dropped{kind=action_id}", 0)
    figures.extra["malformed kinds"] = len({b.kind for b in bad})
    figures.extra["duplicates sent / dropped"] = f"{dropped_sent} / {dropped_seen:g}"
    if dropped_seen != dropped_sent:
        figures.problems.append(f"{dropped_sent} duplicates sent, {dropped_seen:g} dropped")
    if figures.crashes or len(run.workers) != 1 or worker.returncode not in (None, 0):
        figures.problems.append("the worker restarted")
    if run.stats.get("worker_stops"):
        figures.problems.append("the worker stopped an agent")
    figures.problems += _hostile_names_inert(prompts, HOSTILE_NAMES)
    return figures


def _hostile_names_inert(prompts: list[dict[str, Any]], names: tuple[str, ...]) -> list[str]:
    """Every user turn keeps its sections; a hostile name is one cell of [선수], nowhere else."""
    problems = []
    markers = ["Ignore all previous", "김민재", "손흥민", "이강인", "황희찬", "조규성"]
    found: set[str] = set()
    for payload in prompts:
        for message in payload.get("messages", []):
            if message.get("role") != "user":
                continue
            lines = message["content"].split("\n")
            if lines.count(SECTION_ACTIONS) > 1:
                problems.append("a user turn has two [액션] sections")
            in_players = False
            header: list[str] = []
            for line in lines:
                if line.startswith("["):
                    in_players = line == SECTION_PLAYERS
                    header = []
                    continue
                if in_players:
                    (cells,) = list(csv.reader(io.StringIO(line)))
                    if not header:
                        header = cells
                    elif len(cells) != len(header):
                        problems.append(f"a [선수] row broke its CSV: {len(cells)} cells")
                    for marker in markers:
                        if marker in line:
                            found.add(marker)
                    continue
                if any(marker in line for marker in markers):
                    problems.append("a hostile name got out of its [선수] cell")
    if prompts and len(found) < len(markers):
        problems.append(f"hostile names never reached the LLM: {sorted(set(markers) - found)}")
    return sorted(set(problems))


# --- lost acks on the hand-off, a failing dead-letter topic, a skipped range --------------------


async def lost_ack(setup: Setup) -> Figures:
    """Acknowledgements of hand-off sends lost after the write: the agent sends again."""
    match = match_slice(1, per_period=setup.size(60, None))
    async with setup.run(
        "lost-ack",
        personas=("CASTER", "FRIEND"),
        llm=fake_llm(),
    ) as run:
        await run.start_worker(inject=["lost-ack:0.2"])
        await run.feed.play(match.outgoing(), speed=None)
        count_messages(run, match)
        figures = await run.finish(run.expected([match]), timeout_s=setup.size(120, 400))
    lost = sum(w.log_text().count("pitchcast.chaos.ack_lost") for w in run.workers)
    figures.extra["acks lost / sends retried / copies on the hand-off"] = (
        f"{lost} / {figures.worker.get('send_retries', 0):g} / {figures.handoff_copies}"
    )
    if not lost or not figures.handoff_copies:
        figures.problems.append(
            f"the fault missed the worker: {lost} acks lost, {figures.handoff_copies} copies"
            " on the hand-off"
        )
    return figures


async def dlq_fail(setup: Setup) -> Figures:
    """The dead-letter topic refuses writes: a record whose dead letter cannot be
    delivered is not acked, in either agent; the worker stops, and once restarted with
    the topic back, delivers it. Three incarnations:

    1. the dead-letter topic refuses everything; a record on the hand-off topic that the
       commentary agent cannot read arrives: the worker must stop;
    2. the topic works until the unread record is dead-lettered, then refuses again;
       malformed events arrive: the batch agent must stop the worker;
    3. the topic works: the malformed events are dead-lettered, the match completes.
    """
    rng = random.Random(setup.seed)
    match = match_slice(1, per_period=setup.size(60, 400))
    messages = match.outgoing()
    third = len(messages) // 3
    rows = [orjson.loads(v or b"{}") for _, (_, v, _) in messages]
    last = next(r for r in reversed(rows[:third]) if "action_id" in r)
    point = MatchPoint(match.game_id, last, [last["action_id"]], last["period_id"], 11, 12)
    bad_events = [bad_message("not_json", point, j, rng) for j in range(3)]
    poison = b'{"schema": "pitchcast.batch.v2", "oops": 1}'
    async with setup.run(
        "dlq-fail",
        llm=fake_llm(),
        env={"PITCHCAST_DELIVERY_TIMEOUT_S": "3", "PITCHCAST_KAFKA_SESSION_TIMEOUT_S": "6"},
    ) as run:
        problems = run.figures.problems
        handoff = Feed(run.kafka, run.topics["batches"])
        run.on_close(handoff.close)
        switch = run.dir / "dlq-refuses"  # the dead-letter topic refuses while it exists
        switch.touch()
        first = await run.start_worker(inject=[f"dlq-fail:{switch}"])
        run.expect_exit(first)
        await run.feed.play(messages[:third], speed=None)
        await handoff.send(str(match.game_id).encode(), poison)
        if not await exits(first, 30.0):
            problems.append("commentary agent: the worker went on past an undelivered dead letter")
            first.kill()
        switch.unlink()
        second = await run.start_worker(inject=[f"dlq-fail:{switch}"])
        run.expect_exit(second)
        # The promise is delivery after the restart, not its speed: the new worker's join
        # can wait out faust's broker_rebalance_timeout (60 s) when the crashed one left
        # the group mid-rebalance (seen once: the letter came after 61 s, run 82 s).
        if not await run.dead_letter_seen(value_digest(poison), timeout_s=100.0):
            problems.append("the unread hand-off record was not dead-lettered after the restart")
        switch.touch()
        await run.feed.play([(0.0, (b.key, b.value, [])) for b in bad_events], speed=None)
        await run.feed.play(messages[third : 2 * third], speed=None)
        if not await exits(second, 30.0):
            problems.append("batch agent: the worker went on past an undelivered dead letter")
            second.kill()
        switch.unlink()
        run.figures.crashes = sum(w.returncode not in (None, 0, -9) for w in (first, second))
        run.figures.restarts = 2
        await run.start_worker()
        await run.feed.play(messages[2 * third :], speed=None)
        count_messages(run, match)
        run.figures.messages["malformed"] = len(bad_events) + 1
        expected = run.expected(
            [match],
            dead_letters=[
                *((value_digest(b.value), b.outcome) for b in bad_events),
                (value_digest(poison), "SchemaViolation"),
            ],
        )
        figures = await run.finish(expected, timeout_s=setup.size(180, 400))
    stops = {
        n: sorted(set(re.findall(r"pitchcast\.(batch|commentary)\.stopping", w.log_text())))
        for n, w in enumerate(run.workers)
    }
    figures.extra["agents that stopped the worker, per incarnation"] = stops
    if stops.get(0) != ["commentary"] or stops.get(1) != ["batch"]:
        figures.problems.append(
            f"expected the commentary agent, then the batch agent to stop: {stops}"
        )
    return figures


async def skip(setup: Setup) -> Figures:
    """Records of the events topic never handed to the batch agent (faust's recovery race,
    injected): the partition ledger reads them from the log; no action is lost."""
    match = match_slice(1, per_period=setup.size(100, None))
    partition = DefaultPartitioner()(str(match.game_id).encode(), [0, 1, 2], [0, 1, 2])
    first, count = setup.size((60, 25), (900, 200))
    async with setup.run(
        "skip",
        llm=fake_llm(),
    ) as run:
        await run.start_worker(inject=[f"skip:{partition}:{first}:{count}"])
        await run.feed.play(match.outgoing(), speed=match.duration_s / setup.size(8.0, 60.0))
        count_messages(run, match)
        figures = await run.finish(run.expected([match]), timeout_s=setup.size(120, 400))
    figures.extra["skipped offsets"] = f"{first}..{first + count - 1} of partition {partition}"
    refilled = run.stats.get("offset_gap_records{state=refilled}", 0)
    if refilled != count:
        figures.problems.append(f"{count} records skipped, {refilled:g} refilled")
    return figures
