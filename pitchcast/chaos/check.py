"""The promises, checked on what the topics hold after a scenario, and its figures.

After every scenario (whatever was injected), read from the beginning of each topic:

* ``commentary``: per match and persona, every real action of the match in exactly one
  published batch (its ``commentary_id``), every ``batch_index`` from 0 to the last
  present, no ``commentary_id`` published with two different contents (the batch and
  its items; ``created_at`` and the bookkeeping fields ``usage``, ``model`` and
  ``fallback_reason`` of a re-publication are reported, not failed), nothing commented
  that is not a real action, and the original's time for every action;
* ``commentary-lines``: no line id (``commentary_id:line_index``) with two texts, and
  each commentary record's items equal to the lines published for it;
* the hand-off topic: no (batch, position) with two different actions;
* the dead-letter topic: counted by reason, and every expected dead letter present
  with its reason;
* every text a scenario produced (logs, records, stats): no secret in it.

:class:`Figures` holds the counts a scenario prints (:meth:`Figures.render`).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pitchcast.chaos.harness import RawRecord
from pitchcast.schemas.records import commentary_id_for

__all__ = ["Expected", "Figures", "check_topics", "find_secrets", "value_digest"]

# The fields that make a commentary what it is; the rest is bookkeeping of one publication.
_CONTENT = (
    "commentary_id", "game_id", "batch_index", "persona", "period_id", "first_action_id",
    "last_action_id", "close_reason", "score", "items", "source",
)  # fmt: skip
_BOOKKEEPING = ("model", "usage", "fallback_reason")


def value_digest(value: bytes | None) -> str:
    """How a dead letter names the value it describes (its sha256)."""
    return hashlib.sha256(value or b"").hexdigest()


@dataclass
class Expected:
    """What the scenario sent that must come out."""

    # game_id -> real action ids in log order, and the original time of each.
    actions: dict[int, list[int]]
    times: dict[int, dict[int, float]]
    personas: Sequence[str]
    lines: bool = True
    # sha256 of a bad value -> the dead-letter reason it must get (error_kind).
    dead_letters: dict[str, str] = field(default_factory=dict)
    # sha256 of a value that must never become a dead letter nor an action (dropped copies).
    dropped: set[str] = field(default_factory=set)


@dataclass
class Figures:
    """The counts one scenario run prints, and what broke a promise."""

    scenario: str
    profile: str
    mode: str = "live"
    seconds: float = 0.0
    messages: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    restarts: int = 0
    crashes: int = 0
    commentary_records: int = 0
    commentary_ids: int = 0
    commentary_copies: int = 0  # raw duplicates seen (and removed by commentary_id)
    republished_other_bookkeeping: int = 0
    lines_records: int = 0
    line_ids: int = 0
    line_copies: int = 0
    handoff_records: int = 0
    handoff_copies: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    worker: dict[str, float] = field(default_factory=dict)  # selected worker stats
    llm_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        """The figures as the lines ``pitchcast chaos`` prints."""
        msgs = ", ".join(f"{k} {v}" for k, v in sorted(self.messages.items()))
        letters = ", ".join(f"{k} {v}" for k, v in sorted(self.dead_letters.items())) or "none"
        worker = ", ".join(f"{k} {v:g}" for k, v in sorted(self.worker.items())) or "-"
        out = [
            f"scenario {self.scenario} [{self.profile}, mode {self.mode}]: "
            f"{'PASS' if self.ok else 'FAIL'} in {self.seconds:.0f} s",
            f"  messages sent: {sum(self.messages.values())} ({msgs})",
            f"  kills: {self.kills}, restarts: {self.restarts}, crashes: {self.crashes}",
            f"  commentary: {self.commentary_records} records, {self.commentary_ids} ids, "
            f"raw duplicates seen {self.commentary_copies}, removed {self.commentary_copies}"
            + (
                f" ({self.republished_other_bookkeeping} with other usage/model/fallback_reason)"
                if self.republished_other_bookkeeping
                else ""
            ),
            f"  lines: {self.lines_records} records, {self.line_ids} line ids, "
            f"raw duplicates seen {self.line_copies}, removed {self.line_copies}",
            f"  hand-off: {self.handoff_records} records, raw duplicates {self.handoff_copies}",
            f"  dead letters: {sum(self.dead_letters.values())} ({letters})",
            f"  worker: {worker}",
            f"  llm requests: {self.llm_requests}",
        ]
        out += [f"  {k}: {v}" for k, v in self.extra.items()]
        out.append(f"  lost: {self.lost}")
        out.append("  problems: " + ("none" if not self.problems else ""))
        out += [f"    - {p}" for p in self.problems[:40]]
        if len(self.problems) > 40:
            out.append(f"    ... and {len(self.problems) - 40} more")
        return "\n".join(out)


def _json(record: RawRecord) -> Any:
    return orjson.loads(record.value or b"null")


def _canon(data: Mapping[str, Any], keys: Iterable[str]) -> bytes:
    return orjson.dumps({k: data.get(k) for k in keys}, option=orjson.OPT_SORT_KEYS)


def check_topics(
    figures: Figures,
    expected: Expected,
    *,
    commentary: Sequence[RawRecord],
    lines: Sequence[RawRecord],
    handoff: Sequence[RawRecord],
    dead_letters: Sequence[RawRecord],
) -> None:
    """Check every promise; counts go to ``figures``, broken promises to its problems."""
    records = _check_commentary(figures, expected, commentary)
    if expected.lines:
        _check_lines(figures, records, lines)
    _check_handoff(figures, handoff)
    _check_dead_letters(figures, expected, dead_letters)


def _check_commentary(
    figures: Figures, expected: Expected, commentary: Sequence[RawRecord]
) -> dict[str, dict[str, Any]]:
    problems = figures.problems
    by_id: dict[str, dict[bytes, dict[str, Any]]] = defaultdict(dict)
    bookkeeping: dict[str, set[bytes]] = defaultdict(set)
    for record in commentary:
        data = _json(record)
        cid = data["commentary_id"]
        by_id[cid].setdefault(_canon(data, _CONTENT), data)
        bookkeeping[cid].add(_canon(data, _BOOKKEEPING))
    figures.commentary_records = len(commentary)
    figures.commentary_ids = len(by_id)
    figures.commentary_copies = len(commentary) - len(by_id)
    figures.republished_other_bookkeeping = sum(len(v) > 1 for v in bookkeeping.values())
    chosen: dict[str, dict[str, Any]] = {}
    for cid, versions in by_id.items():
        if len(versions) > 1:
            problems.append(f"commentary_id {cid} published with {len(versions)} contents")
        chosen[cid] = next(iter(versions.values()))

    lost = 0
    for game_id, ids in expected.actions.items():
        times = expected.times.get(game_id, {})
        for persona in expected.personas:
            mine = [
                d for d in chosen.values() if d["game_id"] == game_id and d["persona"] == persona
            ]
            indexes = sorted(d["batch_index"] for d in mine)
            if indexes != list(range(len(indexes))):
                gaps = sorted(set(range(max(indexes, default=-1) + 1)) - set(indexes))
                problems.append(f"game {game_id} {persona}: batch_index missing {gaps[:10]}")
            where: dict[int, list[int]] = defaultdict(list)
            for d in mine:
                if d["commentary_id"] != commentary_id_for(game_id, d["batch_index"], persona):
                    problems.append(f"game {game_id} batch {d['batch_index']}: wrong commentary_id")
                for item in d["items"]:
                    where[item["action_id"]].append(d["batch_index"])
                    real = times.get(item["action_id"])
                    if real is not None and abs(item["time_seconds"] - real) > 1e-6:
                        problems.append(
                            f"game {game_id} action {item['action_id']}: time"
                            f" {item['time_seconds']} is not the original's {real}"
                        )
            missing = [i for i in ids if i not in where]
            twice = [i for i, batches in where.items() if len(batches) > 1]
            unreal = sorted(set(where) - set(ids))
            lost = max(lost, len(missing))
            if missing:
                problems.append(
                    f"game {game_id} {persona}: {len(missing)} actions never commented,"
                    f" e.g. {missing[:8]}"
                )
            if twice:
                problems.append(
                    f"game {game_id} {persona}: {len(twice)} actions in two batches,"
                    f" e.g. {twice[:8]}"
                )
            if unreal:
                problems.append(
                    f"game {game_id} {persona}: {len(unreal)} commented actions are not real,"
                    f" e.g. {unreal[:8]}"
                )
    figures.lost = lost
    return chosen


def _check_lines(
    figures: Figures, records: dict[str, dict[str, Any]], lines: Sequence[RawRecord]
) -> None:
    problems = figures.problems
    texts: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    items: dict[tuple[str, int], Any] = {}
    for record in lines:
        data = _json(record)
        line_id = (data["commentary_id"], data["line_index"])
        texts[line_id].add(orjson.dumps(data["item"], option=orjson.OPT_SORT_KEYS))
        items.setdefault(line_id, data["item"])
    figures.lines_records = len(lines)
    figures.line_ids = len(texts)
    figures.line_copies = len(lines) - len(texts)
    for (cid, index), versions in texts.items():
        if len(versions) > 1:
            problems.append(f"line {cid}:{index} published with {len(versions)} texts")
    for cid, record in records.items():
        for index, item in enumerate(record["items"]):
            line = items.get((cid, index))
            if line is None:
                problems.append(f"line {cid}:{index} (batch {record['batch_index']}) missing")
            elif line != item:
                problems.append(
                    f"line {cid}:{index} (batch {record['batch_index']}) differs from its record"
                )
    orphans = {cid for cid, _ in texts} - set(records)
    if orphans:
        problems.append(f"{len(orphans)} commentary ids have lines but no record")


def _check_handoff(figures: Figures, handoff: Sequence[RawRecord]) -> None:
    seen: dict[tuple[Any, ...], set[bytes]] = defaultdict(set)
    foreign = 0
    for record in handoff:
        try:
            data = _json(record)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or "game_id" not in data or "batch_index" not in data:
            foreign += 1  # not written by pitchcast (a scenario's poison record)
            continue
        if data.get("schema") == "pitchcast.batch_action.v1":
            ident = ("action", data["game_id"], data["batch_index"], data["position"])
            content = orjson.dumps(data["action"], option=orjson.OPT_SORT_KEYS)
        else:
            ident = ("close", data["game_id"], data["batch_index"])
            ids = [a["action_id"] for a in data["actions"]]
            content = orjson.dumps([ids, data["close_reason"]])
        seen[ident].add(content)
    figures.handoff_records = len(handoff) - foreign
    figures.handoff_copies = len(handoff) - foreign - len(seen)
    for ident, versions in seen.items():
        if len(versions) > 1:
            figures.problems.append(f"hand-off {ident} carries {len(versions)} different contents")


def _check_dead_letters(
    figures: Figures, expected: Expected, dead_letters: Sequence[RawRecord]
) -> None:
    found: dict[str, list[str]] = defaultdict(list)
    for record in dead_letters:
        data = _json(record)
        figures.dead_letters[data["error_kind"]] += 1
        found[data["value_sha256"]].append(data["error_kind"])
    wrong: list[str] = []
    missing = 0
    for digest, kind in expected.dead_letters.items():
        kinds = found.get(digest)
        if not kinds:
            missing += 1
        elif kind not in kinds:
            wrong.append(f"{kind} -> {sorted(set(kinds))}")
    if missing:
        figures.problems.append(f"{missing} bad messages have no dead letter")
    if wrong:
        figures.problems.append(f"{len(wrong)} dead letters with another reason, e.g. {wrong[:5]}")
    dropped_letters = sum(1 for d in expected.dropped if d in found)
    if dropped_letters:
        figures.problems.append(f"{dropped_letters} dropped duplicates became dead letters")


def find_secrets(secrets: Sequence[str], texts: Mapping[str, str | bytes]) -> list[str]:
    """Where any of ``secrets`` appears (the name of the text, never the secret)."""
    leaks = []
    for name, text in texts.items():
        data = text.encode() if isinstance(text, str) else text
        for n, secret in enumerate(secrets):
            if secret and secret.encode() in data:
                leaks.append(f"secret #{n + 1} appears in {name}")
    return leaks
