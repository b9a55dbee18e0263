"""``LocalStack``: starts, stops and reports the local Kafka broker and Redis together."""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pitchcast.exceptions import PortTaken, StackError
from pitchcast.localstack.jars import KafkaJars
from pitchcast.localstack.kafka_broker import BrokerSecurity, KafkaBroker, Quorum, new_cluster_id
from pitchcast.localstack.processes import (
    Echo,
    accepts,
    live_pid,
    port_free,
    port_owner,
    require_tool,
    send_signal,
    wait_gone,
)
from pitchcast.localstack.redis_server import RedisServer, RedisTLS
from pitchcast.localstack.secure import (
    ADMIN_USER,
    OPS_USER,
    WORKER_USER,
    SecureMaterial,
    changelog_topic,
    create_acls,
)
from pitchcast.settings import Settings, load_settings

_MODE_FILE = "stack.json"


def load_settings_from(
    env: dict[str, str], *, base: Settings | None = None, keep_topics: bool = False
) -> Settings:
    """Settings of a client of the stack: ``base`` (topics, app id, partitions) with the
    connection values of ``env`` (``PITCHCAST_*`` names) on top."""
    values: dict[str, Any] = {}
    if base is not None and keep_topics:
        values = {
            k: getattr(base, k)
            for k in (
                "topic_events", "topic_batches", "topic_commentary", "topic_lines",
                "topic_dlq", "app_id", "partitions", "replication_factor",
                "min_insync_replicas",
            )
        }  # fmt: skip
    for name, value in env.items():
        values[name.removeprefix("PITCHCAST_").lower()] = value
    return load_settings(**values)


__all__ = ["LocalStack"]

_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){1,3}(-[0-9A-Za-z.]+)?$")


class LocalStack:
    """Starts, stops and reports the local Kafka broker and Redis server.

    The methods block (``up`` until both services answer, ``down`` until both are
    gone) and report progress through ``echo``; failures raise :class:`StackError`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        cache_dir: Path | None = None,
        kafka_heap: str | None = None,
        ready_timeout_s: float = 90.0,
        stop_timeout_s: float = 30.0,
        resolve_timeout_s: float = 900.0,
    ) -> None:
        version = settings.stack_kafka_version
        if not _VERSION_RE.match(version):
            raise StackError(f"stack_kafka_version {version!r} is not a Kafka version like 4.1.1")
        self._settings = settings
        self._version = version
        self.brokers = settings.stack_brokers
        self.secure = settings.stack_secure
        # Node i (0-based) on base + 2i: 9092/9093, 9094/9095, 9096/9097 by default.
        self._kafka_ports = [settings.stack_kafka_port + 2 * i for i in range(self.brokers)]
        self._controller_ports = [
            settings.stack_kafka_controller_port + 2 * i for i in range(self.brokers)
        ]
        self._kafka_port = self._kafka_ports[0]
        self._controller_port = self._controller_ports[0]
        self._redis_port = settings.stack_redis_port
        ports = [*self._kafka_ports, *self._controller_ports, self._redis_port]
        if len(set(ports)) != len(ports):
            raise StackError(
                "stack_kafka_port, stack_kafka_controller_port and stack_redis_port must differ"
                + (" (nodes use port + 2i: the Kafka and controller ports must be an odd"
                   " distance apart)" if self.brokers > 1 else "")
            )  # fmt: skip
        self._stop_timeout_s = stop_timeout_s
        self._ready_timeout_s = ready_timeout_s
        # Absolute, because the path is also the marker in the broker's command line.
        self._root = settings.stack_dir.expanduser().resolve()
        cache_root = cache_dir if cache_dir is not None else Path.home() / ".cache" / "pitchcast"
        self._jars = KafkaJars(version, cache_root, resolve_timeout_s=resolve_timeout_s)
        self._heap = kafka_heap or ("768m" if self.brokers == 1 else "512m")
        self._material: SecureMaterial | None = None
        self._nodes = self._make_nodes(cluster_id="")
        redis_tls = None
        if self.secure:
            material = self._secure_material()
            redis_tls = RedisTLS(
                cert=material.server_cert,
                key=material.server_key,
                ca=material.ca,
                password=material.passwords["redis"],
            )
        self._redis = RedisServer(
            self._root, port=self._redis_port, ready_timeout_s=ready_timeout_s, tls=redis_tls
        )
        self._kafka = self._nodes[0]

    @classmethod
    def as_started(cls, settings: Settings, **options: Any) -> LocalStack:
        """The stack in ``settings.stack_dir`` with the brokers and security it was last
        started with (for ``down`` and ``status``); the settings' own when never started."""
        root = settings.stack_dir.expanduser().resolve()
        try:
            saved = json.loads((root / _MODE_FILE).read_text(encoding="utf-8"))
            update = {"stack_brokers": int(saved["brokers"]), "stack_secure": bool(saved["secure"])}
        except (OSError, ValueError, KeyError, TypeError):
            update = {}
        return cls(settings.model_copy(update=update), **options)

    def _secure_material(self) -> SecureMaterial:
        if self._material is None:
            self._material = SecureMaterial.ensure(self._root)
        return self._material

    def _make_nodes(self, cluster_id: str) -> list[KafkaBroker]:
        voters = {i + 1: port for i, port in enumerate(self._controller_ports)}
        rf = 3 if self.brokers == 3 else 1
        security = None
        if self.secure:
            material = self._secure_material()
            security = BrokerSecurity(
                keystore=material.keystore,
                truststore=material.ca,
                admin_password=material.passwords[ADMIN_USER],
                scram_users=tuple(
                    (user, material.passwords[user]) for user in (ADMIN_USER, WORKER_USER, OPS_USER)
                ),
            )
        return [
            KafkaBroker(
                self._root,
                version=self._version,
                port=port,
                controller_port=self._controller_ports[i],
                libs=self._jars.libs,
                heap=self._heap,
                ready_timeout_s=self._ready_timeout_s,
                quorum=Quorum(i + 1, voters, cluster_id),
                replication_factor=rf,
                min_insync_replicas=2 if rf == 3 else 1,
                security=security,
            )
            for i, port in enumerate(self._kafka_ports)
        ]

    # --- public API ---------------------------------------------------------

    @property
    def kafka_bootstrap_servers(self) -> str:
        """Where the local brokers listen, as ``host:port[,host:port...]``."""
        return ",".join(node.bootstrap_servers for node in self._nodes)

    @property
    def redis_url(self) -> str:
        """Where the local Redis listens (database 0; ``rediss://`` when secure, the
        password in :meth:`client_env`, never in the URL)."""
        return self._redis.url

    @property
    def nodes(self) -> list[KafkaBroker]:
        """The Kafka nodes, node id i + 1 at index i."""
        return self._nodes

    def pids(self) -> dict[str, int | None]:
        """PIDs of the running services this stack started (None when not running):
        ``kafka`` (the first node), ``kafka-<id>`` for each node, ``redis``."""
        pids: dict[str, int | None] = {"kafka": self._kafka.pid()}
        if self.brokers > 1:
            pids.update({f"kafka-{n.node_id}": n.pid() for n in self._nodes})
        pids["redis"] = self._redis.pid()
        return pids

    def client_env(self, user: str = WORKER_USER) -> dict[str, str]:
        """The ``PITCHCAST_*`` settings a client needs to reach this stack (as ``user`` on
        the secure stack: ``pitchcast``, ``pitchcast-ops`` or ``admin``)."""
        env = {
            "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "PITCHCAST_REDIS_URL": self.redis_url,
        }
        if self.brokers > 1:
            env["PITCHCAST_REPLICATION_FACTOR"] = "3"
            env["PITCHCAST_MIN_INSYNC_REPLICAS"] = "2"
        if self.secure:
            material = self._secure_material()
            secure = material.client_env(
                user, bootstrap=self.kafka_bootstrap_servers, redis_url=self.redis_url
            )
            if user == ADMIN_USER:
                secure["PITCHCAST_CREATE_TOPICS"] = "true"
            env.update(secure)
        return env

    def fetch(self, echo: Echo = print) -> Path:
        """Resolve the Kafka jars into the cache (once per version); return the folder."""
        return self._jars.ensure(echo)

    def up(self, echo: Echo = print) -> None:
        """Start whatever is not running yet and wait until Kafka and Redis both answer;
        on the secure stack, then create the topics and ACLs (as the admin)."""
        with self._lock():
            self._refuse_other_mode()
            kafka_pids = [node.pid() for node in self._nodes]
            redis_pid = self._redis.pid()
            if all(kafka_pids) and redis_pid:
                echo(f"pitchcast stack already running ({self._mode_text()}); nothing changed")
                self._echo_where(echo)
                return

            # Check everything that can be checked before starting anything.
            java = redis_server = ""
            if any(kafka_pids):
                echo(f"Kafka nodes already running: pids {[p for p in kafka_pids if p]}")
            if not all(kafka_pids):
                java = self._nodes[0].require_java()
                for node, pid in zip(self._nodes, kafka_pids, strict=True):
                    if pid:
                        continue
                    self._require_free(node.port, "Kafka", "PITCHCAST_STACK_KAFKA_PORT")
                    self._require_free(
                        node.controller_port,
                        "the Kafka controller",
                        "PITCHCAST_STACK_KAFKA_CONTROLLER_PORT",
                    )
            if redis_pid:
                echo(f"Redis already running (pid {redis_pid})")
            else:
                redis_server = require_tool("redis-server", "Redis")
                self._require_free(self._redis_port, "Redis", "PITCHCAST_STACK_REDIS_PORT")
            if not all(kafka_pids):
                self._jars.ensure(echo)
            self._write_mode()

            started: list[tuple[str, int]] = []
            try:
                if not redis_pid:
                    redis_pid = self._redis.start(redis_server)
                    started.append(("Redis", redis_pid))
                if not all(kafka_pids):
                    self._nodes = self._make_nodes(self._cluster_id())
                    self._kafka = self._nodes[0]
                    for node, pid in zip(self._nodes, kafka_pids, strict=True):
                        if pid:
                            continue
                        node.prepare(java, echo)
                        echo(
                            f"starting Kafka {self._version} node {node.node_id} on "
                            f"{node.bootstrap_servers} ..."
                        )
                        started.append((f"Kafka node {node.node_id}", node.start(java)))
                began = time.monotonic()
                self._redis.wait(redis_pid)
                client = self._admin_client_options()
                for node in self._nodes:
                    pid = node.pid()
                    if pid is None:
                        raise StackError(f"Kafka node {node.node_id} is not running")
                    node.wait(pid, brokers=self.brokers, client=client)
                echo(f"Kafka and Redis answer ({time.monotonic() - began:.1f} s after start)")
                if self.secure:
                    self._provision(java or self._nodes[0].require_java(), echo)
            except BaseException:
                # Leave the machine as we found it: stop only what this call started.
                for name, pid in reversed(started):
                    with contextlib.suppress(StackError):
                        self._stop(name, pid, lambda _line: None)
                self._remove_stale_pidfiles()
                raise
            self._echo_where(echo)

    def down(self, echo: Echo = print) -> None:
        """Stop the services this stack started (SIGTERM, then SIGKILL after a bound)."""
        with self._lock():
            services = [*self._any_nodes(), ("Redis", self._redis.pid(), self._redis.pidfile)]
            # Every node at once: a node stopped after the others has no controller quorum
            # left for its controlled shutdown and would wait out the whole bound.
            for name, pid, _ in services:
                if pid is not None and name.startswith("Kafka"):
                    send_signal(pid, signal.SIGTERM)
            for name, pid, pidfile in services:
                if pid is None:
                    stale = pidfile.exists()
                    pidfile.unlink(missing_ok=True)
                    echo(f"{name}: not running" + (" (removed a stale PID file)" if stale else ""))
                    continue
                self._stop(name, pid, echo)
                pidfile.unlink(missing_ok=True)
            (self._root / _MODE_FILE).unlink(missing_ok=True)

    def status(self, echo: Echo = print) -> bool:
        """Say what runs; True when both services run and accept connections."""
        ok = True
        nodes = [
            (
                "Kafka" if self.brokers == 1 else f"Kafka node {node.node_id}",
                node.pid(),
                node.port,
                node.bootstrap_servers,
                node.logs / "server.log",
            )
            for node in self._nodes
        ]
        echo(f"pitchcast stack: {self._mode_text()}")
        for name, pid, port, where, log in (
            *nodes,
            ("Redis", self._redis.pid(), self._redis_port, self.redis_url, self._redis.log),
        ):
            if pid is None:
                echo(f"{name}: not running")
                ok = False
            elif accepts(port, 1.0):
                echo(f"{name}: running, pid {pid}, {where}, log {log}")
            else:
                echo(f"{name}: pid {pid} is alive but not accepting connections on {where}")
                ok = False
        return ok

    # --- processes and PID files -------------------------------------------

    def _remove_stale_pidfiles(self) -> None:
        for node in self._nodes:
            if node.pid() is None:
                node.pidfile.unlink(missing_ok=True)
        if self._redis.pid() is None:
            self._redis.pidfile.unlink(missing_ok=True)

    def _stop(self, name: str, pid: int, echo: Echo) -> None:
        began = time.monotonic()
        send_signal(pid, signal.SIGTERM)
        if not wait_gone(pid, self._stop_timeout_s):
            echo(f"{name} (pid {pid}) ignored SIGTERM for {self._stop_timeout_s:.0f} s; killing it")
            send_signal(pid, signal.SIGKILL)
            if not wait_gone(pid, 10.0):
                raise StackError(f"{name} (pid {pid}) is still alive after SIGKILL")
        echo(f"{name}: stopped (pid {pid}, {time.monotonic() - began:.1f} s)")

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Two `stack up` at once would both see "not running" and race for the ports.
        self._root.mkdir(parents=True, exist_ok=True)
        with (self._root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _echo_where(self, echo: Echo) -> None:
        for node in self._nodes:
            echo(
                f"Kafka {self._version} node {node.node_id}: {node.bootstrap_servers} "
                f"(pid {node.pid()}), log {node.logs / 'server.log'}"
            )
        echo(f"Redis: {self.redis_url} (pid {self._redis.pid()}), log {self._redis.log}")
        if self.brokers > 1:
            echo(
                "topics: PITCHCAST_REPLICATION_FACTOR=3 PITCHCAST_MIN_INSYNC_REPLICAS=2 "
                f"PITCHCAST_KAFKA_BOOTSTRAP_SERVERS={self.kafka_bootstrap_servers}"
            )
        if self.secure:
            folder = self._secure_material().folder
            echo(
                f"secure: SASL_SSL (SCRAM-SHA-512) and rediss://; the worker's settings are in "
                f"{folder / 'worker.env'}, the tools' in {folder / 'ops.env'}, the admin's "
                f"Kafka client settings in {folder / 'admin.properties'} (all mode 0600)"
            )

    # --- modes, cluster id, secure provisioning ------------------------------

    def _mode_text(self) -> str:
        nodes = "1 Kafka node" if self.brokers == 1 else f"{self.brokers} Kafka nodes (KRaft)"
        return nodes + (", SASL_SSL + Redis TLS" if self.secure else ", plaintext")

    def _saved_mode(self) -> dict[str, object] | None:
        try:
            return dict(json.loads((self._root / _MODE_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def _write_mode(self) -> None:
        mode = {"brokers": self.brokers, "secure": self.secure}
        (self._root / _MODE_FILE).write_text(json.dumps(mode), encoding="utf-8")

    def _refuse_other_mode(self) -> None:
        saved = self._saved_mode()
        if saved is None or saved == {"brokers": self.brokers, "secure": self.secure}:
            return
        if any(pid for _, pid, _ in self._any_nodes()) or self._redis_any_pid():
            raise StackError(
                f"the stack in {self._root} runs with {saved}, not brokers={self.brokers}, "
                f"secure={self.secure}: `pitchcast stack down` first"
            )

    def _redis_any_pid(self) -> int | None:
        return self._redis.pid()

    def _any_nodes(self) -> list[tuple[str, int | None, Path]]:
        """Every Kafka node this root holds a PID file for, whatever mode started it."""
        rows = [
            ("Kafka" if self.brokers == 1 else f"Kafka node {n.node_id}", n.pid(), n.pidfile)
            for n in self._nodes
        ]
        known = {n.pidfile for n in self._nodes}
        marker = f"-Dpitchcast.stack.dir={self._root}"
        for pidfile in sorted(self._root.glob("kafka*/kafka.pid")):
            if pidfile not in known:
                pid = live_pid(pidfile, lambda argv: marker in argv)
                rows.append((f"Kafka ({pidfile.parent.name})", pid, pidfile))
        return rows

    def _cluster_id(self) -> str:
        """One id for every node of the cluster, kept across starts (in the mode file's
        folder), so that a node formatted earlier still joins."""
        path = self._root / "cluster-id"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        if not text:
            text = new_cluster_id()
            path.write_text(text + "\n", encoding="utf-8")
        return text

    def _admin_client_options(self) -> dict[str, Any]:
        """aiokafka options of the super user (for the readiness check)."""
        if not self.secure:
            return {}
        from pitchcast.streams.clients import aiokafka_options

        options = dict(aiokafka_options(load_settings_from(self.client_env(ADMIN_USER))))
        options.pop("bootstrap_servers")  # each node is asked on its own address
        return options

    def _provision(self, java: str, echo: Echo) -> None:
        """As the admin: the topics of the settings (and faust's changelog), then ACLs."""
        from pitchcast.localstack.processes import run_coroutine
        from pitchcast.streams.admin import ensure_changelog, ensure_topics

        admin = load_settings_from(
            self.client_env(ADMIN_USER), base=self._settings, keep_topics=True
        )
        material = self._secure_material()
        material.write_client_files(
            bootstrap=self.kafka_bootstrap_servers, redis_url=self.redis_url
        )
        for line in run_coroutine(ensure_topics, admin):
            echo(line)
        echo(run_coroutine(ensure_changelog, admin, changelog_topic(admin)))
        count = create_acls(java, self._jars.libs, material, admin)
        echo(f"{count} ACLs for User:{WORKER_USER} and User:{OPS_USER} (docs/operations.md)")

    def _require_free(self, port: int, what: str, env_var: str) -> None:
        if port_free(port):
            return
        owner = port_owner(port)
        who = f"pid {owner[0]} ({owner[1]})" if owner else "another process"
        raise PortTaken(
            f"port {port} for {what} is taken by {who}, which this stack did not start "
            f"(its PID files are in {self._root}). Stop that process, or pick another port "
            f"with {env_var}."
        )
