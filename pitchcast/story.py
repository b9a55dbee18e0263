"""The match story: what a commentator remembers, computed from the log alone.

A :class:`Story` is folded action by action (:func:`advance_story`), in the order the
batcher accepts actions, so the same log always gives the same story. The batcher keeps
the story in its changelogged state; every batch carries the story as it stood when the
batch opened, and whoever needs the story at a later action of the batch (the prompt,
the template, validation) folds the batch's earlier actions onto that snapshot with the
same function.

What it holds, all small and bounded:

* the running score and every goal (scorer, team, match minute, score after it);
* cards (yellow, second yellow, red) with player, team and minute;
* per team: shots, shots on target, corners, fouls;
* per player, only once something notable happened: shots, on target, goals, key
  passes (the last pass of the team before its shot, by another player), interceptions,
  fouls, cards;
* momentum: per team, actions and actions in the final third over the last
  :data:`MOMENTUM_MINUTES` minutes of the current period (minute buckets);
* how often each (type, result) pair occurred so far, and how often ``story`` density
  showed it (the template rotates its phrasings with one or the other), and the number
  of actions so far;
* the last few actions with how ``story`` density told them (the tail): the density
  decision of a batch's first actions sees the end of the batch before.

The final score of the match info never enters: only what the log showed so far.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from operator import itemgetter

# The story's data types live with the records a batch carries them in; re-exported
# here, the story's computation, for its callers.
from pitchcast.density_rules import TAIL, Told, decide_next
from pitchcast.pitch import rotation_key
from pitchcast.schemas.records import (
    Action,
    Card,
    Goal,
    MatchInfo,
    MinuteBucket,
    PlayerTally,
    Score,
    Story,
    TeamTally,
    kind_key,
    match_minute,
    player_key,
    story_from_dict,
)
from pitchcast.schemas.vocabulary import CARD_RESULTS, SHOOT_OUT_PERIOD, SHOT_TYPES, CardKind

__all__ = [
    "CARD_RESULTS",
    "FINAL_THIRD_X",
    "MOMENTUM_MINUTES",
    "SHOT_TYPES",
    "Card",
    "CardKind",
    "Goal",
    "MinuteBucket",
    "Momentum",
    "PlayerTally",
    "Story",
    "TeamTally",
    "advance_story",
    "fold_story",
    "kind_key",
    "match_minute",
    "momentum",
    "new_story",
    "notable_players",
    "player_key",
    "story_from_dict",
    "story_with_match_info",
    "team_seen",
    "told_before",
]

ON_TARGET_RESULTS = frozenset({"On Target", "Goal"})
PASS_TYPES = frozenset({"Pass", "Cross", "Pass_Freekick", "Pass_Corner"})
FOUL_TYPES = frozenset({"Foul", "Handball_Foul"})
# The acting team attacks towards x = 105: the final third starts at 70 m.
FINAL_THIRD_X = 70.0
MOMENTUM_MINUTES = 5
# A pass is the key pass of a shot when the shot comes within this many actions.
_KEY_PASS_REACH = 3


@dataclass(frozen=True, slots=True)
class Momentum:
    """One team's share of the recent play."""

    team_id: int
    actions: int
    final_third: int

    @property
    def final_third_share(self) -> float:
        return self.final_third / self.actions if self.actions else 0.0


def new_story(match_info: MatchInfo | None = None) -> Story:
    """The story before the first action."""
    return story_with_match_info(Story(), match_info)


def story_with_match_info(story: Story, match_info: MatchInfo | None) -> Story:
    """The story with home and away taken from the match info (when it names them)."""
    if match_info is None or match_info.home_team_id is None:
        return story
    home_id = match_info.home_team_id
    goals, score = story.goals, story.score
    if story.home_team_id != home_id and goals:
        # Goals folded before the match info counted the first team seen as home: each
        # goal goes to the side of the team it was credited to.
        rescored = []
        home = away = 0
        for goal in goals:
            if goal.team_id == home_id:
                home += 1
            else:
                away += 1
            rescored.append(replace(goal, score=Score(home, away)))
        goals, score = tuple(rescored), Score(home, away)
    return replace(
        story,
        home_team_id=home_id,
        away_team_id=match_info.away_team_id,
        goals=goals,
        score=score,
    )


def momentum(story: Story) -> tuple[Momentum, ...]:
    """Per team (order of first appearance), the play over the recent minutes."""
    totals: dict[int, list[int]] = {t.team_id: [0, 0] for t in story.teams}
    for bucket in story.recent:
        total = totals.setdefault(bucket.team_id, [0, 0])
        total[0] += bucket.actions
        total[1] += bucket.final_third
    return tuple(Momentum(team_id, n, ft) for team_id, (n, ft) in totals.items())


def _with_team(tallies: tuple[TeamTally, ...], team_id: int, **add: int) -> tuple[TeamTally, ...]:
    teams = list(tallies)
    for i, tally in enumerate(teams):
        if tally.team_id == team_id:
            teams[i] = replace(tally, **{k: getattr(tally, k) + v for k, v in add.items()})
            return tuple(teams)
    teams.append(replace(TeamTally(team_id), **add))
    return tuple(teams)


def _with_player(
    players: tuple[PlayerTally, ...], key: str, name: str | None, team_id: int, **add: int
) -> tuple[PlayerTally, ...]:
    listed = list(players)
    for i, tally in enumerate(listed):
        if tally.key == key:
            changes = {k: getattr(tally, k) + v for k, v in add.items()}
            listed[i] = replace(tally, name=name or tally.name, **changes)
            return tuple(listed)
    listed.append(replace(PlayerTally(key, name, team_id), **add))
    return tuple(listed)


def _with_kind(kinds: tuple[tuple[str, int], ...], key: str) -> tuple[tuple[str, int], ...]:
    """``kinds`` (sorted by key) with ``key`` counted once more, still sorted."""
    at = bisect_left(kinds, key, key=itemgetter(0))  # no re-sort: this runs every fold
    if at < len(kinds) and kinds[at][0] == key:
        return (*kinds[:at], (key, kinds[at][1] + 1), *kinds[at + 1 :])
    return (*kinds[:at], (key, 1), *kinds[at:])


def _with_minute(story: Story, action: Action, minute: int) -> tuple[MinuteBucket, ...]:
    attacking = 1 if action.start_x >= FINAL_THIRD_X else 0
    kept: list[MinuteBucket] = []
    found = False
    for bucket in story.recent:
        if bucket.period_id != action.period_id or bucket.minute <= minute - MOMENTUM_MINUTES:
            continue  # another period, or out of the window
        if bucket.minute == minute and bucket.team_id == action.team_id:
            bucket = replace(
                bucket, actions=bucket.actions + 1, final_third=bucket.final_third + attacking
            )
            found = True
        kept.append(bucket)
    if not found:
        kept.append(MinuteBucket(action.period_id, minute, action.team_id, 1, attacking))
    return tuple(kept)


# A team's name kept in the story: enough for any real name (lines clean and cut it).
_TEAM_NAME_MAX_CHARS = 64


def team_seen(teams: tuple[TeamTally, ...], action: Action) -> tuple[TeamTally, ...]:
    """``teams`` with the acting team in them, named by its first named action."""
    for i, tally in enumerate(teams):
        if tally.team_id == action.team_id:
            if tally.name is None and action.team_name_ko:
                named = replace(tally, name=action.team_name_ko[:_TEAM_NAME_MAX_CHARS])
                return (*teams[:i], named, *teams[i + 1 :])
            return teams
    name = action.team_name_ko[:_TEAM_NAME_MAX_CHARS] if action.team_name_ko else None
    return (*teams, TeamTally(action.team_id, name=name))


def _home_id(home_team_id: int | None, teams: tuple[TeamTally, ...], action: Action) -> int:
    if home_team_id is not None:
        return home_team_id
    # Without match info, the first team seen counts as home.
    return teams[0].team_id if teams else action.team_id


# Folds already made, by the identity of the story and the action folded (both frozen):
# a live lane folds a batch's actions from the batch's opening story at every burst, the
# template again per row, so without this each action of a batch is folded ~10 times.
# A hit needs the very objects (the entry keeps them, so an id is never reused while
# its entry lives); the oldest half is dropped when full. The batcher folds each action
# once (fold_story), so only refolds share the memo.
_FOLDS: dict[tuple[int, int], tuple[Story, Action, Story]] = {}
_FOLDS_MAX = 1024


def advance_story(story: Story, action: Action) -> Story:
    """The story after ``action``. Pure: the same story and action give the same result
    (folding the same objects again returns the story made the first time)."""
    key = (id(story), id(action))
    made = _FOLDS.get(key)
    if made is not None and made[0] is story and made[1] is action:
        return made[2]
    after = fold_story(story, action)
    if len(_FOLDS) >= _FOLDS_MAX:
        for old in list(_FOLDS)[: _FOLDS_MAX // 2]:  # dicts keep insertion order
            del _FOLDS[old]
    _FOLDS[key] = (story, action, after)
    return after


def fold_story(story: Story, action: Action) -> Story:
    """:func:`advance_story` without the memo: for a fold made once (the batcher's)."""
    minute = match_minute(action.period_id, action.time_seconds)
    key = player_key(action)
    name = action.player_name_ko
    ordinal = story.actions
    # The new story's fields, built as locals and put together once at the end
    # (dataclasses.replace per change was a third of a fold's time).
    teams = team_seen(story.teams, action)
    history = [(a, Told(shown, with_)) for a, shown, with_ in story.tail]
    told = decide_next(history, action)
    score, goals, cards = story.score, story.goals, story.cards
    players, last_pass = story.players, story.last_pass
    type_name, result = action.type_name, action.result_name

    # A shoot-out kick is no goal and no shot of the match (vocabulary.SHOOT_OUT_PERIOD).
    in_match = action.period_id != SHOOT_OUT_PERIOD
    if type_name in ("Goal", "Own Goal") and in_match:
        home_id = _home_id(story.home_team_id, teams, action)
        acting_is_home = action.team_id == home_id
        home_scores = acting_is_home if type_name == "Goal" else not acting_is_home
        home, away = score.home, score.away
        score = Score(home + 1, away) if home_scores else Score(home, away + 1)
        credited = action.team_id
        if type_name == "Own Goal":
            others = [t.team_id for t in teams if t.team_id != action.team_id]
            other = story.away_team_id if acting_is_home else story.home_team_id
            credited = other if other is not None else (others[0] if others else -1)
        goal = Goal(
            action.action_id, credited, name, key, action.period_id, minute,
            type_name == "Own Goal", score,
        )  # fmt: skip
        goals = (*goals, goal)
        if key is not None and type_name == "Goal":
            players = _with_player(players, key, name, action.team_id, goals=1)

    if type_name in SHOT_TYPES and in_match:
        on = 1 if result in ON_TARGET_RESULTS else 0
        teams = _with_team(teams, action.team_id, shots=1, on_target=on)
        if key is not None:
            players = _with_player(players, key, name, action.team_id, shots=1, on_target=on)
        if (
            last_pass is not None
            and last_pass[1] == action.team_id
            and last_pass[0] != key
            and ordinal - last_pass[2] <= _KEY_PASS_REACH
        ):
            players = _with_player(players, last_pass[0], last_pass[3], last_pass[1], key_passes=1)
            last_pass = None

    if type_name == "Pass_Corner":
        teams = _with_team(teams, action.team_id, corners=1)
    if type_name in FOUL_TYPES:
        teams = _with_team(teams, action.team_id, fouls=1)
        if key is not None:
            players = _with_player(players, key, name, action.team_id, fouls=1)
    if type_name == "Interception" and key is not None:
        players = _with_player(players, key, name, action.team_id, interceptions=1)
    card = CARD_RESULTS.get(result or "")
    if card is not None:
        cards = (
            *cards,
            Card(action.action_id, action.team_id, name, key, action.period_id, minute, card),
        )
        if key is not None:
            players = _with_player(players, key, name, action.team_id, cards=1)

    # Key passes: remember the team's last completed pass; the other team's touch ends it.
    if type_name in PASS_TYPES and result == "Successful" and key is not None:
        last_pass = (key, action.team_id, ordinal, name)
    elif last_pass is not None and last_pass[1] != action.team_id:
        last_pass = None
    return Story(
        home_team_id=story.home_team_id,
        away_team_id=story.away_team_id,
        score=score,
        goals=goals,
        cards=cards,
        teams=teams,
        players=players,
        recent=_with_minute(story, action, minute),
        kinds=_with_kind(story.kinds, kind_key(action)),
        actions=ordinal + 1,
        last_pass=last_pass,
        tail=(*story.tail[-(TAIL - 1) :], (action, told.shown, told.told_with)),
        told=_with_kind(story.told, rotation_key(action)) if told.shown else story.told,
    )


def told_before(story: Story, action: Action) -> int:
    """How many earlier actions of the match ``story`` density showed under ``action``'s
    rotation key (its (type, result), and line kind where geometry splits it)."""
    return story.count(rotation_key(action), told=True)


def notable_players(story: Story | None, limit: int = 6) -> list[tuple[str, str | None, int]]:
    """(key, name, team_id) of the players the story is about, most notable first:
    scorers, then booked players, then those with the most shots and key passes."""
    if story is None:
        return []
    chosen: dict[str, tuple[str, str | None, int]] = {}
    for goal in story.goals:
        if not goal.own_goal and goal.player_key is not None:
            tally = story.player(goal.player_key)
            team = tally.team_id if tally is not None else goal.team_id
            chosen.setdefault(goal.player_key, (goal.player_key, goal.player, team))
    for card in story.cards:
        if card.player_key is not None:
            chosen.setdefault(card.player_key, (card.player_key, card.player, card.team_id))
    busy = sorted(
        (p for p in story.players if p.shots + p.key_passes >= 2),
        key=lambda p: (-(p.shots + p.key_passes), p.key),
    )
    for tally in busy:
        chosen.setdefault(tally.key, (tally.key, tally.name, tally.team_id))
    return list(chosen.values())[:limit]
