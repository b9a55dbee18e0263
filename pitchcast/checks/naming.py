"""Whether the line of a key moment names it: a goal's line says it is a goal.

Eval's *told* counts a key event told when a line of it is shown; a line that is shown
but does not say what happened (``제카가 공을 다룹니다`` at a penalty goal, ``홍정운 10이
반칙을 범합니다`` at a red card) tells a fan nothing of it. :func:`unnamed_kind` gives
the kind of moment a line leaves unnamed: ``goal`` (a ``Goal`` row, a shot with result
``Goal``), ``own_goal``, ``yellow``, ``sending_off`` (a second yellow, a direct red),
``penalty`` (a foul or handball without a card in the fouling team's own penalty area:
a penalty kick is given), or None. The words of each kind are in ``naming.toml`` (an
editor extends them), read with the match's names masked (a player called 골키 is no
goal).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

from pitchcast.checks.claims import in_own_box
from pitchcast.checks.wording import mask_names
from pitchcast.schemas.records import Action
from pitchcast.schemas.vocabulary import CARD_RESULTS, SHOT_TYPES

__all__ = [
    "CARD_MOMENTS", "FOUL_TYPES", "GOAL_MOMENTS", "gives_a_penalty", "moment_kind",
    "naming_words", "unnamed_kind",
]  # fmt: skip

FOUL_TYPES = frozenset({"Foul", "Handball_Foul"})
# The kinds :func:`moment_kind` gives: a goal for either side, a card of any colour.
GOAL_MOMENTS = frozenset({"goal", "own_goal"})
CARD_MOMENTS = frozenset({"yellow", "sending_off"})


@cache
def naming_words() -> Mapping[str, re.Pattern[str]]:
    """Each kind's words as one pattern (``naming.toml``)."""
    text = resources.files("pitchcast.checks").joinpath("naming.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {kind: re.compile("|".join(f"(?:{w})" for w in v["words"])) for kind, v in data.items()}


def moment_kind(action: Action) -> str | None:
    """The kind of key moment ``action`` is, whose line must name it (None: none).

    The one reading of goals and cards: eval's event classes and key events
    (:mod:`pitchcast.quality`) and the template's mood read them here too."""
    type_name, result = action.type_name, action.result_name
    if type_name == "Goal" or (type_name in SHOT_TYPES and result == "Goal"):
        return "goal"
    if type_name == "Own Goal":
        return "own_goal"
    if type_name in FOUL_TYPES:
        if result == "Yellow_Card":
            return "yellow"
        if result in ("Second_Yellow_Card", "Direct_Red_Card"):
            return "sending_off"
    return None


def gives_a_penalty(action: Action) -> bool:
    """A foul or handball without a card in the fouling team's own penalty area (where
    the template tells a penalty kick: its ``foul_penalty`` and ``handball_penalty``)."""
    if action.type_name not in FOUL_TYPES or action.result_name in CARD_RESULTS:
        return False
    return in_own_box(action)


def unnamed_kind(text: str, action: Action, *, names: Iterable[str] = ()) -> str | None:
    """The kind of key moment ``action`` is when ``text`` does not name it, else None
    (a penalty given counts as one here, not among eval's key events)."""
    kind = moment_kind(action) or ("penalty" if gives_a_penalty(action) else None)
    if kind is None:
        return None
    return None if naming_words()[kind].search(mask_names(text, names)) else kind
