"""Wording a line must not have: claims the data cannot support, and known mistakes.

The feed records what happened to the ball (type, result, coordinates, time, player);
it never records a gesture, a feeling, an intent, a cause or play away from the ball.
A line that states one invented it. The lexicon is content, kept in ``wording.toml``
beside this module (regular expressions per kind, with the reason), so an editor can
extend it without touching code; :func:`find_wording` reads a line against it.

* ``unsupported``: gestures, feelings, intent, causes, off-ball play, reading the play
  (읽었다, 예측), the manner of a touch (과감하게, 서두르지 않고), and a judgement
  (좋은 선택, 판단 미스, 정석) unless the line states a figure behind it (``unless``);
  ``아쉽`` (regret) only at a chance (a shot and its outcomes), not at every lost ball;
* ``mistakes``: phrasings that are wrong Korean or misleading (``골문을 가릅니다``,
  ``2골 차`` read as 이골, a team name before 가 됩니다 ...).

Used by ``pitchcast eval`` on every line (template and LLM alike) and by the validation
of LLM lines (an LLM line with such wording is written by the template instead).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Finding", "Lexicon", "find_wording", "lexicon"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of wording found in a line."""

    kind: str  # "unsupported.gesture", ..., or "mistake"
    matched: str
    why: str


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    why: str
    allowed_for: frozenset[str]
    unless: re.Pattern[str] | None  # a line that also matches this is backed (a figure)


@dataclass(frozen=True, slots=True)
class Lexicon:
    rules: tuple[_Rule, ...]

    def find(self, text: str, type_name: str | None = None) -> list[Finding]:
        found = []
        for rule in self.rules:
            if type_name is not None and type_name in rule.allowed_for:
                continue
            match = rule.pattern.search(text)
            if match and not (rule.unless is not None and rule.unless.search(text)):
                found.append(Finding(rule.kind, match.group(0), rule.why))
        return found


def parse_lexicon(text: str) -> Lexicon:
    """The lexicon of a ``wording.toml`` text; a bad pattern names its entry."""
    data = tomllib.loads(text)
    rules: list[_Rule] = []
    for group, entry in (data.get("unsupported") or {}).items():
        where = f"unsupported.{group}"
        unless = _compile(entry["unless"], where) if entry.get("unless") else None
        for pattern in entry.get("patterns", []):
            rules.append(
                _Rule(
                    where,
                    _compile(pattern, where),
                    entry.get("why", ""),
                    frozenset(entry.get("allowed_for", [])),
                    unless,
                )
            )
    for pattern, why in (data.get("mistakes") or {}).items():
        rule = _Rule("mistake", _compile(pattern, "mistakes"), str(why), frozenset(), None)
        rules.append(rule)
    return Lexicon(tuple(rules))


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"[{where}] bad pattern {pattern!r}: {exc}") from None


@cache
def lexicon() -> Lexicon:
    """The shipped lexicon, loaded once."""
    text = resources.files("pitchcast.checks").joinpath("wording.toml").read_text("utf-8")
    return parse_lexicon(text)


def find_wording(text: str, type_name: str | None = None) -> list[Finding]:
    """What ``text`` says that it must not, at an action of ``type_name`` (if known)."""
    return lexicon().find(text, type_name)
