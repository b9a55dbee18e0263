"""The template writer for a FRIEND who backs a team (PITCHCAST_FRIEND_SUPPORTS): the banks
and tones of "ours" and "theirs"; which side is backed is ``test_backing.py``'s."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.template import write_template_commentary, write_template_rows
from pitchcast.commentary.template.phrasebook import phrasebook
from pitchcast.schemas.records import Batch, Score
from pitchcast.settings import Persona
from tests.support.template_writer import line_action, line_batch, sample_match_batches


def _goal_batch(team_id: int, type_name: str = "Goal") -> Batch:
    """A goal by ``team_id`` of INFO (1 home, 2 away), with the score before it 0-0."""
    name = "울산 HD FC" if team_id == 1 else "포항 스틸러스"
    goal = line_action(
        1,
        type_name=type_name,
        team_id=team_id,
        team_name_ko=name,
        start_x=100.0,
        start_y=34.0,
        end_x=105.0,
        end_y=34.0,
        dx=5.0,
        dy=0.0,
    )
    home = int((team_id == 1) == (type_name == "Goal"))
    return line_batch([goal], score=Score(home, 1 - home))


def _written_from(text: str, bank: Iterable[Sequence[Any]]) -> bool:
    """``text`` starts as one of ``bank``'s phrasings reads, whatever fills its slots."""
    for slot in bank:
        for phrase in slot:
            parts = re.split(r"\{[^}]*\}", phrase.text)
            if re.match(".+?".join(re.escape(p) for p in parts), text):
                return True
    return False


@pytest.mark.parametrize("supports", ["울산 HD FC", "ulsan hd fc", "1"])
def test_a_backing_friend_celebrates_its_goal_and_regrets_the_other_s(supports: str) -> None:
    """The home team's goal is told from the backing bank for "ours" and is excited; the
    away team's goal from the bank for "theirs" and is disappointed; an own goal by a
    home player is a goal against: "ours" own-goal bank, disappointed."""
    backing = phrasebook().backing
    (ours,) = write_template_commentary(_goal_batch(1), "FRIEND", supports=supports)
    (theirs,) = write_template_commentary(_goal_batch(2), "FRIEND", supports=supports)
    (own,) = write_template_commentary(_goal_batch(1, "Own Goal"), "FRIEND", supports=supports)
    assert ours.tone == "excited" and _written_from(ours.description, backing["goal"]["ours"])
    assert "우리" in ours.description
    assert theirs.tone == "disappointed"
    assert _written_from(theirs.description, backing["goal"]["theirs"]), theirs.description
    assert own.tone == "disappointed"
    assert _written_from(own.description, backing["own_goal"]["ours"]), own.description
    # A neutral FRIEND is excited at both goals, in its own neutral bank.
    (neutral,) = write_template_commentary(_goal_batch(2), "FRIEND")
    assert neutral.tone == "excited"
    assert _written_from(neutral.description, phrasebook().lines("goal", "FRIEND"))


@pytest.mark.parametrize("supports", ["", "전북 현대", "3"])
def test_a_friend_is_neutral_when_unset_or_the_team_is_not_in_the_match(supports: str) -> None:
    """A team this match does not have backs nobody: the same lines as a neutral FRIEND."""
    for game in (1, 3):
        batch = sample_match_batches(game)[5]
        assert write_template_commentary(batch, "FRIEND", "story", supports) == (
            write_template_commentary(batch, "FRIEND", "story")
        )
    for team in (1, 2):
        batch = _goal_batch(team)
        assert write_template_commentary(batch, "FRIEND", supports=supports) == (
            write_template_commentary(batch, "FRIEND")
        )


@pytest.mark.parametrize("persona", ["CASTER", "ANALYST"])
def test_caster_and_analyst_never_take_a_side(persona: Persona) -> None:
    for team in (1, 2):
        batch = _goal_batch(team)
        assert write_template_commentary(batch, persona, supports="울산 HD FC") == (
            write_template_commentary(batch, persona)
        )


async def test_the_backend_and_the_live_rows_back_the_same_team() -> None:
    """TemplateBackend passes the setting on; live rows equal the whole batch's lines."""
    batch = _goal_batch(2)
    result = await TemplateBackend("every", "포항 스틸러스").write(batch, "FRIEND")
    rows = write_template_rows(batch, "FRIEND", [1], "every", "포항 스틸러스")
    assert result.items[0] == rows[1]
    assert result.items[0].tone == "excited" and "우리" in result.items[0].description
