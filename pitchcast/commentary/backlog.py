"""A live lane behind: which rows of its next burst the template writes. Pure, no I/O.

Rows are always served oldest first, and a row the LLM does not write within the live
deadline is written by the template (:mod:`.live`). With the backlog policy on
(``llm_live_backlog_minor_after_s`` > 0, off by default pending the measurement in
BENCHMARKS.md), a lane that is *behind* also gives its *minor* rows to the template, so
the LLM's time goes to the rows that matter and the next burst starts sooner.

* **Behind** (:func:`is_behind`): the burst's oldest row has waited at least
  ``after_s`` since it was handed off, or the burst has more rows than the lane's forks
  (they cannot all be written side by side: the last ones would wait a second round).
* **Minor** (:func:`is_minor`): a reception (``Pass Received``, ``Ball Received``) right
  after the completed pass it receives (the same team's ``Pass`` just before it), outside
  the box: the pass's line already says where the ball went. Only rows the lane asks for
  are judged, so at ``story`` density (where most receptions are silent already) the
  policy touches shown receptions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pitchcast.pitch import depth
from pitchcast.schemas.records import Action

__all__ = ["BACKLOG_REASON", "is_behind", "is_minor", "minor_rows"]

# The fallback reason of the rows this policy gives the template (fallbacks{reason}).
BACKLOG_REASON: Final = "backlog_minor"

_RECEPTIONS: Final = frozenset({"Pass Received", "Ball Received"})
_BOX: Final = frozenset({"box", "six"})


def is_behind(oldest_wait_s: float | None, pending: int, *, after_s: float, forks: int) -> bool:
    """Whether a lane is behind: its burst's oldest row waited ``oldest_wait_s`` (None:
    unknown), the burst has ``pending`` rows. ``after_s`` <= 0: the policy is off."""
    if after_s <= 0:
        return False
    return pending > forks or (oldest_wait_s is not None and oldest_wait_s >= after_s)


def is_minor(previous: Action | None, action: Action) -> bool:
    """A reception right after the completed pass it receives, outside the box."""
    if action.type_name not in _RECEPTIONS or previous is None:
        return False
    if previous.type_name != "Pass" or previous.result_name == "Unsuccessful":
        return False
    if previous.team_id != action.team_id:
        return False
    return depth(float(action.start_x), float(action.start_y)) not in _BOX


def minor_rows(actions: Sequence[Action | None], rows: Sequence[int]) -> list[int]:
    """The minor rows of ``rows`` (1-based positions of ``actions``, the batch so far)."""
    out = []
    for row in rows:
        action = actions[row - 1] if row - 1 < len(actions) else None
        previous = actions[row - 2] if row >= 2 else None
        if action is not None and is_minor(previous, action):
            out.append(row)
    return out
