"""Message records of every topic, as frozen dataclasses.

orjson serialises these natively (fast, no ``__faust`` metadata field), and the pure
logic can use them without importing Kafka code. The JSON Schema file next to each
record (``*.schema.json``) is the contract other teams code against; tests validate
real produced messages against those files.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pitchcast.schemas.vocabulary import CardKind

__all__ = [
    "BATCH_ACTION_SCHEMA",
    "BATCH_SCHEMA",
    "CLOSE_REASONS",
    "COMMENTARY_NAMESPACE",
    "COMMENTARY_SCHEMA",
    "CONTROL_KINDS",
    "DEAD_LETTER_SCHEMA",
    "LINE_SCHEMA",
    "PERIOD_END_SCHEMA",
    "TONES",
    "Action",
    "Batch",
    "BatchAction",
    "BatchOpening",
    "Card",
    "CloseReason",
    "Commentary",
    "CommentaryItem",
    "CommentaryLine",
    "Control",
    "ControlKind",
    "DeadLetter",
    "Goal",
    "MatchInfo",
    "MinuteBucket",
    "PeriodEnd",
    "PlayerTally",
    "Score",
    "Story",
    "TeamTally",
    "Tone",
    "Usage",
    "commentary_id_for",
    "kind_key",
    "match_minute",
    "player_key",
    "story_from_dict",
]

COMMENTARY_SCHEMA = "pitchcast.commentary.v1"
LINE_SCHEMA = "pitchcast.commentary_line.v1"
BATCH_SCHEMA = "pitchcast.batch.v2"
BATCH_ACTION_SCHEMA = "pitchcast.batch_action.v1"
PERIOD_END_SCHEMA = "pitchcast.period_end.v1"
DEAD_LETTER_SCHEMA = "pitchcast.dead_letter.v1"

Tone = Literal["excited", "tense", "calm", "analytical", "playful", "disappointed"]
TONES: tuple[Tone, ...] = ("excited", "tense", "calm", "analytical", "playful", "disappointed")
CloseReason = Literal["full", "period_end", "match_end", "idle"]
CLOSE_REASONS: tuple[CloseReason, ...] = ("full", "period_end", "match_end", "idle")
ControlKind = Literal["match_start", "period_end", "match_end", "tick"]
CONTROL_KINDS: tuple[ControlKind, ...] = ("match_start", "period_end", "match_end", "tick")

COMMENTARY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "pitchcast.commentary")


def commentary_id_for(game_id: int, batch_index: int, persona: str) -> str:
    """The deterministic id of one (batch, persona) commentary: same batch, same id."""
    return str(uuid.uuid5(COMMENTARY_NAMESPACE, f"{game_id}:{batch_index}:{persona}"))


@dataclass(frozen=True, slots=True)
class Action:
    """One on-ball action, in the columns of K League ``raw_data.csv``."""

    game_id: int
    action_id: int
    period_id: int
    time_seconds: float
    team_id: int
    player_id: float | None
    result_name: str | None
    start_x: float
    start_y: float
    end_x: float
    end_y: float
    dx: float
    dy: float
    type_name: str
    player_name_ko: str | None
    team_name_ko: str | None
    position_name: str | None = None
    main_position: str | None = None


@dataclass(frozen=True, slots=True)
class MatchInfo:
    """The 17 columns of K League ``match_info.csv``. Final scores never reach a prompt."""

    game_id: int
    season_id: int | None = None
    competition_id: int | None = None
    game_day: int | None = None
    game_date: str | None = None
    home_team_id: int | None = None
    away_team_id: int | None = None
    home_score: int | None = None
    away_score: int | None = None
    venue: str | None = None
    competition_name: str | None = None
    country_name: str | None = None
    season_name: str | None = None
    home_team_name: str | None = None
    home_team_name_ko: str | None = None
    away_team_name: str | None = None
    away_team_name_ko: str | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """A control message on the events topic, in order with the match's actions."""

    game_id: int
    control: ControlKind
    period_id: int | None = None
    match_info: MatchInfo | None = None
    # Epoch seconds at which a tick was written (ticks only).
    at: float | None = None
    # Ticks only: the offset of the match's newest action the ticker saw; the batcher
    # flushes the open batch if no action joined it since (a decision the log alone makes).
    after_offset: int | None = None


@dataclass(frozen=True, slots=True)
class Score:
    home: int = 0
    away: int = 0


# The match story so far, as the batcher folds it (pitchcast.story computes it; a batch
# carries it as it stood when the batch opened; story.schema.json is its contract).

# Match clock at the start of each period (minutes).
_PERIOD_START_MINUTE = {1: 0, 2: 45, 3: 90, 4: 105, 5: 120}


def match_minute(period_id: int, time_seconds: float) -> int:
    """The minute being played on the match clock: 1..45 first half, 46.. second half."""
    seconds = time_seconds if time_seconds == time_seconds and time_seconds >= 0 else 0.0
    return _PERIOD_START_MINUTE.get(period_id, 0) + min(int(seconds // 60), 998) + 1


def player_key(action: Action) -> str | None:
    """Who acted: the player id (with the team, ids repeat across teams), else the name."""
    if action.player_id is not None:
        return f"id:{action.player_id:g}:{action.team_id}"
    if action.player_name_ko:
        return f"name:{action.player_name_ko}:{action.team_id}"
    return None


def kind_key(action: Action) -> str:
    """``type|result``: the key of :attr:`Story.kinds`."""
    return f"{action.type_name}|{action.result_name or ''}"


@dataclass(frozen=True, slots=True)
class Goal:
    action_id: int
    team_id: int  # the team credited with the goal (the other one on an own goal)
    player: str | None  # the scorer's name as the feed wrote it
    player_key: str | None
    period_id: int
    minute: int
    own_goal: bool
    score: Score  # after this goal


@dataclass(frozen=True, slots=True)
class Card:
    action_id: int
    team_id: int
    player: str | None
    player_key: str | None
    period_id: int
    minute: int
    card: CardKind


@dataclass(frozen=True, slots=True)
class TeamTally:
    team_id: int
    shots: int = 0
    on_target: int = 0
    corners: int = 0
    fouls: int = 0
    # The team's name as its actions give it (the first ``team_name_ko`` seen): the
    # lines of the match's flow name the teams by it when no match info does.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PlayerTally:
    key: str
    name: str | None
    team_id: int
    shots: int = 0
    on_target: int = 0
    goals: int = 0
    key_passes: int = 0
    interceptions: int = 0
    fouls: int = 0
    cards: int = 0


@dataclass(frozen=True, slots=True)
class MinuteBucket:
    period_id: int
    minute: int
    team_id: int
    actions: int = 0
    final_third: int = 0


@dataclass(frozen=True, slots=True)
class Story:
    """The story of one match so far. Immutable: :func:`~pitchcast.story.advance_story`
    returns a new one."""

    home_team_id: int | None = None
    away_team_id: int | None = None
    score: Score = field(default_factory=Score)
    goals: tuple[Goal, ...] = ()
    cards: tuple[Card, ...] = ()
    teams: tuple[TeamTally, ...] = ()  # in order of first appearance
    players: tuple[PlayerTally, ...] = ()  # in order of first notable event
    recent: tuple[MinuteBucket, ...] = ()
    kinds: tuple[tuple[str, int], ...] = ()  # sorted by key
    actions: int = 0  # actions folded in so far
    # (passer key, team id, ordinal, passer name) of the last completed pass (key passes).
    last_pass: tuple[str, int, int, str | None] | None = None
    # The last actions (at most density_rules.TAIL) with how ``story`` density tells
    # them (shown, told_with): the decision of the next batch's first actions sees them.
    tail: tuple[tuple[Action, bool, int | None], ...] = ()
    # How many earlier actions ``story`` density showed, per rotation key
    # (pitch.rotation_key), sorted by key: the template rotates on it below ``every``.
    told: tuple[tuple[str, int], ...] = ()

    def team(self, team_id: int) -> TeamTally:
        """The tally of ``team_id`` (zeros for a team not seen yet)."""
        for tally in self.teams:
            if tally.team_id == team_id:
                return tally
        return TeamTally(team_id)

    def player(self, key: str | None) -> PlayerTally | None:
        """The tally of a player, or None before anything notable happened to them."""
        if key is None:
            return None
        for tally in self.players:
            if tally.key == key:
                return tally
        return None

    def occurrences(self, action: Action) -> int:
        """How many earlier actions of the match had this action's (type, result)."""
        return self.count(kind_key(action))

    def count(self, key: str, *, told: bool = False) -> int:
        """The count of ``key`` in :attr:`kinds` (``told``: in :attr:`told`)."""
        for name, count in self.told if told else self.kinds:
            if name == key:
                return count
        return 0


def story_from_dict(data: Mapping[str, Any]) -> Story:
    """The inverse of orjson's dataclass serialisation of a :class:`Story`."""
    last = data.get("last_pass")
    return Story(
        home_team_id=data.get("home_team_id"),
        away_team_id=data.get("away_team_id"),
        score=Score(**data.get("score", {})),
        goals=tuple(Goal(**{**g, "score": Score(**g["score"])}) for g in data.get("goals", ())),
        cards=tuple(Card(**c) for c in data.get("cards", ())),
        teams=tuple(TeamTally(**t) for t in data.get("teams", ())),
        players=tuple(PlayerTally(**p) for p in data.get("players", ())),
        recent=tuple(MinuteBucket(**b) for b in data.get("recent", ())),
        kinds=tuple((str(k), int(n)) for k, n in data.get("kinds", ())),
        actions=int(data.get("actions", 0)),
        last_pass=None if last is None else (str(last[0]), int(last[1]), int(last[2]), last[3]),
        tail=tuple(
            (Action(**a), bool(shown), None if with_ is None else int(with_))
            for a, shown, with_ in data.get("tail", ())
        ),
        told=tuple((str(k), int(n)) for k, n in data.get("told", ())),
    )


@dataclass(frozen=True, slots=True)
class BatchOpening:
    """What a batch's first action carries: the context its lines are written in."""

    match_info: MatchInfo | None
    story: Story
    # Player and team names seen in the match before the batch opened.
    roster: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchAction:
    """One action assigned to its batch and position as it arrives (``pitchcast-batches``).

    Sent at once, so the commentary stage can write the action's line without waiting
    for the window to close. The batch's first action (position 0) carries its opening.
    """

    game_id: int
    batch_index: int
    position: int
    action: Action
    # Kafka timestamp (ms) of the action's record on the events topic.
    appended_ts_ms: int
    opening: BatchOpening | None = None
    schema: str = BATCH_ACTION_SCHEMA


@dataclass(frozen=True, slots=True)
class Batch:
    """A closed window of up to ``batch_size`` actions of one match (``pitchcast-batches``).

    Complete and self-contained: batch mode and recovery need nothing else. Actions are
    in position (log) order, the order their lines were published in.
    """

    game_id: int
    batch_index: int
    period_id: int
    first_action_id: int
    last_action_id: int
    close_reason: CloseReason
    actions: tuple[Action, ...]
    score: Score
    match_info: MatchInfo | None = None
    # Player and team names seen in the match so far (grounding of LLM lines).
    roster: tuple[str, ...] = ()
    # Kafka timestamp (ms) of the record that closed the batch: latency measurements.
    closed_by_ts_ms: int | None = None
    # The match story as it stood when the batch opened (before its first action).
    story: Story | None = None
    schema: str = BATCH_SCHEMA


@dataclass(frozen=True, slots=True)
class PeriodEnd:
    """The end of a period that found no open batch (``pitchcast-batches``): the batch
    ``batch_index`` closed (``full``, or ``idle``) on the period's last action before the
    feed said the period was over. The commentary stage tells the end (half-time, the
    end of the second half...) after that batch's last action, as it does for a batch
    the end closed itself."""

    game_id: int
    batch_index: int  # the batch that closed (full or idle) on the period's last action
    close_reason: CloseReason  # period_end or match_end (what would have closed it)
    last: Action  # that batch's last action
    score: Score  # after it
    match_info: MatchInfo | None = None
    # Kafka timestamp (ms) of the record that ended the period.
    ended_by_ts_ms: int | None = None
    # The match's teams as the story knew them (their names, for the line that tells the
    # end when no match info names the teams). Absent in older records: empty.
    teams: tuple[TeamTally, ...] = ()
    schema: str = PERIOD_END_SCHEMA


@dataclass(frozen=True, slots=True)
class CommentaryItem:
    action_id: int
    time_seconds: float
    tone: Tone
    description: str
    # Density (added in 0.3; absent = shown, see docs/schema-evolution.md): an action
    # without a line of its own has ``shown`` false, an empty description, and
    # ``told_with`` the id of the shown action whose line tells its moment (None: none).
    shown: bool = True
    told_with: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Prompt tokens the server took from its prefix cache (vLLM's
    # usage.prompt_tokens_details.cached_tokens), when it says.
    cached_prompt_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Commentary:
    """One message per (batch, persona) on the ``commentary`` topic, for the Spring backend."""

    commentary_id: str
    game_id: int
    batch_index: int
    persona: str
    period_id: int
    first_action_id: int
    last_action_id: int
    close_reason: CloseReason
    score: Score
    items: tuple[CommentaryItem, ...]
    source: Literal["llm", "template", "mixed"]
    fallback_reason: str | None
    model: str
    usage: Usage
    created_at: str
    schema: str = COMMENTARY_SCHEMA


@dataclass(frozen=True, slots=True)
class CommentaryLine:
    """One line on ``commentary-lines``, published as soon as it is complete and valid."""

    commentary_id: str
    line_index: int
    game_id: int
    batch_index: int
    persona: str
    item: CommentaryItem
    final: bool
    created_at: str
    schema: str = LINE_SCHEMA
    # Who wrote the line: "llm", or "template" when the LLM did not write it validly in
    # time (added in 0.2; optional for readers, see docs/schema-evolution.md); "control"
    # for a line of the match's flow (kick-off, half-time, full time; added in 0.3).
    source: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Everything needed to understand and replay a message that could not be processed."""

    source_topic: str
    partition: int | None
    offset: int | None
    key: str | None
    value: str | None
    value_encoding: Literal["utf-8", "base64"]
    value_length: int
    value_sha256: str
    value_truncated: bool
    error_kind: str
    error_message: str
    failed_at: str
    game_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    schema: str = DEAD_LETTER_SCHEMA
