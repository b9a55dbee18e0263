"""What the fault scenarios share: their :class:`Setup`, the fake LLM, and small helpers
to place faults in a feed and read timings back from what the topics hold."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from pitchcast.chaos import check
from pitchcast.chaos.harness import Outgoing, Worker
from pitchcast.chaos.run import MODEL, MatchSlice, Run
from pitchcast.testing.fake_llm import FakeLLMServer

__all__ = [
    "Setup",
    "async_hooks",
    "conversation",
    "count_messages",
    "exits",
    "fake_llm",
    "game_on",
    "line_lags",
    "merge",
    "moments",
    "request_spans",
    "revokes",
]


@dataclass(frozen=True)
class Setup:
    """Where and how big a scenario runs."""

    profile: str  # "ci" (reduced) or "full"
    kafka: str
    workdir: Path
    mode: str = "live"
    seed: int = 20261122
    # The sigkill scenarios' kill count instead of their size's (0: the pace without kills).
    kills: int | None = None

    @property
    def full(self) -> bool:
        return self.profile == "full"

    def size(self, ci: Any, full: Any) -> Any:
        return full if self.full else ci

    def run(self, scenario: str, *, kafka: str | None = None, **options: Any) -> Run:
        """A run of ``scenario`` at this setup's size, broker, folder and LLM mode."""
        return Run(
            scenario,
            profile=self.profile,
            kafka=kafka or self.kafka,
            workdir=self.workdir,
            mode=self.mode,
            **options,
        )


def fake_llm(ttft_s: float = 0.02, tpot_s: float = 0.0005) -> FakeLLMServer:
    return FakeLLMServer(model=MODEL, ttft_s=ttft_s, tpot_s=tpot_s).start()


def moments(rng: random.Random, n: int, count: int) -> list[int]:
    """``count`` random message indexes in ``n``, one in each of ``count`` equal stretches
    of the middle 80% (so two kills never land in the same restart)."""
    low, high = n // 10, n * 9 // 10
    step = (high - low) // count
    return [low + i * step + rng.randrange(max(step // 2, 1)) for i in range(count)]


def count_messages(run: Run, *matches: MatchSlice) -> None:
    for match in matches:
        run.figures.messages["actions"] += len(match.action_ids)
        run.figures.messages["controls"] += len(match.messages) - len(match.action_ids)


def merge(*matches: MatchSlice) -> list[tuple[float, Outgoing]]:
    """Several matches at once, in match-time order (stable within a match)."""
    tagged = [
        (at, i, n, out) for i, m in enumerate(matches) for n, (at, out) in enumerate(m.outgoing())
    ]
    return [(at, out) for at, _, _, out in sorted(tagged, key=lambda t: t[:3])]


def game_on(partition: int, partitions: int, start: int) -> int:
    """A game id whose key murmur2 puts on ``partition`` (as Java clients and aiokafka do)."""
    every = list(range(partitions))
    game_id = start
    while DefaultPartitioner()(str(game_id).encode(), every, every) != partition:
        game_id += 1
    return game_id


def revokes(run: Run) -> list[tuple[float, int]]:
    """(seconds, desks cancelled) of every revoke in every worker's log."""
    found = []
    for worker in run.workers:
        for line in worker.log_text().splitlines():
            if "pitchcast.revoked" in line:
                seconds = re.search(r"\bseconds=([\d.]+)", line)  # the whole revoke
                desks = re.search(r"desks=(\d+)", line)
                found.append(
                    (
                        float(seconds.group(1)) if seconds else -1.0,
                        int(desks.group(1)) if desks else 0,
                    )
                )
    return found


def async_hooks(hooks: dict[int, Callable[[], Any]]) -> dict[int, Callable[[], Awaitable[None]]]:
    def wrap(hook: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            hook()

        return run

    return {i: wrap(h) for i, h in hooks.items()}


def conversation(payload: dict[str, Any]) -> str:
    """What identifies a batch's requests: its persona's system prompt and first user turn."""
    messages = payload.get("messages") or []
    return orjson.dumps(messages[:2]).decode()


def request_spans(llm: FakeLLMServer) -> list[float]:
    times: dict[str, list[float]] = defaultdict(list)
    for payload, arrived in zip(llm.requests, llm.arrivals, strict=True):
        if payload.get("max_tokens") != 1:  # not the warm-up
            times[conversation(payload)].append(arrived)
    return [max(t) - min(t) for t in times.values()]


def line_lags(run: Run) -> list[float]:
    """Seconds from each action on the events topic to its line (both broker times)."""
    return check.line_lags(run.records.get("events", []), run.records.get("lines", []))


async def exits(worker: Worker, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while worker.alive and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return not worker.alive
