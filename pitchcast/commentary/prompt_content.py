"""The fixed content of the LLM prompt, read once from ``prompt.toml`` beside this module.

Content apart from code: the glossary from every K League event type and result
(:mod:`pitchcast.schemas.vocabulary`) to its Korean broadcast term, and the worked
example (one batch of actions and each persona's answer to it) that the system prompt
shows. A small model cannot be expected to know that ``Intervention`` is 차단 or that
y = 0 is the right flank; it is told.

:func:`prompt_content` checks what it loads: every type and result has a term, and every
persona has 6 to 8 example lines, one per example action, in known tones.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pitchcast.exceptions import PromptContentError
from pitchcast.schemas.records import TONES
from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES

__all__ = [
    "ExampleLine",
    "PromptContent",
    "PromptContentError",
    "parse_prompt_content",
    "prompt_content",
]

_PERSONAS = ("CASTER", "ANALYST", "FRIEND")
EXAMPLE_LINES = (6, 8)


@dataclass(frozen=True, slots=True)
class ExampleLine:
    row: int
    tone: str
    text: str


@dataclass(frozen=True, slots=True)
class PromptContent:
    types: Mapping[str, str]  # K League type -> Korean term
    results: Mapping[str, str]  # K League result -> Korean term
    example_score: str  # "T1 1:0 T2"
    example_header: tuple[str, ...]  # the example's action columns
    example_actions: str  # the example's [액션] CSV, header included
    examples: Mapping[str, tuple[ExampleLine, ...]]  # persona -> its answer


def _terms(data: Mapping[str, object], section: str, names: frozenset[str]) -> dict[str, str]:
    table = data.get(section)
    if not isinstance(table, dict):
        raise PromptContentError(f"[{section}] is missing")
    missing = sorted(names - set(table))
    unknown = sorted(set(table) - names)
    if missing or unknown:
        raise PromptContentError(f"[{section}]: missing {missing}, unknown {unknown}")
    bad = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise PromptContentError(f"[{section}]: empty term for {bad}")
    return dict(sorted(table.items()))


def _example_lines(data: Mapping[str, object], persona: str, rows: int) -> tuple[ExampleLine, ...]:
    where = f"[examples.{persona}]"
    table = (data.get("examples") or {}).get(persona)  # type: ignore[union-attr]
    if not isinstance(table, dict) or not isinstance(table.get("lines"), list):
        raise PromptContentError(f"{where} has no lines")
    lines = []
    for i, entry in enumerate(table["lines"]):
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int)):
            raise PromptContentError(f'{where} lines[{i}]: write [n, "tone", "text"]')
        row, tone, text = entry
        if tone not in TONES or not isinstance(text, str) or not text.strip():
            raise PromptContentError(f"{where} lines[{i}]: tone one of {TONES}, and a text")
        lines.append(ExampleLine(row, tone, text))
    low, high = EXAMPLE_LINES
    if not low <= len(lines) <= high or [line.row for line in lines] != list(range(1, rows + 1)):
        raise PromptContentError(
            f"{where}: one line per example action, rows 1..{rows} ({low}-{high} actions)"
        )
    return tuple(lines)


def parse_prompt_content(text: str) -> PromptContent:
    """The checked content of a ``prompt.toml`` text; :class:`PromptContentError` else."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PromptContentError(f"prompt.toml: not valid TOML: {exc}") from exc
    example = data.get("example")
    if not isinstance(example, dict) or not isinstance(example.get("actions"), str):
        raise PromptContentError('[example] needs actions = """csv"""')
    actions = example["actions"].strip()
    rows = list(csv.reader(io.StringIO(actions)))
    header, body = tuple(rows[0]), rows[1:]
    return PromptContent(
        types=_terms(data, "types", TYPE_NAMES),
        results=_terms(data, "results", RESULT_NAMES),
        example_score=str(example.get("score", "")),
        example_header=header,
        example_actions=actions,
        examples={p: _example_lines(data, p, len(body)) for p in _PERSONAS},
    )


@cache
def prompt_content() -> PromptContent:
    """The shipped content, loaded and checked once per process."""
    text = resources.files(__package__).joinpath("prompt.toml").read_text("utf-8")
    return parse_prompt_content(text)
