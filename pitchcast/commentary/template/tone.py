"""The tone of a line from the situation of its action, not from its type alone.

A line's tone is first the voice's reaction to the kind of event (the phrasebook's
``tone`` of the kind, e.g. CASTER ``tense`` at a cross that arrives); then the situation
raises or lowers it. Pure: the action and the story before it decide, nothing else.

:func:`read_situation` reads where the action happened (its depth for the acting team;
for a pass or carry the deeper of its start and end), how the game stands (the score
and the minute: from the 80th minute of a game within one goal it is *tight*, for both
sides) and the story (the acting team has been pressing:
:func:`.storytelling.pressing_team`). It names one
*mood*, persona-neutral, which the prompt passes to the LLM as data:

=========  ===========================================================================
mood       when
=========  ===========================================================================
goal       a goal, a shot whose result is a goal, and an own goal (a goal for the other
           side: always excited)
card       a foul with a card
foul       any other foul (in its own box or third: tense, a set piece near goal)
chance     a shot on target, any shot from inside the box, the post; *big* (raised one
           step) after pressure, in a tight finish, or on target from inside the box
miss       any other shot (off target, blocked, weak from distance), ``Goal Miss``
danger     play in the opponent's box or six-yard box, defending in one's own box
build      play in the final third while pressing or in a tight finish
lost       the ball lost in the opponent's box (a chance gone), an ``Error``; a ball lost
           elsewhere is routine
routine    everything else: a pass, a reception, a cut or a lost ball in midfield
=========  ===========================================================================

:func:`tone_for` turns a mood into the persona's tone. A neutral CASTER is calm at
routine play and does not sound disappointed for whichever side lost the ball; the
phrasebook's tone of the kind stays where the event carries it (fouls, cards, shots,
crosses and set pieces in the attacking third). ANALYST stays analytical except at a
goal (excited), a big chance, and a danger in a tight finish (tense). A FRIEND who backs
a team (``PITCHCAST_FRIEND_SUPPORTS``) is not neutral: the mood is read from the backed
side (:func:`.backing.backed_tone`: its goal delights, a goal against it disappoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pitchcast.checks.naming import CARD_MOMENTS, FOUL_TYPES, GOAL_MOMENTS, moment_kind
from pitchcast.commentary.template.actions import depth, geometry
from pitchcast.commentary.template.backing import backed_tone, side_of
from pitchcast.commentary.template.storytelling import pressing_team
from pitchcast.schemas.records import Action, Tone
from pitchcast.schemas.vocabulary import SHOT_TYPES
from pitchcast.story import Story, match_minute

__all__ = [
    "MOODS", "Mood", "Situation", "mood_word", "read_situation", "situation_tone", "tone_for",
]  # fmt: skip

Mood = Literal[
    "goal", "card", "foul", "chance", "miss", "danger", "build", "lost", "routine"
]  # fmt: skip
MOODS: Final[tuple[Mood, ...]] = (
    "goal", "card", "foul", "chance", "miss", "danger", "build", "lost", "routine",
)  # fmt: skip

TIGHT_FROM_MINUTE: Final = 80  # the last ten minutes (and stoppage time) of a game
TIGHT_MARGIN: Final = 1  # within one goal
_BOX: Final = frozenset({"box", "six"})
_DEEP: Final = frozenset({"own_box"})
_MOVES_BALL: Final = frozenset(
    {"Pass", "Cross", "Carry", "Pass_Freekick", "Pass_Corner", "Throw-In", "Take-On"}
)
_FAILED_SHOT_RESULTS: Final = frozenset({"Off Target", "Blocked", "Low Quality Shot"})
_LOST_RESULTS: Final = frozenset({"Unsuccessful", "Off Target", "Blocked"})
_ROUTINE: Final[dict[str, Tone]] = {"CASTER": "calm", "ANALYST": "analytical", "FRIEND": "playful"}
_RAISED: Final[dict[str, Tone]] = {"CASTER": "tense", "ANALYST": "tense", "FRIEND": "excited"}
_EVENT_TONES: Final = frozenset({"tense", "excited", "disappointed"})


@dataclass(frozen=True, slots=True)
class Situation:
    """What the tone is decided from (all from the action and the story before it)."""

    mood: Mood
    depth: str  # actions.depth of the acting team: six, box, final_third, ... own_box
    tight: bool  # the last ten minutes within one goal
    pressing: bool  # the acting team has been pressing (storytelling.pressing_team)
    big: bool  # a chance after pressure, in a tight finish, or on target from the box


def _reach(action: Action) -> str:
    """The depth of the action; for one that moves the ball, the deeper of start and end."""
    shape = geometry(action)
    start = depth(shape.x, shape.y)
    if action.type_name not in _MOVES_BALL or action.result_name in _LOST_RESULTS:
        return start
    end = depth(shape.end_x, shape.end_y)
    order = ("own_box", "own_third", "own_half", "opp_half", "final_third", "box", "six")
    return max(start, end, key=order.index)


def read_situation(action: Action, story: Story) -> Situation:
    """The situation of ``action`` given the story just before it."""
    where = _reach(action)
    minute = match_minute(action.period_id, action.time_seconds)
    # Either side's view: a one-goal game is tight for both.
    margin = abs(story.score.home - story.score.away)
    tight = action.period_id in (2, 4) and minute >= TIGHT_FROM_MINUTE and margin <= TIGHT_MARGIN
    pressing = pressing_team(story) == action.team_id
    kind, result = action.type_name, action.result_name
    mood: Mood
    moment = moment_kind(action)
    if moment in GOAL_MOMENTS:
        mood = "goal"
    elif kind in FOUL_TYPES:
        mood = "card" if moment in CARD_MOMENTS else "foul"
    elif kind == "Error":
        mood = "lost"  # a mistake that gave the ball away: the data calls it one
    elif kind == "Goal Miss":
        mood = "miss"
    elif kind in SHOT_TYPES or kind == "Goal Post":
        on_target = result == "On Target" or kind == "Goal Post"
        failed = result in _FAILED_SHOT_RESULTS
        mood = "chance" if on_target or (where in _BOX and not failed) else "miss"
    elif result in _LOST_RESULTS:
        mood = "lost" if where in _BOX else "routine"
    elif where in _BOX or where in _DEEP:
        mood = "danger"
    elif where == "final_third" and (pressing or tight):
        mood = "build"
    else:
        mood = "routine"
    on_target_close = result == "On Target" and where in _BOX
    big = mood == "chance" and (pressing or tight or on_target_close)
    return Situation(mood, where, tight, pressing, big)


def mood_word(situation: Situation) -> str:
    """The situation as the prompt's ``mood`` column: the mood, ``big_chance`` for a big
    one, and empty for routine play (most rows: fewer prompt tokens)."""
    if situation.big:
        return "big_chance"
    return "" if situation.mood == "routine" else situation.mood


def tone_for(persona: str, base: Tone, situation: Situation) -> Tone:
    """The tone of ``persona``'s line: ``base`` is the phrasebook's tone of the kind."""
    routine = _ROUTINE.get(persona, "calm")
    mood = situation.mood
    if mood == "goal":
        return "excited"
    if persona == "ANALYST":
        tense = situation.big or (situation.tight and mood == "danger")
        return "tense" if tense else "analytical"
    if mood == "foul" and situation.depth in ("own_box", "own_third"):
        return "tense"  # a free kick near its own goal, or a penalty
    if mood in ("card", "foul", "miss"):
        return base if base in _EVENT_TONES else _RAISED.get(persona, "tense")
    if mood == "chance":
        return "excited" if situation.big else (base if base in _EVENT_TONES else "tense")
    if mood == "lost":
        return "disappointed"
    if mood in ("danger", "build"):
        # The kind's own raised tone (a cross that arrives) where the event carries it.
        if base in ("tense", "excited"):
            return base
        return _RAISED.get(persona, "tense")
    return routine


def situation_tone(
    persona: str, base: Tone, action: Action, story: Story, backed: int | None = None
) -> Tone:
    """The tone of a line about ``action`` (story: just before it) in ``persona``'s voice;
    ``backed``: the team id a FRIEND backs in this match (None: neutral), whose fan's
    tone follows the side the moment is good or bad news for (:mod:`.backing`)."""
    situation = read_situation(action, story)
    if persona == "FRIEND" and backed is not None:
        own_goal = action.type_name == "Own Goal"
        side = side_of(action, backed)
        return backed_tone(side, situation.mood, situation.depth, own_goal=own_goal)
    return tone_for(persona, base, situation)
