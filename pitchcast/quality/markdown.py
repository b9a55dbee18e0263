"""report.md: the figures of :func:`.report.evaluate` as Markdown tables and examples."""

from __future__ import annotations

from typing import Any

from pitchcast.commentary.prompt import LINE_CHARS, MAX_TEXT_CHARS
from pitchcast.schemas.records import TONES

__all__ = ["render_report"]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _num(value: float | None, digits: int = 2, missing: str = "n/a") -> str:
    return missing if value is None else f"{value:.{digits}f}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _summary(figures: dict[str, Any]) -> list[str]:
    rows = [
        "| persona | lines | grounding errors | particle errors | distinct shapes"
        " | top shape share | shortest gap (lines / min) | distinct-2 / -3 | misfits"
        " | length within bounds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for persona, fig in figures["personas"].items():
        rep, length = fig["repetition"], fig["length"]
        gap_minutes = rep["shortest_gap_minutes"]
        rows.append(
            f"| {persona} | {fig['lines']} | {fig['grounding']['errors']}"
            f" | {fig['particles']['errors']} | {rep['distinct_shapes']}"
            f" | {_pct(rep['top_share'])} | {_num(rep['shortest_gap_lines'], 0, 'none')} /"
            f" {_num(gap_minutes, 1)} | {_num(rep['distinct_2'])} / {_num(rep['distinct_3'])}"
            f" | {fig['fit']['misfits']} / {fig['fit']['judged']}"
            f" | {_pct(length['within'] / length['lines'] if length['lines'] else None)} |"
        )
    return rows


def _grounding(fig: dict[str, Any]) -> list[str]:
    g = fig["grounding"]
    out = [
        "**Grounding.** "
        f"{g['ungrounded_names']} ungrounded name mentions; {g['claims_checked']} stated"
        f" numbers checked, {g['claim_errors']} contradict the data"
        f" ({', '.join(f'{k} {v}' for k, v in g['claim_errors_by_kind'].items()) or 'none'});"
        f" {g['unparsed']} statements not read (listed, not judged).",
    ]
    for example in g["examples_names"]:
        out.append(f"- name `{example['name']}`: {_cell(example['line'])}")
    for example in g["examples_claims"]:
        out.append(
            f"- {example['kind']} `{example['stated']}`, data: {example['expected']}:"
            f" {_cell(example['text'])}"
        )
    if g["examples_unparsed"]:
        out.append("")
        out.append("Not read:")
        for example in g["examples_unparsed"]:
            out.append(f"- {example['kind']} `{example['stated']}` ({example['why']})")
    return out


def _voice(fig: dict[str, Any]) -> list[str]:
    w, pace = fig["wording"], fig["pace"]
    register = fig.get("register", {"slips": 0, "examples": []})
    mix = ", ".join(f"{k} {v:.0%}" for k, v in fig["endings"].items())
    tones = ", ".join(f"{k} {v:.0%}" for k, v in fig["tones"].items())
    out = [
        f"**Voice and pace.** Endings: {mix or 'none'}. Tones: {tones or 'none'}."
        f" Shown lines per minute of play: {_num(pace['lines_per_minute'], 1)}"
        f" (the busiest minute: {pace['worst_minute']}).",
        "",
        *_telling(fig),
        f"**Register.** {register['slips']} lines out of the persona's register (a CASTER or"
        " ANALYST line in 반말, a FRIEND line in 존댓말; `pitchcast/checks/register.py`).",
        *(f"- {', '.join(e['slips'])}: {_cell(e['text'])}" for e in register["examples"]),
        "",
        f"**Wording.** {w['unsupported']} unsupported claims (gestures, feelings, intent,"
        f" causes, play away from the ball), {w['mistakes']} known mistakes"
        " (`pitchcast/checks/wording.toml`).",
    ]
    for example in w["examples"]:
        out.append(
            f"- {example['kind']} `{example['matched']}` ({example['why']}):"
            f" {_cell(example['text'])}"
        )
    backing = fig.get("backing")
    if backing is not None:  # FRIEND backing a team (--friend-supports)
        out += [
            "",
            f"**Side.** {backing['slips']} of {backing['theirs_lines']} lines about the other"
            " side's actions regret or praise them (`[backing]` of"
            " `pitchcast/checks/wording.toml`).",
            *(f"- {', '.join(e['words'])}: {_cell(e['text'])}" for e in backing["examples"]),
        ]
    return out


def _telling(fig: dict[str, Any]) -> list[str]:
    """Key events told and moments told twice (:mod:`.telling`); absent in old figures."""
    key, twice = fig.get("key_events"), fig.get("told_twice")
    if key is None or twice is None:
        return []
    kinds = ", ".join(
        f"{kind} {row['told']}/{row['events']}" for kind, row in key["by_kind"].items()
    )
    moments = ", ".join(f"{k} {v}" for k, v in twice["by_moment"].items()) or "none"
    out = [
        f"**Told.** {fig.get('shown_lines', fig['lines'])} of {fig['lines']} lines shown."
        f" Key events told: {key['told']} of {key['events']} ({_pct(key['share'])}; {kinds});"
        f" moments told twice in consecutive lines: {twice['count']} ({moments});"
        f" goals and cards told without saying so: {key.get('unnamed', 0)}.",
        *(
            f"- not told: {m['action']} at minute {m['minute']} (action {m['action_id']})"
            for m in key["missed"]
        ),
        *(
            f"- {u['kind']} not said at minute {u['minute']} ({u['source']}): {_cell(u['text'])}"
            for u in key.get("examples_unnamed", [])
        ),
        *(
            f"- {e['moment']} told twice: {' / '.join(map(_cell, e['lines']))}"
            for e in twice["examples"][:3]
        ),
        "",
    ]
    return out


def _particles(fig: dict[str, Any]) -> list[str]:
    p = fig["particles"]
    out = [
        f"**Particles.** {p['checked']} particles after names and numbers judged,"
        f" {p['errors']} wrong; {p['unchecked']} after words whose end cannot be read."
    ]
    for example in p["examples"]:
        out.append(
            f"- `{example['word']}{example['written']}` should be"
            f" `{example['word']}{example['expected']}`: {_cell(example['context'])}"
        )
    return out


def _gap_sentence(rep: dict[str, Any]) -> str:
    if rep["shortest_gap_lines"] is None:
        return "none, no shape was used twice"
    return (
        f"{rep['shortest_gap_lines']} lines (`{_cell(rep['shortest_gap_lines_shape'])}`),"
        f" {_num(rep['shortest_gap_minutes'], 1)} match minutes"
    )


def _repetition(fig: dict[str, Any]) -> list[str]:
    rep = fig["repetition"]
    out = [
        f"**Repetition.** {rep['lines']} lines, {rep['distinct_lines']} distinct;"
        f" distinct lines per batch min {_num(rep['distinct_per_batch_min'])},"
        f" mean {_num(rep['distinct_per_batch_mean'])}. {rep['sentences']} sentences in"
        f" {rep['distinct_shapes']} shapes. Shortest gap between two uses of a shape:"
        f" {_gap_sentence(rep)}; {rep['gaps_below_30']} of"
        f" {sum(rep['gap_histogram'].values())} gaps are under 30 lines. Distinct-1/2/3 (eojeol):"
        f" {_num(rep['distinct_1'])} / {_num(rep['distinct_2'])} / {_num(rep['distinct_3'])}.",
        "",
        "| # | shape | lines | share |",
        "| ---: | --- | ---: | ---: |",
    ]
    for rank, use in enumerate(rep["top"], start=1):
        out.append(f"| {rank} | {_cell(use['shape'])} | {use['lines']} | {_pct(use['share'])} |")
    return out


def _bursts(fig: dict[str, Any]) -> list[str]:
    burst = fig.get("burst_repeats")
    if not burst:
        return []
    kinds = ", ".join(f"{k} {v}" for k, v in burst["by_kind"].items()) or "none"
    out = [
        f"**Repeated shape within a burst.** {burst['repeated_pairs']} of {burst['pairs']}"
        f" pairs of lines written together ({_pct(burst['share'])}; {kinds};"
        f" {burst.get('llm_repeated_pairs', 0)} with the later line the LLM's), over"
        f" {burst['bursts']} bursts, {burst['bursts_of_two_or_more']} of two lines or more."
        " A pair repeats when both lines use one sentence shape or open with the same words"
        " (`pitchcast/checks/bursts.py`). Live, the burst check rewrites an LLM line that"
        " repeats with the template: the target is none of the LLM's.",
    ]
    for earlier, later in burst["examples"]:
        out.append(f"- {_cell(earlier)} / {_cell(later)}")
    return out


def _examples(fig: dict[str, Any]) -> list[str]:
    out = ["**Example lines** (the first of each kind of event).", ""]
    out += ["| event | minute | action | tone | line |", "| --- | ---: | --- | --- | --- |"]
    for ex in fig.get("examples", []):
        out.append(
            f"| {ex['event']} | {ex['minute']} | {_cell(ex['action'])} | {ex['tone']}"
            f" | {_cell(ex['text'])} |"
        )
    return out


def _moments(fig: dict[str, Any]) -> list[str]:
    """The moment lines (kick-off, half-time, full time...): judged with the others for
    names, particles, numbers, the period named, wording and register."""
    moments = fig.get("moments", [])
    if not moments:
        return []
    out = [
        f"**Moments.** {len(moments)} lines of the match's flow, judged with the others"
        " (names, particles, scores, the period they name, wording, register).",
        "",
    ]
    out += ["| moment | period | tone | line |", "| --- | ---: | --- | --- |"]
    for m in moments:
        out.append(f"| {m['kind']} | {m['period']} | {m['tone']} | {_cell(m['text'])} |")
    near = fig.get("moment_repeats")
    if near is not None:
        pairs = "; ".join(f"{_cell(r['earlier'])} / {_cell(r['later'])}" for r in near["examples"])
        out += [
            "",
            f"Moment lines that share a sentence with a line within {near['within_lines']}"
            f" lines: {near['count']}{f' ({pairs})' if pairs else ''}.",
        ]
    return out


def _fit(fig: dict[str, Any]) -> list[str]:
    fit, length = fig["fit"], fig["length"]
    out = [
        f"**Tone.** {fit['misfits']} misfits of {fit['judged']} judged lines"
        f" ({', '.join(f'{k} {v}' for k, v in fit['misfits_by_event'].items()) or 'none'}).",
        "",
        "| event | " + " | ".join(TONES) + " |",
        "| --- |" + " ---: |" * len(TONES),
    ]
    for event, row in fit["confusion"].items():
        if any(row.values()):
            out.append(f"| {event} | " + " | ".join(str(row.get(t, 0)) for t in TONES) + " |")
    for example in fit["examples"]:
        out.append(f"- {example['event']} as {example['tone']}: {_cell(example['text'])}")
    low, high = LINE_CHARS
    out += [
        "",
        f"**Length** (characters; the prompt asks {low}-{high}, cap {MAX_TEXT_CHARS}):"
        f" min {length['min']}, median {_num(length['median'], 0)}, p90 {_num(length['p90'], 0)},"
        f" max {length['max']}; {length['below']} shorter, {length['within']} within,"
        f" {length['above']} longer, {length['over_cap']} over the cap.",
    ]
    return out


def _server(fig: dict[str, Any]) -> list[str]:
    s = fig.get("server")
    if not s:
        return []
    return [
        f"**Server.** {s['llm_lines']} lines from the LLM in {s['requests']} requests"
        f" ({s['fallback_requests']} with a template fallback:"
        f" {', '.join(f'{k} {v}' for k, v in s['fallback_reasons'].items()) or 'none'})."
        f" Latency to a line p50 {_num(s['latency_s']['p50'], 3)} s, p90"
        f" {_num(s['latency_s']['p90'], 3)} s, max {_num(s['latency_s']['max'], 3)} s; first"
        f" line of a request p50 {_num(s['first_line_s']['p50'], 3)} s; whole request p50"
        f" {_num(s['request_s']['p50'], 3)} s. Completion tokens per line mean"
        f" {_num(s['tokens_per_line']['mean'], 1)}, p90 {_num(s['tokens_per_line']['p90'], 1)}.",
    ]


def render_report(figures: dict[str, Any], *, title: str, images: list[str]) -> str:
    """The Markdown report."""
    score = figures.get("final_score") or {}
    out = [
        f"# Commentary quality: {title}",
        "",
        f"Game {figures['game_id']}: {figures['actions']} actions in {figures['batches']}"
        f" batches, final score {score.get('home')}-{score.get('away')} (home-away)."
        f" Backend `{figures['backend']}` (model `{figures['model']}`), `{figures['mode']}`"
        f" mode, `{figures.get('density', 'every')}` density (only shown lines are judged);"
        f" written in {figures['seconds']} s. Made by `pitchcast eval`; the rules of"
        " each check are in the docstrings of `pitchcast/quality/`.",
        "",
        *_summary(figures),
        "",
        "Grounding errors: roster names outside the line's batch and the match info, and"
        " stated scores, minutes and counts that contradict the match story. Top shape share:"
        " the lines using the most used sentence shape (names and numbers masked) over all"
        " lines (target at most 1.5%); shortest gap: the fewest lines between two uses of"
        " one shape (target at least 30). Misfits: lines whose tone does not suit a goal,"
        " card, foul, error or shot.",
    ]
    if any("server" in fig for fig in figures["personas"].values()):
        out += [
            "",
            "Latency is measured from the start of a request to each line (streamed lines"
            " arrive one by one); requests run back to back, one at a time, so it is the"
            " server's time per request at this load, not the delay from an action to the"
            " screen. Tokens per line: a request's completion tokens over the lines the LLM"
            " wrote in it.",
        ]
    for name in images:
        out += ["", f"![{name}]({name})"]
    for persona, fig in figures["personas"].items():
        out += ["", f"## {persona}", ""]
        for part in (
            _examples,
            _moments,
            _grounding,
            _particles,
            _voice,
            _repetition,
            _bursts,
            _fit,
            _server,
        ):
            lines = part(fig)
            if lines:
                out += [*lines, ""]
    return "\n".join(out).rstrip() + "\n"
