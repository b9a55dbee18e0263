"""Figures of a played match per persona, and the report: report.md and figures.json.

:func:`evaluate` runs every checker over a :class:`~.run.MatchRun` and returns plain
data (every number of the report, and a few examples of each problem);
:func:`write_report` writes ``figures.json``, the PNG plots (:mod:`.plots`, optional)
and ``report.md`` into a folder.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from pitchcast.checks.claims import ClaimCheck, LineFacts, check_claims, check_period
from pitchcast.checks.naming import unnamed_kind
from pitchcast.checks.particles import ParticleCheck, check_particles
from pitchcast.checks.register import ending_of, register_slips
from pitchcast.checks.wording import backing_slips, find_wording
from pitchcast.commentary.template.backing import backed_team_id
from pitchcast.commentary.template.moments import MOMENT_LINE_INDEX
from pitchcast.commentary.template.phrasebook import BACKING_PERSONA
from pitchcast.quality.fit import event_class, length_figures, tone_fit
from pitchcast.quality.grounding import allowed_names, clean_name, match_info_names
from pitchcast.quality.grounding import ungrounded_names as find_ungrounded
from pitchcast.quality.repetition import burst_repeats, near_repeats, repetition
from pitchcast.quality.run import Line, MatchRun, line_minute
from pitchcast.quality.telling import coverage, is_shown, pace, told_twice
from pitchcast.schemas.records import MatchInfo

__all__ = [
    "EXAMPLES",
    "MOMENT_REPEAT_LINES",
    "Names",
    "evaluate",
    "failures",
    "match_names",
    "write_report",
]

EXAMPLES = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Names:
    roster: tuple[str, ...]
    home: tuple[str, ...]
    away: tuple[str, ...]
    players: tuple[str, ...]


# A moment line (kick-off, half-time, an extra-time period's end...) must not share a
# sentence shape with a line this close to it in reading order: at `key` density a
# persona's lines are a few a half, so two period ends may stand 3 lines apart, and a
# fan reads the same sentence twice. 10 is the `key` floor of action lines.
MOMENT_REPEAT_LINES: Final = 10


def _reading_order(lines: Sequence[Line], moments: Sequence[Line]) -> list[Line]:
    """Shown lines and moment lines in the order a fan reads them: a moment before its
    batch's first line (kick-off, a period's start) or after its last (a period's end)."""
    before = MOMENT_LINE_INDEX["before"]

    def key(line: Line) -> tuple[int, int, int]:
        first = line.moment is not None and line.position == before
        return (line.batch_index, 0 if first else 1, line.position)

    return sorted((*lines, *moments), key=key)


def match_names(run: MatchRun) -> Names:
    """Every name of the match, and which are the home and away team's."""
    played = run.played
    info = played.match_info if isinstance(played.match_info, MatchInfo) else None
    if info is None and played.batches:
        info = played.batches[0].match_info
    home: list[str] = []
    away: list[str] = []
    if info is not None:
        home += [clean_name(n) for n in (info.home_team_name_ko, info.home_team_name) if n]
        away += [clean_name(n) for n in (info.away_team_name_ko, info.away_team_name) if n]
    home_id = info.home_team_id if info is not None else None
    away_id = info.away_team_id if info is not None else None
    if home_id is None or away_id is None:
        # As the story counts the score without match info: the first team seen is home.
        seen = list(dict.fromkeys(a.team_id for a in played.actions))
        home_id = seen[0] if home_id is None and seen else home_id
        away_id = next((t for t in seen if t != home_id), None) if away_id is None else away_id
    players: list[str] = []
    for action in played.actions:
        team = clean_name(action.team_name_ko)
        if team:
            if action.team_id == home_id and team not in home:
                home.append(team)
            elif action.team_id == away_id and team not in away:
                away.append(team)
        player = clean_name(action.player_name_ko)
        if player and player not in players:
            players.append(player)
    teams = [clean_name(a.team_name_ko) for a in played.actions if clean_name(a.team_name_ko)]
    roster = dict.fromkeys([*match_info_names(info), *home, *away, *teams, *players])
    return Names(tuple(roster), tuple(home), tuple(away), tuple(players))


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quantile(values: Sequence[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(int(q * (len(ordered) - 1) + 0.5), len(ordered) - 1)]


def _example(line: Line, cls: str) -> dict[str, Any]:
    action = line.action
    return {
        "event": cls,
        "minute": line_minute(line),
        "action": f"{action.type_name} {action.result_name or ''}".strip(),
        "tone": line.tone,
        "text": line.text,
    }


def _facts(run: MatchRun, line: Line, names: Names) -> LineFacts:
    """What ``line`` may state: the story around its action; a moment line's, the story
    where it stands (before the batch's first action, or after its last)."""
    before, after = run.played.stories[line.action.action_id]
    if line.moment is not None:
        before = after = before if line.position == MOMENT_LINE_INDEX["before"] else after
    return LineFacts(line.action, before, after, names.home, names.away, names.players)


def _persona_figures(
    run: MatchRun, lines: list[Line], names: Names, moments: Sequence[Line] = ()
) -> dict[str, Any]:
    """The figures of one persona's ``lines``; its ``moments`` (kick-off, half-time...)
    are judged with them for names, particles, stated numbers, the period they name,
    wording and register, and listed (they are no action's line: not counted in
    repetition, fit, pace or key events)."""
    played = run.played
    batches = {b.batch_index: b for b in played.batches}
    info = played.batches[0].match_info if played.batches else None
    particles = ParticleCheck()
    claims = ClaimCheck()
    ungrounded: list[dict[str, Any]] = []
    for line in (*lines, *moments):
        batch = batches[line.batch_index]
        allowed = allowed_names(batch.actions[: line.known], batch.match_info or info)
        facts = _facts(run, line, names)
        if line.moment is not None:
            # A moment line may name the teams the match has shown so far (by the names
            # their actions gave them: the line's teams when no match info names them).
            allowed |= {clean_name(t.name) for t in facts.after.teams if t.name}
        for found in find_ungrounded(line.text, names.roster, allowed):
            ungrounded.append(
                {"name": found.name, "line": line.text, "action_id": line.action.action_id}
            )
        particles.merge(check_particles(line.text, names.roster))
        claims.merge(check_claims(line.text, facts))
        if line.moment is not None:
            claims.merge(check_period(line.text, facts))
    texts = [line.text for line in lines]
    rep = repetition(
        texts, [line.batch_index for line in lines], [line.clock_s / 60 for line in lines],
        names.roster,
    )  # fmt: skip
    # Lines written together from one prompt: a live burst, a batch-mode request.
    requests, sources = [line.request for line in lines], [line.source for line in lines]
    bursts = burst_repeats(texts, requests, names.roster, sources=sources)
    persona = lines[0].persona if lines else ""
    fit = tone_fit([line.action for line in lines], [line.tone for line in lines], texts, persona)
    length = length_figures(texts)
    examples: list[dict[str, Any]] = []
    for cls in ("goal", "own_goal", "card", "big_chance", "error", "failed_shot", "other"):
        for line in lines:
            if event_class(line.action) == cls:
                examples.append(_example(line, cls))
                break
    claim_kinds = Counter(error.kind for error in claims.errors)
    # What a fan reads: voice, tone and wording are judged on shown lines (telling.py).
    shown = [line for line in lines if is_shown(line)]
    # A moment line is about no action: read without one (the rules of any action).
    wording = [
        (line, found)
        for line in (*shown, *moments)
        for found in find_wording(
            line.text, None if line.moment else line.action.type_name, names=names.roster
        )
    ]
    unsupported = [(ln, f) for ln, f in wording if f.kind.startswith("unsupported")]
    mistakes = [(ln, f) for ln, f in wording if f.kind == "mistake"]
    slips = [
        (ln, found)
        for ln in (*shown, *moments)
        if (found := register_slips(ln.text, ln.persona, names=names.roster))
    ]
    told = coverage(lines)
    read = _reading_order(shown, moments)
    close = near_repeats(
        [ln.text for ln in read], [ln.moment is not None for ln in read], names.roster,
        within=MOMENT_REPEAT_LINES,
    )  # fmt: skip
    # A key moment's shown line that does not say what happened (checks/naming.py).
    unnamed = [
        (ln, kind)
        for ln in shown
        if (kind := unnamed_kind(ln.text, ln.action, names=names.roster)) is not None
    ]
    figures: dict[str, Any] = {
        "lines": len(lines),
        "sources": dict(Counter(line.source for line in lines)),
        "grounding": {
            "errors": len(ungrounded) + len(claims.errors),
            "ungrounded_names": len(ungrounded),
            "claims_checked": claims.checked,
            "claim_errors": len(claims.errors),
            "claim_errors_by_kind": dict(claim_kinds),
            "unparsed": len(claims.unparsed),
            "examples_names": ungrounded[:EXAMPLES],
            "examples_claims": [dataclasses.asdict(e) for e in claims.errors[:EXAMPLES]],
            "examples_unparsed": [dataclasses.asdict(u) for u in claims.unparsed[:EXAMPLES]],
        },
        "particles": {
            "checked": particles.checked,
            "errors": len(particles.errors),
            "unchecked": len(particles.unchecked),
            "examples": [dataclasses.asdict(e) for e in particles.errors[:EXAMPLES]],
            "examples_unchecked": [dataclasses.asdict(u) for u in particles.unchecked[:EXAMPLES]],
        },
        "repetition": dataclasses.asdict(rep),
        "burst_repeats": dataclasses.asdict(bursts),
        "fit": {
            "confusion": fit.confusion,
            "judged": fit.judged,
            "misfits": len(fit.misfits),
            "misfits_by_event": dict(Counter(m.event for m in fit.misfits)),
            "examples": [dataclasses.asdict(m) for m in fit.misfits[:EXAMPLES]],
        },
        "length": dataclasses.asdict(length),
        "wording": {
            "unsupported": len(unsupported),
            "mistakes": len(mistakes),
            "by_kind": dict(Counter(f.kind for _, f in wording)),
            "examples": [
                {"kind": f.kind, "matched": f.matched, "why": f.why, "text": ln.text}
                for ln, f in (unsupported[: EXAMPLES // 2] + mistakes[: EXAMPLES // 2])
            ],
        },
        "endings": _shares(Counter(ending_of(ln.text, names=names.roster) for ln in shown)),
        "register": {
            "slips": len(slips),
            "examples": [
                {"slips": found, "text": ln.text, "source": ln.source}
                for ln, found in slips[:EXAMPLES]
            ],
        },
        "tones": _shares(Counter(line.tone for line in shown)),
        "shown_lines": len(shown),
        "pace": dataclasses.asdict(pace(lines)),
        "key_events": {
            "events": told.key_events,
            "told": told.told,
            "share": told.share,
            "by_kind": told.by_kind,
            "missed": told.missed,
            "unnamed": len(unnamed),
            "examples_unnamed": [
                {"kind": kind, "minute": line_minute(ln), "text": ln.text, "source": ln.source}
                for ln, kind in unnamed[:EXAMPLES]
            ],
        },
        "told_twice": told_twice(lines, played.actions),
        "moment_repeats": {
            "within_lines": MOMENT_REPEAT_LINES,
            "count": len(close),
            "examples": [dataclasses.asdict(r) for r in close[:EXAMPLES]],
        },
        "examples": examples,
        "moments": [
            {"kind": ln.moment, "period": ln.action.period_id, "tone": ln.tone, "text": ln.text}
            for ln in moments
        ],
    }
    if run.backend != "template":
        figures["server"] = _server_figures(run, lines)
    return figures


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: n / total for k, n in counts.most_common()} if total else {}


def _server_figures(run: MatchRun, lines: list[Line]) -> dict[str, Any]:
    llm = [line for line in lines if line.source == "llm"]
    latencies = [line.latency_s for line in llm]
    tokens = [line.completion_tokens for line in llm if line.completion_tokens is not None]
    persona = lines[0].persona if lines else ""
    requests = [r for r in run.requests if r.persona == persona]
    first = {}
    for line in llm:
        first.setdefault(line.request, line.latency_s)
    return {
        "llm_lines": len(llm),
        "requests": len(requests),
        "fallback_requests": sum(1 for r in requests if r.fallback_reason),
        "fallback_reasons": dict(Counter(r.fallback_reason for r in requests if r.fallback_reason)),
        "latency_s": {
            q: _quantile(latencies, v) for q, v in (("p50", 0.5), ("p90", 0.9), ("max", 1.0))
        },
        "first_line_s": {
            q: _quantile(list(first.values()), v) for q, v in (("p50", 0.5), ("p90", 0.9))
        },
        "request_s": {
            q: _quantile([r.seconds for r in requests], v) for q, v in (("p50", 0.5), ("p90", 0.9))
        },
        "tokens_per_line": {
            "mean": sum(tokens) / len(tokens) if tokens else None,
            "p50": _quantile(tokens, 0.5),
            "p90": _quantile(tokens, 0.9),
        },
        "completion_tokens": sum(r.completion_tokens for r in requests),
        "prompt_tokens": sum(r.prompt_tokens for r in requests),
        "latencies": [round(x, 4) for x in latencies],
    }


def _backing_figures(lines: list[Line], backed: int, names: Names) -> dict[str, Any]:
    """A FRIEND backing team ``backed``: its shown lines about the other side's actions,
    and those that regret or praise them (``[backing]`` of ``wording.toml``)."""
    theirs = [ln for ln in lines if is_shown(ln) and ln.action.team_id != backed]
    slips = [(ln, found) for ln in theirs if (found := backing_slips(ln.text, names=names.roster))]
    return {
        "team_id": backed,
        "theirs_lines": len(theirs),
        "slips": len(slips),
        "examples": [{"words": found, "text": ln.text} for ln, found in slips[:EXAMPLES]],
    }


def evaluate(run: MatchRun, *, supports: str = "") -> dict[str, Any]:
    """Every figure of the report, per persona, as plain data; ``supports``: the team a
    FRIEND backs (``--friend-supports``), whose side its lines are checked for."""
    names = match_names(run)
    played = run.played
    personas = {
        persona: _persona_figures(run, lines, names, run.moments.get(persona, ()))
        for persona, lines in run.lines.items()
    }
    backed = backed_team_id(supports, played.match_info) if supports else None
    if backed is not None and BACKING_PERSONA in run.lines:
        personas[BACKING_PERSONA]["backing"] = _backing_figures(
            run.lines[BACKING_PERSONA], backed, names
        )
    return {
        "game_id": played.game_id,
        "mode": run.mode,
        "backend": run.backend,
        "model": run.model,
        "actions": len(played.actions),
        "batches": len(played.batches),
        "final_score": dataclasses.asdict(played.stories[played.actions[-1].action_id][1].score)
        if played.actions
        else None,
        "seconds": round(run.seconds, 3),
        "personas": personas,
    }


def failures(
    figures: dict[str, Any],
    *,
    max_shape_share: float | None = None,
    min_shape_gap: int | None = None,
) -> list[str]:
    """Why the evaluation fails: grounding or particle errors, unsupported claims or known
    wording mistakes (``pitchcast/checks/wording.toml``), lines out of the persona's
    register (``pitchcast/checks/register.py``), a key event not told, a goal or card
    whose line does not say so (``pitchcast/checks/naming.py``), a moment told
    twice below ``every`` density (:mod:`.telling`), a moment line (kick-off,
    half-time...) sharing a sentence shape with a line within :data:`MOMENT_REPEAT_LINES`
    of it, and the repetition thresholds when given. Empty when it passes."""
    problems = []
    for persona, fig in figures["personas"].items():
        if fig["grounding"]["errors"]:
            problems.append(f"{persona}: {fig['grounding']['errors']} grounding errors")
        if fig["particles"]["errors"]:
            problems.append(f"{persona}: {fig['particles']['errors']} particle errors")
        wording = fig["wording"]
        if wording["unsupported"]:
            problems.append(f"{persona}: {wording['unsupported']} unsupported claims")
        if wording["mistakes"]:
            problems.append(f"{persona}: {wording['mistakes']} known wording mistakes")
        key = fig.get("key_events")
        if key and key["told"] < key["events"]:
            problems.append(f"{persona}: {key['events'] - key['told']} key events not told")
        if key and key.get("unnamed"):
            problems.append(f"{persona}: {key['unnamed']} goals or cards told without saying so")
        twice = fig.get("told_twice", {}).get("count", 0)
        if figures.get("density", "every") != "every" and twice:
            problems.append(f"{persona}: {twice} moments told twice")
        near = fig.get("moment_repeats", {})
        if near.get("count"):
            problems.append(
                f"{persona}: {near['count']} moment lines repeat a sentence"
                f" within {near['within_lines']} lines"
            )
        backing = fig.get("backing", {}).get("slips", 0)
        if backing:
            problems.append(f"{persona}: {backing} lines on the wrong side (the team it backs)")
        slips = fig.get("register", {}).get("slips", 0)
        if slips:
            problems.append(f"{persona}: {slips} lines out of the persona's register")
        rep = fig["repetition"]
        if max_shape_share is not None and rep["top_share"] > max_shape_share:
            problems.append(
                f"{persona}: the most used shape is in {rep['top_share']:.2%} of lines"
                f" (> {max_shape_share:.2%})"
            )
        gap = rep["shortest_gap_lines"]
        if min_shape_gap is not None and gap is not None and gap < min_shape_gap:
            problems.append(f"{persona}: a shape came back after {gap} lines (< {min_shape_gap})")
    return problems


def write_report(
    figures: dict[str, Any], out: Path, *, title: str, plots: bool = True
) -> list[Path]:
    """Write figures.json, the plots and report.md into ``out``; returns the files."""
    from pitchcast.quality.markdown import render_report

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "figures.json"]
    written[0].write_bytes(
        orjson.dumps(figures, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"
    )
    images: list[Path] = []
    if plots:
        from pitchcast.quality.plots import draw_plots

        images = draw_plots(figures, out)
        written += images
    report = out / "report.md"
    report.write_text(render_report(figures, title=title, images=[p.name for p in images]))
    written.append(report)
    return written
