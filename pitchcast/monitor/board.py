"""What the booth monitor knows of each live match, built from the topics' records.

Pure: it is fed decoded-enough records with their broker timestamps (LogAppendTime,
milliseconds) and answers with the updates to push to the pages. Nothing here reads
Kafka or a clock; ``now_ms`` is passed in.

A record that cannot be read is counted per topic and skipped; it never reaches a page.
Names and texts are kept as data: the pages only ever set them as text, never as markup.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from pitchcast.exceptions import InvalidMessage
from pitchcast.schemas.decoding import decode_event
from pitchcast.schemas.records import TONES, Action, Control, MatchInfo

__all__ = ["Board", "MatchBoard", "Update", "percentile"]

Update = dict[str, Any]

# What a page needs of the recent past; older items stay counted, not shown.
RECENT_ACTIONS = 40
LINES_KEPT = 300
BATCHES_KEPT = 120
LATENCY_WINDOW_MS = 5 * 60 * 1000
LINES_PER_MINUTE_WINDOW_MS = 60 * 1000
CARD_RESULTS = frozenset({"Yellow_Card", "Second_Yellow_Card", "Direct_Red_Card"})
# A line of the match's flow (kick-off, half-time, full time; docs/schema-evolution.md 0.3):
# no action's line, so neither in the action -> line figures nor in the template share.
CONTROL_SOURCE = "control"
_MAX_VALUE_BYTES = 1 << 20


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def match_clock(period_id: int, seconds: float) -> str:
    """``1H 12:05``: the period and the clock within it, as the feed gives them."""
    return f"{period_id}H {int(seconds // 60):02d}:{int(seconds % 60):02d}"


def _action_view(action: Action, side: str | None, ts_ms: int) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "period_id": action.period_id,
        "time_seconds": action.time_seconds,
        "clock": match_clock(action.period_id, action.time_seconds),
        "side": side,
        "player": action.player_name_ko or "",
        "team": action.team_name_ko or "",
        "type": action.type_name,
        "result": action.result_name or "",
        "start": [round(action.start_x, 2), round(action.start_y, 2)],
        "end": [round(action.end_x, 2), round(action.end_y, 2)],
        "ts_ms": ts_ms,
    }


@dataclass
class MatchBoard:
    """One match: its teams, score, recent actions, lines per persona, batches, letters."""

    game_id: int
    home_team_id: int | None = None
    away_team_id: int | None = None
    home_name: str = "Home"
    away_name: str = "Away"
    score: dict[str, int] = field(default_factory=lambda: {"home": 0, "away": 0})
    period_id: int = 1
    time_seconds: float = 0.0
    ended: bool = False
    started_ms: int = 0
    actions: dict[int, dict[str, Any]] = field(default_factory=dict)
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT_ACTIONS))
    lines: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    batches: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    line_ids: set[str] = field(default_factory=set)
    batch_ids: set[str] = field(default_factory=set)
    goals: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: Counter[str] = field(default_factory=Counter)
    last_line_ms: int | None = None
    # Lines read before their action (topics are not ordered between them), by action id.
    waiting: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # The sides whose name the match info gave (the others take their actions' name).
    named: set[str] = field(default_factory=set)

    # -- input ------------------------------------------------------------------------

    def start(self, info: MatchInfo | None, ts_ms: int) -> None:
        if info is not None:
            self.home_team_id = info.home_team_id
            self.away_team_id = info.away_team_id
            for side, names in (
                ("home", (info.home_team_name_ko, info.home_team_name)),
                ("away", (info.away_team_name_ko, info.away_team_name)),
            ):
                name = next((n for n in names if n), None)
                if name:
                    setattr(self, f"{side}_name", name)
                    self.named.add(side)
        self.started_ms = ts_ms

    def _learn_team(self, action: Action) -> None:
        """Without match info, the first team seen is home and the next one away, as the
        worker's story counts the score; a side no match info named takes the name its
        first named action gives it (the score was 0:0 under Home and Away for a whole
        match without match info)."""
        if self.home_team_id is None:
            self.home_team_id = action.team_id
        elif self.away_team_id is None and action.team_id != self.home_team_id:
            self.away_team_id = action.team_id
        side = self.side_of(action.team_id)
        if side is not None and side not in self.named and action.team_name_ko:
            setattr(self, f"{side}_name", action.team_name_ko)
            self.named.add(side)

    def keep_since(self, before: MatchBoard, ts_ms: int) -> None:
        """Take the lines and batches of ``before`` published at or after ``ts_ms``."""
        for persona, lines in before.lines.items():
            for line in lines:
                if line["ts_ms"] >= ts_ms:
                    self.lines.setdefault(persona, deque(maxlen=LINES_KEPT)).append(line)
                    self.line_ids.add(line["id"])
                    self.last_line_ms = max(self.last_line_ms or 0, line["ts_ms"])
                    if line["latency_ms"] is None:
                        self.waiting.setdefault(line["action_id"], []).append(line)
        for persona, batches in before.batches.items():
            for batch in batches:
                if batch["ts_ms"] >= ts_ms:
                    self.batches.setdefault(persona, deque(maxlen=BATCHES_KEPT)).append(batch)
                    self.batch_ids.add(batch["id"])

    def side_of(self, team_id: int) -> str | None:
        if team_id == self.home_team_id:
            return "home"
        if team_id == self.away_team_id:
            return "away"
        return None

    def add_action(self, action: Action, ts_ms: int) -> dict[str, Any]:
        self._learn_team(action)
        side = self.side_of(action.team_id)
        view = _action_view(action, side, ts_ms)
        self.actions[action.action_id] = view
        self.recent.append(action.action_id)
        for line in self.waiting.pop(action.action_id, []):
            line["latency_ms"] = line["ts_ms"] - ts_ms
            line["clock"] = view["clock"]
        self.period_id = action.period_id
        self.time_seconds = action.time_seconds
        scorer_side = side
        if action.type_name == "Own Goal":
            scorer_side = {"home": "away", "away": "home"}.get(side or "")
        if action.type_name in ("Goal", "Own Goal") and scorer_side is not None:
            self.score[scorer_side] += 1
            self.goals.append(
                {
                    "side": scorer_side,
                    "player": view["player"],
                    "clock": view["clock"],
                    "own_goal": action.type_name == "Own Goal",
                    "action_id": action.action_id,
                }
            )
        if action.result_name in CARD_RESULTS:
            self.cards.append(
                {
                    "side": side,
                    "player": view["player"],
                    "clock": view["clock"],
                    "card": action.result_name,
                    "action_id": action.action_id,
                }
            )
        return view

    def add_line(self, line: dict[str, Any], ts_ms: int) -> dict[str, Any] | None:
        """The line as a page shows it, or None for a copy already shown (a redelivery)."""
        line_id = f"{line['commentary_id']}:{line['line_index']}"
        if line_id in self.line_ids:
            return None
        self.line_ids.add(line_id)
        item = line["item"]
        action = self.actions.get(item["action_id"])
        clock = action["clock"] if action else match_clock(self.period_id, item["time_seconds"])
        view = {
            "id": line_id,
            "persona": line["persona"],
            "batch_index": line["batch_index"],
            "line_index": line["line_index"],
            "action_id": item["action_id"],
            "clock": clock,
            "tone": item["tone"],
            "text": item["description"],
            "source": line.get("source") or "",
            "fallback_reason": line.get("fallback_reason") or "",
            "latency_ms": ts_ms - action["ts_ms"] if action else None,
            "final": bool(line.get("final")),
            "ts_ms": ts_ms,
        }
        self.lines.setdefault(view["persona"], deque(maxlen=LINES_KEPT)).append(view)
        if action is None:
            self.waiting.setdefault(view["action_id"], []).append(view)
        self.last_line_ms = ts_ms
        return view

    def add_batch(self, record: dict[str, Any], ts_ms: int) -> dict[str, Any] | None:
        if record["commentary_id"] in self.batch_ids:
            return None
        self.batch_ids.add(record["commentary_id"])
        view = {
            "id": record["commentary_id"],
            "persona": record["persona"],
            "batch_index": record["batch_index"],
            "first_action_id": record.get("first_action_id"),
            "last_action_id": record.get("last_action_id"),
            "close_reason": record.get("close_reason", ""),
            "source": record.get("source", ""),
            "fallback_reason": record.get("fallback_reason") or "",
            "items": len(record.get("items") or ()),
            # At story and key density a record's silent items (shown: false) have no line.
            "shown": sum(1 for item in record.get("items") or () if _is_shown(item)),
            "ts_ms": ts_ms,
        }
        self.batches.setdefault(view["persona"], deque(maxlen=BATCHES_KEPT)).append(view)
        return view

    # -- output -----------------------------------------------------------------------

    def summary(self, now_ms: int, idle_timeout_s: float) -> dict[str, Any]:
        """The figures of the index page and of the match page's header."""
        personas: dict[str, Any] = {}
        lines_last_minute = 0
        all_recent = 0
        template_recent = 0
        for persona, lines in sorted(self.lines.items()):
            recent = [ln for ln in lines if now_ms - ln["ts_ms"] <= LATENCY_WINDOW_MS]
            told = [ln for ln in recent if ln["source"] != CONTROL_SOURCE]
            latencies = [ln["latency_ms"] / 1000 for ln in told if ln["latency_ms"] is not None]
            template = sum(1 for ln in told if ln["source"] == "template")
            personas[persona] = {
                "p50_s": percentile(latencies, 50),
                "p95_s": percentile(latencies, 95),
                "lines_5min": len(recent),
                "template_share": template / len(told) if told else None,
            }
            lines_last_minute += sum(
                1 for ln in recent if now_ms - ln["ts_ms"] <= LINES_PER_MINUTE_WINDOW_MS
            )
            all_recent += len(told)
            template_recent += template
        since_ms = self.last_line_ms if self.last_line_ms is not None else self.started_ms
        idle_s = max(0.0, (now_ms - since_ms) / 1000) if since_ms else None
        return {
            "game_id": self.game_id,
            "home": self.home_name,
            "away": self.away_name,
            "score": dict(self.score),
            "clock": match_clock(self.period_id, self.time_seconds),
            "ended": self.ended,
            "lines_last_minute": lines_last_minute,
            "template_share": template_recent / all_recent if all_recent else None,
            "personas": personas,
            "dead_letters": sum(self.dead_letters.values()),
            "dead_letters_by_reason": dict(self.dead_letters),
            "idle_s": idle_s,
            "stalled": bool(not self.ended and idle_s is not None and idle_s > idle_timeout_s),
        }

    def snapshot(self, now_ms: int, idle_timeout_s: float) -> dict[str, Any]:
        """Everything the match page draws when it (re)connects."""
        return {
            "summary": self.summary(now_ms, idle_timeout_s),
            "actions": [self.actions[a] for a in self.recent],
            "lines": {p: list(lines) for p, lines in sorted(self.lines.items())},
            "batches": {p: list(b) for p, b in sorted(self.batches.items())},
            "goals": list(self.goals),
            "cards": list(self.cards),
        }

    def action(self, action_id: int) -> dict[str, Any] | None:
        return self.actions.get(action_id)


@dataclass
class Board:
    """Every match the monitor has seen, and what it could not read."""

    max_bytes: int = _MAX_VALUE_BYTES
    clamp_margin: float = 5.0
    matches: dict[int, MatchBoard] = field(default_factory=dict)
    malformed: Counter[str] = field(default_factory=Counter)

    def clear(self) -> None:
        self.matches.clear()
        self.malformed.clear()

    def _match(self, game_id: int) -> MatchBoard:
        board = self.matches.get(game_id)
        if board is None:
            board = self.matches[game_id] = MatchBoard(game_id)
        return board

    def on_event(self, raw: bytes | None, ts_ms: int) -> list[Update]:
        """A ``match-events`` record: an action, or a control message."""
        try:
            decoded = decode_event(raw, max_bytes=self.max_bytes, clamp_margin=self.clamp_margin)
        except InvalidMessage:
            # The worker dead-letters it; the monitor only counts it.
            self.malformed["events"] += 1
            return []
        if isinstance(decoded, Control):
            return self._on_control(decoded, ts_ms)
        action = decoded.action
        board = self._match(action.game_id)
        if board.ended or action.action_id in board.actions:
            return []  # after the end, or a duplicate id: the worker drops these too
        if not board.started_ms:
            board.started_ms = ts_ms
        view = board.add_action(action, ts_ms)
        return [{"type": "action", "game_id": action.game_id, "action": view}]

    def _on_control(self, control: Control, ts_ms: int) -> list[Update]:
        if control.control == "match_start":
            # A new start of a game id the board already holds (a replay) begins afresh,
            # but keeps what was read of this run already: topics carry no order between
            # them, so on a re-read a line may come before its match_start.
            before = self.matches.get(control.game_id)
            board = self.matches[control.game_id] = MatchBoard(control.game_id)
            board.start(control.match_info, ts_ms)
            if before is not None:
                board.keep_since(before, ts_ms)
            return [{"type": "reset", "game_id": control.game_id}]
        if control.control == "match_end":
            self._match(control.game_id).ended = True
        return []

    def on_line(self, raw: bytes | None, ts_ms: int) -> list[Update]:
        """A ``commentary-lines`` record."""
        line = _json_object(raw)
        if line is None or not _is_line(line):
            self.malformed["lines"] += 1
            return []
        if not _is_shown(line["item"]) or not line["item"]["description"].strip():
            # The lines topic carries only shown items; a silent one has no text to show.
            self.malformed["lines_silent"] += 1
            return []
        view = self._match(line["game_id"]).add_line(line, ts_ms)
        if view is None:
            return []
        return [{"type": "line", "game_id": line["game_id"], "line": view}]

    def on_record(self, raw: bytes | None, ts_ms: int) -> list[Update]:
        """A ``commentary`` record: a batch boundary of one persona."""
        record = _json_object(raw)
        if record is None or not _is_record(record):
            self.malformed["commentary"] += 1
            return []
        view = self._match(record["game_id"]).add_batch(record, ts_ms)
        if view is None:
            return []
        return [{"type": "batch", "game_id": record["game_id"], "batch": view}]

    def on_dead_letter(self, raw: bytes | None, ts_ms: int) -> list[Update]:
        """A ``commentary-dlq`` record: counted per match and reason."""
        letter = _json_object(raw)
        if letter is None or not isinstance(letter.get("error_kind"), str):
            self.malformed["dlq"] += 1
            return []
        game_id = letter.get("game_id")
        key = letter.get("key")
        if game_id is None and isinstance(key, str) and key.isdigit():
            # Undecodable input has no game_id, but its key names the match (as in `dlq list`).
            game_id = int(key)
        if not _is_int(game_id):
            # A letter of no known match (no game id, no match key): counted, not shown per match.
            self.malformed["dlq_unkeyed"] += 1
            return []
        self._match(game_id).dead_letters[letter["error_kind"]] += 1
        return []

    def summaries(self, now_ms: int, idle_timeout_s: float) -> list[dict[str, Any]]:
        """Every match, the live ones first (a finished one stays within the look-back)."""
        order = sorted(self.matches, key=lambda g: (self.matches[g].ended, g))
        return [self.matches[g].summary(now_ms, idle_timeout_s) for g in order]


def _json_object(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None or len(raw) > _MAX_VALUE_BYTES:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_line(line: dict[str, Any]) -> bool:
    item = line.get("item")
    return (
        _is_int(line.get("game_id"))
        and isinstance(line.get("commentary_id"), str)
        and _is_int(line.get("line_index"))
        and _is_int(line.get("batch_index"))
        and isinstance(line.get("persona"), str)
        and isinstance(item, dict)
        and _is_int(item.get("action_id"))
        and isinstance(item.get("time_seconds"), int | float)
        and item.get("tone") in TONES
        and isinstance(item.get("description"), str)
    )


def _is_shown(item: Any) -> bool:
    """An item with a line of its own: absent ``shown`` means shown (before 0.3)."""
    return isinstance(item, dict) and item.get("shown") is not False


def _is_record(record: dict[str, Any]) -> bool:
    return (
        _is_int(record.get("game_id"))
        and isinstance(record.get("commentary_id"), str)
        and _is_int(record.get("batch_index"))
        and isinstance(record.get("persona"), str)
        and isinstance(record.get("items"), list)
    )
