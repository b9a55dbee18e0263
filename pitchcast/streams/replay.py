"""Replay a match CSV into ``match-events``, as a live feed would publish it.

The plan (what to send and when, in match time) is pure; :func:`replay` sends it
with aiokafka at real time, N times faster, or as fast as the broker takes it.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from pitchcast.schemas.records import MatchInfo
from pitchcast.settings import Settings
from pitchcast.streams.admin import partition_count
from pitchcast.streams.clients import aiokafka_options, start_client
from pitchcast.streams.match_csv import MalformedCsv, read_actions

__all__ = ["ReplayMessage", "interleave", "plan_replay", "replay"]


@dataclass(frozen=True, slots=True)
class ReplayMessage:
    game_id: int
    at_s: float  # seconds of match time since kick-off, periods back to back
    value: dict[str, Any]


def plan_replay(
    path: Path,
    *,
    match_info: MatchInfo | None = None,
    game_id: int | None = None,
    only_game: int | None = None,
) -> list[ReplayMessage]:
    """Every message of the match in order: match_start, actions, period_end, match_end.

    The whole file is read first, so a malformed CSV is refused before anything is sent.
    ``only_game`` picks one game of a file that holds several (the K League
    ``raw_data.csv`` holds a season); a file of several games without it is refused.
    ``game_id`` replaces the game's id (replaying one match as several).
    """
    rows = list(read_actions(path))
    if not rows:
        raise MalformedCsv(path, 1, "no actions")
    source_games = list(dict.fromkeys(row["game_id"] for row in rows))
    if only_game is not None:
        rows = [row for row in rows if row["game_id"] == only_game]
        if not rows:
            raise MalformedCsv(
                path, 1, f"no actions of game {only_game} (games: {_listed(source_games)})"
            )
    elif len(source_games) > 1:
        raise MalformedCsv(
            path,
            1,
            f"{len(source_games)} games in one file ({_listed(source_games)}): choose one"
            " with --only-game",
        )
    gid = game_id if game_id is not None else rows[0]["game_id"]
    info = None
    if match_info is not None:
        info = {**asdict(match_info), "game_id": gid}
    plan = [ReplayMessage(gid, 0.0, {"game_id": gid, "control": "match_start", "match_info": info})]
    period_start = 0.0  # match time at which the current period started
    period = rows[0]["period_id"]
    period_length = 0.0
    for row in rows:
        if row["period_id"] != period:
            end = period_start + period_length
            plan.append(
                ReplayMessage(
                    gid, end, {"game_id": gid, "control": "period_end", "period_id": period}
                )
            )
            period, period_start, period_length = row["period_id"], end, 0.0
        period_length = max(period_length, row["time_seconds"])
        plan.append(ReplayMessage(gid, period_start + row["time_seconds"], {**row, "game_id": gid}))
    end = period_start + period_length
    plan.append(
        ReplayMessage(gid, end, {"game_id": gid, "control": "period_end", "period_id": period})
    )
    plan.append(
        ReplayMessage(gid, end, {"game_id": gid, "control": "match_end", "period_id": period})
    )
    return plan


def _listed(game_ids: list[int], shown: int = 5) -> str:
    """The first game ids of a file, for an error message (a season holds hundreds)."""
    more = f", ... {len(game_ids) - shown} more" if len(game_ids) > shown else ""
    return ", ".join(str(g) for g in game_ids[:shown]) + more


def interleave(plans: list[list[ReplayMessage]]) -> Iterator[ReplayMessage]:
    """Several matches at once, merged by match time, as concurrent matches would be.

    Each match keeps its file's order, the feed's log order, even where its clock goes
    back (actions out of time order within a second): a sort would reorder them, and the
    worker would batch another log than the file (and than ``pitchcast eval`` plays).
    """
    # heapq.merge only compares the heads of its inputs; equal times: the earlier plan.
    return heapq.merge(*plans, key=lambda m: m.at_s)


async def replay(
    settings: Settings,
    plans: list[list[ReplayMessage]],
    *,
    speed: float | None,
    on_sent: Callable[[ReplayMessage], None] | None = None,
    topic_wait_s: float = 30.0,
) -> int:
    """Send the plans (interleaved by match time); ``speed=None`` is as fast as possible.

    The events topic may take ``topic_wait_s`` to appear (a worker started beside the
    replay creates it); then a missing topic (a typo) is named, as `tail` does, rather
    than left to the producer, which waits a minute on metadata and fails with a traceback.
    """
    await partition_count(settings, settings.topic_events, wait_s=topic_wait_s)
    producer = AIOKafkaProducer(
        **aiokafka_options(settings), acks="all", enable_idempotence=True, linger_ms=5
    )
    await start_client(producer, settings)
    sent = 0
    try:
        started = time.monotonic()
        pending = []
        for message in interleave(plans):
            if speed is not None:
                delay = message.at_s / speed - (time.monotonic() - started)
                if delay > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(delay)
            future = await producer.send(
                settings.topic_events,
                key=str(message.game_id).encode(),
                value=orjson.dumps(message.value),
            )
            pending.append(future)
            sent += 1
            if on_sent is not None:
                on_sent(message)
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
