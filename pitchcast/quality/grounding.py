"""Names a line may not mention: roster names outside its batch and the match info.

The roster of an evaluated match is every player and team name that occurs in the match
(the offline evaluation knows the whole match, so a name that only appears later is
caught too) and the match info's team names, Korean and English. A line may mention
the players and teams of the actions its batch held when the line was written, and the
match info's teams; any other roster name it writes out is an ungrounded mention.

Names shorter than two characters are not looked for (a single letter occurs
everywhere), and a name is found only as a word (see
:func:`pitchcast.checks.particles.find_names`): ``Player 1`` is not found inside
``Player 10``. A roster name inside a longer allowed
name (``Team A`` inside ``Team A2``) does not count. Names outside the roster cannot be
told from ordinary words and are not looked for.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pitchcast.checks.particles import find_names
from pitchcast.schemas.records import Action, MatchInfo

__all__ = ["MIN_NAME_CHARS", "UngroundedName", "allowed_names", "clean_name", "ungrounded_names"]

MIN_NAME_CHARS = 2


@dataclass(frozen=True, slots=True)
class UngroundedName:
    """A roster name a line mentions though it is neither in its batch nor the match info."""

    name: str
    context: str


def clean_name(raw: str | None) -> str:
    """A name as it can appear in a line: control characters dropped, spaces collapsed."""
    if not raw:
        return ""
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in raw)
    return " ".join(kept.split())


def match_info_names(info: MatchInfo | None) -> list[str]:
    """The match info's team names, Korean and English."""
    if info is None:
        return []
    raw = (
        info.home_team_name_ko,
        info.home_team_name,
        info.away_team_name_ko,
        info.away_team_name,
    )
    return [clean_name(n) for n in raw if clean_name(n)]


def allowed_names(actions: Iterable[Action], info: MatchInfo | None) -> set[str]:
    """Names a line of a batch holding ``actions`` may mention."""
    names = set(match_info_names(info))
    for action in actions:
        for raw in (action.player_name_ko, action.team_name_ko):
            if clean_name(raw):
                names.add(clean_name(raw))
    return names


def ungrounded_names(text: str, roster: Sequence[str], allowed: set[str]) -> list[UngroundedName]:
    """Roster names in ``text`` that ``allowed`` does not hold, in order, each once."""
    searched = {n for n in (*roster, *allowed) if len(n) >= MIN_NAME_CHARS}
    found: list[UngroundedName] = []
    seen: set[str] = set()
    for start, end, name in find_names(text, searched):
        if name in allowed or name in seen:
            continue
        seen.add(name)
        found.append(UngroundedName(name, text[max(0, start - 12) : end + 12]))
    return found
