"""One answer of the test-double LLM server (:mod:`.fake_llm`) on its way out.

Its tokens come out when the engine (:mod:`.engine`) says, or at a fixed pacing
(``ttft``, ``tpot``) when the server is set to one; a scripted fault may cut the stream
after some tokens. It renders itself as vLLM does: one ``chat.completion`` body, or
``chat.completion.chunk`` SSE events as HTTP chunks, with ``usage`` (cached prompt
tokens included).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pitchcast.testing.engine import AsyncEngine, EngineRequest

__all__ = ["Answer"]


@dataclass(slots=True)
class Answer:
    """One answer on its way out: the engine request and what to send."""

    engine: AsyncEngine
    request: EngineRequest
    pieces: list[str]
    model: str
    completion_id: str
    pacing: tuple[float, float] | None  # (ttft, tpot) in wall seconds, when fixed
    cut_after: int | None
    error: dict[str, Any] | None = None  # sent as an error event where the stream is cut
    created: int = 0

    def __post_init__(self) -> None:
        self.created = int(time.time())

    @property
    def finish_reason(self) -> str:
        return "stop" if self.request.eos else "length"

    def usage(self) -> dict[str, Any]:
        prompt = self.request.prompt_tokens
        completion = self.request.to_generate
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.request.cached_tokens},
        }

    def body(self) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.pieces)},
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage(),
        }

    def event(self, choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
        """One SSE event as an HTTP chunk."""
        chunk = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **(extra or {}),
        }
        data = b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    async def generate(self, emit: Callable[[list[int]], Awaitable[None]] | None = None) -> bool:
        """Wait for the answer's tokens (at the engine's times, or at the fixed pacing's)
        and hand each group of indexes to ``emit``; False when the stream is cut."""
        async for indexes in self._paced():
            cut = self.cut_after
            if cut is not None and any(cut <= i < len(self.pieces) for i in indexes):
                if emit is not None:
                    await emit([i for i in indexes if i < cut])
                return False
            if emit is not None:
                await emit(indexes)
        return True

    async def _paced(self) -> AsyncIterator[list[int]]:
        """The engine's groups of token indexes; with fixed pacing, each token held back
        until its due time (the ones already due go together)."""
        if self.pacing is None:
            async for indexes in self.engine.tokens(self.request):
                yield indexes
            return
        ttft, tpot = self.pacing
        started = time.monotonic()
        async for indexes in self.engine.tokens(self.request):
            pending = list(indexes)
            while pending:
                now = time.monotonic()
                due = [i for i in pending if started + ttft + tpot * i <= now]
                if due:
                    yield due
                    pending = pending[len(due) :]
                    continue
                await asyncio.sleep(started + ttft + tpot * pending[0] - now)
