"""The live prompt: a conversation that only grows, byte for byte."""

from __future__ import annotations

import itertools

import pytest

from pitchcast.commentary.conversation import LiveTurn, build_live_messages, render_answer
from pitchcast.commentary.prompt import (
    SECTION_ACTIONS,
    SECTION_PLAYERS,
    SECTION_SCORE,
    SECTION_STORY,
    build_messages,
    request_line,
)
from tests.support.commentary_batches import sample_batches

BATCHES = sample_batches()


def _grow(batch, splits: list[list[int]]):  # type: ignore[no-untyped-def]
    """Every request's messages when a batch arrives in these bursts of rows."""
    turns: list[LiveTurn] = []
    requests = []
    for rows in splits:
        messages = build_live_messages(batch, "CASTER", turns, rows)
        requests.append(messages)
        answer = render_answer([(r, "calm", f"{{P1}} 줄 {r}") for r in rows], structured=False)
        turns.append(LiveTurn(tuple(rows), answer))
    return requests


@pytest.mark.parametrize("index", [0, 5, 120, 246])
def test_each_request_extends_the_previous_one_byte_for_byte(index: int) -> None:
    """Everything a request sends is the previous request plus its answer plus new data."""
    batch = BATCHES[index]
    n = len(batch.actions)
    splits = [[1], [2, 3], list(range(4, n))] + ([[n]] if n > 3 else [])
    splits = [s for s in splits if s]
    requests = _grow(batch, splits)
    for before, after in itertools.pairwise(requests):
        assert after[: len(before)] == before
        assert after[len(before)]["role"] == "assistant"
        assert after[-1]["role"] == "user"


def test_the_header_comes_once_and_new_players_are_introduced_once() -> None:
    """Turn 1 carries match, teams, score and story; later turns only what is new."""
    batch = BATCHES[120]
    first, *rest = _grow(batch, [[1, 2], [3, 4, 5], [6, 7, 8, 9, 10]])[-1][1::2]
    assert first["content"].startswith("[경기]") and SECTION_STORY in first["content"]
    later = [m["content"] for m in rest]
    assert all(not text.startswith("[경기]") for text in later)
    refs = []
    for text in [first["content"], *later]:
        if SECTION_PLAYERS in text:
            block = text.split(SECTION_PLAYERS + "\n", 1)[1].split("\n[", 1)[0]
            refs += [row.split(",")[0] for row in block.splitlines()[1:]]
    assert len(refs) == len(set(refs)), "a player's reference is defined once"


def test_a_goal_shows_the_new_score_in_the_next_turn() -> None:
    """The score line is appended after a goal, never rewritten in the header."""
    batch = next(b for b in BATCHES if any(a.type_name == "Goal" for a in b.actions[:-1]))
    goal_row = next(i for i, a in enumerate(batch.actions, 1) if a.type_name == "Goal")
    splits = [list(range(1, goal_row + 1)), list(range(goal_row + 1, len(batch.actions) + 1))]
    last = _grow(batch, splits)[-1]
    assert SECTION_SCORE in last[-1]["content"]


def test_rows_must_continue_the_earlier_turns() -> None:
    """A repeat, a row going back or past the batch is refused."""
    batch = BATCHES[0]
    for turns, rows in (([(1,)], [1]), ([(2,)], [1]), ([], [0]), ([], [len(batch.actions) + 1])):
        with pytest.raises(ValueError):
            build_live_messages(batch, "CASTER", [LiveTurn(t, "x") for t in turns], rows)


def test_rows_between_asked_ones_are_data_but_not_asked_for() -> None:
    """Density: rows told with another line are shown in the turn's action table, and
    only the shown rows are requested; the prompt still only grows."""
    batch = BATCHES[0]
    first = build_live_messages(batch, "CASTER", [], [1])
    turns = [LiveTurn((1,), "1|calm|x")]
    later = build_live_messages(batch, "CASTER", turns, [4, 6])
    assert later[: len(first)] == first
    table = later[-1]["content"].split(SECTION_ACTIONS + "\n")[1].splitlines()
    assert [line.split(",")[0] for line in table[1:6]] == ["2", "3", "4", "5", "6"]
    assert table[6:] == [request_line([4, 6])]


def test_live_and_batch_prompts_share_nothing_but_the_data() -> None:
    """Live mode has its own static system prompt (the rules of the growing conversation)."""
    batch = BATCHES[0]
    live = build_live_messages(batch, "CASTER", [], list(range(1, 11)))
    whole = build_messages(batch, "CASTER")
    assert live[0]["content"] != whole[0]["content"]
    assert live[1]["content"] == whole[1]["content"]
