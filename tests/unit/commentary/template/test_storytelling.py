"""The template and the match story: one line at a time, no memory, story told only when true."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from pitchcast.checks.shapes import line_shapes
from pitchcast.commentary.template import write_template_commentary, write_template_line
from pitchcast.commentary.template import writer as template_module
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.commentary.template.storytelling import PRESSURE_EVERY, pressing_team
from pitchcast.schemas.records import Action, Batch, CommentaryItem, MatchInfo, Score
from pitchcast.settings import PERSONAS, Persona
from pitchcast.story import Story, advance_story, new_story
from tests.support.commentary_batches import sample_batches as _sample_batches
from tests.support.template_writer import assert_same_lines_in_other_processes

HOME, AWAY = 1, 2
INFO = MatchInfo(
    game_id=77,
    home_team_id=HOME,
    away_team_id=AWAY,
    home_team_name="Ulsan HD FC",
    home_team_name_ko="울산 HD FC",
    away_team_name="Jeonbuk",
    away_team_name_ko="전북 현대",
)
NAMES = {(HOME, 7): "손흥민", (HOME, 10): "김민재", (HOME, 4): "황인범", (AWAY, 9): "주민규"}
NAMES |= {(AWAY, 8): "세징야", (AWAY, 3): "홍정호"}


def _action(n: int, type_name: str, *, team: int = HOME, player: int = 7, **fields: Any) -> Action:
    values: dict[str, Any] = {
        "game_id": 77,
        "action_id": n,
        "period_id": 1,
        "time_seconds": 30.0 * n,
        "team_id": team,
        "player_id": float(player),
        "result_name": None,
        "start_x": 60.0,
        "start_y": 30.0,
        "end_x": 75.0,
        "end_y": 32.0,
        "dx": 15.0,
        "dy": 2.0,
        "type_name": type_name,
        "player_name_ko": NAMES[(team, player)],
        "team_name_ko": "울산 HD FC" if team == HOME else "전북 현대",
    }
    values.update(fields)
    return Action(**values)


def _lines(actions: Sequence[Action], persona: Persona) -> list[str]:
    """The lines of ``actions``, one batch of ten at a time, each with its story at open."""
    story = new_story(INFO)
    lines: list[str] = []
    for start in range(0, len(actions), 10):
        chunk = tuple(actions[start : start + 10])
        batch = Batch(
            game_id=77, batch_index=start // 10, period_id=chunk[0].period_id,
            first_action_id=chunk[0].action_id, last_action_id=chunk[-1].action_id,
            close_reason="full", actions=chunk, score=Score(), match_info=INFO, story=story,
        )  # fmt: skip
        lines += [item.description for item in write_template_commentary(batch, persona)]
        for action in chunk:
            story = advance_story(story, action)
    return lines


def sample_batches(game: int, rename: Callable[[Action], Action] | None = None) -> list[Batch]:
    """The batches of sample match ``game`` (1 or 3) as the batcher closes them."""
    if rename is None:
        return _batches_of(game)
    return _sample_batches(f"events_metrica_{game}.csv", game, rename=rename)


@functools.cache
def _batches_of(game: int) -> list[Batch]:
    return _sample_batches(f"events_metrica_{game}.csv", game)


def _line_by_line(batch: Batch, persona: Persona) -> tuple[CommentaryItem, ...]:
    """What the live LLM stage gets: write_template_line per action with the story folded."""
    story = batch.story if batch.story is not None else new_story(batch.match_info)
    previous: Action | None = None
    items = []
    for action in batch.actions:
        items.append(
            write_template_line(
                action,
                persona,
                story=story,
                match_info=batch.match_info,
                previous=previous,
                game_id=batch.game_id,
            )
        )
        story = advance_story(story, action)
        previous = action
    return tuple(items)


# --- One line at a time, no memory --------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("game", [1, 3])
def test_line_by_line_equals_the_batch(game: int, persona: Persona) -> None:
    """write_template_line with the folded story writes write_template_commentary's lines."""
    for batch in sample_batches(game):
        assert _line_by_line(batch, persona) == write_template_commentary(batch, persona)


def test_lines_do_not_depend_on_what_was_written_before() -> None:
    """Batches written in reverse order (a restarted worker) read the same: no hidden memory."""
    batches = sample_batches(1)[:60]
    forward = [write_template_commentary(b, "FRIEND") for b in batches]
    backward = [write_template_commentary(b, "FRIEND") for b in reversed(batches)]
    assert forward == backward[::-1]


def test_story_batches_read_the_same_in_every_process() -> None:
    """Batches carrying their story, decoded in two interpreters with other hash seeds."""
    batches = sample_batches(1)[150:180] + sample_batches(3)[-30:]
    assert_same_lines_in_other_processes(batches, ("3", "9001"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_consecutive_receptions_rotate_through_the_bank(persona: Persona) -> None:
    """Forty receptions in a row: each phrasing returns only after the whole bank."""
    actions = []
    for n in range(80):
        passer, receiver = (7, 10) if n % 4 < 2 else (10, 7)
        actions.append(_action(n, "Pass", player=passer, result_name="Successful"))
    for i in range(1, 80, 2):  # every other action becomes the reception of the pass before
        receiver = 10 if actions[i - 1].player_id == 7.0 else 7
        actions[i] = _action(i, "Pass Received", player=receiver, start_x=75.0, end_x=75.0)
    lines = _lines(actions, persona)
    received = [line for action, line in zip(actions, lines, strict=True)
                if action.type_name == "Pass Received"]  # fmt: skip
    shapes = [line.replace("손흥민", "X").replace("김민재", "X") for line in received]
    for i, shape in enumerate(shapes):
        if shape in shapes[i + 1 : i + 24]:
            raise AssertionError(f"{shape!r} back within 24 receptions")


def test_line_without_a_story_has_no_story_and_no_score() -> None:
    """Without a story the line still comes, with neither story sentence nor score."""
    goal = _action(5, "Goal")
    for persona in PERSONAS:
        item = write_template_line(
            goal, persona, story=None, match_info=INFO, previous=None, game_id=77
        )
        assert " : " not in item.description and "번째" not in item.description
        assert item.tone == "excited"


def test_old_records_mid_match_tell_no_story() -> None:
    """A batch without a story that is not the match's first: score yes, story sentences no."""
    actions = (
        _action(100, "Shot", result_name="Off Target"),
        _action(101, "Shot", result_name="On Target"),
        _action(102, "Goal"),
    )
    batch = Batch(
        game_id=77, batch_index=9, period_id=1, first_action_id=100, last_action_id=102,
        close_reason="full", actions=actions, score=Score(2, 1), match_info=INFO,
    )  # fmt: skip
    for persona in PERSONAS:
        items = write_template_commentary(batch, persona)
        assert "2대 1" in items[2].description
        assert not any("번째" in i.description or "첫 골" in i.description for i in items)


# --- Story sentences, only where true ---------------------------------------------------------

_ORDINALS = {1: "첫 번째", 2: "두 번째", 3: "세 번째", 4: "네 번째", 5: "다섯 번째"}


def _goal_lines(actions: Sequence[Action], persona: Persona) -> list[str]:
    return [line for action, line in zip(actions, _lines(actions, persona), strict=True)
            if action.type_name in ("Goal", "Own Goal")]  # fmt: skip


def _padding(start: int, count: int) -> list[Action]:
    return [_action(start + i, "Pass", player=4, result_name="Successful") for i in range(count)]


@pytest.mark.parametrize("persona", PERSONAS)
def test_goals_are_counted_and_the_first_is_the_opener(persona: Persona) -> None:
    """The first goal says it is the first (no ordinal), the second says 두 번째, with the score."""
    actions = [
        *_padding(0, 5),
        _action(5, "Goal", player=7),
        *_padding(6, 7),
        _action(13, "Goal", team=AWAY, player=9),
    ]
    first, second = _goal_lines(actions, persona)
    assert "번째" not in first and "1대 0" in first
    assert "첫" in first or "선제골" in first or "균형이 처음으로" in first
    assert "두 번째" in second and "1대 1" in second


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_players_second_goal_recalls_his_first(persona: Persona) -> None:
    """손흥민's second goal recalls his first one's minute (전반 3분); an ordinal is 두."""
    actions = [
        *_padding(0, 5),
        _action(5, "Goal", player=7),  # 150 s: 전반 3분
        *_padding(6, 20),
        _action(26, "Goal", player=7),
    ]
    _, second = _goal_lines(actions, persona)
    assert "전반 3분" in second, second
    assert "번째" not in second or "두 번째" in second
    assert "2대 0" in second


@pytest.mark.parametrize("persona", PERSONAS)
def test_comeback_only_when_the_team_trailed(persona: Persona) -> None:
    """역전 is said of the goal that puts a trailing team ahead, never of a 2-0."""
    comeback = [
        _action(1, "Goal", team=AWAY, player=9),
        *_padding(2, 4),
        _action(6, "Goal", player=10),
        *_padding(7, 4),
        _action(11, "Goal", player=4),
    ]
    lines = _goal_lines(comeback, persona)
    assert not any(w in lines[1] for w in ("역전", "뒤집"))  # 1-1: level, not ahead
    assert any(w in lines[2] for w in ("역전", "뒤집")), lines[2]
    runaway = [_action(1, "Goal", player=7), *_padding(2, 4), _action(6, "Goal", player=10)]
    assert not any(w in line for line in _goal_lines(runaway, persona) for w in ("역전", "뒤집"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_own_goal_counts_for_the_other_team_without_crediting_its_scorer(persona: Persona) -> None:
    """An own goal is the match's n-th goal; the story never calls it the scorer's goal."""
    actions = [_action(1, "Goal", player=7), *_padding(2, 4), _action(6, "Own Goal", player=10)]
    _, own = _goal_lines(actions, persona)
    assert "두 번째" in own and "1대 1" in own
    assert "김민재의 선제골" not in own and "김민재의 오늘" not in own


@pytest.mark.parametrize("persona", PERSONAS)
def test_shots_are_counted_per_player(persona: Persona) -> None:
    """A player's first shot says nothing more; his second and third say 두/세 번째."""
    actions = [
        _action(1, "Shot", player=7, result_name="Off Target"),
        *_padding(2, 4),
        _action(6, "Shot", player=10, result_name="Off Target"),  # another player's first
        *_padding(7, 4),
        _action(11, "Shot", player=7, result_name="Blocked"),
        *_padding(12, 4),
        _action(16, "Shot", player=7, result_name="On Target"),
    ]
    shots = [line for action, line in zip(actions, _lines(actions, persona), strict=True)
             if action.type_name == "Shot"]  # fmt: skip
    assert "번째" not in shots[0] and "번째" not in shots[1]
    assert "두 번째" in shots[2] and "세 번째" in shots[3]


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_scorers_next_shot_mentions_his_goal(persona: Persona) -> None:
    """After 손흥민 scored, his next shot notes the goal (한 골) and its ordinal."""
    actions = [
        _action(1, "Shot", player=7, result_name="Goal"),
        _action(2, "Goal", player=7),
        *_padding(3, 4),
        _action(7, "Shot", player=7, result_name="Off Target"),
    ]
    last = _lines(actions, persona)[-1]
    assert "한 골" in last and "두 번째" in last, last


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_scoring_shot_leaves_the_story_to_its_goal_row(persona: Persona) -> None:
    """손흥민's second shot scores: its line tells no shot count (the Goal row right after it
    tells the goal), and the two lines share no sentence."""
    actions = [
        _action(1, "Shot", player=7, result_name="Off Target"),
        *_padding(2, 4),
        _action(6, "Shot", player=7, result_name="Goal"),
        _action(7, "Goal", player=7),
    ]
    lines = _lines(actions, persona)
    shot, goal = lines[-2], lines[-1]
    assert "번째" not in shot and "골을 기록" not in shot, shot
    names = ["손흥민", "울산 HD FC", "전북 현대"]
    assert not set(line_shapes(shot, names)) & set(line_shapes(goal, names)), (shot, goal)


@pytest.mark.parametrize("persona", PERSONAS)
def test_story_sentences_turn_with_the_match_not_the_player(persona: Persona) -> None:
    """Two players' second shots a few actions apart take different story sentences, and
    two goals in a row that mean the same (2-0, then 3-0) say it differently."""
    names = ["손흥민", "김민재", "울산 HD FC", "전북 현대"]
    shots = [
        _action(1, "Shot", player=7, result_name="Off Target"),
        _action(2, "Shot", player=10, result_name="Off Target"),
        *_padding(3, 3),
        _action(6, "Shot", player=7, result_name="Blocked"),
        _action(7, "Shot", player=10, result_name="Blocked"),
    ]
    lines = _lines(shots, persona)
    seventh, tenth = lines[-2], lines[-1]
    assert "두 번째" in seventh and "두 번째" in tenth
    assert not set(line_shapes(seventh, names)) & set(line_shapes(tenth, names)), lines[-2:]
    book = phrasebook()
    said = [
        template_module._score_slots(Score(n, 0), 0, INFO, persona, book, n - 1)["상황"]
        for n in (2, 3)  # the second and the third goal: both extend the lead
    ]
    assert said[0] != said[1], said


@pytest.mark.parametrize("persona", PERSONAS)
def test_cautions_second_of_a_player_and_of_a_team(persona: Persona) -> None:
    """The team's second caution says 두 번째; a player's second recalls his first's minute."""
    actions = [
        _action(1, "Foul", player=7, result_name="Yellow_Card"),  # 전반 1분
        *_padding(2, 4),
        _action(6, "Foul", player=10, result_name="Yellow_Card"),  # team's second
        *_padding(7, 30),
        _action(37, "Foul", player=7, result_name="Second_Yellow_Card"),
        _action(38, "Foul", team=AWAY, player=9, result_name="Yellow_Card"),  # away's first
    ]
    lines = _lines(actions, persona)
    first, team_second, player_second, away_first = lines[0], lines[5], lines[36], lines[37]
    assert "번째" not in first and "번째" not in away_first
    assert "두 번째 경고" in team_second, team_second
    assert "전반 1분" in player_second, player_second


def _pressing_story() -> Story:
    """Five minutes in which the home team plays in the final third and the away team does not."""
    story = new_story(INFO)
    n = 0
    for minute in range(5):
        for i in range(8):
            team, x = (HOME, 85.0) if i < 6 else (AWAY, 30.0)
            player = 7 if team == HOME else 9
            action = _action(n, "Pass", team=team, player=player, result_name="Successful",
                             start_x=x, time_seconds=60.0 * minute + i)  # fmt: skip
            story = advance_story(story, action)
            n += 1
    return story


def _pressure_sentences(persona: Persona, team: str) -> list[str]:
    bank = phrasebook().story["story_pressure"][persona]
    return [p.text.format_map({"팀": template_module._Slot(team)}) for p in bank]


def test_pressure_is_said_of_the_pressing_team_only_and_sparingly() -> None:
    """The remark comes on the pressing team's routine play at the match's every 25th action."""
    story = _pressing_story()
    assert pressing_team(story) == HOME
    story = replace(story, actions=PRESSURE_EVERY * 2)  # on a multiple: the remark may come
    off_turn = replace(story, actions=PRESSURE_EVERY * 2 + 1)
    home = _action(500, "Pass", player=7, result_name="Successful", time_seconds=299.0)
    away = _action(500, "Pass", team=AWAY, player=9, result_name="Successful", time_seconds=299.0)
    for persona in PERSONAS:
        remarks = _pressure_sentences(persona, "울산 HD FC") + _pressure_sentences(
            persona, "전북 현대"
        )

        def told(action: Action, at: Story, persona: Persona, remarks: list[str]) -> bool:
            item = write_template_line(action, persona, story=at, match_info=INFO, game_id=77)
            return any(remark in item.description for remark in remarks)

        assert told(home, story, persona, remarks)
        assert not told(away, story, persona, remarks)  # the other team is not pressing
        assert not told(home, off_turn, persona, remarks)  # not every action: sparingly


def test_no_pressure_in_a_balanced_spell() -> None:
    """When both teams play as much in the final third, nobody is said to be pressing."""
    story = new_story(INFO)
    for n in range(40):
        team = HOME if n % 2 else AWAY
        action = _action(n, "Pass", team=team, player=7 if team == HOME else 9,
                         result_name="Successful", start_x=80.0, time_seconds=6.0 * n)  # fmt: skip
        story = advance_story(story, action)
    assert pressing_team(story) is None


@pytest.mark.parametrize("persona", PERSONAS)
def test_story_numbers_on_the_sample_matches_are_true(persona: Persona) -> None:
    """Every ordinal a sample-match line states matches the story: goals, shots, cautions."""
    words = {v.split()[0]: k for k, v in _ORDINALS.items()} | {"첫": 1}
    for game in (1, 3):
        story_at: dict[int, Story] = {}
        for batch in sample_batches(game):
            story = batch.story
            assert story is not None
            items = write_template_commentary(batch, persona)
            for action, item in zip(batch.actions, items, strict=True):
                story_at[action.action_id] = story
                after = advance_story(story, action)
                for match in re.finditer(r"(\S+) 번째 (골|득점|슈팅|슛|경고)", item.description):
                    n = words[match.group(1)]
                    thing = match.group(2)
                    if thing in ("골", "득점"):
                        key = (action.player_id, action.team_id)
                        own = sum(1 for g in after.goals
                                  if g.player_key and g.player_key.startswith(f"id:{key[0]:g}:")
                                  and not g.own_goal)  # fmt: skip
                        assert n in (len(after.goals), own), item.description
                    elif thing in ("슈팅", "슛"):
                        assert n == after.player(_key(action)).shots, item.description
                    else:
                        cautions = [c for c in after.cards if c.team_id == action.team_id]
                        assert n in (len(cautions), 2), item.description
                story = after


def _key(action: Action) -> str:
    return f"id:{action.player_id:g}:{action.team_id}"


@pytest.mark.parametrize("game", [1, 3])
def test_goal_lines_with_the_story_show_the_score_after_the_goal(game: int) -> None:
    """With the story, each goal line shows the score the story has right after that goal."""
    seen = 0
    for batch in sample_batches(game):
        info = batch.match_info
        assert info is not None and batch.story is not None
        story = batch.story
        for persona in PERSONAS:
            items = write_template_commentary(batch, persona)
            story = batch.story
            for action, item in zip(batch.actions, items, strict=True):
                story = advance_story(story, action)
                if action.type_name in ("Goal", "Own Goal"):
                    score = story.score
                    # Read as a broadcast reads it (issue 16): "2대 1", home first.
                    assert f"{score.home}대 {score.away}" in item.description
                    seen += 1
    assert seen == 3 * (4 if game == 1 else 2)


@pytest.mark.parametrize("game", [1, 3])
def test_story_sentences_take_the_right_particles(game: int) -> None:
    """With Korean names, particles after names are right in story sentences too."""
    from tests.support.template_writer import (
        KOREAN_PLAYERS,
        KOREAN_TEAMS,
        TEAM_SOUNDS,
        expected_particle_error,
    )

    names = list(KOREAN_PLAYERS)
    by_player: dict[tuple[int, float | None], str] = {}
    home_name, away_name = KOREAN_TEAMS[game]

    def rename(action: Action) -> Action:
        key = (action.team_id, action.player_id)
        by_player.setdefault(key, names[len(by_player) % len(names)])
        team = home_name if action.team_name_ko in ("Home", "Team A") else away_name
        return replace(action, player_name_ko=by_player[key], team_name_ko=team)

    batches = sample_batches(game, rename=rename)
    batches = [
        replace(
            b,
            match_info=replace(
                b.match_info,  # type: ignore[arg-type]
                home_team_name_ko=home_name,
                away_team_name_ko=away_name,
            ),
        )
        for b in batches
    ]
    sounds = KOREAN_PLAYERS | TEAM_SOUNDS
    errors = []
    told = 0
    for persona in PERSONAS:
        for batch in batches:
            for item in write_template_commentary(batch, persona):
                told += "번째" in item.description
                for name, sound in sounds.items():
                    error = expected_particle_error(item.description, name, sound)
                    if error:
                        errors.append(error)
    assert told > 20
    assert not errors, errors[:5]


def test_random_actions_line_by_line_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    """Odd actions through write_template_line, with a folded story or none, give clean lines."""
    import logging
    import random

    from pitchcast.schemas.vocabulary import RESULT_NAMES, TYPE_NAMES

    rng = random.Random(4711)
    types = [*sorted(TYPE_NAMES), "Unknown Type", ""]
    results = [None, *sorted(RESULT_NAMES), "Odd", ""]
    names = [None, "", "손흥민", "Player 10", "{선수:이/가}", "⚽", "王大明", "Ä" * 60]
    numbers = [0.0, 52.5, 105.0, 68.0, float("nan"), float("inf"), -1e9, 1e12]
    caplog.set_level(logging.WARNING, logger="pitchcast.commentary")
    for persona in PERSONAS:
        story: Story | None = new_story(INFO)
        previous = None
        for n in range(400):
            action = Action(
                game_id=77, action_id=n, period_id=rng.choice([1, 2, 3, 5, 9]),
                time_seconds=rng.choice([0.0, 61.0, 1e9, float("nan")]),
                team_id=rng.choice([HOME, AWAY, 5]),
                player_id=rng.choice([None, 7.0, float("nan"), 1e20]),
                result_name=rng.choice(results), start_x=rng.choice(numbers),
                start_y=rng.choice(numbers), end_x=rng.choice(numbers), end_y=rng.choice(numbers),
                dx=0.0, dy=0.0, type_name=rng.choice(types),
                player_name_ko=rng.choice(names), team_name_ko=rng.choice(names),
            )  # fmt: skip
            given = story if n % 7 else None
            item = write_template_line(
                action, persona, story=given, match_info=INFO, previous=previous, game_id=77
            )
            assert item.description and len(item.description) <= 120
            assert item.action_id == n
            story = advance_story(story, action) if story is not None else None
            previous = action
    assert not caplog.records, [r.getMessage() for r in caplog.records[:3]]
