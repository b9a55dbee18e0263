"""What the match story adds to a template line: only what is true, and sparingly.

The template writer gets the story as it stood before the action
(:mod:`pitchcast.story`). From it this module says which story sentences fit the
action, each as a phrasebook section and the slot values that make it true:

* goals: the match's first goal, or its n-th (``오늘 두 번째 골``); a scorer's second or
  third goal with the minute of his previous one; a goal that turns the match round
  (the team trailed earlier and now leads);
* shots: a player's n-th shot of the match from the second on (``세 번째 슈팅``), noting
  the goals he already scored; not on a shot that scores (the ``Goal`` row right after
  it tells the goal's story, and "his third shot, one goal so far" reads wrong there);
* cards: a player's second caution with the minute of his first; a team's n-th caution;
* pressure: a team with a clearly higher share of its play in the final third over the
  recent minutes (:func:`pitchcast.story.momentum`), said at most once every
  :data:`PRESSURE_EVERY` actions of the match and only on that team's own routine play.

Every number comes from the story (``len(story.goals) + 1`` and so on), and nothing is
said when the story cannot tell. Each sentence carries a *turn* that counts the
section's events over the whole match (the match's goals, shots, cards), never one
player's or team's, so that two such sentences close together (two players' second
shots a minute apart) take different phrasings. Also here: the story before each action of a batch
(:func:`stories_before`), which is what :func:`advance_story` folding the batch's
earlier actions onto ``batch.story`` gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pitchcast.commentary.korean import count_word, ordinal_word
from pitchcast.commentary.template.actions import SHOT_TYPES, minute_text_of
from pitchcast.schemas.records import Action, Score
from pitchcast.schemas.vocabulary import SHOOT_OUT_PERIOD
from pitchcast.story import Goal, Story, advance_story, momentum, player_key

__all__ = [
    "PRESSURE_EVERY",
    "PRESSURE_KINDS",
    "StoryLine",
    "pressing_team",
    "stories_before",
    "story_lines",
]

logger = logging.getLogger(__name__)

# A pressure remark may come on actions whose ordinal in the match is a multiple of this.
PRESSURE_EVERY = 25
# Routine play of the pressing team, on which a pressure remark reads naturally.
PRESSURE_KINDS = frozenset(
    {
        "pass_forward", "pass_side", "pass_back", "pass_long", "pass_switch", "pass_box",
        "received", "carry", "carry_forward", "recovery", "cross_ok",
    }
)  # fmt: skip
# "Clearly higher" final-third play: enough recent play, and a real difference.
_PRESSURE_MIN_ACTIONS = 30  # both teams together over the window
_PRESSURE_MIN_FINAL_THIRD = 8  # the pressing team's actions in the final third
_PRESSURE_MIN_SHARE = 0.3  # of the pressing team's own actions
_PRESSURE_MIN_LEAD = 0.2  # share above the other team's share
_PRESSURE_MIN_PART = 0.7  # of all final-third actions of both teams


@dataclass(frozen=True, slots=True)
class StoryLine:
    """A story sentence that fits: its phrasebook section, slot values and rotation key."""

    section: str
    slots: dict[str, str]
    turn: int  # which of the section's sentences: a match-wide count (rotated by the writer)


def stories_before(start: Story, actions: tuple[Action, ...]) -> Iterator[Story]:
    """The story before each of ``actions``: ``start``, then each action folded on.

    An action the story cannot fold (a bug, logged) leaves the story as it was, so the
    writer still gets a story for every action.
    """
    story = start
    for action in actions:
        yield story
        try:
            story = advance_story(story, action)
        except Exception:
            logger.warning(
                "pitchcast.template.story_failed",
                exc_info=True,
                extra={"game_id": action.game_id, "action_id": action.action_id},
            )


def _side(story: Story, team_id: int) -> int | None:
    """0 home, 1 away, None when the story does not know the teams."""
    if story.home_team_id is None or story.home_team_id == story.away_team_id:
        return None
    if team_id == story.home_team_id:
        return 0
    if team_id == story.away_team_id:
        return 1
    return None


def _margin(score: Score, side: int) -> int:
    """Goals ahead (negative: behind) for ``side``."""
    return score.home - score.away if side == 0 else score.away - score.home


def _goal_lines(
    action: Action, story: Story, actor: str, team_name: Callable[[int], str]
) -> list[StoryLine]:
    after = advance_story(story, action)
    if len(after.goals) != len(story.goals) + 1:
        return []
    goal: Goal = after.goals[-1]
    number = len(after.goals)
    lines: list[StoryLine] = []
    # The team the goal counts for (the other one on an own goal), and the scorer only
    # when it is his goal: "<own-goal scorer>'s opener" would be false.
    team = team_name(goal.team_id)
    if goal.own_goal:
        actor = ""
    key = player_key(action)
    if not goal.own_goal and key is not None:
        own_earlier = [g for g in story.goals if g.player_key == key and not g.own_goal]
        if own_earlier:
            last = own_earlier[-1]
            slots = {
                "선수": actor,
                "팀": team,
                "개인골순서": ordinal_word(len(own_earlier) + 1),
                "앞골시간": minute_text_of(last.period_id, last.minute),
            }
            lines.append(StoryLine("story_goal_brace", slots, number))
    side = _side(story, goal.team_id)
    if side is not None:
        trailed = any(_margin(g.score, side) < 0 for g in story.goals)
        if trailed and _margin(goal.score, side) > 0 and _margin(story.score, side) <= 0:
            lines.append(StoryLine("story_goal_comeback", {"선수": actor, "팀": team}, number))
    if number == 1:
        minute = minute_text_of(goal.period_id, goal.minute)
        slots = {"선수": actor, "팀": team, "시간": minute}
        lines.append(StoryLine("story_goal_first", slots, number))
    else:
        slots = {"선수": actor, "팀": team, "골순서": ordinal_word(number)}
        lines.append(StoryLine("story_goal_nth", slots, number))
    return lines


def _shot_lines(action: Action, story: Story, actor: str, team: str) -> list[StoryLine]:
    tally = story.player(player_key(action))
    if tally is None or tally.shots < 1:
        return []
    slots = {"선수": actor, "팀": team, "슈팅순서": ordinal_word(tally.shots + 1)}
    shots = sum(t.shots for t in story.teams)  # the match's shots before this one
    if tally.goals >= 1:
        slots["득점수"] = count_word(tally.goals, "골")
        return [StoryLine("story_shot_scorer", slots, shots)]
    return [StoryLine("story_shot_nth", slots, shots)]


_CAUTIONS = ("yellow", "second_yellow")


def _card_lines(action: Action, kind: str, story: Story, actor: str, team: str) -> list[StoryLine]:
    if kind not in _CAUTIONS:
        return []
    key = player_key(action)
    earlier = [c for c in story.cards if key is not None and c.player_key == key]
    if len(earlier) == 1 and earlier[0].card == "yellow":  # so this is his second caution
        first = earlier[0]
        minute = minute_text_of(first.period_id, first.minute)
        slots = {"선수": actor, "팀": team, "앞경고시간": minute}
        return [StoryLine("story_card_second", slots, len(story.cards))]
    team_cautions = sum(
        1 for c in story.cards if c.team_id == action.team_id and c.card in _CAUTIONS
    )
    if team_cautions >= 1 and team:
        slots = {"팀": team, "경고순서": ordinal_word(team_cautions + 1)}
        return [StoryLine("story_card_team", slots, len(story.cards))]
    return []


def pressing_team(story: Story) -> int | None:
    """The team whose recent play is clearly more in the final third, or None."""
    recent = [m for m in momentum(story) if m.actions > 0]
    if len(recent) != 2 or sum(m.actions for m in recent) < _PRESSURE_MIN_ACTIONS:
        return None
    first, second = recent
    final_third = first.final_third + second.final_third
    for team, other in ((first, second), (second, first)):
        share = team.final_third_share
        if (
            team.final_third >= _PRESSURE_MIN_FINAL_THIRD
            and share >= _PRESSURE_MIN_SHARE
            and share - other.final_third_share >= _PRESSURE_MIN_LEAD
            and team.final_third >= _PRESSURE_MIN_PART * final_third
        ):
            return team.team_id
    return None


def _pressure_lines(action: Action, kind: str, story: Story, team: str) -> list[StoryLine]:
    if kind not in PRESSURE_KINDS or not team or story.actions % PRESSURE_EVERY:
        return []
    if pressing_team(story) != action.team_id:
        return []
    return [StoryLine("story_pressure", {"팀": team}, story.actions // PRESSURE_EVERY)]


def story_lines(
    action: Action,
    kind: str,
    story: Story,
    *,
    actor: str,
    team: str,
    team_name: Callable[[int], str],
) -> list[StoryLine]:
    """The story sentences that fit ``action`` of ``kind``, most telling first.

    ``story`` is the story before the action; ``actor`` and ``team`` are the names the
    line uses (``team`` may be empty); ``team_name`` names a team by id ('' if unknown).
    Slots with an empty value are left out: sentences that need them are not used.
    """
    if kind in ("goal", "own_goal", "goal_plain", "own_goal_plain"):
        return _goal_lines(action, story, actor, team_name)
    if action.type_name in SHOT_TYPES:
        if kind in ("shot_goal", "penalty_goal") or action.period_id == SHOOT_OUT_PERIOD:
            # The Goal row that follows carries the goal's story; a shoot-out kick is
            # no shot of the match (its n-th shot would be false).
            return []
        return _shot_lines(action, story, actor, team)
    if kind in _CAUTIONS:
        return _card_lines(action, kind, story, actor, team)
    return _pressure_lines(action, kind, story, team)
