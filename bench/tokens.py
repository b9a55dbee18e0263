"""Prompt and completion tokens per batch (Qwen2.5 tokenizer): pitchcast vs the seeds' formats.

Every full batch (10 actions) of the sample matches, formed by the real batcher, is
rendered four ways and counted with the Qwen2.5 BPE (tiktoken + dashscope's
``qwen.tiktoken``, offline):

* data part of the prompt: pitchcast's user message (``build_user_prompt``: match line,
  teams, running score, players, actions as lean CSV, plus the one-line request) vs the
  seeds' compact JSON (every match-info and action field, orjson) and the seeds'
  full-column CSV (match info's 17 columns, the 18 K League action columns, floats as
  read, unrounded);
* the system prompt of each persona (static, shared by every request: prefix-cached);
* completion per batch: pitchcast's ``n|tone|text`` lines and its structured JSON
  (``{"lines":[[n,"tone","text"],...]}``) vs the naive keyed JSON
  ``[{"action_id": .., "tone": .., "description": ..}]`` holding the same texts;
* live mode next to batch mode (``--live-rows``): each full batch written as its
  growing conversation (``build_live_messages``, structured outputs, as the worker sends
  it), ``k`` rows per request, through the fake LLM server (instant profile: its
  chat template, Qwen2.5 tokens and prefix cache, one cache for all batches, as one
  vLLM holds it): per request the prompt's tokens in total and its new tail (prefilled,
  not served from the cache), completion tokens per request and per line; and per batch
  the same summed, against batch mode's one request per batch (same server, same cache).

Completion texts come from the fake LLM server's writer (``--texts fake``, default: what
a model answers to pitchcast's prompt, ``{P1}`` references included, ~15-40 chars a
line) or from the template writer (``--texts template``: names written out).

    python bench/tokens.py --persona CASTER --matches 1 3
    python bench/tokens.py --live-rows 1 2 3          # live mode: 1, 2 or 3 rows a request
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

import httpx
import orjson
from _common import DATA, percentile

from pitchcast.commentary.conversation import LiveTurn, build_live_messages
from pitchcast.commentary.parsing import parse_answer
from pitchcast.commentary.prompt import (
    build_messages,
    build_user_prompt,
    response_format,
    system_prompt,
)
from pitchcast.commentary.template import write_template_commentary
from pitchcast.schemas.records import Action, Batch, Control, MatchInfo
from pitchcast.settings import PERSONAS, Persona
from pitchcast.streams.batching import advance
from pitchcast.streams.match_csv import ACTION_COLUMNS, read_actions, read_match_info
from pitchcast.testing.fake_llm import FakeLLMServer, count_tokens, qwen_encoding

# One answer line as (action number n = 1..len(batch), tone, text).
Line = tuple[int, str, str]


# --- batches -----------------------------------------------------------------------------


def match_batches(game_id: int, data: Path = DATA) -> list[Batch]:
    """Every batch of ``events_metrica_<game_id>.csv``, formed by the real batcher."""
    info = read_match_info(data / "match_info.csv")[game_id]
    actions = [Action(**row) for row in read_actions(data / f"events_metrica_{game_id}.csv")]
    state = None
    closed: list[Batch] = []
    offset = 0

    def feed(event: Action | Control) -> None:
        nonlocal state, offset
        step = advance(state, event, offset=offset, timestamp_ms=offset)
        state, offset = step.state, offset + 1
        closed.extend(step.closed)

    feed(Control(game_id=game_id, control="match_start", match_info=info))
    period = actions[0].period_id
    for action in actions:
        if action.period_id != period:
            feed(Control(game_id=game_id, control="period_end", period_id=period))
            period = action.period_id
        feed(action)
    feed(Control(game_id=game_id, control="match_end", period_id=period))
    return [b if b.match_info else replace(b, match_info=info) for b in closed]


def full_batches(game_ids: Sequence[int]) -> list[Batch]:
    """The full batches (``close_reason == "full"``) of the given sample matches."""
    return [b for g in game_ids for b in match_batches(g) if b.close_reason == "full"]


# --- the seeds' data formats ----------------------------------------------------------------


def seed_json(batch: Batch) -> str:
    """Match info and every action field, compact JSON (orjson)."""
    info = asdict(batch.match_info) if batch.match_info else None
    return orjson.dumps(
        {"match_info": info, "actions": [asdict(a) for a in batch.actions]}
    ).decode()


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue()


def seed_csv(batch: Batch) -> str:
    """Match info (17 columns) then the actions in all 18 K League columns, unrounded."""
    info_columns = [f.name for f in fields(MatchInfo)]
    info = batch.match_info or MatchInfo(game_id=batch.game_id)
    info_row = [getattr(info, c) for c in info_columns]
    action_rows = [[getattr(a, c) for c in ACTION_COLUMNS] for a in batch.actions]
    return _csv_text(info_columns, [info_row]) + _csv_text(ACTION_COLUMNS, action_rows)


# --- answer formats ---------------------------------------------------------------------------


def lines_answer(lines: Sequence[Line]) -> str:
    """pitchcast's default answer: ``n|tone|text`` per line."""
    return "\n".join(f"{n}|{tone}|{text}" for n, tone, text in lines)


def structured_answer(lines: Sequence[Line]) -> str:
    """pitchcast's structured-outputs answer, as the system prompt shows it (compact)."""
    payload = {"lines": [list(line) for line in lines]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def keyed_json_answer(lines: Sequence[Line], action_ids: Sequence[int]) -> str:
    """The naive keyed shape with the same texts, the way models usually print JSON
    (``n`` is the action's number in the batch: ``action_ids[n - 1]`` is its id)."""
    items = [
        {"action_id": action_ids[n - 1], "tone": tone, "description": text}
        for n, tone, text in lines
    ]
    return json.dumps(items, ensure_ascii=False)


def fake_writer_lines(client: httpx.Client, batch: Batch, persona: Persona) -> list[Line]:
    """The fake LLM server's answer to pitchcast's real prompt for ``batch``."""
    body = {
        "model": "bench",
        "messages": build_messages(batch, persona, structured=False),
        "stream": False,
        "max_tokens": 2000,
    }
    response = client.post("/chat/completions", json=body)
    response.raise_for_status()
    content = response.json()["choices"][0]["message"]["content"]
    lines = [(item.row, item.tone, item.text) for item in parse_answer(content)]
    if len(lines) != len(batch.actions):
        raise RuntimeError(f"fake writer gave {len(lines)} lines for {len(batch.actions)}")
    return lines


def template_lines(batch: Batch, persona: Persona) -> list[Line]:
    """The template writer's descriptions (names written out, no references)."""
    items = write_template_commentary(batch, persona)
    return [(n, item.tone, item.description) for n, item in enumerate(items, start=1)]


# --- live mode vs batch mode, through the server's accounting ----------------------------------


def _usage(client: httpx.Client, messages: list[dict[str, str]], rows: Sequence[int]) -> tuple:
    """(answer, prompt tokens, cached prompt tokens, completion tokens) of one request,
    structured outputs on, as the worker sends it."""
    body = {
        "model": "bench",
        "messages": messages,
        "stream": False,
        "max_tokens": 2000,
        "response_format": response_format(rows),
    }
    response = client.post("/chat/completions", json=body)
    response.raise_for_status()
    data = response.json()
    usage = data["usage"]
    cached = usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
    content = data["choices"][0]["message"]["content"]
    return content, usage["prompt_tokens"], cached, usage["completion_tokens"]


def live_requests(
    client: httpx.Client, batch: Batch, persona: Persona, per_request: int
) -> list[tuple[int, int, int, int]]:
    """The batch as a live conversation, ``per_request`` rows a request: per request
    (rows, prompt tokens, cached prompt tokens, completion tokens)."""
    turns: list[LiveTurn] = []
    out = []
    rows_all = list(range(1, len(batch.actions) + 1))
    for start in range(0, len(rows_all), per_request):
        rows = rows_all[start : start + per_request]
        messages = build_live_messages(batch, persona, turns, rows, structured=True)
        answer, prompt, cached, completion = _usage(client, messages, rows)
        turns.append(LiveTurn(tuple(rows), answer))
        out.append((len(rows), prompt, cached, completion))
    return out


def live_vs_batch(batches: Sequence[Batch], persona: Persona, groups: Sequence[int]) -> None:
    """Per request and per batch: prompt tokens, new tail, completion; live vs batch mode."""
    print(
        f"\nLive mode vs batch mode, {persona}, structured outputs, {len(batches)} full batches "
        "(fake LLM server's writer and prefix cache; one cache for the whole run)"
    )
    header = f"  {'':<52} {'mean':>7} {'p50':>6} {'p95':>6}"
    with FakeLLMServer() as server, httpx.Client(base_url=server.base_url) as client:
        batch_mode = []
        for b in batches:
            messages = build_messages(b, persona, structured=True)
            rows = list(range(1, len(b.actions) + 1))
            _, prompt, cached, completion = _usage(client, messages, rows)
            batch_mode.append((prompt, prompt - cached, completion))
        print(f"\n batch mode: one request per batch\n{header}")
        for label, index in (("prompt tokens", 0), ("  of which prefilled (not cached)", 1)):
            _row(label, [r[index] for r in batch_mode])
        _row("completion tokens per batch (= per request)", [r[2] for r in batch_mode])
        _row("completion tokens per line", [r[2] / 10 for r in batch_mode], digits=1)
        for group in groups:
            server.reset()
            per_batch = [live_requests(client, b, persona, group) for b in batches]
            requests = [r for batch_requests in per_batch for r in batch_requests]
            print(f"\n live mode, {group} row(s) a request ({len(requests)} requests)\n{header}")
            _row("prompt tokens per request (the whole conversation)", [r[1] for r in requests])
            _row("  new tail per request (prefilled, not cached)", [r[1] - r[2] for r in requests])
            _row("completion tokens per request", [r[3] for r in requests])
            _row("completion tokens per line", [r[3] / r[0] for r in requests], digits=1)
            _row(
                "per batch: prompt tokens, all its requests",
                [sum(r[1] for r in b) for b in per_batch],
            )
            _row(
                "per batch: prefilled tokens, all its requests",
                [sum(r[1] - r[2] for r in b) for b in per_batch],
            )
            _row("per batch: completion tokens", [sum(r[3] for r in b) for b in per_batch])


def _row(label: str, values: Sequence[float], *, digits: int = 0) -> None:
    mean, p50, p95 = (
        statistics.fmean(values),
        percentile(list(values), 50),
        percentile(list(values), 95),
    )
    print(f"  {label:<52} {mean:7.1f} {p50:6.{digits}f} {p95:6.{digits}f}")


# --- report -------------------------------------------------------------------------------------


def _stats(values: Sequence[int]) -> tuple[float, float, float]:
    return statistics.fmean(values), percentile(list(values), 50), percentile(list(values), 95)


def _table(title: str, rows: list[tuple[str, list[int]]], baselines: Sequence[int]) -> None:
    """Mean / p50 / p95 per row, and each row's saving (of the mean) vs each baseline row."""
    means = [statistics.fmean(values) for _, values in rows]
    print(f"\n{title}")
    short = [re.split(r" [(\[]", name)[0] for name, _ in rows]
    heads = "".join(f"  {'vs ' + short[b]:>18}" for b in baselines)
    print(f"  {'format':<50} {'mean':>7} {'p50':>6} {'p95':>6}{heads}".rstrip())
    for index, (name, values) in enumerate(rows):
        mean, p50, p95 = _stats(values)
        cells = ""
        for b in baselines:
            cell = "" if index in baselines else f"{100 * (1 - mean / means[b]):.1f} % fewer"
            cells += f"  {cell:>18}"
        print(f"  {name:<50} {mean:7.1f} {p50:6.0f} {p95:6.0f}{cells}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persona", choices=PERSONAS, default="CASTER")
    parser.add_argument(
        "--matches", type=int, nargs="+", default=[1, 3], help="game ids of data/ samples"
    )
    parser.add_argument("--texts", choices=("fake", "template"), default="fake")
    parser.add_argument(
        "--live-rows", type=int, nargs="*", default=[1, 2, 3], help="live: rows a request"
    )
    args = parser.parse_args()

    if qwen_encoding() is None:
        raise SystemExit("the Qwen2.5 vocabulary is not available (pip install tiktoken dashscope)")
    batches = full_batches(args.matches)
    persona: Persona = args.persona
    print(
        f"{len(batches)} full batches of 10 actions from matches {args.matches} "
        f"(real batcher); tokenizer: Qwen2.5 (qwen.tiktoken, {qwen_encoding().n_vocab} ids)"
    )

    renderers: list[tuple[str, Callable[[Batch], str]]] = [
        ("pitchcast user prompt (lean CSV + request line)", build_user_prompt),
        ("seeds' JSON (all fields, orjson compact)", seed_json),
        ("seeds' CSV (all 18 columns, unrounded)", seed_csv),
    ]
    _table(
        "Data part of the prompt (match info + actions), tokens per batch",
        [(name, [count_tokens(render(b)) for b in batches]) for name, render in renderers],
        baselines=(1, 2),
    )

    print("\nSystem prompt, tokens (static per persona and mode, same bytes every request)")
    for name in PERSONAS:
        cells = []
        for live in (False, True):
            plain = count_tokens(system_prompt(name, structured=False, live=live))
            structured = count_tokens(system_prompt(name, structured=True, live=live))
            mode = "live" if live else "batch"
            cells.append(f"{mode}: lines {plain:4d} structured {structured:4d}")
        print(f"  {name:<8} " + "   ".join(cells))

    if args.texts == "fake":
        source = "the fake LLM server's writer answering pitchcast's prompt, {P1} references"
        with FakeLLMServer() as server, httpx.Client(base_url=server.base_url) as client:
            answers = [fake_writer_lines(client, b, persona) for b in batches]
    else:
        source = "the template writer's descriptions, names written out"
        answers = [template_lines(b, persona) for b in batches]
    chars = statistics.fmean(len(text) for lines in answers for _, _, text in lines)
    _table(
        f"Completion tokens per batch, {persona} (texts: {source}; {chars:.1f} chars a line)",
        [
            ("pitchcast n|tone|text lines", [count_tokens(lines_answer(a)) for a in answers]),
            (
                'pitchcast structured {"lines":[[n,tone,text],..]}',
                [count_tokens(structured_answer(a)) for a in answers],
            ),
            (
                'keyed JSON [{"action_id","tone","description"}]',
                [
                    count_tokens(keyed_json_answer(a, [x.action_id for x in b.actions]))
                    for a, b in zip(answers, batches, strict=True)
                ],
            ),
        ],
        baselines=(2,),
    )
    if args.live_rows:
        live_vs_batch(batches, persona, args.live_rows)


if __name__ == "__main__":
    main()
