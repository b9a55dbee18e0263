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
  ``2골 차`` read as 이골, a team name before 가 됩니다 ...);
* ``backing``: the words a FRIEND who backs one team must not say of the other side's
  action (:func:`backing_slips`): regret at its miss (아깝다, 에이), praise (패스 좋다).

Used by ``pitchcast eval`` on every line (template and LLM alike) and by the validation
of LLM lines (an LLM line with such wording is written by the template instead).

The names of the match (``names``: players and teams) are masked before an unsupported
claim is looked for: the words of the lexicon are words of the line, and a name may hold
one (티아고 + 의 reads 고의, intent; 박수일 holds 박수, a gesture; 정석화 holds 정석, a
judgement). The known mistakes are read on the line as written (a team name before
가 됩니다 is one).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pitchcast.checks.particles import find_names

__all__ = [
    "NAME_MASK",
    "Finding",
    "Lexicon",
    "backing_slips",
    "find_wording",
    "lexicon",
    "mask_names",
]


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
    # A backing FRIEND's words that take a side: never said of the other side's action.
    theirs: tuple[re.Pattern[str], ...] = ()

    def backing_slips(self, text: str, *, names: Iterable[str] = ()) -> list[str]:
        """The words of ``text`` (names masked) that regret or praise an action: said of
        the side a FRIEND does not back, they put it on the wrong side."""
        masked = mask_names(text, names)
        return [m.group(0) for p in self.theirs if (m := p.search(masked))]

    def find(
        self, text: str, type_name: str | None = None, *, names: Iterable[str] = ()
    ) -> list[Finding]:
        masked = mask_names(text, names)
        found = []
        for rule in self.rules:
            if type_name is not None and type_name in rule.allowed_for:
                continue
            read = text if rule.kind == "mistake" else masked
            match = rule.pattern.search(read)
            if match and not (rule.unless is not None and rule.unless.search(read)):
                found.append(Finding(rule.kind, match.group(0), rule.why))
        return found


NAME_MASK = "⟪N⟫"


def mask_names(text: str, names: Iterable[str]) -> str:
    """``text`` with each of ``names`` standing as a word replaced by :data:`NAME_MASK`
    (its particle kept)."""
    out = text
    for start, end, _ in reversed(find_names(text, names)):
        out = out[:start] + NAME_MASK + out[end:]
    return out


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
    backing = data.get("backing") or {}
    theirs = tuple(_compile(p, "backing") for p in backing.get("theirs", []))
    return Lexicon(tuple(rules), theirs)


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


def backing_slips(text: str, *, names: Iterable[str] = ()) -> list[str]:
    """Words of ``text`` a FRIEND backing one team must not say of the other side's
    action (``[backing] theirs``: regret at its miss, praise of its play)."""
    return lexicon().backing_slips(text, names=names)


def find_wording(
    text: str, type_name: str | None = None, *, names: Iterable[str] = ()
) -> list[Finding]:
    """What ``text`` says that it must not, at an action of ``type_name`` (if known);
    ``names`` are the match's names written in it (masked first)."""
    return lexicon().find(text, type_name, names=names)
