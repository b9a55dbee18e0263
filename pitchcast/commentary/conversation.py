"""The live prompt: one batch as a conversation that only grows.

In live mode the LLM writes a batch's lines while its actions arrive. Each request asks
for the lines of the actions that arrived since the previous one, and its prompt is the
previous request's prompt plus the previous answer plus the new data, so vLLM's prefix
cache serves everything but the new tail (a byte-identical prefix)::

    system     static per persona (live rules)                          ─┐
    user       [경기] [팀] [스코어] [선수] [액션] rows 1..a  [요청] 1~a      │ the same bytes
    assistant  the lines of rows 1..a (as the model wrote them)           │ in every later
    user       [선수] new players  [스코어] if it changed  [액션] rows a+1..b │ request of the
    assistant  ...                                                        ─┘ batch
    user       ... the new rows  [요청] the new rows

Nothing earlier is ever rewritten: a new player gets the next reference (``P7``), a goal
shows the new score in a later turn, and the lines already written stay as they were.
Rows are positions in the batch + 1, as in batch mode. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from pitchcast.commentary.prompt import (
    ACTION_COLUMNS,
    SECTION_ACTIONS,
    action_row,
    backing_of,
    csv_block,
    header_blocks,
    player_block,
    request_line,
    score_line,
    system_prompt,
)
from pitchcast.commentary.slots import SlotTable, build_slots
from pitchcast.commentary.template.storytelling import stories_before
from pitchcast.schemas.records import Action, Batch, BatchOpening, Score
from pitchcast.settings import Persona
from pitchcast.story import Story, advance_story, new_story, notable_players

__all__ = [
    "LiveTurn",
    "batch_so_far",
    "build_live_messages",
    "fork_request",
    "render_answer",
    "score_before",
]


@dataclass(frozen=True, slots=True)
class LiveTurn:
    """One earlier request of the batch: the rows it asked for and the answer kept."""

    rows: tuple[int, ...]
    answer: str


def batch_so_far(
    game_id: int, batch_index: int, opening: BatchOpening, actions: Sequence[Action]
) -> Batch:
    """A batch that is still filling, as the live prompt and validation see it: its
    actions so far, the story at its open, and the score after its last action so far."""
    if not actions:
        raise ValueError("a batch so far has at least one action")
    story = opening.story
    for action in actions:
        story = advance_story(story, action)
    names = [n for a in actions for n in (a.player_name_ko, a.team_name_ko) if n]
    return Batch(
        game_id=game_id,
        batch_index=batch_index,
        period_id=actions[0].period_id,
        first_action_id=actions[0].action_id,
        last_action_id=actions[-1].action_id,
        close_reason="full",
        actions=tuple(actions),
        score=story.score,
        match_info=opening.match_info,
        roster=tuple(dict.fromkeys([*opening.roster, *names])),
        story=opening.story,
    )


def render_answer(lines: Sequence[tuple[int, str, str]], *, structured: bool) -> str:
    """An assistant message for ``(row, tone, text)`` lines, in the format asked for."""
    if structured:
        payload = {"lines": [[row, tone, text] for row, tone, text in lines]}
        return orjson.dumps(payload).decode()
    return "\n".join(f"{row}|{tone}|{text}" for row, tone, text in lines)


def score_before(batch: Batch, row: int) -> Score:
    """The running score just before row ``row`` (1-based) of ``batch``."""
    story: Story = batch.story if batch.story is not None else new_story(batch.match_info)
    for action in batch.actions[: row - 1]:
        story = advance_story(story, action)
    return story.score


def _turn_text(
    batch: Batch,
    slots: SlotTable,
    rows: Sequence[int],
    *,
    first: bool,
    introduced: set[str],
    shown_score: Score | None,
    after: int = 0,
) -> tuple[str, Score]:
    # Density: the actions since the previous turn (``after``) are all shown as data;
    # only ``rows`` are asked for (the others are told with those lines, or not at all).
    context = list(range(after + 1, rows[-1] + 1))
    blocks: list[str] = []
    score = score_before(batch, context[0])
    new_refs: list[str] = []
    if first:
        blocks += header_blocks(batch, slots, score)
        # The players the story names come first in the table (see slots.build_slots),
        # whether or not they act in the batch: turn 1 must not depend on later actions.
        for key, _name, _team in notable_players(batch.story):
            ref = slots.player_ref_by_key.get(key)
            if ref is not None and ref not in new_refs:
                new_refs.append(ref)
    elif score != shown_score:
        blocks.append(score_line(score, slots))
    for row in context:
        ref = slots.player_ref(batch.actions[row - 1])
        if ref is not None and ref not in introduced and ref not in new_refs:
            new_refs.append(ref)
    if new_refs:
        blocks.append(player_block(slots, new_refs))
        introduced.update(new_refs)
    stories = list(stories_before(batch.story or new_story(batch.match_info), batch.actions))
    action_rows = [
        action_row(row, batch.actions[row - 1], slots, stories[row - 1]) for row in context
    ]
    blocks.append(SECTION_ACTIONS + "\n" + csv_block(ACTION_COLUMNS, action_rows))
    blocks.append(request_line(rows))
    return "\n".join(blocks), score


def build_live_messages(
    batch: Batch,
    persona: Persona,
    turns: Sequence[LiveTurn],
    rows: Sequence[int],
    *,
    structured: bool = False,
    supports: str = "",
) -> list[dict[str, str]]:
    """The conversation for the next request of a batch (``batch`` holds its actions so far).
    ``supports``: the team a FRIEND backs (its system prompt names the side).

    ``turns`` are the earlier requests with their kept answers; ``rows`` the new ones.
    Together they ask for rows in increasing order; a row between two asked ones is shown
    as data in the later turn but not asked for (density: told with another line).
    """
    covered = [r for turn in turns for r in turn.rows] + list(rows)
    increasing = all(a < b for a, b in itertools.pairwise(covered))
    if not rows or not covered or covered[0] < 1 or not increasing:
        raise ValueError(f"turns and rows must ask for rows 1.. in increasing order, got {covered}")
    if covered[-1] > len(batch.actions):
        raise ValueError(f"row {covered[-1]} is past the batch's {len(batch.actions)} actions")
    view = replace(batch, actions=batch.actions[: covered[-1]])
    slots = build_slots(view)
    backs = backing_of(batch, persona, supports)
    system = system_prompt(persona, structured=structured, live=True, backs=backs)
    messages = [{"role": "system", "content": system}]
    introduced: set[str] = set()
    shown: Score | None = None
    after = 0
    for index, turn in enumerate(turns):
        text, shown = _turn_text(
            view, slots, turn.rows, first=index == 0, introduced=introduced, shown_score=shown,
            after=after,
        )  # fmt: skip
        after = turn.rows[-1]
        messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": turn.answer})
    text, _ = _turn_text(
        view, slots, list(rows), first=not turns, introduced=introduced, shown_score=shown,
        after=after,
    )  # fmt: skip
    messages.append({"role": "user", "content": text})
    return messages


def fork_request(
    messages: list[dict[str, str]], row: int, *, structured: bool
) -> tuple[list[dict[str, str]], dict[str, Any], str]:
    """The last part of one fork's request: (messages, extra body fields, pre-filled text).

    Structured outputs: the messages unchanged (every fork's prompt is the same bytes)
    and the JSON schema of ``row`` alone names the row (its ``response_format``). vLLM
    applies the schema's grammar to the generated tokens only, from its start, so it
    cannot follow a pre-filled partial JSON answer. Lines: an assistant turn pre-filled
    with the row's marker (``7|``) that vLLM continues (``continue_final_message``,
    which excludes ``add_generation_prompt``) up to the end of the line (``stop``).
    DESIGN.md section 4,
    "A burst written side by side", cites vLLM's and RunPod worker-vllm's sources.
    """
    if structured:
        return messages, {}, ""
    marker = f"{row}|"
    extra = {
        "continue_final_message": True,
        "add_generation_prompt": False,
        "stop": ["\n"],
    }
    return [*messages, {"role": "assistant", "content": marker}], extra, marker
