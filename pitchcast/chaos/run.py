"""One scenario run: its names, services, workers, feed, and the final check.

A :class:`Run` gives a scenario its own topics, consumer group and Redis namespace (on
the shared broker unless the scenario brings its own), a private password-protected
Redis, worker incarnations it can kill, stop or restart, a :class:`~.harness.Feed`, an
optional fake LLM server, and :meth:`Run.finish`: wait until every real action is
commented, read every topic, check the promises (:mod:`.check`) and grep every output
for the secrets the workers were given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from pitchcast.chaos.check import (
    Expected,
    Figures,
    check_topics,
    commit_problems,
    find_secrets,
)
from pitchcast.chaos.harness import (
    Feed,
    Outgoing,
    RawRecord,
    TopicReader,
    Worker,
    commit_lag,
)
from pitchcast.chaos.services import PrivateRedis
from pitchcast.streams.match_csv import read_match_info
from pitchcast.streams.replay import ReplayMessage, plan_replay
from pitchcast.testing.fake_llm import FakeLLMServer

__all__ = ["DATA", "MODEL", "MatchSlice", "Run", "match_slice"]

log = logging.getLogger("pitchcast.chaos")

DATA = Path(__file__).resolve().parents[2] / "data"
MODEL = "pitchcast-chaos-model"
FILES = {1: DATA / "events_metrica_1.csv", 3: DATA / "events_metrica_3.csv"}
# Worker stats worth printing after a scenario (summed over their labels).
_STATS = (
    "duplicates_dropped", "offset_gaps", "offset_gap_records", "redis_outages",
    "worker_stops", "send_retries", "sends_acked_late", "handoff_duplicates",
    "desks_revoked", "ticks_sent", "fallbacks", "lines_restored",
    "commentary_already_published",
)  # fmt: skip


class MatchSlice:
    """A real match (or its first actions of each period), as records to send."""

    def __init__(self, messages: list[ReplayMessage], game_id: int) -> None:
        self.game_id = game_id
        self.messages = messages
        actions = [m.value for m in messages if "control" not in m.value]
        self.action_ids = [a["action_id"] for a in actions]
        self.times = {a["action_id"]: a["time_seconds"] for a in actions}
        self.rows = actions

    def outgoing(self) -> list[tuple[float, Outgoing]]:
        key = str(self.game_id).encode()
        return [(m.at_s, (key, orjson.dumps(m.value), [])) for m in self.messages]

    @property
    def duration_s(self) -> float:
        return self.messages[-1].at_s


def match_slice(
    source: int, *, per_period: int | None = None, game_id: int | None = None
) -> MatchSlice:
    """Sample match ``source`` (1 or 3): all of it, or its first ``per_period`` actions of
    each period (period ends and match end kept), as game ``game_id``."""
    info = read_match_info(DATA / "match_info.csv")[source]
    gid = game_id if game_id is not None else source
    plan = plan_replay(FILES[source], match_info=info, game_id=gid)
    if per_period is None:
        return MatchSlice(plan, gid)
    kept: list[ReplayMessage] = []
    counts: dict[int, int] = {}
    clock = 0.0
    last: float | None = None
    for message in plan:
        value = message.value
        if "control" in value:
            kept.append(ReplayMessage(gid, clock, value))
            continue
        period = value["period_id"]
        if counts.get(period, 0) >= per_period:
            continue
        counts[period] = counts.get(period, 0) + 1
        # The match's own pace between kept actions; at most 30 s across a cut.
        if last is not None:
            clock += min(max(message.at_s - last, 0.0), 30.0)
        last = message.at_s
        kept.append(ReplayMessage(gid, clock, value))
    return MatchSlice(kept, gid)


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


class Run:
    """Everything one scenario run owns (see the module docstring)."""

    def __init__(
        self,
        scenario: str,
        *,
        profile: str,
        kafka: str,
        workdir: Path,
        mode: str = "live",
        personas: Sequence[str] = ("CASTER",),
        partitions: int = 3,
        llm: FakeLLMServer | None = None,
        env: dict[str, str] | None = None,
        read_committed: bool = False,
    ) -> None:
        self.scenario = scenario
        self.read_committed = read_committed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_close: list[Callable[[], Awaitable[None]]] = []
        self.kafka = kafka
        self.mode = mode
        self.personas = tuple(personas)
        self.partitions = partitions
        self.llm = llm
        self.prefix = f"chaos-{scenario}-{uuid.uuid4().hex[:8]}"
        self.dir = workdir / self.prefix
        self.dir.mkdir(parents=True, exist_ok=True)
        self.llm_key = _secret("sk-chaos-llm")
        self.sasl_password = _secret("chaos-sasl")
        self.redis = PrivateRedis(self.dir / "redis", password=_secret("chaos-redis"))
        self.topics = {
            "events": f"{self.prefix}-events",
            "batches": f"{self.prefix}-batches",
            "commentary": f"{self.prefix}-commentary",
            "lines": f"{self.prefix}-lines",
            "dlq": f"{self.prefix}-dlq",
        }
        self.extra_env = dict(env or {})
        self.figures = Figures(scenario, profile, mode=mode)
        self.workers: list[Worker] = []
        self.feed = Feed(kafka, self.topics["events"])
        self._expected_exits: set[int] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self.auto_restart_inject: Sequence[str] = ()
        self.started = time.monotonic()
        self.outputs: dict[str, str | bytes] = {}
        # What each topic held at the end (for checks of one scenario).
        self.records: dict[str, list[RawRecord]] = {}
        self.stats: dict[str, float] = {}  # the last live worker's, at the end

    # --- environment ------------------------------------------------------------

    @property
    def secrets(self) -> list[str]:
        return [self.llm_key, self.sasl_password, self.redis.password]

    def env(self) -> dict[str, str]:
        """The PITCHCAST_* settings of every worker of this run."""
        env = {
            "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "PITCHCAST_REDIS_URL": self.redis.url,
            "PITCHCAST_REDIS_PASSWORD": self.redis.password,
            "PITCHCAST_REDIS_NAMESPACE": self.prefix,
            "PITCHCAST_APP_ID": f"{self.prefix}-app",
            "PITCHCAST_TOPIC_EVENTS": self.topics["events"],
            "PITCHCAST_TOPIC_BATCHES": self.topics["batches"],
            "PITCHCAST_TOPIC_COMMENTARY": self.topics["commentary"],
            "PITCHCAST_TOPIC_LINES": self.topics["lines"],
            "PITCHCAST_TOPIC_DLQ": self.topics["dlq"],
            "PITCHCAST_PARTITIONS": str(self.partitions),
            "PITCHCAST_PERSONAS": ",".join(self.personas),
            "PITCHCAST_LLM_MODE": self.mode,
            "PITCHCAST_LOG_LEVEL": "INFO",
            # Commits more often than the 2.8 s default: more commits land during faults.
            "PITCHCAST_KAFKA_COMMIT_INTERVAL_S": "1.5",
            # Never used on a PLAINTEXT broker: it must still never show anywhere.
            "PITCHCAST_KAFKA_SASL_PASSWORD": self.sasl_password,
            "PITCHCAST_LLM_API_KEY": self.llm_key,
        }
        if self.llm is not None:
            env["PITCHCAST_LLM_BACKEND"] = "openai"
            env["PITCHCAST_LLM_BASE_URL"] = self.llm.base_url
            env["PITCHCAST_LLM_MODEL"] = MODEL
        env.update(self.extra_env)
        return env

    # --- workers ----------------------------------------------------------------

    async def __aenter__(self) -> Run:
        self.redis.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start_worker(self, *, inject: Sequence[str] = (), ready: bool = True) -> Worker:
        n = len(self.workers)
        env = {**self.env(), "PITCHCAST_DATA_DIR": str(self.dir / f"worker{n}")}
        worker = Worker(env=env, log_path=self.dir / f"worker{n}.log", inject=inject).start()
        self.workers.append(worker)
        if ready:
            await worker.wait_ready()
        return worker

    @property
    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if w.alive]

    async def kill(self, worker: Worker, *, restart: bool = True) -> Worker | None:
        """SIGKILL ``worker``; start a new incarnation at once (without waiting)."""
        self._expected_exits.add(id(worker))
        worker.kill()
        self.figures.kills += 1
        if not restart:
            return None
        self.figures.restarts += 1
        return await self.start_worker(ready=False)

    async def stop(self, worker: Worker) -> dict[str, float]:
        """SIGTERM ``worker`` (a worker leaving the group); its last stats."""
        self._expected_exits.add(id(worker))
        stats = await worker.stats()
        self.outputs[f"stats of worker{self.workers.index(worker)}"] = orjson.dumps(stats)
        await worker.stop()
        return stats

    def expect_exit(self, worker: Worker) -> None:
        self._expected_exits.add(id(worker))

    def supervise(self, *, restart_inject: Sequence[str] = ()) -> None:
        """Restart any worker that exits on its own (as an orchestrator would); counted."""
        self.auto_restart_inject = restart_inject

        async def watch() -> None:
            while True:
                for worker in list(self.workers):
                    if not worker.alive and id(worker) not in self._expected_exits:
                        self._expected_exits.add(id(worker))
                        self.figures.crashes += 1
                        log.warning("chaos: worker exited with %s; restarting", worker.returncode)
                        self.figures.restarts += 1
                        await self.start_worker(inject=self.auto_restart_inject, ready=False)
                await asyncio.sleep(0.5)

        self._supervisor = asyncio.create_task(watch())

    def background(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` beside the feed (an outage, a worker joining); awaited at the end."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        return task

    def on_close(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_close.append(callback)

    def reader(self, name: str) -> TopicReader:
        return TopicReader(self.kafka, self.topics[name], read_committed=self.read_committed)

    async def dead_letter_seen(self, digest: str, *, timeout_s: float) -> bool:
        """Wait until a dead letter of the value with this sha256 is on the DLQ."""
        reader = self.reader("dlq")
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                await reader.poll()
                if any(f'"{digest}"'.encode() in (r.value or b"") for r in reader.records):
                    return True
            return False
        finally:
            await reader.close()

    # --- the end ----------------------------------------------------------------

    def expected(self, matches: Sequence[MatchSlice], **extra: Any) -> Expected:
        return Expected(
            actions={m.game_id: m.action_ids for m in matches},
            times={m.game_id: m.times for m in matches},
            personas=self.personas,
            lines=self.extra_env.get("PITCHCAST_PUBLISH_LINES", "true") == "true",
            **extra,
        )

    async def wait_commented(self, expected: Expected, *, timeout_s: float) -> TopicReader:
        """Until every real action is in a commentary record of every persona."""
        if self._tasks:  # outages and joins started by the feed end first
            await asyncio.gather(*self._tasks)
            self._tasks.clear()
        reader = self.reader("commentary")
        wanted = {(g, p): set(ids) for g, ids in expected.actions.items() for p in self.personas}
        seen: dict[tuple[int, str], set[int]] = {k: set() for k in wanted}
        done = 0
        deadline = time.monotonic() + timeout_s
        while True:
            await reader.poll()
            for record in reader.records[done:]:
                data = orjson.loads(record.value or b"{}")
                key = (data.get("game_id"), data.get("persona"))
                if key in seen:
                    seen[key].update(item["action_id"] for item in data["items"])
            done = len(reader.records)
            if all(wanted[k] <= seen[k] for k in wanted):
                return reader
            if time.monotonic() > deadline:
                short = {f"{g}/{p}": len(wanted[(g, p)] - seen[(g, p)]) for g, p in wanted}
                self.figures.problems.append(f"not every action commented in time: {short}")
                return reader
            await asyncio.sleep(0.2)

    async def finish(
        self, expected: Expected, *, timeout_s: float = 300.0, settle_s: float = 1.5
    ) -> Figures:
        """Wait for the commentary, check every promise, grep for secrets; the figures."""
        figures = self.figures
        readers = {name: self.reader(name) for name in ("lines", "batches", "dlq", "events")}
        commentary = None
        try:
            commentary = await self.wait_commented(expected, timeout_s=timeout_s)
            await asyncio.sleep(settle_s)  # copies written late still count
            await self._check_commits()
            # Every topic to its end offsets (taken now, after the commits reached theirs).
            for reader in (commentary, *readers.values()):
                try:
                    await reader.read_to_end()
                except TimeoutError as exc:
                    figures.problems.append(f"output not read to its end: {exc}")
            live = self.live_workers
            if live:
                stats = self.stats = await live[-1].stats()
                figures.worker = {k: v for k, v in stats.items() if k in _STATS and v}
                self.outputs["stats"] = orjson.dumps(stats)
            check_topics(
                figures,
                expected,
                commentary=commentary.records,
                lines=readers["lines"].records,
                handoff=readers["batches"].records,
                dead_letters=readers["dlq"].records,
                events=readers["events"].records,
            )
            for name, reader in (("commentary", commentary), *readers.items()):
                self.records[name] = reader.records
                self.outputs[f"topic {name}"] = b"\n".join(
                    (r.key or b"") + b" " + (r.value or b"") for r in reader.records
                )
        finally:
            for reader in (*readers.values(), *([commentary] if commentary else [])):
                await reader.close()
            await self.close()
        if self.llm is not None:
            figures.llm_requests = self.llm.request_count
            self.outputs["llm requests"] = orjson.dumps(self.llm.requests)
        for n, worker in enumerate(self.workers):
            self.outputs[f"worker{n}.log"] = worker.log_text()
        self.outputs["figures"] = figures.render()
        figures.problems += find_secrets(self.secrets, self.outputs)
        # The grep means something only if the workers had the secrets (masked in the log).
        masked = ("LLM_API_KEY", "REDIS_PASSWORD", "KAFKA_SASL_PASSWORD")
        for n, worker in enumerate(self.workers):
            text = worker.log_text()
            if "pitchcast.settings" in text and not all(
                f"PITCHCAST_{name}=**********" in text for name in masked
            ):
                figures.problems.append(f"worker{n} did not get every secret (masked) to keep")
        figures.seconds = time.monotonic() - self.started
        return figures

    async def _check_commits(self, timeout_s: float = 30.0) -> None:
        """Once all is done, the group's commits reach the end offsets of what it
        consumes: no record was left unacknowledged (it would hold its partition's
        commit). Under exactly_once a transaction's commit marker may end a partition:
        only markers may lie between the commit and the end (:func:`.check.check_commits`).
        Checked whether or not a worker is still alive: with none, the commits are what
        the last one left, read once (no later commit can come to wait for).
        """
        if not self.live_workers:
            timeout_s = 0.0
        group = f"{self.prefix}-app"
        names = ("events", "batches")
        deadline = time.monotonic() + timeout_s
        while True:
            positions = {
                name: await commit_lag(self.kafka, group, self.topics[name]) for name in names
            }
            records: dict[str, list[RawRecord]] = {}
            if self.read_committed:  # which offsets past a commit hold records
                for name in names:
                    reader = self.reader(name)
                    try:
                        await reader.read_to_end()
                    finally:
                        await reader.close()
                    records[name] = reader.records
            problems = commit_problems(positions, records, markers=self.read_committed)
            if not problems or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        self.figures.problems += problems

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for callback in self._on_close:
            await callback()
        self._on_close.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        for worker in self.workers:
            self._expected_exits.add(id(worker))
        await asyncio.gather(*(w.stop() for w in self.workers if w.process is not None))
        await self.feed.close()
        self.redis.stop()
        if self.llm is not None:
            self.llm.stop()
