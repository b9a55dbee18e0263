"""What is told when: the density decisions, rule by rule, and on feed glitches."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from pitchcast.commentary.density import (
    DENSITIES,
    TAIL,
    Told,
    decide,
    is_key,
    shown_rows,
    told_in,
)
from pitchcast.schemas.records import Action, CommentaryItem, Story
from pitchcast.story import advance_story, new_story
from tests.support.commentary_batches import sample_actions

HOME, AWAY = 4220, 4639


def act(
    action_id: int,
    type_name: str,
    result: str | None = None,
    *,
    team: int = HOME,
    player: float | None = 10.0,
    name: str | None = "손흥민",
    t: float | None = None,
    x: float = 40.0,
    y: float = 34.0,
    end: tuple[float, float] | None = None,
    period: int = 1,
) -> Action:
    ex, ey = end if end is not None else (x, y)
    return Action(
        game_id=126283, action_id=action_id, period_id=period,
        time_seconds=float(action_id) if t is None else t, team_id=team, player_id=player,
        result_name=result, start_x=x, start_y=y, end_x=ex, end_y=ey, dx=ex - x, dy=ey - y,
        type_name=type_name, player_name_ko=name, team_name_ko="서울",
    )  # fmt: skip


def kim(action_id: int, type_name: str, result: str | None = None, **kw: Any) -> Action:
    return act(action_id, type_name, result, player=7.0, name="김민재", **kw)


def rival(action_id: int, type_name: str, result: str | None = None, **kw: Any) -> Action:
    return act(action_id, type_name, result, team=AWAY, player=22.0, name="세징야", **kw)


def story(actions: list[Action]) -> list[Told]:
    return list(decide(actions, "story"))


# --- every / key ---------------------------------------------------------------------


def test_every_shows_every_action() -> None:
    actions = [
        act(1, "Pass", "Successful"),
        kim(2, "Pass Received"),
        rival(3, "Duel", "Successful"),
    ]
    assert decide(actions, "every") == (Told(True),) * 3


@pytest.mark.parametrize(
    ("action", "key"),
    [
        (act(1, "Shot", "Off Target"), True),
        (act(1, "Goal"), True),
        (act(1, "Own Goal"), True),
        (act(1, "Foul", "Yellow_Card"), True),
        (act(1, "Foul", "Direct_Red_Card"), True),
        (act(1, "Penalty Kick", "Goal"), True),
        (act(1, "Pass_Corner", "Unsuccessful"), True),
        (act(1, "Shot_Freekick", "On Target"), True),
        (act(1, "Foul", x=10.0, y=34.0), True),  # in the fouling team's own box: a penalty
        (act(1, "Pass", "Successful", x=80.0, end=(101.0, 34.0)), True),  # into the six
        (act(1, "Pass", "Unsuccessful", x=80.0, end=(101.0, 34.0)), False),
        (act(1, "Pass", "Successful"), False),
        (act(1, "Foul"), False),
        (act(1, "Duel", "Successful"), False),
    ],
)
def test_key_events(action: Action, key: bool) -> None:
    assert is_key(action) is key
    assert decide([action], "key") == (Told(key, None),)


def test_key_density_tells_nothing_else_and_binds_nothing() -> None:
    actions = [act(1, "Pass", "Successful"), kim(2, "Pass Received"), kim(3, "Shot", "On Target")]
    assert decide(actions, "key") == (Told(False), Told(False), Told(True))


# --- story: one moment, one line ---------------------------------------------------------


def test_a_pass_is_told_and_its_reception_is_silent_with_it() -> None:
    told = story([act(1, "Pass", "Successful"), kim(2, "Pass Received")])
    assert told == [Told(True), Told(False, 1)]


def test_a_reception_after_a_failed_pass_is_not_bound_to_it() -> None:
    # A failed pass reaches no team-mate: a reception after it is its own moment.
    told = story([act(1, "Pass", "Unsuccessful"), kim(2, "Pass Received", x=80.0)])
    assert told == [Told(True), Told(True)]


def test_a_reception_without_its_pass_is_silent_unless_it_matters() -> None:
    # Glitch or batch boundary: the pass is not in the batch.
    assert story([kim(1, "Pass Received", x=40.0)]) == [Told(False, None)]
    assert story([kim(1, "Pass Received", x=80.0)]) == [Told(True)]  # final third
    assert story([kim(1, "Pass Received", x=95.0)]) == [Told(True)]  # the box


def test_the_two_sides_of_a_duel_are_told_once() -> None:
    # The feed writes a duel as two rows, one per side, with a reception between them.
    told = story(
        [rival(1, "Duel", "Unsuccessful"), kim(2, "Pass Received"), kim(3, "Duel", "Successful")]
    )
    assert told[0] == Told(True)
    assert told[2] == Told(False, 1)


def test_a_tackle_and_the_duel_it_won_are_told_once() -> None:
    """Sample match 3, 35': the feed writes the tackle, the tackler's recovery and carry,
    then the loser's duel row (same second): FRIEND said '태클 들어갔다, 성공!' and then
    '부딪혔는데 Player 4가 튕겨 나갔어' (5 and 10 such pairs in sample matches 1 and 3)."""
    told = story(
        [
            kim(1, "Tackle", "Successful", x=62.0),
            kim(2, "Recovery", x=62.0),
            kim(3, "Carry", x=62.0),
            rival(4, "Duel", "Unsuccessful"),
        ]
    )
    assert told == [Told(True), Told(False, 1), Told(False, 1), Told(False, 1)]
    # A dribble and the duel it won: one moment too.
    told = story([kim(1, "Take-On", "Successful"), rival(2, "Duel", "Unsuccessful")])
    assert told == [Told(True), Told(False, 1)]


def test_a_turnover_is_told_once() -> None:
    # The other team's interception of a failed pass belongs to that pass's line.
    told = story([act(1, "Pass", "Unsuccessful"), rival(2, "Interception")])
    assert told == [Told(True), Told(False, 1)]
    told = story([act(1, "Pass", "Unsuccessful"), rival(2, "Recovery")])
    assert told == [Told(True), Told(False, 1)]


def test_an_interception_lost_again_at_once_is_told_once() -> None:
    told = story([rival(1, "Cross", "Successful", x=60.0), kim(2, "Interception"),
                  kim(3, "Carry"), kim(4, "Pass", "Unsuccessful")])  # fmt: skip
    assert told[1] == Told(True)
    assert told[2] == Told(False, 2)
    assert told[3] == Told(False, 2)


def test_a_foul_and_its_free_kick_are_told_once() -> None:
    told = story([rival(1, "Foul"), act(2, "Pass_Freekick", "Successful")])
    assert told == [Told(True), Told(False, 1)]


def test_a_save_or_block_is_told_with_the_shot() -> None:
    for keeper in ("Catch", "Parry", "Block"):
        told = story([act(1, "Shot", "On Target", x=95.0), rival(2, keeper, x=5.0)])
        assert told == [Told(True), Told(False, 1)], keeper


def test_a_ball_out_after_a_failed_pass_is_told_with_it() -> None:
    told = story([act(1, "Pass", "Unsuccessful"), act(2, "Out")])
    assert told == [Told(True), Told(False, 1)]


def test_routine_recoveries_are_silent_unless_high_up() -> None:
    assert story([act(1, "Recovery", x=30.0)]) == [Told(False, None)]
    assert story([act(1, "Recovery", x=60.0)]) == [Told(True)]  # won in their half: a counter


def test_a_carry_into_the_box_is_told() -> None:
    told = story([act(1, "Pass", "Successful"), kim(2, "Pass Received", x=80.0),
                  kim(3, "Carry", x=80.0, end=(95.0, 34.0))])  # fmt: skip
    assert told == [Told(True), Told(False, 1), Told(True)]
    told = story([act(1, "Pass", "Successful"), kim(2, "Pass Received"), kim(3, "Carry")])
    assert told == [Told(True), Told(False, 1), Told(False, 1)]


def test_a_build_up_is_told_every_few_passes() -> None:
    actions = []
    for n in range(8):  # 8 completed passes of one team in midfield, each received
        passer = act if n % 2 == 0 else kim
        actions.append(passer(2 * n, "Pass", "Successful"))
        actions.append((kim if n % 2 == 0 else act)(2 * n + 1, "Pass Received"))
    told = story(actions)
    shown = [a.action_id for a, t in zip(actions, told, strict=True) if t.shown]
    assert shown == [0, 8]  # the first pass, then every fourth
    assert told[2] == Told(False, 0)  # a quiet pass is told with the pass that was told


def test_a_pass_into_the_box_is_always_told() -> None:
    actions = [act(1, "Pass", "Successful"), kim(2, "Pass Received"),
               kim(3, "Pass", "Successful", x=80.0, end=(95.0, 30.0))]  # fmt: skip
    assert story(actions)[2] == Told(True)


def test_key_events_are_always_told() -> None:
    told = story([act(1, "Pass", "Successful"), kim(2, "Shot", "Blocked"), act(3, "Goal")])
    assert told[1] == Told(True) and told[2] == Told(True)


# --- glitches ------------------------------------------------------------------------


def test_out_of_order_and_far_apart_actions_do_not_bind() -> None:
    # A reception 30 s after the pass, or in another period, stands on its own.
    assert story([act(1, "Pass", "Successful", t=10.0), kim(2, "Pass Received", t=40.0)])[1] == (
        Told(False, None)
    )
    late = kim(2, "Pass Received", period=2, t=1.0)
    assert story([act(1, "Pass", "Successful", t=2700.0), late])[1] == Told(False, None)
    # Clock going backwards a little (feed jitter) still binds.
    assert story([act(1, "Pass", "Successful", t=10.0), kim(2, "Pass Received", t=9.5)])[1] == (
        Told(False, 1)
    )


def test_missing_names_ids_and_coordinates() -> None:
    nameless = act(1, "Interception", player=None, name=None)
    lost = act(2, "Pass", "Unsuccessful", player=None, name=None)
    # Without a name or an id nobody is "the same player": the loss is its own moment.
    assert story([nameless, lost]) == [Told(True), Told(True)]
    nan = replace(act(1, "Recovery"), start_x=math.nan, start_y=math.inf)
    assert story([nan]) == [Told(False, None)]
    assert story([replace(act(1, "Pass", "Successful"), time_seconds=math.nan)]) == [Told(True)]


def test_unknown_types_are_told() -> None:
    assert story([act(1, "Something New")]) == [Told(True)]
    assert decide([act(1, "Something New")], "key") == (Told(False),)


def test_decisions_are_causal() -> None:
    """An action's decision never depends on later actions: the batch so far decides
    the same as the closed batch (live and batch mode, any owner, agree)."""
    actions = sample_actions("events_metrica_3.csv")[:400]
    for density in DENSITIES:
        for start in range(0, 400, 10):
            batch = actions[start : start + 10]
            whole = decide(batch, density)
            for n in range(1, len(batch) + 1):
                assert decide(batch[:n], density) == whole[:n]


def _opened(actions: list[Action]) -> list[tuple[list[Action], Story]]:
    """The batches of 10 of ``actions``, each with the story as it opened."""
    out = []
    opening = new_story()
    for start in range(0, len(actions), 10):
        batch = actions[start : start + 10]
        out.append((batch, opening))
        for action in batch:
            opening = advance_story(opening, action)
    return out


@pytest.mark.parametrize("name", ["events_metrica_1.csv", "events_metrica_3.csv"])
def test_told_with_names_a_shown_action_of_the_batch_or_the_one_before(name: str) -> None:
    actions = sample_actions(name)
    shown = silent = across = 0
    decided: dict[int, Told] = {}
    for batch, opening in _opened(actions):
        told = decide(batch, "story", opening)
        ids = {a.action_id for a in batch}
        decided.update({a.action_id: t for a, t in zip(batch, told, strict=True)})
        for t in told:
            if t.shown:
                shown += 1
                assert t.told_with is None
            else:
                silent += 1
                assert t.told_with is None or decided[t.told_with].shown
                across += t.told_with is not None and t.told_with not in ids
        rows = shown_rows(batch, "story", opening)
        assert [r for r, t in enumerate(told, 1) if t.shown] == rows
    # Story tells fewer than half the actions, and still most of them are bound to a line.
    assert shown < (shown + silent) / 2
    assert across > 0  # moments split by a batch boundary are told with the batch before


@pytest.mark.parametrize("name", ["events_metrica_1.csv", "events_metrica_3.csv"])
def test_the_story_folds_the_decisions_the_batches_make(name: str) -> None:
    """Story.tail and Story.told (what the template rotates on) hold the same decisions
    as deciding each batch with the story it opened with: the fold and the lane agree."""
    batches = _opened(sample_actions(name))
    for (batch, opening), (_, after) in pairwise(batches):
        told = decide(batch, "story", opening)
        decided = [(a, t.shown, t.told_with) for a, t in zip(batch, told, strict=True)]
        assert decided[-TAIL:] == list(after.tail)
        assert len(after.tail) == TAIL
        counted = sum(n for _, n in after.told) - sum(n for _, n in opening.told)
        assert counted == sum(t.shown for t in told)


def test_a_duel_split_by_the_batch_boundary_is_told_once() -> None:
    """The batch's first action sees the end of the batch before (Story.tail)."""
    opening = advance_story(new_story(), rival(1, "Duel", "Unsuccessful"))
    assert decide([kim(2, "Duel", "Successful")], "story", opening) == (Told(False, 1),)
    # Without the story the first action has nothing before it: told on its own.
    assert decide([kim(2, "Duel", "Successful")], "story") == (Told(True),)
    lost = advance_story(new_story(), act(1, "Pass", "Unsuccessful"))
    assert decide([rival(2, "Interception")], "story", lost) == (Told(False, 1),)
    item = CommentaryItem(2, 2.0, "calm", "세징야가 끊어 냅니다.")
    assert told_in(item, [rival(2, "Interception")], "story", lost).told_with == 1


def test_a_ball_won_cleared_or_blocked_off_a_failed_pass_is_one_turnover() -> None:
    for winner in (
        rival(2, "Duel", "Successful"),
        rival(2, "Clearance", x=10.0),
        rival(2, "Block"),
        rival(2, "Aerial Clearance", "Successful"),
    ):
        assert story([act(1, "Pass", "Unsuccessful"), winner]) == [Told(True), Told(False, 1)]
    # A duel lost by the side that won the ball back is no turnover of that pass.
    told = story([act(1, "Pass", "Unsuccessful"), rival(2, "Duel", "Unsuccessful", x=10.0)])
    assert told[1].told_with != 1


def test_told_in_empties_a_silent_item() -> None:
    actions = [act(1, "Pass", "Successful"), kim(2, "Pass Received")]
    item = CommentaryItem(2, 2.0, "calm", "김민재가 받습니다.")
    silent = told_in(item, actions, "story")
    assert silent == CommentaryItem(2, 2.0, "calm", "", shown=False, told_with=1)
    assert told_in(item, actions, "every") == item
    assert told_in(item, [None, actions[1]], "story") == item  # a hole: shown, never lost
    first = CommentaryItem(1, 1.0, "calm", "손흥민의 패스.")
    assert told_in(first, actions[:1], "story") == first


def test_a_player_who_wins_the_ball_and_plays_on_is_told_once() -> None:
    told = story([rival(1, "Cross", "Successful", x=60.0), kim(2, "Interception"),
                  kim(3, "Pass", "Successful")])  # fmt: skip
    assert told[1:] == [Told(True), Told(False, 2)]
    # Not when his pass goes into the box: that is a moment of its own.
    told = story([rival(1, "Cross", "Successful", x=60.0), kim(2, "Interception", x=80.0),
                  kim(3, "Pass", "Successful", x=80.0, end=(95.0, 34.0))])  # fmt: skip
    assert told[2] == Told(True)
