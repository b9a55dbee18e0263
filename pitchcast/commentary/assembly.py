"""Assemble the outgoing ``commentary`` message of one (batch, persona)."""

from __future__ import annotations

from pitchcast.commentary.backends.base import CommentaryResult
from pitchcast.schemas.headers import COMMENTARY_HEADERS, commentary_headers
from pitchcast.schemas.records import Batch, Commentary, commentary_id_for
from pitchcast.schemas.timestamps import utc_now_iso

# The headers live in pitchcast.schemas.headers; re-exported here for existing callers.
__all__ = ["COMMENTARY_HEADERS", "build_commentary", "commentary_headers"]


def build_commentary(batch: Batch, persona: str, result: CommentaryResult) -> Commentary:
    """The authoritative record of one batch in one persona."""
    return Commentary(
        commentary_id=commentary_id_for(batch.game_id, batch.batch_index, persona),
        game_id=batch.game_id,
        batch_index=batch.batch_index,
        persona=persona,
        period_id=batch.period_id,
        first_action_id=batch.first_action_id,
        last_action_id=batch.last_action_id,
        close_reason=batch.close_reason,
        score=batch.score,
        items=result.items,
        source=result.source,
        fallback_reason=result.fallback_reason,
        model=result.model,
        usage=result.usage,
        created_at=utc_now_iso(),
    )
