"""Redis in front of the commentary stage: answer cache, per-batch lock, published marker.

Redis is an optimisation and a coordination aid, never a dependency the pipeline stops
for. Every method of :class:`RedisStore` degrades to "no Redis" when Redis cannot be
reached (``get_answer`` -> ``None``, ``set_answer`` -> no-op, ``acquire_lock`` ->
:data:`NO_LOCK`, ``is_published`` -> ``False``); it logs one warning per outage
(``pitchcast.redis_unavailable``) and one line when Redis answers again
(``pitchcast.redis_recovered``), and counts in :attr:`RedisStore.metrics`
(``cache_lookups``, ``redis_outages``, ``redis_errors``, ``redis_calls_skipped``, and
the ``redis_up`` gauge).

Redis errors are translated here, at the edge: callers never see a ``redis`` exception
type (only cancellation propagates). Keys are namespaced::

    <ns>:answer:<cache key>         validated LLM answer (bytes), TTL cache_ttl_s (1 h)
    <ns>:lock:<name>                owner token, SET NX PX, released by compare-and-delete
    <ns>:published:<commentary_id>  "1", TTL published_ttl_s (7 days)
    <ns>:lines:<commentary_id>      hash: "<line_index>" -> the line as first written,
                                    "<line_index>:p" -> "1" once published; TTL lines_ttl_s

A line is written into its hash with HSETNX: the first writer wins and everyone gets
the winner's text back, so a line id never carries two texts, across crashes and
concurrent workers alike.

TLS: a ``rediss://`` URL connects over TLS, verifying the server's certificate (and
host name) against ``ssl_cafile`` or the system CAs, and presenting ``ssl_certfile`` /
``ssl_keyfile`` when the server asks for client certificates. The password comes from
``password`` (``PITCHCAST_REDIS_PASSWORD``) or the URL (percent-encoded).

Neither the URL's credentials nor the password ever reach a log line, an error or a
repr: they name the target as ``host:port/db`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pitchcast.exceptions import CacheUnavailable, ConfigurationError
from pitchcast.metrics import Metrics

if TYPE_CHECKING:
    from pitchcast.settings import Settings

__all__ = ["NO_LOCK", "RedisStore"]

logger = logging.getLogger("pitchcast.cache")

T = TypeVar("T")

#: Returned by :meth:`RedisStore.acquire_lock` when Redis is absent: "proceed without a
#: lock". Real tokens are 32 hex characters, so this can never be an owner token.
NO_LOCK: Final = "no-lock"

_DEFAULT_PUBLISHED_TTL_S: Final = 7 * 24 * 3600

# Compare-and-delete: only the token that set the lock may delete it. A GET followed by
# a DEL from Python would race with the lock expiring and another worker taking it.
_RELEASE_LUA: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

# The first text of a line wins; every caller gets the stored one back (one round trip).
_CLAIM_LINE_LUA: Final = """
redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2])
redis.call('expire', KEYS[1], ARGV[3])
return redis.call('hget', KEYS[1], ARGV[1])
"""

# claim_line: attempts, and the pause before the next one (grows linearly).
_CLAIM_ATTEMPTS: Final = 3
_CLAIM_RETRY_S: Final = 0.05

# Errors that mean "Redis is not there" (outage), as opposed to a refused command.
# InvalidResponse: something answers on the port, but it does not speak RESP.
_OUTAGE_ERRORS: Final = (
    RedisConnectionError,
    RedisTimeoutError,
    InvalidResponse,
    OSError,
    TimeoutError,
)
# A refused command (OOM, READONLY...) tends to repeat on every call: log it this often.
_COMMAND_ERROR_LOG_EVERY_S: Final = 60.0


class RedisStore:
    """Answer cache, lock and published marker on Redis, degrading to no-ops without it."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        password: str | SecretStr | None = None,
        enabled: bool = True,
        ttl_s: int = 3600,
        published_ttl_s: int = _DEFAULT_PUBLISHED_TTL_S,
        lines_ttl_s: int = _DEFAULT_PUBLISHED_TTL_S,
        socket_timeout_s: float = 0.25,
        connect_timeout_s: float = 0.25,
        probe_interval_s: float = 1.0,
        namespace: str = "pitchcast",
        clock: Callable[[], float] = time.monotonic,
        ssl_cafile: str | Path | None = None,
        ssl_certfile: str | Path | None = None,
        ssl_keyfile: str | Path | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # redis_errors counts failed calls, redis_outages outages (however many calls
        # failed in each), redis_calls_skipped calls not sent between probes of an outage.
        self.metrics = metrics if metrics is not None else Metrics()
        self.enabled = enabled
        self.ttl_s = ttl_s
        self.published_ttl_s = published_ttl_s
        self.lines_ttl_s = lines_ttl_s
        self.namespace = namespace
        self._probe_interval_s = probe_interval_s
        self._clock = clock
        self._down_since: float | None = None
        self._next_probe_at = 0.0
        # (operation, error kind) -> (last logged at, failures since)
        self._command_errors: dict[tuple[str, str], tuple[float, int]] = {}
        self._client: aioredis.Redis | None = None
        self.target = "disabled"
        if not enabled:
            return
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        kwargs: dict[str, object] = {}
        if secret:
            kwargs["password"] = secret  # a password inside the URL wins, as in redis-py
        kwargs.update(_tls_kwargs(url, ssl_cafile, ssl_certfile, ssl_keyfile))
        try:
            self._client = aioredis.Redis.from_url(
                url,
                socket_timeout=socket_timeout_s,
                socket_connect_timeout=connect_timeout_s,
                # redis-py retries 3 times with up to seconds of backoff by default; a
                # dead Redis must fail fast, the probe interval does the retrying.
                retry=Retry(NoBackoff(), 0),
                decode_responses=False,
                **kwargs,
            )
        except ValueError:
            # urllib's message quotes the bad part, which can be the password: drop it.
            raise ConfigurationError(
                "PITCHCAST_REDIS_URL is not a valid Redis URL (redis://, rediss:// or unix://; "
                "percent-encode special characters of a password, or set PITCHCAST_REDIS_PASSWORD)"
            ) from None
        self._release_script = self._client.register_script(_RELEASE_LUA)
        self._claim_line_script = self._client.register_script(_CLAIM_LINE_LUA)
        self.metrics.track("redis_up", lambda: 1.0 if self.available else 0.0)
        conn = self._client.connection_pool.connection_kwargs
        # host:port/db only: never the URL, which may carry credentials.
        if "path" in conn:
            self.target = f"unix:{conn['path']}/{conn.get('db', 0)}"
        else:
            self.target = f"{conn.get('host', '?')}:{conn.get('port', '?')}/{conn.get('db', 0)}"

    @classmethod
    def from_settings(
        cls, settings: Settings, *, namespace: str | None = None, metrics: Metrics | None = None
    ) -> RedisStore:
        """A store configured from :class:`~pitchcast.settings.Settings`."""
        return cls(
            settings.redis_url,
            password=settings.redis_password,
            enabled=settings.redis_enabled,
            ttl_s=settings.cache_ttl_s,
            published_ttl_s=settings.published_ttl_s,
            lines_ttl_s=settings.lines_ttl_s,
            socket_timeout_s=settings.redis_socket_timeout_s,
            connect_timeout_s=settings.redis_connect_timeout_s,
            probe_interval_s=settings.redis_probe_interval_s,
            namespace=namespace or settings.redis_namespace,
            ssl_cafile=settings.redis_ssl_cafile,
            ssl_certfile=settings.redis_ssl_certfile,
            ssl_keyfile=settings.redis_ssl_keyfile,
            metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"RedisStore(target={self.target!r}, tls={self.tls}, namespace={self.namespace!r})"

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS (a rediss:// URL)."""
        if self._client is None:
            return False
        return self._client.connection_pool.connection_class.__name__ == "SSLConnection"

    @property
    def available(self) -> bool:
        """False while disabled or during an outage (as far as this store knows)."""
        return self._client is not None and self._down_since is None

    # --- keys ------------------------------------------------------------------

    def answer_key(self, key: str) -> str:
        return f"{self.namespace}:answer:{key}"

    def lock_key(self, name: str) -> str:
        return f"{self.namespace}:lock:{name}"

    def published_key(self, commentary_id: str) -> str:
        return f"{self.namespace}:published:{commentary_id}"

    # --- answer cache ----------------------------------------------------------

    async def get_answer(self, key: str) -> bytes | None:
        """The cached answer, or None on a miss or without Redis."""
        value = await self._run("get_answer", lambda r: r.get(self.answer_key(key)), _Missing)
        if value is _Missing:
            return None  # no Redis: neither a hit nor a miss (counted in errors/skipped)
        if value is None:
            self.metrics.add("cache_lookups", result="miss")
            return None
        self.metrics.add("cache_lookups", result="hit")
        return bytes(value)

    async def set_answer(self, key: str, value: bytes, ttl_s: int | None = None) -> None:
        """Cache ``value`` for ``ttl_s`` seconds (default: the store's ``ttl_s``)."""
        ttl = self.ttl_s if ttl_s is None else ttl_s
        await self._run("set_answer", lambda r: r.set(self.answer_key(key), value, ex=ttl), None)

    # --- lock ------------------------------------------------------------------

    async def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        """Take the lock: the owner token, None if another owner holds it, or
        :data:`NO_LOCK` without Redis (proceed unlocked)."""
        token = secrets.token_hex(16)
        ttl_ms = max(1, int(ttl_s * 1000))
        ok = await self._run(
            "acquire_lock",
            lambda r: r.set(self.lock_key(name), token, nx=True, px=ttl_ms),
            _Missing,
        )
        if ok is _Missing:
            return NO_LOCK
        return token if ok else None

    async def release_lock(self, name: str, token: str) -> bool:
        """Delete the lock if ``token`` still owns it; True if it did."""
        if token == NO_LOCK or self._client is None:
            return False
        deleted = await self._run(
            "release_lock",
            lambda r: self._release_script(keys=[self.lock_key(name)], args=[token], client=r),
            0,
        )
        return bool(deleted)

    async def lock_exists(self, name: str) -> bool:
        """Whether someone holds the lock (False without Redis)."""
        n = await self._run("lock_exists", lambda r: r.exists(self.lock_key(name)), 0)
        return bool(n)

    # --- published marker -----------------------------------------------------

    async def is_published(self, commentary_id: str) -> bool:
        """Whether the commentary was published and acknowledged (False without Redis)."""
        n = await self._run(
            "is_published", lambda r: r.exists(self.published_key(commentary_id)), 0
        )
        return bool(n)

    async def mark_published(self, commentary_id: str, ttl_s: int | None = None) -> None:
        """Record that the commentary was published (after the broker acknowledged it)."""
        ttl = self.published_ttl_s if ttl_s is None else ttl_s
        await self._run(
            "mark_published",
            lambda r: r.set(self.published_key(commentary_id), b"1", ex=ttl),
            None,
        )

    # --- lines (live display) ---------------------------------------------------

    def lines_key(self, commentary_id: str) -> str:
        return f"{self.namespace}:lines:{commentary_id}"

    async def claim_line(self, commentary_id: str, line_index: int, line: bytes) -> bytes:
        """Store ``line`` unless the line already has a text; return the stored text.

        Without Redis, ``line`` itself (the pipeline goes on; a crash may then write a
        line id twice, which the degraded mode accepts and logs).
        """
        # During a known outage one attempt is enough: the pipeline runs without Redis.
        attempts = _CLAIM_ATTEMPTS if self.available else 1
        for attempt in range(attempts):
            # A blip of Redis must not let this text out unclaimed while another owner's
            # is stored: try again (past the outage skip) before giving up on Redis.
            stored = await self._run(
                "claim_line",
                lambda r: self._claim_line_script(
                    keys=[self.lines_key(commentary_id)],
                    args=[str(line_index), line, self.lines_ttl_s],
                    client=r,
                ),
                None,
                force=attempt > 0,
            )
            if stored is not None:
                return bytes(stored)
            if self._client is None:
                break
            await asyncio.sleep(_CLAIM_RETRY_S * (attempt + 1))
        return line

    async def mark_line_published(self, commentary_id: str, line_index: int) -> None:
        """Record that the line reached the lines topic (after the broker's ack)."""
        await self._run(
            "mark_line_published",
            lambda r: r.hset(self.lines_key(commentary_id), f"{line_index}:p", b"1"),
            None,
        )

    async def load_lines(self, commentary_id: str) -> dict[int, tuple[bytes, bool]]:
        """Every stored line of a commentary: index -> (text, published)."""
        raw = await self._run(
            "load_lines", lambda r: r.hgetall(self.lines_key(commentary_id)), None
        )
        if not raw:
            return {}
        fields = {k.decode() if isinstance(k, bytes) else str(k): bytes(v) for k, v in raw.items()}
        return {
            int(name): (value, f"{name}:p" in fields)
            for name, value in fields.items()
            if name.isdigit()
        }

    # --- lifecycle -------------------------------------------------------------

    async def ping(self) -> bool:
        """True if Redis answers now. Always tries, even during an outage."""
        return bool(await self._run("ping", lambda r: r.ping(), False, force=True))

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    # --- the edge --------------------------------------------------------------

    async def _run(
        self,
        op: str,
        call: Callable[[aioredis.Redis], Awaitable[T]],
        default: T,
        *,
        force: bool = False,
    ) -> T:
        """Run one Redis call; on any Redis failure return ``default`` instead."""
        client = self._client
        if client is None:
            return default  # disabled (or closed): permanently absent, silently
        if not force and self._down_since is not None and self._clock() < self._next_probe_at:
            # Outage in progress: do not pay a timeout per call.
            self.metrics.add("redis_calls_skipped")
            return default
        try:
            with _translate_errors(op):
                value = await call(client)
        except CacheUnavailable as exc:
            self._on_failure(op, exc)
            return default
        if self._down_since is not None:
            self._on_recovered(op)
        return value

    def _on_failure(self, op: str, exc: CacheUnavailable) -> None:
        self.metrics.add("redis_errors", operation=op)
        cause = exc.__cause__
        error_kind = type(cause).__name__ if cause is not None else exc.kind
        now = self._clock()
        if not isinstance(cause, _OUTAGE_ERRORS):
            # Redis answered but refused the command (OOM, READONLY, WRONGTYPE...):
            # not an outage, but still nothing a caller has to handle.
            self._log_command_error(op, error_kind, now)
            return
        self._next_probe_at = now + self._probe_interval_s
        if self._down_since is None:
            self._down_since = now
            self.metrics.add("redis_outages")
            logger.warning(
                "pitchcast.redis_unavailable",
                extra={
                    "target": self.target,
                    "operation": op,
                    "error_kind": error_kind,
                    "probe_interval_s": self._probe_interval_s,
                },
            )

    def _log_command_error(self, op: str, error_kind: str, now: float) -> None:
        last, since = self._command_errors.get((op, error_kind), (None, 0))
        if last is not None and now - last < _COMMAND_ERROR_LOG_EVERY_S:
            self._command_errors[(op, error_kind)] = (last, since + 1)
            return
        self._command_errors[(op, error_kind)] = (now, 0)
        logger.warning(
            "pitchcast.redis_command_failed",
            extra={
                "target": self.target,
                "operation": op,
                "error_kind": error_kind,
                "repeats_since_last_log": since,
            },
        )

    def _on_recovered(self, op: str) -> None:
        down_since, self._down_since = self._down_since, None
        outage_s = self._clock() - down_since if down_since is not None else 0.0
        logger.info(
            "pitchcast.redis_recovered",
            extra={"target": self.target, "operation": op, "outage_s": round(outage_s, 3)},
        )


def _tls_kwargs(
    url: str,
    cafile: str | Path | None,
    certfile: str | Path | None,
    keyfile: str | Path | None,
) -> dict[str, object]:
    """redis-py's TLS arguments; only a rediss:// URL takes them (redis:// would fail
    on the first connection with a TypeError)."""
    if not (cafile or certfile or keyfile):
        return {}
    if urlsplit(url).scheme.lower() != "rediss":
        raise ConfigurationError("Redis TLS files need a rediss:// URL")
    if keyfile and not certfile:
        raise ConfigurationError("a Redis TLS key file needs its certificate file")
    kwargs: dict[str, object] = {}
    if cafile:
        kwargs["ssl_ca_certs"] = str(cafile)
    if certfile:
        kwargs["ssl_certfile"] = str(certfile)
    if keyfile:
        kwargs["ssl_keyfile"] = str(keyfile)
    return kwargs


class _MissingType:
    """Marks "Redis gave no answer" where None is a meaningful answer (SET NX refused)."""


_Missing: Final = _MissingType()


@contextlib.contextmanager
def _translate_errors(op: str) -> Iterator[None]:
    """redis-py and socket errors -> :class:`CacheUnavailable` (cause kept)."""
    try:
        yield
    except (RedisError, *_OUTAGE_ERRORS) as exc:
        # The message names only the operation: redis-py messages can name the host.
        raise CacheUnavailable(f"redis {op} failed: {type(exc).__name__}") from exc
