"""Fit: does a line's tone suit its event, and is its length what the prompt asks for?

**Events.** Each action falls in one class, the first that applies:

==============  ==========================================================  ====================
class           actions                                                     tones that fit
==============  ==========================================================  ====================
goal            ``Goal``; a shot whose result is ``Goal``                   excited
own_goal        ``Own Goal``                                                excited, tense,
                                                                            disappointed
card            a foul with a yellow, second yellow or red card             tense, disappointed
foul            any other ``Foul`` / ``Handball_Foul``                      tense, disappointed
error           ``Error``, ``Goal Miss``                                    disappointed, tense
big_chance      a shot on target, any shot from inside the penalty box     excited, tense (and
                (x >= 88.5, 13.84 <= y <= 54.16), ``Goal Post``             disappointed when
                                                                            it failed)
failed_shot     any other shot (off target, blocked, low quality)           disappointed, tense
other           everything else                                             not judged
==============  ==========================================================  ====================

ANALYST, the tactical voice, may also be ``analytical`` in every class but ``goal``
(a goal is excited in every voice). A line whose tone is not in its class's list is a
*misfit*; ``other`` lines are counted in the confusion table but never misfit.

**Length.** Characters of the published line (names filled in), against the prompt's
bounds: :data:`pitchcast.commentary.prompt.LINE_CHARS` (what the prompt asks for) and
:data:`~pitchcast.commentary.prompt.MAX_TEXT_CHARS` (the hard cap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pitchcast.checks.naming import CARD_MOMENTS, FOUL_TYPES, GOAL_MOMENTS, moment_kind
from pitchcast.commentary.prompt import LINE_CHARS, MAX_TEXT_CHARS
from pitchcast.schemas.records import TONES, Action
from pitchcast.schemas.vocabulary import SHOT_TYPES

__all__ = [
    "EVENT_CLASSES",
    "FitFigures",
    "LengthFigures",
    "Misfit",
    "event_class",
    "fitting_tones",
    "length_figures",
    "tone_fit",
]

EVENT_CLASSES = (
    "goal", "own_goal", "card", "foul", "error", "big_chance", "failed_shot", "other",
)  # fmt: skip
_FITS: dict[str, frozenset[str]] = {
    "goal": frozenset({"excited"}),
    "own_goal": frozenset({"excited", "tense", "disappointed"}),
    "card": frozenset({"tense", "disappointed"}),
    "foul": frozenset({"tense", "disappointed"}),
    "error": frozenset({"disappointed", "tense"}),
    "big_chance": frozenset({"excited", "tense"}),
    "failed_shot": frozenset({"disappointed", "tense"}),
}
_FAILED_RESULTS = frozenset({"Off Target", "Blocked", "Low Quality Shot", "Keeper Rush-Out"})


def _in_box(action: Action) -> bool:
    return action.start_x >= 88.5 and 13.84 <= action.start_y <= 54.16


def event_class(action: Action) -> str:
    """The class of ``action`` (see the module docstring)."""
    kind, result = action.type_name, action.result_name
    moment = moment_kind(action)
    if moment in GOAL_MOMENTS:
        return moment
    if moment in CARD_MOMENTS:
        return "card"
    if kind in FOUL_TYPES:
        return "foul"
    if kind in ("Error", "Goal Miss"):
        return "error"
    if kind == "Goal Post" or (kind in SHOT_TYPES and (result == "On Target" or _in_box(action))):
        return "big_chance"
    if kind in SHOT_TYPES:
        return "failed_shot"
    return "other"


def fitting_tones(action: Action, persona: str) -> frozenset[str] | None:
    """The tones that fit ``action`` in ``persona``'s voice, or None when not judged."""
    cls = event_class(action)
    tones = _FITS.get(cls)
    if tones is None:
        return None
    if cls == "big_chance" and (
        action.type_name == "Goal Post" or (action.result_name or "") in _FAILED_RESULTS
    ):
        tones = tones | {"disappointed"}
    if persona == "ANALYST" and cls != "goal":
        tones = tones | {"analytical"}
    return tones


@dataclass(frozen=True, slots=True)
class Misfit:
    event: str
    tone: str
    text: str
    action_id: int


@dataclass(slots=True)
class FitFigures:
    # event class -> tone -> lines
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    judged: int = 0
    misfits: list[Misfit] = field(default_factory=list)


def tone_fit(
    actions: Sequence[Action], tones: Sequence[str], texts: Sequence[str], persona: str
) -> FitFigures:
    """The confusion table (event class x tone) and the misfits of one persona's lines."""
    figures = FitFigures({cls: dict.fromkeys(TONES, 0) for cls in EVENT_CLASSES})
    for action, tone, text in zip(actions, tones, texts, strict=True):
        cls = event_class(action)
        row = figures.confusion[cls]
        row[tone] = row.get(tone, 0) + 1
        fits = fitting_tones(action, persona)
        if fits is None:
            continue
        figures.judged += 1
        if tone not in fits:
            figures.misfits.append(Misfit(cls, tone, text, action.action_id))
    return figures


@dataclass(slots=True)
class LengthFigures:
    asked: tuple[int, int] = LINE_CHARS
    cap: int = MAX_TEXT_CHARS
    lines: int = 0
    below: int = 0  # shorter than asked
    within: int = 0
    above: int = 0  # longer than asked, within the cap
    over_cap: int = 0
    min: int = 0
    median: float = 0.0
    p90: float = 0.0
    max: int = 0
    mean: float = 0.0
    histogram: dict[int, int] = field(default_factory=dict)  # length -> lines


def _percentile(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def length_figures(texts: Sequence[str]) -> LengthFigures:
    """Line lengths in characters against :data:`LINE_CHARS` and :data:`MAX_TEXT_CHARS`."""
    lengths = [len(t) for t in texts]
    low, high = LINE_CHARS
    figures = LengthFigures(lines=len(lengths))
    if not lengths:
        return figures
    for n in lengths:
        if n > MAX_TEXT_CHARS:
            figures.over_cap += 1
        elif n > high:
            figures.above += 1
        elif n < low:
            figures.below += 1
        else:
            figures.within += 1
    figures.min, figures.max = min(lengths), max(lengths)
    figures.median = _percentile(lengths, 0.5)
    figures.p90 = _percentile(lengths, 0.9)
    figures.mean = sum(lengths) / len(lengths)
    figures.histogram = dict(sorted(Counter(lengths).items()))
    return figures
