"""The LLM endpoints of the openai backend: a consistent-hash ring, a breaker each. Pure.

``PITCHCAST_LLM_BASE_URL`` lists one or more OpenAI-compatible endpoints (vLLM
replicas, a RunPod endpoint and a self-hosted one...). Each endpoint has its own API key
(:func:`pair_keys`), its own :class:`~pitchcast.commentary.breaker.CircuitBreaker`
and its own counters.

**Which endpoint a match uses.** Every endpoint is placed on a hash ring at
``POINTS_PER_ENDPOINT`` points (sha256 of ``"<url>#<i>"``); a match hashes to a point
(sha256 of ``"game:<game_id>"``) and its *preference order* is the distinct endpoints
met walking the ring clockwise from there. So a match always starts on the same
endpoint, whose prefix cache holds its conversation; the matches of one endpoint are
spread over all the others when it fails (each has its own second choice); adding or
removing an endpoint moves only the matches whose first choice it is.

**Failover and return.** Each attempt of a request goes to the first endpoint of the
order whose breaker lets it through (:meth:`EndpointRing.first`). After a failed
attempt the retry goes to the next endpoint after the one that failed, wrapping round
(:meth:`EndpointRing.after`): with two endpoints, A then B then A. An endpoint whose
breaker is open is skipped; when its reset time has passed, the next request of one
of its matches is the half-open probe, and once a probe succeeds the breaker closes
and its matches come back to it (their first choice again). A probe taken by one
request sends the others on to their next choice meanwhile.

Nothing here does I/O; the backend sends the requests and its retry loop
(:mod:`.failover`) reports each attempt's outcome to the endpoint
(:meth:`Endpoint.succeeded`, :meth:`Endpoint.failed`, :meth:`Endpoint.no_verdict`).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pitchcast.commentary.breaker import BreakerState, CircuitBreaker, FailureGroup
from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import pair_keys  # the settings check the same pairing

__all__ = [
    "POINTS_PER_ENDPOINT",
    "Endpoint",
    "EndpointBreakers",
    "EndpointRing",
    "endpoint_label",
    "pair_keys",
]

logger = logging.getLogger("pitchcast.llm")

POINTS_PER_ENDPOINT = 64
_ORDER_CACHE_MAX = 4096


def endpoint_label(url: str, *, scheme: bool = True) -> str:
    """``scheme://host[:port]/path`` of ``url``: what logs and errors name (never a
    user, password or query string). Without ``scheme``, ``host[:port]/path``: the
    ``endpoint`` label of the service's metrics (given the whole
    ``PITCHCAST_LLM_BASE_URL``, so with several endpoints it names the first and
    carries the rest of the list in its path)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    label = f"{netloc}{parts.path}".rstrip("/")
    return f"{parts.scheme}://{label}" if scheme else label


def _point(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass(eq=False, slots=True)
class Endpoint:
    """One OpenAI-compatible endpoint: URL, key, breaker and counters."""

    index: int
    base_url: str
    secret: str = field(repr=False)
    breaker: CircuitBreaker = field(repr=False)
    label: str = ""
    requests: int = 0
    failures: int = 0
    refusals: int = 0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.label = endpoint_label(self.base_url)

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:
        return f"Endpoint({self.label!r}, state={self.breaker.state!r})"

    # --- verdicts of one attempt ----------------------------------------------------

    def succeeded(self) -> None:
        """It answered (even if the answer then fails validation): the endpoint is up."""
        if self.breaker.record_success():
            logger.info("pitchcast.llm.endpoint_recovered", extra={"endpoint": self.label})

    def failed(self, error_kind: str, *, group: FailureGroup | None = None) -> None:
        """Timeout, connection error, 5xx, 429, a broken body: counts toward the breaker,
        once per ``group`` (requests sent together: a burst's forks)."""
        self.failures += 1
        if group is not None and not group.first_failure(self.breaker):
            self.breaker.release()  # no verdict: free a half-open probe it may hold
            return
        if self.breaker.record_failure():
            logger.warning(
                "pitchcast.llm.endpoint_down",
                extra={
                    "endpoint": self.label,
                    "error_kind": error_kind,
                    "failures": self.breaker.consecutive_failures,
                    "reset_after_s": self.breaker.reset_after_s,
                },
            )

    def refused(self) -> None:
        """A permanent 4xx: the endpoint is up but the request is wrong. No verdict."""
        self.refusals += 1
        self.breaker.release()

    def no_verdict(self) -> None:
        """The attempt ended without telling anything (cancelled): free a probe it held."""
        self.breaker.release()

    def stats(self) -> dict[str, object]:
        return {
            "endpoint": self.label,
            "state": self.breaker.state,
            "requests": self.requests,
            "failures": self.failures,
            "refusals": self.refusals,
            "times_opened": self.breaker.times_opened,
        }


class EndpointRing:
    """The endpoints on a consistent-hash ring; see the module docstring."""

    def __init__(
        self,
        urls: Sequence[str],
        secrets: Sequence[str],
        *,
        breaker_failures: int,
        breaker_reset_s: float,
        clock: Callable[[], float] = time.monotonic,
        points_per_endpoint: int = POINTS_PER_ENDPOINT,
    ) -> None:
        if not urls:
            raise ConfigurationError("at least one LLM endpoint URL is required")
        if len(secrets) != len(urls):
            raise ConfigurationError("one key (or an empty one) per endpoint URL")
        self.endpoints: tuple[Endpoint, ...] = tuple(
            Endpoint(
                index=i,
                base_url=url,
                secret=secret,
                breaker=CircuitBreaker(breaker_failures, breaker_reset_s, clock=clock),
            )
            for i, (url, secret) in enumerate(zip(urls, secrets, strict=True))
        )
        if len({e.base_url for e in self.endpoints}) != len(self.endpoints):
            raise ConfigurationError("PITCHCAST_LLM_BASE_URL lists an endpoint twice")
        ring = sorted(
            (_point(f"{e.base_url}#{i}"), e.index)
            for e in self.endpoints
            for i in range(points_per_endpoint)
        )
        self._points = [point for point, _ in ring]
        self._owners = [index for _, index in ring]
        self._orders: dict[str, tuple[Endpoint, ...]] = {}
        self.breakers = EndpointBreakers(self.endpoints)

    def __len__(self) -> int:
        return len(self.endpoints)

    def order(self, game_id: int | str) -> tuple[Endpoint, ...]:
        """The match's preference order: every endpoint once, first choice first."""
        key = str(game_id)
        cached = self._orders.get(key)
        if cached is not None:
            return cached
        if len(self.endpoints) == 1:
            order = self.endpoints
        else:
            start = bisect.bisect_left(self._points, _point(f"game:{key}"))
            seen: dict[int, None] = {}
            for step in range(len(self._points)):
                seen.setdefault(self._owners[(start + step) % len(self._points)])
                if len(seen) == len(self.endpoints):
                    break
            order = tuple(self.endpoints[i] for i in seen)
        if len(self._orders) >= _ORDER_CACHE_MAX:
            self._orders.clear()
        self._orders[key] = order
        return order

    def first(self, game_id: int | str, *, reserve: bool = True) -> Endpoint | None:
        """The first endpoint of the match's order that takes a request now (reserving a
        half-open probe unless ``reserve`` is False), or None if every breaker is open."""
        return self._scan(self.order(game_id), 0, reserve)

    def after(
        self, game_id: int | str, failed: Endpoint, *, reserve: bool = True
    ) -> Endpoint | None:
        """Where the retry after a failed attempt on ``failed`` goes: the next endpoint
        of the order that takes a request, wrapping round (``failed`` itself last)."""
        order = self.order(game_id)
        return self._scan(order, order.index(failed) + 1, reserve)

    @staticmethod
    def _scan(order: tuple[Endpoint, ...], start: int, reserve: bool) -> Endpoint | None:
        for step in range(len(order)):
            endpoint = order[(start + step) % len(order)]
            breaker = endpoint.breaker
            if breaker.allow() if reserve else breaker.available:
                return endpoint
        return None

    def stats(self) -> list[dict[str, object]]:
        """Per-endpoint state and counters (for the stats page and logs)."""
        return [e.stats() for e in self.endpoints]


class EndpointBreakers:
    """What the commentary service sees as "the" breaker: open only while every
    endpoint's breaker is (or is half-open with its probe taken).

    The backend records each attempt's verdict on its endpoint's own breaker, so the
    service's verdicts are ignored here (they would count a batch that failed over
    twice), and a probe is reserved by the backend when it sends, not by :meth:`allow`.
    """

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self._endpoints = tuple(endpoints)
        first = self._endpoints[0].breaker
        self.failure_threshold = first.failure_threshold
        self.reset_after_s = first.reset_after_s

    @property
    def state(self) -> BreakerState:
        states = [e.breaker.state for e in self._endpoints]
        if "closed" in states:
            return "closed"
        if any(e.breaker.available for e in self._endpoints):
            return "half_open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        return min(e.breaker.consecutive_failures for e in self._endpoints)

    @property
    def times_opened(self) -> int:
        return sum(e.breaker.times_opened for e in self._endpoints)

    def allow(self) -> bool:
        return any(e.breaker.available for e in self._endpoints)

    def record_success(self) -> bool:
        return False

    def record_failure(self) -> bool:
        return False

    def release(self) -> None:
        return None

    def __repr__(self) -> str:
        inner = ", ".join(f"{e.label}: {e.breaker.state}" for e in self._endpoints)
        return f"EndpointBreakers({inner})"
