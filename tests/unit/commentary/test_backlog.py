"""The backlog policy of a live lane: when it is behind, and which rows are minor."""

from __future__ import annotations

from dataclasses import replace

from pitchcast.commentary.backlog import is_behind, is_minor, minor_rows
from tests.support.commentary_batches import korean_batch

_BASE = korean_batch(2).actions[0]
PASS = replace(_BASE, type_name="Pass", result_name="Successful", start_x=40.0, start_y=30.0)
RECEIVED = replace(PASS, action_id=PASS.action_id + 1, type_name="Pass Received", result_name=None)


def test_behind_by_the_oldest_rows_wait_or_by_more_rows_than_forks() -> None:
    assert is_behind(2.5, 1, after_s=2.0, forks=5)
    assert not is_behind(1.5, 5, after_s=2.0, forks=5)
    assert is_behind(0.1, 6, after_s=2.0, forks=5)  # a second round of forks
    assert not is_behind(None, 3, after_s=2.0, forks=5)


def test_the_policy_off_is_never_behind() -> None:
    assert not is_behind(60.0, 10, after_s=0.0, forks=1)


def test_a_reception_right_after_its_completed_pass_is_minor() -> None:
    assert is_minor(PASS, RECEIVED)
    assert not is_minor(None, RECEIVED)  # its pass is not in the batch
    assert not is_minor(replace(PASS, result_name="Unsuccessful"), RECEIVED)
    assert not is_minor(replace(PASS, type_name="Cross"), RECEIVED)
    assert not is_minor(replace(PASS, team_id=PASS.team_id + 1), RECEIVED)
    assert not is_minor(PASS, replace(RECEIVED, start_x=95.0, start_y=34.0))  # in the box
    assert not is_minor(PASS, replace(RECEIVED, type_name="Shot"))


def test_minor_rows_judges_only_the_rows_asked_for() -> None:
    actions = [PASS, RECEIVED, PASS, RECEIVED, None]
    assert minor_rows(actions, [2, 3, 4]) == [2, 4]
    assert minor_rows(actions, [3]) == []
    assert minor_rows(actions, [1, 5]) == []  # a row not known yet is not minor
