"""The Faust app: the one place where settings, topics, state, agents and services meet."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust

from pitchcast.agents.acks.handoff import HandoffGuard
from pitchcast.agents.acks.offsets import (
    DedupedAckApp,
    consumer_ack_range,
    consumer_committed,
    consumer_not_gaps,
    consumer_read_offset,
)
from pitchcast.agents.acks.recovery import WATCH_INTERVAL_S, RecoveryWatch, watch_recovery
from pitchcast.agents.acks.revoke import RevokeSteps, revoke_bounds
from pitchcast.agents.batching import BatchAgent
from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.agents.publisher import KafkaPublisher
from pitchcast.agents.ticks import IdleTicker
from pitchcast.agents.warmup import warm_up_on_match_start
from pitchcast.exceptions import ConfigurationError
from pitchcast.metrics import Metrics
from pitchcast.settings import Settings
from pitchcast.streams.admin import read_range
from pitchcast.streams.clients import faust_credentials
from pitchcast.streams.dead_letters import DeadLetters
from pitchcast.streams.lag import LAG_INTERVAL_S, ConsumerLag
from pitchcast.web import install_web, require_web_port

__all__ = ["Pitchcast", "build_writer", "create_app", "revoke_bounds", "run_worker"]

log = logging.getLogger("pitchcast.app")

# How often the hand-off guard looks for records faust counts as read but never handed
# to the commentary agent (two looks in a row find a skip: agents/acks/handoff.py).
HANDOFF_SWEEP_S = 2.0


@dataclass
class Pitchcast:
    """The app and the parts tests and the CLI reach into."""

    app: faust.App
    settings: Settings
    metrics: Metrics
    batch_agent: BatchAgent
    commentary_agent: CommentaryAgent
    writer: Any


def build_writer(settings: Settings, metrics: Metrics | None = None) -> Any:
    """The commentary stage chosen by settings: backend, template fallback, Redis."""
    from pitchcast.cache import RedisStore
    from pitchcast.commentary.backends.template import TemplateBackend
    from pitchcast.commentary.service import CommentaryService

    fallback = TemplateBackend(settings.density, settings.friend_supports)
    primary: Any = fallback
    if settings.llm_backend == "openai":
        from pitchcast.commentary.backends.openai import OpenAIBackend

        primary = OpenAIBackend.from_settings(settings)
    store = RedisStore.from_settings(settings, metrics=metrics)
    return CommentaryService.from_settings(
        settings, primary=primary, fallback=fallback, store=store, metrics=metrics
    )


def create_app(settings: Settings, *, writer: Any | None = None) -> Pitchcast:
    """Build the Faust app from settings. ``writer`` replaces the commentary stage in tests."""
    metrics = Metrics()
    bounds = revoke_bounds(settings)
    # faust creates only the data dir's last level: `pitchcast worker` run from a fresh
    # directory stopped with FileNotFoundError on the default `.pitchcast/worker`.
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # under a file, on a read-only mount: one line, not a traceback
        raise ConfigurationError(
            f"the worker cannot create {settings.data_dir} ({exc.strerror}): set"
            " PITCHCAST_DATA_DIR to a folder it may write (its table's local state)"
        ) from None
    # faust's app, with a consumer whose commits keep up after a recovery (agents/acks/).
    app = DedupedAckApp(
        settings.app_id,
        broker=[f"kafka://{host.strip()}" for host in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_disable_leader=True,
        table_standby_replicas=0,
        key_serializer="raw",
        value_serializer="raw",
        # acks=all is faust's default too; idempotence is not (agents/acks/offsets.py sets it).
        producer_acks=-1,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_session_timeout_s / 10,
        broker_commit_interval=settings.kafka_commit_interval_s,
        consumer_auto_offset_reset="earliest",
        processing_guarantee=settings.processing_guarantee,
        # A rebalance must not wait for records held until their batch is published: the
        # revoke handler below finishes the batch agent's records in progress and cancels
        # the commentary work instead (its records are read again by the new owner).
        stream_wait_empty=False,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        datadir=str(settings.data_dir),
        revoke_bounds=bounds,
        pitchcast_metrics=metrics,
    )

    def topic(name: str) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
        )

    events = topic(settings.topic_events)
    batches = topic(settings.topic_batches)
    commentary = topic(settings.topic_commentary)
    dlq = topic(settings.topic_dlq)
    lines = topic(settings.topic_lines) if settings.publish_lines else None
    # Changelog-backed per-match state: it survives a crash or a rebalance.
    state_table = app.Table(
        "match-state",
        default=None,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        # faust creates the changelog with topic_replication_factor; its min ISR is ours.
        extra_topic_configs={"min.insync.replicas": str(settings.min_insync_replicas)},
    )
    dead_letters = DeadLetters(
        dlq,
        value_cap=settings.dlq_value_cap_bytes,
        metrics=metrics,
        budget_s=settings.delivery_timeout_s,
    )

    async def crash(exc: BaseException) -> None:
        # The worker stops with an error; what it was processing was not acked.
        await app.crash(exc)

    if writer is None:
        writer = build_writer(settings, metrics)

    batch_agent = BatchAgent(
        settings=settings,
        state_table=state_table,
        batches_topic=batches,
        dead_letters=dead_letters,
        metrics=metrics,
        on_match_start=warm_up_on_match_start(settings, writer, metrics),
        read_range=lambda topic, partition, first, last: read_range(
            settings, topic, partition, first, last
        ),
        crash=crash,
        ack_range=consumer_ack_range(app),
    )
    publisher = KafkaPublisher(
        settings=settings,
        store=writer.store,
        commentary_topic=commentary,
        lines_topic=lines,
        metrics=metrics,
    )

    # faust can skip hand-off records when an assignment starts: agents/acks/handoff.py.
    handoff_guard = HandoffGuard(
        topic=settings.topic_batches,
        committed=consumer_committed(app, settings.topic_batches),
        read_offset=consumer_read_offset(app, settings.topic_batches),
        read_range=lambda topic, partition, first, last: read_range(
            settings, topic, partition, first, last
        ),
        metrics=metrics,
        ready=lambda: not app.rebalancing and app.consumer.flow_active,
        not_gaps=consumer_not_gaps(app, settings.topic_batches),
    )
    commentary_agent = CommentaryAgent(
        settings=settings,
        writer=writer,
        publisher=publisher,
        dead_letters=dead_letters,
        metrics=metrics,
        crash=crash,
        guard=handoff_guard,
        ack_range=consumer_ack_range(app),
    )
    app.agent(events, name="batcher")(batch_agent.run)
    app.agent(batches, name="commentator")(commentary_agent.run)

    def owned_events_partitions() -> set[int]:
        assigned = app.consumer.assignment()
        return {tp.partition for tp in assigned if tp.topic == settings.topic_events}

    async def sweep_handoff() -> None:
        assigned = app.consumer.assignment()
        await commentary_agent.sweep(
            {tp.partition for tp in assigned if tp.topic == settings.topic_batches}
        )

    app.timer(interval=HANDOFF_SWEEP_S, name="pitchcast.handoff_sweep")(sweep_handoff)

    # faust can lose a changelog partition's records as an assignment starts and then
    # wait for them forever: agents/acks/recovery.py reads such a partition again.
    recovery_watch = RecoveryWatch(metrics=metrics)

    async def check_recovery() -> None:
        try:
            await watch_recovery(app, recovery_watch)
        except Exception as exc:  # a rebalance mid-look: the next look starts over
            log.warning("pitchcast.recovery_watch.failed", extra={"error_kind": type(exc).__name__})

    app.timer(interval=WATCH_INTERVAL_S, name="pitchcast.recovery_watch")(check_recovery)

    ticker = IdleTicker(
        read_states=lambda: batch_agent.owned_states(owned_events_partitions()),
        events_topic=events,
        idle_timeout_s=settings.idle_timeout_s,
        metrics=metrics,
    )
    app.timer(interval=settings.tick_interval_s, name="pitchcast.idle_ticks")(ticker.tick)
    # The group's lag on both input topics, from broker offsets (streams/lag.py).
    lag = ConsumerLag(settings, metrics, [settings.topic_events, settings.topic_batches])
    app.timer(interval=LAG_INTERVAL_S, name="pitchcast.consumer_lag")(lag.update)

    async def collect_old() -> None:
        gc.collect()

    app.timer(interval=FULL_COLLECT_S, name="pitchcast.collect_old")(collect_old)
    app.on_before_shutdown.connect(lag.close)

    revoke_steps = RevokeSteps(
        bounds=bounds,
        batches_topic=settings.topic_batches,
        batch_settled=batch_agent.settled,
        cancel_commentary=lambda partitions, bound_s: commentary_agent.revoke(
            partitions, timeout_s=bound_s
        ),
        commit=lambda: app.consumer.commit(),
        metrics=metrics,
        began_at=app.take_revoke_began,
    )

    @app.on_partitions_revoked.connect
    async def _on_revoked(_app: Any, revoked: Any, **_: Any) -> None:
        await revoke_steps(revoked)  # agents/acks/revoke.py: every step bounded

    # /metrics (faust's sensor + ours), /health, /ready, /pitchcast/stats/.
    install_web(app, settings=settings, metrics=metrics, writer=writer)
    store = getattr(writer, "store", None)
    if getattr(store, "enabled", False) and hasattr(store, "ping"):
        # /ready reports the store's own view, which only calls update: without a ping a
        # worker started against a dead Redis said `up` until its first line, and one
        # whose Redis came back while no match ran went on saying `down`.
        app.timer(interval=settings.redis_probe_interval_s, name="pitchcast.redis_probe")(
            store.ping
        )

    @app.on_before_shutdown.connect
    async def _close_writer(_app: Any, **_: Any) -> None:
        # Commentary work stops first, un-acked: with Redis and the LLM client closed under
        # it, lines would go out unclaimed and the next owner could write them again.
        await commentary_agent.revoke(None)
        closer = getattr(writer, "aclose", None)
        if closer is not None:
            await closer()
        log.info("pitchcast.stopped", extra={"metrics": metrics.snapshot()})

    return Pitchcast(
        app=app,
        settings=settings,
        metrics=metrics,
        batch_agent=batch_agent,
        commentary_agent=commentary_agent,
        writer=writer,
    )


# The cyclic collector's first-generation threshold in a worker (CPython's default: 700
# allocations). A worker allocates many short-lived objects per record (messages,
# events, futures, decoded records); collecting every 700 of them walked the young heap
# ~30 times a second for little garbage. bench/throughput.py: 517-522 -> 549-562
# actions/s, worker CPU 38.1-38.9 -> 35.9-36.6 s (BENCHMARKS.md, "Template throughput").
GC_THRESHOLDS = (20_000, 50, 100)

# With those thresholds the oldest generation is collected about once per 100 million
# allocations: in a live worker with an LLM, httpx's request/response cycles (each
# holding its ~20-40 KB request body) reached it and stayed, and the RSS grew ~3 MB a
# minute for a whole round (RELIABILITY.md, soak of 2026-12-07). A full collection on a
# timer bounds that; (20_000, 10, 10) did too, but cost 14% of the template throughput.
FULL_COLLECT_S = 30.0


def tune_collector() -> None:
    """Freeze what start-up allocated (imports, settings: never garbage, so never walked
    again) and collect the young generation less often (:data:`GC_THRESHOLDS`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_worker(settings: Settings, *, prepare: Callable[[Pitchcast], None] | None = None) -> None:
    """Start a worker the way ``pitchcast worker`` does: log the settings (secrets
    masked), create or check the topics (:class:`~pitchcast.exceptions.PitchcastError`
    when they cannot serve), build the app, let ``prepare`` adjust it (the fault suite's
    injections), then run faust's worker until it stops."""
    from pitchcast.logs import configure_logging, logging_config
    from pitchcast.streams.admin import ensure_topics

    require_web_port(settings)
    configure_logging(settings)
    logger = logging.getLogger("pitchcast")
    logger.info("pitchcast.settings %s", " ".join(f"{k}={v}" for k, v in settings.as_env().items()))
    for line in asyncio.run(ensure_topics(settings)):
        logger.info("pitchcast.topics %s", line)
    tune_collector()
    asyncio.set_event_loop(asyncio.new_event_loop())
    pitchcast = create_app(settings)
    if prepare is not None:
        prepare(pitchcast)
    # faust replaces the root handler at start: hand it pitchcast's configuration.
    faust.Worker(
        pitchcast.app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings),
        quiet=True,
        redirect_stdouts=False,
    ).execute_from_commandline()
