"""The worker's web endpoints: ``/metrics``, ``/health``, ``/ready``, ``/pitchcast/stats/``.

All are served by faust's own web server (``PITCHCAST_WEB_HOST``:``PITCHCAST_WEB_PORT``).

* ``/metrics``: Prometheus text. faust's Prometheus sensor
  (``faust.sensors.prometheus.setup_prometheus_sensors``, series ``faust_*``) and
  pitchcast's :class:`~pitchcast.metrics.Metrics` (series ``pitchcast_*``) share one
  registry per app, so tests that build several apps in one process never collide.
* ``/health``: liveness. 200 whenever the process answers (the event loop runs).
* ``/ready``: readiness, 200 or 503 with a JSON body that says why (see :class:`Readiness`).
* ``/pitchcast/stats/``: :meth:`Metrics.snapshot` as JSON (tests, benches, humans).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from pitchcast.exceptions import ConfigurationError
from pitchcast.metrics import Metrics
from pitchcast.settings import Settings

__all__ = ["Readiness", "install_web", "require_web_port"]

log = logging.getLogger("pitchcast.web")


def require_web_port(settings: Settings) -> None:
    """Refuse to start when the web server cannot listen where the settings say: faust
    would stop the worker with a traceback in the middle of its log. A port in use names
    the port; a host that does not resolve or is not this machine's names the host.
    SO_REUSEADDR as aiohttp binds, so a port left in TIME_WAIT by a stopped worker is not
    taken; a listening one is."""
    where = f"the worker's web server cannot listen on {settings.web_host}:{settings.web_port}"
    fix_host = (
        "set PITCHCAST_WEB_HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for"
        " every interface)"
    )
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.web_host, settings.web_port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise ConfigurationError(f"{where} ({exc.strerror}): {fix_host}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fix = (
                "pick another port with --web-port or PITCHCAST_WEB_PORT"
                if exc.errno == errno.EADDRINUSE
                else fix_host
            )
            raise ConfigurationError(f"{where} ({exc.strerror}): {fix}") from None


BrokerProbe = Callable[[], Awaitable[int]]


class Readiness:
    """Decides ``/ready`` from four checks.

    * ``assignment``: the worker finished a partition assignment (and any table recovery
      after it) and no rebalance is in progress. A worker that owns no partition (more
      workers than partitions) is ready: it takes over when another leaves.
    * ``broker``: a metadata request answered within ``timeout_s``; the answer is kept
      for ``cache_s`` so a scraper polling every second costs one request per period.
    * ``redis``: the store's own view: ``up``, ``down`` or ``disabled`` (a ping every
      ``PITCHCAST_REDIS_PROBE_INTERVAL_S`` keeps it current while no match runs: app.py).
    * ``breaker``: the LLM circuit breaker's state.

    Not assigned, or no broker: **503** ``not_ready`` (the worker cannot do its work).
    Redis down or breaker open/half open: **200** ``degraded`` (the pipeline runs on by
    design: without the cache/lock, or on the template), so an LLM or Redis outage does
    not stall a rolling deployment; ``?strict=1`` turns ``degraded`` into 503 for
    probes that should page on it.
    """

    def __init__(
        self,
        app: Any,
        *,
        settings: Settings,
        writer: Any,
        broker_probe: BrokerProbe | None = None,
        cache_s: float = 5.0,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._settings = settings
        self._writer = writer
        self._probe = broker_probe or _AdminProbe(settings, timeout_s)
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._broker: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()
        self.assigned_once = False

    def on_assigned(self) -> None:
        self.assigned_once = True

    async def check(self, *, strict: bool = False) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``/ready``."""
        checks = {
            "assignment": self._assignment(),
            "broker": await self._broker_check(),
            "redis": self._redis(),
            "breaker": self._breaker(),
        }
        failing = [name for name, c in checks.items() if c["status"] == "fail"]
        degraded = [name for name, c in checks.items() if c["status"] == "degraded"]
        if failing:
            status, code = "not_ready", 503
        elif degraded:
            status, code = "degraded", 503 if strict else 200
        else:
            status, code = "ready", 200
        return code, {
            "status": status,
            "failing": failing,
            "degraded": degraded,
            "checks": checks,
        }

    def _assignment(self) -> dict[str, Any]:
        app = self._app
        topics = {self._settings.topic_events, self._settings.topic_batches}
        try:
            assigned = sorted(
                (tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in topics
            )
        except Exception:  # the consumer is not started yet
            assigned = []
        partitions: dict[str, list[int]] = {}
        for topic, partition in assigned:
            partitions.setdefault(topic, []).append(partition)
        recovering = bool(getattr(getattr(app.tables, "recovery", None), "in_recovery", False))
        if not self.assigned_once:
            state = "waiting_for_assignment"
        elif app.rebalancing:
            state = "rebalancing"
        elif recovering:
            state = "recovering"
        else:
            state = "assigned"
        return {
            "status": "ok" if state == "assigned" else "fail",
            "state": state,
            "partitions": partitions,
        }

    async def _broker_check(self) -> dict[str, Any]:
        async with self._lock:  # concurrent requests share one probe
            now = self._clock()
            if self._broker is not None and now - self._broker[0] < self._cache_s:
                return {**self._broker[1], "age_s": round(now - self._broker[0], 3)}
            try:
                brokers = await asyncio.wait_for(self._probe(), self._timeout_s)
            except Exception as exc:
                result: dict[str, Any] = {"status": "fail", "error_kind": type(exc).__name__}
            else:
                result = (
                    {"status": "ok", "brokers": brokers}
                    if brokers > 0
                    else {"status": "fail", "error_kind": "NoBrokers"}
                )
            self._broker = (self._clock(), result)
            return {**result, "age_s": 0.0}

    def _redis(self) -> dict[str, Any]:
        store = getattr(self._writer, "store", None)
        if store is None or not getattr(store, "enabled", False):
            return {"status": "ok", "state": "disabled"}
        if store.available:
            return {"status": "ok", "state": "up", "target": store.target}
        return {"status": "degraded", "state": "down", "target": store.target}

    def _breaker(self) -> dict[str, Any]:
        breaker = getattr(self._writer, "breaker", None)
        if breaker is None:
            return {"status": "ok", "state": "none"}
        state = breaker.state
        endpoint = getattr(self._writer, "endpoint", None)
        return {
            "status": "ok" if state == "closed" else "degraded",
            "state": state,
            "endpoint": endpoint,
        }

    async def aclose(self) -> None:
        closer = getattr(self._probe, "aclose", None)
        if closer is not None:
            await closer()


class _AdminProbe:
    """Counts the brokers in a metadata answer, with one admin client kept open."""

    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._admin: Any = None

    async def __call__(self) -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        from pitchcast.streams.clients import aiokafka_options

        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    **aiokafka_options(self._settings),
                    client_id=f"{self._settings.app_id}-ready",
                    request_timeout_ms=int(self._timeout_s * 1000),
                )
                await admin.start()
                self._admin = admin
            cluster = await self._admin.describe_cluster()
            return len(cluster.get("brokers", []))
        except BaseException:
            await self.aclose()  # start afresh next time
            raise

    async def aclose(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception:
                log.debug("pitchcast.ready.admin_close_failed", exc_info=True)


def install_web(app: Any, *, settings: Settings, metrics: Metrics, writer: Any) -> Readiness:
    """Add ``/metrics``, ``/health``, ``/ready`` and ``/pitchcast/stats/`` to a faust app."""
    from faust.sensors.prometheus import setup_prometheus_sensors

    registry = CollectorRegistry()
    # faust's series are named faust_* whatever the app id (tests use unique ids).
    setup_prometheus_sensors(app, pattern="/metrics", registry=registry, name_prefix="faust")
    registry.register(metrics)
    # process_start_time_seconds: a worker that stopped itself (WorkerStops) usually exits
    # before a scrape sees its counter; its restart is what Prometheus sees (WorkerRestarts).
    ProcessCollector(registry=registry)
    readiness = Readiness(app, settings=settings, writer=writer)

    @app.on_partitions_assigned.connect
    async def _assigned(_app: Any, assigned: Any, **_: Any) -> None:
        readiness.on_assigned()

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        strict = request.query.get("strict", "") in ("1", "true", "yes")
        code, body = await readiness.check(strict=strict)
        return web.json(body, status=code)

    @app.page("/pitchcast/stats/")
    async def stats(web: Any, request: Any) -> Any:
        # asyncio_tasks: what the soak run watches for leaks (not a Prometheus series).
        return web.json({**metrics.snapshot(), "asyncio_tasks": len(asyncio.all_tasks())})

    @app.on_before_shutdown.connect
    async def _close_probe(_app: Any, **_: Any) -> None:
        await readiness.aclose()

    return readiness
