"""Commentary orchestration: one call per (batch, persona) that always yields commentary.

:meth:`CommentaryService.write` never raises for a batch (only cancellation goes
through). In order, it:

1. returns :class:`AlreadyPublished` if the Redis published marker says the batch's
   ``commentary_id`` went out already (a redelivery after a crash);
2. returns the cached answer if the primary backend gives a cache key and Redis has it
   (``source="llm"``, the backend is not called);
3. writes from the template at once while the circuit breaker is open
   (``fallback_reason="circuit_open"``). A backend with several endpoints (openai)
   brings its own breaker, a view that is open only while every endpoint's breaker is;
   it records each attempt's verdict on its endpoint itself (``backends/failover.py``);
4. takes the per-batch lock ``<ns>:lock:<commentary_id>`` (SET NX, TTL = deadline +
   margin). A loser polls (50 ms doubling to ``lock_poll_max_s``) for the published
   marker (-> :class:`AlreadyPublished`), the cached answer (-> that answer) or the
   lock's release/expiry (-> it takes the lock and goes on). It never skips: at the
   deadline it writes from the template (``"lock_wait_deadline"``);
5. calls the primary through the guarded call (:mod:`.guarded`, shared with live
   mode: breaker, in-flight slot, verdict, figures), inside ``asyncio.timeout_at`` of
   the batch deadline (which started at step 1, so lock and slot waits count);
6. on success caches the answer (before releasing the lock, so a loser finds it);
   on ``LLMError`` / ``CommentaryRejected`` / deadline / anything unexpected, writes from
   the template: ``source="template"``, or ``"mixed"`` when the primary had already
   emitted lines: those are kept and the template fills only the remaining items. A
   permanent 4xx (``LLMRequestRefused``, reason ``"LLMRequestRefused: HTTP 400"``) is no
   verdict on the endpoint: it is up, the request was wrong;
7. releases the lock by owner token.

Every item of a returned result reaches ``on_item`` exactly once, in action order for
the items the service emits itself (cache hits, non-streaming answers, template fills);
an exception from ``on_item`` (but ``DeliveryFailed``) is logged and swallowed, and the
item is handed on again by the next :meth:`_LineSink.emit_rest` (the lanes' line book
holds no line it did not send, so it claims and sends it then). Delivery order in the
agent: ``is_published`` -> publish -> await the ack ->
:meth:`CommentaryService.mark_published` -> ack the input offset.

The template (fallback) backend is trusted never to fail; if it does, that error does
propagate, since there is nothing left to write the batch with.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from pitchcast.cache import NO_LOCK, RedisStore
from pitchcast.commentary.backends.base import CommentaryBackend, CommentaryResult, ItemCallback
from pitchcast.commentary.backends.endpoints import endpoint_label
from pitchcast.commentary.breaker import Breaker, CircuitBreaker
from pitchcast.commentary.guarded import GuardedLLM
from pitchcast.commentary.in_flight import SlotPool
from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import BREAKER_STATE_CODES, Metrics
from pitchcast.schemas.records import Batch, CommentaryItem, Usage, commentary_id_for
from pitchcast.settings import Persona, Settings

__all__ = [
    "AlreadyPublished",
    "CacheableBackend",
    "CommentaryService",
    "WriteOutcome",
    "current_line_source",
]

logger = logging.getLogger("pitchcast.commentary")

_CACHE_FORMAT = 1
_POLL_INITIAL_S = 0.05


@runtime_checkable
class CacheableBackend(Protocol):
    """A backend whose answers may be cached: the key covers everything that shapes the
    answer (model, sampling, persona, prompt version, prompt)."""

    def cache_key(
        self, batch: Batch, persona: Persona, rows: Sequence[int] | None = None
    ) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AlreadyPublished:
    """The commentary of this (batch, persona) was already published and acknowledged:
    the agent publishes nothing and just acks the input."""

    commentary_id: str


WriteOutcome = CommentaryResult | AlreadyPublished


_LINE_SOURCE: ContextVar[str] = ContextVar("pitchcast_line_source", default="llm")


def current_line_source() -> str:
    """Inside an ``on_item`` callback: who wrote the line (``llm`` or ``template``)."""
    return _LINE_SOURCE.get()


class _LineSink:
    """Wraps the agent's ``on_item``: remembers what went out, swallows its errors."""

    def __init__(self, on_item: ItemCallback | None, metrics: Metrics, cid: str) -> None:
        self._on_item = on_item
        self._metrics = metrics
        self._cid = cid
        # Who writes the lines handed on now: the primary (or the cache), then the template.
        self.source = "llm"
        # action_id -> the item as emitted; these lines are never rewritten.
        self.emitted: dict[int, CommentaryItem] = {}

    async def __call__(self, item: CommentaryItem) -> None:
        if item.action_id in self.emitted:
            return  # a backend repeating itself must not publish a line twice
        if self._on_item is not None:
            token = _LINE_SOURCE.set(self.source)
            try:
                await self._on_item(item)
            except DeliveryFailed:
                raise  # Kafka did not take the line: the worker stops, nothing is acked
            except Exception as exc:
                # The line did not go out (its book did not keep it): emit_rest, and
                # after it the lane, hand it on again.
                self._metrics.add("line_callback_errors")
                logger.warning(
                    "pitchcast.commentary.on_item_failed",
                    extra={
                        "commentary_id": self._cid,
                        "action_id": item.action_id,
                        "error_kind": type(exc).__name__,
                    },
                )
                return
            finally:
                _LINE_SOURCE.reset(token)
        self.emitted[item.action_id] = item

    async def emit_rest(self, items: tuple[CommentaryItem, ...]) -> None:
        for item in items:
            if item.action_id not in self.emitted:
                await self(item)


class _Deadline(Exception):
    """The lock wait ran out of the batch deadline."""


class CommentaryService:
    """What the commentary agent calls once per (batch, persona). See the module doc."""

    def __init__(
        self,
        primary: CommentaryBackend,
        fallback: CommentaryBackend,
        store: RedisStore,
        *,
        deadline_s: float = 25.0,
        max_in_flight: int = 8,
        breaker: Breaker | None = None,
        lock_ttl_s: float | None = None,
        lock_poll_max_s: float = 0.5,
        cache_ttl_s: int | None = None,
        metrics: Metrics | None = None,
        endpoint: str | None = None,
        mode: str = "batch",
    ) -> None:
        if deadline_s <= 0:
            raise ValueError("deadline_s must be > 0")
        self.primary = primary
        self.fallback = fallback
        self.store = store
        self.deadline_s = deadline_s
        # The lock must outlive a holder that runs to its deadline, or a loser would
        # take it while the holder is still calling the LLM.
        self.lock_ttl_s = lock_ttl_s if lock_ttl_s is not None else deadline_s + 5.0
        self.lock_poll_max_s = max(lock_poll_max_s, _POLL_INITIAL_S)
        self.cache_ttl_s = cache_ttl_s
        # Shared with the store by default, so one object holds all the stage's figures.
        self.metrics = metrics if metrics is not None else store.metrics
        self.mode = mode
        # The one guarded call to the primary, shared with live requests (live.py).
        self.guarded = GuardedLLM(
            breaker=breaker if breaker is not None else CircuitBreaker(5, 30.0),
            metrics=self.metrics,
            endpoint=endpoint or primary.name,
            backend=primary.name,
            max_in_flight=max_in_flight,
        )
        self.metrics.track(
            "breaker_state", lambda: BREAKER_STATE_CODES[self.breaker.state], endpoint=self.endpoint
        )

    @property
    def breaker(self) -> Breaker:
        """The primary's breaker (read by /ready and the metrics; verdicts: guarded.py)."""
        return self.guarded.breaker

    @property
    def in_flight(self) -> SlotPool:
        """The worker's in-flight slots, shared by batch and live requests."""
        return self.guarded.slots

    @property
    def endpoint(self) -> str:
        """The LLM endpoint as a metric label."""
        return self.guarded.endpoint

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        primary: CommentaryBackend,
        fallback: CommentaryBackend,
        store: RedisStore,
        *,
        metrics: Metrics | None = None,
    ) -> CommentaryService:
        """A service configured from settings; it owns (and closes) what it is given.
        A primary with its own ``breaker`` (one per endpoint) keeps it."""
        own = getattr(primary, "breaker", None)
        llm = settings.llm_backend == "openai"
        return cls(
            primary,
            fallback,
            store,
            deadline_s=settings.llm_batch_deadline_s,
            max_in_flight=settings.llm_max_in_flight,
            breaker=own
            if isinstance(own, Breaker)
            else CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_reset_s),
            lock_ttl_s=settings.llm_batch_deadline_s + settings.lock_ttl_margin_s,
            lock_poll_max_s=settings.lock_poll_max_s,
            cache_ttl_s=settings.cache_ttl_s,
            metrics=metrics,
            endpoint=endpoint_label(settings.llm_base_url, scheme=False) if llm else primary.name,
            mode=settings.llm_mode,
        )

    # --- the agent's calls -----------------------------------------------------

    async def write(
        self,
        batch: Batch,
        persona: Persona,
        *,
        on_item: ItemCallback | None = None,
        rows: Sequence[int] | None = None,
    ) -> WriteOutcome:
        """Commentary for one (batch, persona), or :class:`AlreadyPublished`. Never raises
        for a batch, except cancellation (and a failing template backend). ``rows``
        (density): the LLM is asked only for these rows (None: every row)."""
        cid = commentary_id_for(batch.game_id, batch.batch_index, persona)
        deadline = asyncio.get_running_loop().time() + self.deadline_s
        sink = _LineSink(on_item, self.metrics, cid)
        if self.primary.name == "template":
            sink.source = "template"
        try:
            return await self._write(batch, persona, cid, deadline, sink, rows)
        except DeliveryFailed:
            raise
        except Exception as exc:
            # A bug below must cost one batch its LLM answer, not the batch itself.
            logger.exception(
                "pitchcast.commentary.unexpected_error",
                extra={"commentary_id": cid, "error_kind": type(exc).__name__},
            )
            return await self._fallback(
                batch, persona, cid, sink, f"unexpected: {type(exc).__name__}"
            )

    async def is_published(self, commentary_id: str) -> bool:
        """Whether the commentary went out and was acknowledged (False without Redis)."""
        return await self.store.is_published(commentary_id)

    async def mark_published(self, commentary_id: str) -> None:
        """Call after the broker acknowledged the commentary, before acking the input."""
        await self.store.mark_published(commentary_id)

    async def warm_up(self, game_id: int | None = None) -> None:
        """Warm the primary (serverless cold start) if it can; failures are only logged.
        With ``game_id``, the primary may warm the endpoint that match will use."""
        warm = getattr(self.primary, "warm_up", None)
        if warm is None:
            return
        try:
            await (warm() if game_id is None else warm(game_id=game_id))
        except Exception as exc:
            logger.warning(
                "pitchcast.commentary.warm_up_failed",
                extra={"backend": self.primary.name, "error_kind": type(exc).__name__},
            )

    async def aclose(self) -> None:
        """Close the backends and the store."""
        for closer in (self.primary.aclose, self.fallback.aclose, self.store.aclose):
            try:
                await closer()
            except Exception as exc:
                logger.warning(
                    "pitchcast.commentary.close_failed", extra={"error_kind": type(exc).__name__}
                )

    # --- the steps ---------------------------------------------------------------

    async def _write(
        self,
        batch: Batch,
        persona: Persona,
        cid: str,
        deadline: float,
        sink: _LineSink,
        rows: Sequence[int] | None = None,
    ) -> WriteOutcome:
        key = self._cache_key(batch, persona, rows)
        early = await self._settled(batch, cid, key, sink)
        if early is not None:
            return early
        if self.breaker.state == "open":
            return await self._fallback(batch, persona, cid, sink, "circuit_open")

        try:
            token_or_outcome = await self._lock(batch, cid, key, deadline, sink)
        except _Deadline:
            return await self._fallback(batch, persona, cid, sink, "lock_wait_deadline")
        if not isinstance(token_or_outcome, str):
            return token_or_outcome
        token = token_or_outcome
        try:
            return await self._attempt(batch, persona, cid, key, deadline, sink, rows)
        finally:
            if token != NO_LOCK:
                await self.store.release_lock(cid, token)

    async def _settled(
        self, batch: Batch, cid: str, key: str | None, sink: _LineSink
    ) -> WriteOutcome | None:
        """Already published, or answered in the cache: nothing to write."""
        if await self.store.is_published(cid):
            logger.info("pitchcast.commentary.already_published", extra={"commentary_id": cid})
            return AlreadyPublished(cid)
        if key is None:
            return None
        cached = await self._cached(batch, cid, key)
        if cached is None:
            return None
        logger.info("pitchcast.commentary.cache_hit", extra={"commentary_id": cid})
        await sink.emit_rest(cached.items)
        return cached

    async def _lock(
        self, batch: Batch, cid: str, key: str | None, deadline: float, sink: _LineSink
    ) -> str | WriteOutcome:
        """The lock's owner token (or NO_LOCK), or what a loser found while waiting."""
        token = await self.store.acquire_lock(cid, self.lock_ttl_s)
        if token is not None:
            return token
        self.metrics.add("lock_waits")
        loop = asyncio.get_running_loop()
        started = loop.time()
        logger.info("pitchcast.commentary.lock_wait", extra={"commentary_id": cid})
        interval = _POLL_INITIAL_S
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                logger.warning(
                    "pitchcast.commentary.lock_wait_deadline",
                    extra={"commentary_id": cid, "waited_s": round(loop.time() - started, 3)},
                )
                raise _Deadline
            # Jitter keeps several losers from polling in lockstep.
            await asyncio.sleep(min(interval * random.uniform(0.8, 1.2), remaining))
            interval = min(interval * 2, self.lock_poll_max_s)
            found = await self._settled(batch, cid, key, sink)
            if found is not None:
                return found
            token = await self.store.acquire_lock(cid, self.lock_ttl_s)
            if token is not None:
                # The holder released (or died and the lock expired). It may have
                # cached its answer just before releasing: look once more.
                found = await self._settled(batch, cid, key, sink)
                if found is not None:
                    if token != NO_LOCK:
                        await self.store.release_lock(cid, token)
                    return found
                logger.info(
                    "pitchcast.commentary.lock_taken_over",
                    extra={"commentary_id": cid, "waited_s": round(loop.time() - started, 3)},
                )
                return token

    async def _attempt(
        self,
        batch: Batch,
        persona: Persona,
        cid: str,
        key: str | None,
        deadline: float,
        sink: _LineSink,
        rows: Sequence[int] | None = None,
    ) -> CommentaryResult:
        """One guarded LLM request (:mod:`.guarded`); the template on any failure."""
        primary = self.primary
        # Only a density that silences rows passes them (backends without it still work).
        extra: dict[str, Any] = {} if rows is None else {"rows": rows}
        called = await self.guarded.call(
            lambda on_item: primary.write(batch, persona, on_item=on_item, **extra),
            deadline=deadline,
            persona=persona,
            mode=self.mode,
            context={"commentary_id": cid},
            on_item=sink,
        )
        result = called.answer
        if result is None or called.reason is not None:
            return await self._fallback(batch, persona, cid, sink, called.reason or "unexpected")
        if key is not None:
            # Cache before the lock is released, so a waiting loser finds the answer.
            await self.store.set_answer(key, _dump_result(result), self.cache_ttl_s)
        await sink.emit_rest(result.items)
        return result

    async def _fallback(
        self, batch: Batch, persona: Persona, cid: str, sink: _LineSink, reason: str
    ) -> CommentaryResult:
        """The template writes the batch; lines the primary already emitted are kept."""
        written = await self.fallback.write(batch, persona)
        kept = dict(sink.emitted)
        if kept:
            items = tuple(kept.get(item.action_id, item) for item in written.items)
            primary_model = getattr(self.primary, "model", None) or self.primary.name
            result = CommentaryResult(
                items=items,
                source="mixed",
                model=f"{primary_model}+{written.model}",
                usage=Usage(),
                fallback_reason=reason,
            )
        else:
            result = CommentaryResult(
                items=written.items,
                source="template",
                model=written.model,
                usage=written.usage,
                fallback_reason=reason,
            )
        self.guarded.record_fallback(
            reason,
            result.source,
            {
                "commentary_id": cid,
                "game_id": batch.game_id,
                "batch_index": batch.batch_index,
                "persona": persona,
                "kept_lines": len(kept),
            },
        )
        sink.source = "template"
        await sink.emit_rest(result.items)
        return result

    # --- helpers -------------------------------------------------------------------

    def _cache_key(
        self, batch: Batch, persona: Persona, rows: Sequence[int] | None = None
    ) -> str | None:
        if not isinstance(self.primary, CacheableBackend):
            return None
        try:
            key = (
                self.primary.cache_key(batch, persona)
                if rows is None
                else self.primary.cache_key(batch, persona, rows)
            )
        except Exception as exc:
            logger.warning(
                "pitchcast.commentary.cache_key_failed",
                extra={"backend": self.primary.name, "error_kind": type(exc).__name__},
            )
            return None
        return key if isinstance(key, str) and key else None

    async def _cached(self, batch: Batch, cid: str, key: str) -> CommentaryResult | None:
        raw = await self.store.get_answer(key)
        if raw is None:
            return None
        try:
            return _load_result(raw, batch)
        except (ValueError, KeyError, TypeError) as exc:
            # An entry of another format or batch: a miss, and it gets overwritten.
            logger.warning(
                "pitchcast.commentary.cache_entry_invalid",
                extra={"commentary_id": cid, "error_kind": type(exc).__name__},
            )
            return None


def _dump_result(result: CommentaryResult) -> bytes:
    payload: dict[str, Any] = {
        "v": _CACHE_FORMAT,
        "model": result.model,
        "usage": result.usage,
        "items": result.items,
    }
    return orjson.dumps(payload)


def _load_result(raw: bytes, batch: Batch) -> CommentaryResult:
    data = orjson.loads(raw)
    if data.get("v") != _CACHE_FORMAT:
        raise ValueError("cache format")
    items = tuple(
        CommentaryItem(
            action_id=int(it["action_id"]),
            time_seconds=float(it["time_seconds"]),
            tone=it["tone"],
            description=str(it["description"]),
            shown=bool(it.get("shown", True)),
            told_with=it.get("told_with"),
        )
        for it in data["items"]
    )
    # A key collision or a stale format must never put another batch's lines out.
    if [it.action_id for it in items] != [a.action_id for a in batch.actions]:
        raise ValueError("cached items do not match the batch")
    return CommentaryResult(
        items=items,
        source="llm",
        model=str(data["model"]),
        # No tokens were spent this time.
        usage=Usage(),
        fallback_reason=None,
    )
