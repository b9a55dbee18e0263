"""Which side of a match FRIEND backs (``PITCHCAST_FRIEND_SUPPORTS``), and how it sounds.

The setting names one team as the feed spells it: its team id (``11``), its Korean name
(``FC서울``) or its English name (``FC Seoul``), compared without case or spaces
(``fc 서울`` = ``FC서울``). A match decides from its own match info: the setting backs
the home or the away team when it names exactly one of them, and nothing otherwise (a
team not in this match, no match info, two teams of one name): FRIEND stays neutral for
that match, nothing fails. Pure: only the match info and the setting decide.

A FRIEND who backs a team reacts as a fan of it (:func:`backed_tone`): delighted at the
team's goal and chances, disappointed when it concedes, misses or has a player booked,
relieved when the other side misses. Only the speaker's own reaction: the phrasebook's
``[backing.*]`` banks say what the data shows, in a fan's words.
"""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

from pitchcast.schemas.records import Action, MatchInfo, Tone

__all__ = ["BackedSide", "Side", "backed_side", "backed_team_id", "backed_tone", "side_of"]

BackedSide = Literal["home", "away"]
# Whose action a line is about, from the backed team's point of view.
Side = Literal["ours", "theirs"]

_OWN_HALF: Final = frozenset({"own_box", "own_third"})


def _key(text: object) -> str:
    """A name as compared: Unicode NFC, no case, no spaces."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFC", str(text)).casefold()
    return "".join(folded.split())


def backed_side(supports: str, info: MatchInfo | None) -> BackedSide | None:
    """``home`` or ``away`` when ``supports`` names exactly one team of the match, else None."""
    wanted = _key(supports)
    if not wanted or info is None:
        return None
    if info.home_team_id is not None and info.home_team_id == info.away_team_id:
        return None  # one id for both sides: the match info cannot tell them apart
    sides: list[BackedSide] = []
    for side, team_id, names in (
        ("home", info.home_team_id, (info.home_team_name_ko, info.home_team_name)),
        ("away", info.away_team_id, (info.away_team_name_ko, info.away_team_name)),
    ):
        keys = {_key(name) for name in names if name}
        if team_id is not None:
            keys.add(str(team_id))
        if wanted in keys:
            sides.append(side)  # type: ignore[arg-type]
    return sides[0] if len(sides) == 1 else None


def backed_team_id(supports: str, info: MatchInfo | None) -> int | None:
    """The team id FRIEND backs in this match (None: neutral); see :func:`backed_side`."""
    side = backed_side(supports, info)
    if side is None or info is None:
        return None
    return info.home_team_id if side == "home" else info.away_team_id


def side_of(action: Action, backed: int) -> Side:
    """Whose action ``action`` is, for a FRIEND backing team ``backed``."""
    return "ours" if action.team_id == backed else "theirs"


def backed_tone(side: Side, mood: str, depth: str, *, own_goal: bool = False) -> Tone:
    """The tone of a backing FRIEND's line (``mood`` and ``depth``: :mod:`.tone`'s
    situation of the action; ``side``: whose action it is).

    A goal is good news for the scorer's side (an own goal for the other side); a card,
    a miss or a ball lost is bad news for the side it happens to; a chance, play in the
    box or a build-up is good news for the attacking side and a threat for the other
    (play in one's own box is defending: the threat is to that side). A foul gives the
    other side a free kick: tense when it is near the backed team's goal.
    """
    ours = side == "ours"
    if mood == "goal":
        return "excited" if ours != own_goal else "disappointed"
    if mood in ("card", "miss", "lost"):
        return "disappointed" if ours else "playful"
    if mood == "foul":
        if depth in _OWN_HALF:  # a set piece near the fouling side's goal
            return "tense" if ours else "excited"
        return "disappointed" if ours else "playful"
    if mood == "chance" or mood == "build":
        return "excited" if ours else "tense"
    if mood == "danger":
        defending = depth == "own_box"
        return "tense" if ours == defending else "excited"
    return "playful"
