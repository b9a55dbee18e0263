"""Sentence shapes: a line with its names, their particles and its numbers masked.

A line with its roster names replaced by ``{N}`` (and the alternating particle after a
name by its pair, ``{N}이/가``, so the same phrasing with two players is one shape), its
numbers (digits with ``:``, ``-``, ``+``, ``.``, ``,`` and a unit: ``23m``, ``1 : 0``,
``90+3``) and native Korean numerals before a counter (``두 번째``, ``세 골``) replaced
by ``#``, then split into sentences after ``.``, ``!``, ``?``, ``…``; each sentence without
its closing punctuation is one shape. A line *uses* a shape when one of its sentences
has it. The phrasebook refuses two phrasings of one shape; the eval report counts them
(:mod:`pitchcast.quality.repetition`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pitchcast.checks.particles import find_names, parse_particle_run

__all__ = ["NAME_MASK", "NUMBER_MASK", "line_shapes", "mask", "tokens_of"]

NAME_MASK = "{N}"
NUMBER_MASK = "#"
_NUMBER = re.compile(r"\d+(?:\s*[:\-+.,]\s*\d+)*(?:\s?(?:km|cm|kg|m|%))?")
_NATIVE = re.compile(
    r"(?<![\uac00-\ud7a3])(?:열한|열두|다섯|여섯|일곱|여덟|아홉|한|두|세|네|열)(?=\s*(?:번째|번|골|명|장|개|차례|경기))"
)
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_CLOSING = ".!?…,~ "
_TOKEN_STRIP = ".,!?…~\"'()[]:;"


def mask(text: str, names: Sequence[str]) -> str:
    """``text`` with names, their particles, numbers and counted numerals masked."""
    out: list[str] = []
    pos = 0
    for start, end, _ in find_names(text, names):
        out += [text[pos:start], NAME_MASK]
        pos = end
        run = _HANGUL_RUN.match(text, end)
        parsed = parse_particle_run(run.group(0)) if run else None
        if run is not None and parsed is not None:
            out.append(f"{parsed[1]}/{parsed[2]}")
            pos = run.end()
    out.append(text[pos:])
    masked = _NUMBER.sub(NUMBER_MASK, "".join(out))
    return _NATIVE.sub(NUMBER_MASK, masked)


def line_shapes(text: str, names: Sequence[str]) -> list[str]:
    """The sentence shapes of one line, in order (duplicates kept)."""
    shapes = []
    for sentence in _SENTENCE.split(mask(text, names)):
        shape = sentence.strip().rstrip(_CLOSING).strip()
        if shape:
            shapes.append(shape)
    return shapes


def tokens_of(masked: str) -> list[str]:
    """Eojeol tokens of a masked line, punctuation stripped."""
    return [t for t in (w.strip(_TOKEN_STRIP) for w in masked.split()) if t]
