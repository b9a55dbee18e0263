"""Play a whole match through the real batcher and commentary stage, without Kafka.

The path is production's, minus the broker: :func:`pitchcast.streams.replay.plan_replay`
turns the CSV into the feed's messages (``match_start`` with the match info, the
actions, ``period_end`` between periods, ``match_end``), each is JSON-encoded and
decoded as the batch agent does (:func:`~pitchcast.schemas.decoding.decode_event`),
folded by :func:`~pitchcast.streams.batching.advance`, and every hand-off record is
encoded and decoded again (:func:`~pitchcast.schemas.decoding.decode_handoff`) before
the commentary stage sees it. Then, per persona and batch:

* ``batch`` mode: :meth:`CommentaryService.write` on each closed batch, as the agent's
  ``_write_whole`` does;
* ``live`` mode: the actions of a batch arrive at their match time (periods back to
  back, as ``pitchcast replay`` sends them) and :meth:`LiveWriter.write_rows` is asked
  for every action that arrived since the previous request, with the batch's growing
  conversation, on the same view of the batch the agent builds (:func:`live_view`).
  Time is virtual: a request starts when its first action has arrived and the previous
  request ended, and lasts as long as the real request took (with the template, no
  time: it answers at once), so bursts are those of a match played at 1x with this
  backend, without waiting for the match clock. With ``forks`` > 1 (the worker's
  ``llm_live_forks``) a burst's rows are forks of one prompt, as the lanes send them,
  and a line that repeats an earlier one of its burst is rewritten by the template
  (:mod:`pitchcast.commentary.live`); with the template backend a burst is one call.

Each line records the latency from its request's start to the line (the time the
backend took: with the server's own pacing, at this worker's load, requests back to
back; not the delay from the action to the screen) and the completion tokens of its
request divided by the lines the LLM wrote in it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from pitchcast.commentary.conversation import batch_so_far
from pitchcast.commentary.density import Density, decide
from pitchcast.commentary.live import LiveWriter
from pitchcast.commentary.service import AlreadyPublished, CommentaryService, current_line_source
from pitchcast.commentary.template.moments import (
    MOMENT_LINE_INDEX,
    Moment,
    moment_after,
    moment_before,
    write_moment,
)
from pitchcast.schemas.decoding import DecodedAction, decode_event, decode_handoff, encode
from pitchcast.schemas.records import (
    Action,
    Batch,
    BatchAction,
    BatchOpening,
    CommentaryItem,
    MatchInfo,
    PeriodEnd,
)
from pitchcast.settings import Persona
from pitchcast.story import Story, match_minute
from pitchcast.streams.batching import MatchState, advance

__all__ = [
    "Line",
    "MatchRun",
    "Played",
    "Request",
    "live_view",
    "moment_lines",
    "play_match",
    "write_match",
]

_MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Line:
    """One published line and what it was written from."""

    persona: str
    index: int  # order of the line in the persona's match
    batch_index: int
    position: int
    action: Action
    tone: str
    text: str
    source: str  # llm or template
    known: int  # actions of the batch known when the line was written
    request: int  # index into MatchRun.requests
    latency_s: float  # request start -> this line
    completion_tokens: float | None  # the request's tokens / its LLM lines (None: template)
    clock_s: float  # match time of the action, periods back to back
    # A moment line of the match's flow (template/moments.py: kick_off, half_time...):
    # its kind; None for an action's line.
    moment: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    persona: str
    batch_index: int
    rows: tuple[int, ...]
    seconds: float
    completion_tokens: int
    prompt_tokens: int
    llm_lines: int
    fallback_reason: str | None


@dataclass(slots=True)
class Played:
    """The match as the batcher handed it off."""

    game_id: int
    batches: list[Batch]
    openings: dict[int, BatchOpening]
    arrivals: dict[int, float]  # action_id -> match time (s), periods back to back
    stories: dict[int, tuple[Story, Story]]  # action_id -> (before, after)
    actions: list[Action]  # accepted, in log order
    match_info: MatchInfo | None = None
    # The ends of periods whose batch had closed before (full, or idle): each is told
    # after that batch's last line, as the commentary agent does (tell_period_end).
    period_ends: list[PeriodEnd] = field(default_factory=list)


@dataclass(slots=True)
class MatchRun:
    played: Played
    mode: str
    backend: str
    model: str
    lines: dict[str, list[Line]] = field(default_factory=dict)
    # Moment lines (kick-off, half-time, full time...) per persona, below ``every``.
    moments: dict[str, list[Line]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    seconds: float = 0.0


def play_match(
    path: Path,
    match_info: MatchInfo | None = None,
    *,
    batch_size: int = 10,
    max_actions: int | None = None,
    only_game: int | None = None,
) -> Played:
    """Every batch of the match CSV at ``path``, as the batcher forms and hands them off.

    ``max_actions`` plays only the first actions (a short slice), ending the match there;
    ``only_game`` the one game of a file that holds several.
    """
    from pitchcast.streams.replay import plan_replay  # imports aiokafka: only when used

    plan = plan_replay(path, match_info=match_info, only_game=only_game)
    if max_actions is not None:
        plan = _slice(plan, max_actions)
    state: MatchState | None = None
    played = Played(plan[0].game_id, [], {}, {}, {}, [], match_info)
    for offset, message in enumerate(plan):
        raw = orjson.dumps(message.value)
        decoded = decode_event(raw, max_bytes=_MAX_MESSAGE_BYTES, clamp_margin=5.0)
        event = decoded.action if isinstance(decoded, DecodedAction) else decoded
        before = state.story if state is not None else None
        step = advance(
            state, event, offset=offset, timestamp_ms=int(message.at_s * 1000),
            batch_size=batch_size,
        )  # fmt: skip
        state = step.state
        for emit in step.emits:
            record = decode_handoff(encode(emit), max_bytes=_MAX_MESSAGE_BYTES)
            if isinstance(record, BatchAction):
                action = record.action
                played.actions.append(action)
                played.arrivals[action.action_id] = message.at_s
                assert before is not None
                played.stories[action.action_id] = (before, state.story)
                if record.opening is not None:
                    played.openings[record.batch_index] = record.opening
            elif isinstance(record, Batch):
                played.batches.append(record)
            else:  # the end of a period whose batch had closed: a moment line
                played.period_ends.append(record)
    return played


def _slice(plan: list[Any], max_actions: int) -> list[Any]:
    """The plan up to its ``max_actions``-th action, then that period's end and match end."""
    kept: list[Any] = []
    actions = 0
    for message in plan:
        if "control" not in message.value:
            if actions == max_actions:
                break
            actions += 1
        elif message.value["control"] == "match_end":
            break
        kept.append(message)
    last = kept[-1]
    period = last.value.get("period_id")
    if last.value.get("control") != "period_end":
        end = {"game_id": last.game_id, "control": "period_end", "period_id": period}
        kept.append(replace(last, value=end))
    kept.append(replace(last, value={**kept[-1].value, "control": "match_end"}))
    return kept


def live_view(batch: Batch, opening: BatchOpening, known: int) -> Batch:
    """The batch so far (its first ``known`` actions) as the commentary agent shows it to
    the live writer: the same function the agent uses."""
    return batch_so_far(batch.game_id, batch.batch_index, opening, batch.actions[:known])


class _Recorder:
    """Collects one persona's lines with their timing."""

    def __init__(self, run: MatchRun, persona: str, density: Density = "every") -> None:
        self.run = run
        self.persona = persona
        self.density = density
        self.lines: list[Line] = run.lines.setdefault(persona, [])
        self.pending: list[tuple[CommentaryItem, str, float]] = []
        self.started = 0.0

    def start(self) -> None:
        self.pending = []
        self.started = time.perf_counter()

    def take(self, item: CommentaryItem, source: str) -> None:
        self.pending.append((item, source, time.perf_counter() - self.started))

    def finish(
        self,
        batch: Batch,
        known: int,
        rows: Sequence[int],
        usage: tuple[int, int],
        reason: str | None,
    ) -> None:
        seconds = time.perf_counter() - self.started
        by_id = {item.action_id: (item, source, at) for item, source, at in self.pending}
        llm_lines = sum(1 for _, source, _ in by_id.values() if source == "llm")
        request = Request(
            self.persona, batch.batch_index, tuple(rows), seconds, usage[1], usage[0],
            llm_lines, reason,
        )  # fmt: skip
        self.run.requests.append(request)
        tokens = usage[1] / llm_lines if llm_lines and usage[1] else None
        told = decide(
            batch.actions, self.density, batch.story
        )  # causal: the prefix decides the same
        for row in rows:
            if not told[row - 1].shown:
                continue  # told with another line: not on commentary-lines
            action = batch.actions[row - 1]
            item, source, at = by_id[action.action_id]
            self.lines.append(
                Line(
                    self.persona, len(self.lines), batch.batch_index, row - 1, action,
                    item.tone, item.description, source, known, len(self.run.requests) - 1,
                    at, tokens if source == "llm" else None,
                    self.run.played.arrivals.get(action.action_id, 0.0),
                )
            )  # fmt: skip


async def _write_batch_mode(
    service: CommentaryService, batch: Batch, persona: Persona, recorder: _Recorder
) -> None:
    async def on_item(item: CommentaryItem) -> None:
        recorder.take(item, "template" if current_line_source() == "template" else "llm")

    recorder.start()
    told = decide(batch.actions, recorder.density, batch.story)
    shown = [row for row, t in enumerate(told, start=1) if t.shown]
    rows = shown if len(shown) < len(told) else None  # as the lane asks (lanes._write_whole)
    outcome = await service.write(batch, persona, on_item=on_item, rows=rows)
    assert not isinstance(outcome, AlreadyPublished)  # no Redis marker offline
    seen = {item.action_id for item, _, _ in recorder.pending}
    for item in outcome.items:  # lines on_item did not see (it never fails here)
        if item.action_id not in seen:
            recorder.take(item, outcome.source)
    usage = (outcome.usage.prompt_tokens, outcome.usage.completion_tokens)
    rows = range(1, len(batch.actions) + 1)
    recorder.finish(batch, len(batch.actions), rows, usage, outcome.fallback_reason)


async def _write_live(
    writer: LiveWriter,
    batch: Batch,
    opening: BatchOpening,
    persona: Persona,
    recorder: _Recorder,
    arrivals: Sequence[float],
    clock: float,
    virtual_time: bool,
) -> float:
    turns = []
    settled: dict[int, CommentaryItem] = {}
    done = 0
    told = decide(batch.actions, recorder.density, batch.story)  # causal: as the lane decides it
    while done < len(batch.actions):
        clock = max(clock, arrivals[done])
        known = done
        while known < len(batch.actions) and arrivals[known] <= clock:
            known += 1
        # As the lane asks (LineBook.settle_silent): only the shown rows; the others are
        # settled silent at once.
        rows = [row for row in range(done + 1, known + 1) if told[row - 1].shown]
        for row in range(done + 1, known + 1):
            if not told[row - 1].shown:
                action = batch.actions[row - 1]
                settled[row] = CommentaryItem(action.action_id, action.time_seconds, "calm", "")
        if not rows:
            done = known
            continue

        async def on_item(item: CommentaryItem, source: str) -> None:
            recorder.take(item, source)

        recorder.start()
        written = await writer.write_rows(
            live_view(batch, opening, known), persona, turns, rows,
            settled=settled, on_item=on_item,
        )  # fmt: skip
        usage = (written.usage.prompt_tokens, written.usage.completion_tokens)
        recorder.finish(batch, known, rows, usage, written.fallback_reason)
        if virtual_time:
            clock += recorder.run.requests[-1].seconds
        turns.append(written.turn)
        settled.update(written.items)
        done = known
    return clock


async def write_match(
    played: Played,
    service: CommentaryService,
    personas: Sequence[Persona],
    *,
    mode: str,
    structured: bool = True,
    live_deadline_s: float = 8.0,
    density: Density = "every",
    forks: int = 1,
    supports: str = "",
) -> MatchRun:
    """The lines of every batch of ``played`` in each persona, as the agent writes them;
    at ``density``, only the shown lines (those ``commentary-lines`` carries), and below
    ``every`` the moment lines the agent tells around them (:func:`moment_lines`;
    ``supports``: the team a FRIEND backs)."""
    primary = service.primary
    run = MatchRun(played, mode, primary.name, getattr(primary, "model", primary.name))
    started = time.perf_counter()
    writer = LiveWriter(service, deadline_s=live_deadline_s, structured=structured, forks=forks)
    # The template answers at once: a request takes no virtual time (and bursts do not
    # depend on how busy this machine is).
    virtual_time = primary.name != "template"
    for persona in personas:
        recorder = _Recorder(run, persona, density)
        clock = 0.0
        for batch in played.batches:
            opening = played.openings.get(batch.batch_index)
            if mode == "live" and opening is not None:
                arrivals = [played.arrivals[a.action_id] for a in batch.actions]
                clock = await _write_live(
                    writer, batch, opening, persona, recorder, arrivals, clock, virtual_time
                )
            else:
                await _write_batch_mode(service, batch, persona, recorder)
        if density != "every":
            run.moments[persona] = moment_lines(played, persona, supports)
    run.seconds = time.perf_counter() - started
    return run


def _moments_of(played: Played) -> list[tuple[Batch, Moment]]:
    """Every moment of the match in order, with the batch it stands beside, as the
    commentary agent finds them (``CommentaryLanes._moment``, ``tell_period_end``)."""
    ends: dict[int, list[PeriodEnd]] = {}
    for mark in played.period_ends:
        ends.setdefault(mark.batch_index, []).append(mark)
    found: list[tuple[Batch, Moment]] = []
    for batch in played.batches:
        opening = played.openings.get(batch.batch_index)
        story = opening.story if opening is not None else batch.story
        first = moment_before(batch.actions[0], story) if batch.actions else None
        last = moment_after(batch)
        marks = [moment_after(mark) for mark in ends.get(batch.batch_index, [])]
        found += [(batch, m) for m in (first, last, *marks) if m is not None]
    return found


def moment_lines(played: Played, persona: str, supports: str = "") -> list[Line]:
    """The moment lines of ``persona`` (kick-off, the start and end of each period, full
    time), written as the agent writes them (template/moments.py: the template only)."""
    info = played.match_info if isinstance(played.match_info, MatchInfo) else None
    lines: list[Line] = []
    for batch, moment in _moments_of(played):
        item = write_moment(moment, persona, info or batch.match_info, supports)
        known = 0 if moment.place == "before" else len(batch.actions)
        clock = played.arrivals.get(moment.action.action_id, 0.0)
        lines.append(
            Line(
                persona, len(lines), batch.batch_index, MOMENT_LINE_INDEX[moment.place],
                moment.action, item.tone, item.description, "template", known, -1, 0.0,
                None, clock, moment.kind,
            )
        )  # fmt: skip
    return lines


def line_minute(line: Line) -> int:
    """The match minute of a line's action."""
    return match_minute(line.action.period_id, line.action.time_seconds)
