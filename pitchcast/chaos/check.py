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
* the dead-letter topic: every bad message sent counted on its own (tombstones, which
  all share one digest, included): exactly one dead letter with its reason per message,
  per reason as many letters as messages sent; a letter with another reason, a letter
  more than sent, a letter of a value never sent as bad, and a letter of a dropped
  duplicate each fail. The same letter again for one source record (same topic,
  partition, offset) is a redelivery copy: counted, and failed only in a run with no
  kill, restart or crash that could have redelivered it;
* every non-``llm`` commentary record carries its ``fallback_reason``;
* line lags, from the action's broker timestamp on the events topic to its line's first
  publication: within ``Expected.line_bound_s`` when the scenario sets one, and then
  every line measured (a line whose action is not on the events topic fails);
* :func:`check_commits`: the group's commits reach the end offsets of what it consumes;
* every text a scenario produced (logs, records, stats): no secret in it.

``lost`` is the sum over game x persona of the real actions in no published batch.
A scenario calls :func:`check_topics` (and :func:`check_commits`) on what it read to
the topics' end offsets; :meth:`pitchcast.chaos.run.Run.finish` does both.

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

__all__ = [
    "Expected",
    "Figures",
    "check_commits",
    "check_topics",
    "commit_problems",
    "find_secrets",
    "line_lags",
    "value_digest",
]

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
    # One (sha256 of the value, dead-letter reason) per bad message sent, each counted on
    # its own; a mapping sha256 -> reason is read as one message per value.
    dead_letters: Sequence[tuple[str, str]] | Mapping[str, str] = ()
    # sha256 of values that must never become a dead letter nor an action (dropped copies).
    dropped: Iterable[str] = ()
    # Every line within this many seconds of its action (events topic to lines topic).
    line_bound_s: float | None = None
    # Every commentary record not written by the LLM alone names why.
    fallback_reasons: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.dead_letters, Mapping):
            self.dead_letters = list(self.dead_letters.items())
        self.dead_letters = [(digest, reason) for digest, reason in self.dead_letters]
        self.dropped = set(self.dropped)


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
    dead_letter_copies: int = 0  # the same letter again for one source record
    line_lags: list[float] = field(default_factory=list)  # seconds, action to line
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
            f"  dead letters: {sum(self.dead_letters.values())} ({letters})"
            + (f", redelivery copies {self.dead_letter_copies}" if self.dead_letter_copies else ""),
            f"  worker: {worker}",
            f"  llm requests: {self.llm_requests}",
        ]
        if self.line_lags:
            lags = sorted(self.line_lags)
            out.append(
                "  line lag from the action (s): p50 "
                f"{lags[len(lags) // 2]:.2f}, p90 {lags[len(lags) * 9 // 10]:.2f},"
                f" max {lags[-1]:.2f}"
            )
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
    events: Sequence[RawRecord] = (),
    redelivered: bool | None = None,
) -> None:
    """Check every promise on what the topics held, read to their end offsets; counts go
    to ``figures``, broken promises to its problems.

    ``events`` (the events topic as sent) gives each action's broker time for the line
    lags; ``redelivered`` says whether the run could have redelivered a record (default:
    it killed, restarted or lost a worker).
    """
    if redelivered is None:
        redelivered = bool(figures.kills or figures.restarts or figures.crashes)
    records = _check_commentary(figures, expected, commentary)
    if expected.lines:
        _check_lines(figures, records, lines)
        figures.line_lags = line_lags(events, lines)
        bound = expected.line_bound_s
        late = [lag for lag in figures.line_lags if bound is not None and lag > bound]
        if late:
            figures.problems.append(
                f"{len(late)} lines late: published more than {bound:g} s after their action"
                f" (slowest {max(late):.2f} s)"
            )
        # A bound holds only for lines whose lag was measured: a line whose action is not
        # on the events topic (or an events topic not read) must not pass it unseen.
        unmeasured = figures.line_ids - len(figures.line_lags)
        if bound is not None and unmeasured:
            figures.problems.append(
                f"{unmeasured} lines unmeasured: their action's record is not on the events"
                f" topic read, so the {bound:g} s bound cannot be checked for them"
            )
    _check_handoff(figures, handoff)
    _check_dead_letters(figures, expected, dead_letters, redelivered=redelivered)


def line_lags(events: Sequence[RawRecord], lines: Sequence[RawRecord]) -> list[float]:
    """Seconds from each action's record on the events topic to the first publication of
    its line (both broker timestamps); an action sent twice counts from its first copy."""
    sent: dict[tuple[int, int], int] = {}
    for record in events:
        try:
            data = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError:
            continue  # a malformed message of the scenario
        if not isinstance(data, dict):
            continue
        game_id, action_id = data.get("game_id"), data.get("action_id")
        if isinstance(game_id, int) and isinstance(action_id, int):
            key = (game_id, action_id)
            sent[key] = min(sent.get(key, record.timestamp), record.timestamp)
    first: dict[tuple[str, int], tuple[int, tuple[int, int]]] = {}
    for record in lines:
        data = _json(record)
        line_id = (data["commentary_id"], data["line_index"])
        if line_id not in first or record.timestamp < first[line_id][0]:
            first[line_id] = (record.timestamp, (data["game_id"], data["item"]["action_id"]))
    return [
        (published - sent[action]) / 1000.0
        for published, action in first.values()
        if action in sent
    ]


def commit_problems(
    positions: Mapping[str, Mapping[int, tuple[int, int]]],
    records: Mapping[str, Sequence[RawRecord]],
    *,
    markers: bool = False,
) -> list[str]:
    """What :func:`check_commits` reports (empty when every commit reaches the end)."""
    behind = {}
    for name, partitions in sorted(positions.items()):
        held: dict[int, list[int]] = defaultdict(list)
        for record in records.get(name, ()):
            held[record.partition].append(record.offset)
        for partition, (committed, end) in sorted(partitions.items()):
            if committed >= end:
                continue
            if markers and not any(offset >= committed for offset in held[partition]):
                continue  # only transaction markers (or aborted records) past the commit
            behind[f"{name}[{partition}]"] = f"{committed} of {end}"
    return [f"uncommitted offsets: commits stuck below the end {behind}"] if behind else []


def check_commits(
    figures: Figures,
    positions: Mapping[str, Mapping[int, tuple[int, int]]],
    records: Mapping[str, Sequence[RawRecord]],
    *,
    markers: bool = False,
) -> None:
    """Every record of the consumed topics acknowledged: per topic name and partition,
    ``positions`` gives (the group's committed offset, or -1; the end offset), and the
    commit must reach the end. With ``markers`` (the topic was written in transactions),
    the offsets between the commit and the end may hold only transaction markers: no
    record of ``records`` (the topic read to its end) at or past the commit."""
    figures.problems += commit_problems(positions, records, markers=markers)


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
    if expected.fallback_reasons:
        unexplained = sorted(
            {
                (data["game_id"], data["persona"], data["batch_index"], data["source"])
                for record in commentary
                if (data := _json(record))["source"] != "llm" and not data.get("fallback_reason")
            }
        )
        if unexplained:
            problems.append(
                f"{len(unexplained)} records not written by the LLM alone carry no"
                f" fallback_reason (missing reason), e.g. {unexplained[:5]}"
            )

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
            lost += len(missing)
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
            if not item.get("shown", True):
                # Density: an item told with another line has no line of its own.
                if line is not None:
                    problems.append(f"line {cid}:{index} published though not shown")
                continue
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
        elif data.get("schema") == "pitchcast.period_end.v1":
            # The end of a period after its batch had closed: one per such batch.
            ident = ("period_end", data["game_id"], data["batch_index"])
            content = orjson.dumps([data["last"]["action_id"], data["close_reason"]])
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
    figures: Figures, expected: Expected, dead_letters: Sequence[RawRecord], *, redelivered: bool
) -> None:
    problems = figures.problems
    # Each source record's letters; one without a source position stands on its own.
    by_source: dict[tuple[Any, ...], list[tuple[str, str]]] = defaultdict(list)
    for record in dead_letters:
        data = _json(record)
        figures.dead_letters[data["error_kind"]] += 1
        source = (data.get("source_topic"), data.get("partition"), data.get("offset"))
        if None in source:
            source = ("dead letter", record.partition, record.offset)
        by_source[source].append((data["value_sha256"], data["error_kind"]))
    found: Counter[tuple[str, str]] = Counter()  # (digest, reason) -> source records
    for letters in by_source.values():
        figures.dead_letter_copies += len(letters) - len(set(letters))
        found.update(set(letters))
    if figures.dead_letter_copies and not redelivered:
        problems.append(
            f"{figures.dead_letter_copies} dead letters duplicated for one source record,"
            " in a run where nothing could redeliver it"
        )
    sent: Counter[tuple[str, str]] = Counter(expected.dead_letters)  # type: ignore[arg-type]
    reasons: dict[str, set[str]] = defaultdict(set)
    for digest, reason in sent:
        reasons[digest].add(reason)
    missing = {k: n - found[k] for k, n in sent.items() if found[k] < n}
    extra = {k: n - sent[k] for k, n in found.items() if n > sent[k]}
    wrong = {k: n for k, n in extra.items() if k[0] in reasons and k[1] not in reasons[k[0]]}
    twice = {k: n for k, n in extra.items() if k[0] in reasons and k[1] in reasons[k[0]]}
    dropped = {k: n for k, n in extra.items() if k[0] not in reasons and k[0] in expected.dropped}
    unsent = {
        k: n for k, n in extra.items() if k[0] not in reasons and k[0] not in expected.dropped
    }

    def examples(counts: Mapping[tuple[str, str], int]) -> str:
        return ", ".join(f"{reason} of {digest[:12]}" for digest, reason in list(counts)[:5])

    if missing:
        problems.append(
            f"{sum(missing.values())} bad messages have no dead letter with their reason"
            f" (missing), e.g. {examples(missing)}"
        )
    if wrong:
        shown = [
            f"{digest[:12]}: sent as {sorted(reasons[digest])}, lettered {reason}"
            for digest, reason in list(wrong)[:5]
        ]
        problems.append(f"{sum(wrong.values())} dead letters with a wrong reason, e.g. {shown}")
    if twice:
        problems.append(
            f"{sum(twice.values())} dead letters more than the bad messages sent (duplicated),"
            f" e.g. {examples(twice)}"
        )
    if dropped:
        problems.append(f"{sum(dropped.values())} dropped duplicates became dead letters")
    if unsent:
        problems.append(
            f"{sum(unsent.values())} dead letters of values never sent as bad,"
            f" e.g. {examples(unsent)}"
        )
    sent_by_reason = Counter(reason for _, reason in sent.elements())
    found_by_reason: Counter[str] = Counter()
    for (digest, reason), n in found.items():
        if digest in reasons:
            found_by_reason[reason] += n
    if sent_by_reason != found_by_reason:
        problems.append(
            f"dead letters by reason differ from what was sent: sent {dict(sent_by_reason)},"
            f" found {dict(found_by_reason)}"
        )


def find_secrets(secrets: Sequence[str], texts: Mapping[str, str | bytes]) -> list[str]:
    """Where any of ``secrets`` appears (the name of the text, never the secret)."""
    leaks = []
    for name, text in texts.items():
        data = text.encode() if isinstance(text, str) else text
        for n, secret in enumerate(secrets):
            if secret and secret.encode() in data:
                leaks.append(f"secret #{n + 1} appears in {name}")
    return leaks
