"""``LocalStack``: starts, stops and reports the local Kafka broker and Redis together."""

from __future__ import annotations

import contextlib
import fcntl
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from pitchcast.exceptions import StackError
from pitchcast.localstack.jars import KafkaJars
from pitchcast.localstack.kafka_broker import KafkaBroker
from pitchcast.localstack.processes import (
    Echo,
    accepts,
    port_free,
    port_owner,
    require_tool,
    send_signal,
    wait_gone,
)
from pitchcast.localstack.redis_server import RedisServer
from pitchcast.settings import Settings

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
        kafka_heap: str = "768m",
        ready_timeout_s: float = 90.0,
        stop_timeout_s: float = 30.0,
        resolve_timeout_s: float = 900.0,
    ) -> None:
        version = settings.stack_kafka_version
        if not _VERSION_RE.match(version):
            raise StackError(f"stack_kafka_version {version!r} is not a Kafka version like 4.1.1")
        self._version = version
        self._kafka_port = settings.stack_kafka_port
        self._controller_port = settings.stack_kafka_controller_port
        self._redis_port = settings.stack_redis_port
        if len({self._kafka_port, self._controller_port, self._redis_port}) != 3:
            raise StackError(
                "stack_kafka_port, stack_kafka_controller_port and stack_redis_port must differ"
            )
        self._stop_timeout_s = stop_timeout_s
        # Absolute, because the path is also the marker in the broker's command line.
        self._root = settings.stack_dir.expanduser().resolve()
        cache_root = cache_dir if cache_dir is not None else Path.home() / ".cache" / "pitchcast"
        self._jars = KafkaJars(version, cache_root, resolve_timeout_s=resolve_timeout_s)
        self._kafka = KafkaBroker(
            self._root,
            version=version,
            port=self._kafka_port,
            controller_port=self._controller_port,
            libs=self._jars.libs,
            heap=kafka_heap,
            ready_timeout_s=ready_timeout_s,
        )
        self._redis = RedisServer(
            self._root, port=self._redis_port, ready_timeout_s=ready_timeout_s
        )

    # --- public API ---------------------------------------------------------

    @property
    def kafka_bootstrap_servers(self) -> str:
        """Where the local broker listens, as ``host:port``."""
        return self._kafka.bootstrap_servers

    @property
    def redis_url(self) -> str:
        """Where the local Redis listens (database 0, no password)."""
        return self._redis.url

    def pids(self) -> dict[str, int | None]:
        """PIDs of the running services this stack started (None when not running)."""
        return {"kafka": self._kafka.pid(), "redis": self._redis.pid()}

    def fetch(self, echo: Echo = print) -> Path:
        """Resolve the Kafka jars into the cache (once per version); return the folder."""
        return self._jars.ensure(echo)

    def up(self, echo: Echo = print) -> None:
        """Start whatever is not running yet and wait until Kafka and Redis both answer."""
        with self._lock():
            kafka_pid, redis_pid = self._kafka.pid(), self._redis.pid()
            if kafka_pid and redis_pid:
                echo(
                    f"pitchcast stack already running: Kafka pid {kafka_pid}, "
                    f"Redis pid {redis_pid}; nothing changed"
                )
                self._echo_where(echo, kafka_pid, redis_pid)
                return

            # Check everything that can be checked before starting anything.
            java = redis_server = ""
            if kafka_pid:
                echo(f"Kafka already running (pid {kafka_pid})")
            else:
                java = self._kafka.require_java()
                self._require_free(self._kafka_port, "Kafka", "PITCHCAST_STACK_KAFKA_PORT")
                self._require_free(
                    self._controller_port,
                    "the Kafka controller",
                    "PITCHCAST_STACK_KAFKA_CONTROLLER_PORT",
                )
            if redis_pid:
                echo(f"Redis already running (pid {redis_pid})")
            else:
                redis_server = require_tool("redis-server", "Redis")
                self._require_free(self._redis_port, "Redis", "PITCHCAST_STACK_REDIS_PORT")
            if not kafka_pid:
                self._jars.ensure(echo)

            started: list[tuple[str, int]] = []
            try:
                if not redis_pid:
                    redis_pid = self._redis.start(redis_server)
                    started.append(("Redis", redis_pid))
                if not kafka_pid:
                    self._kafka.prepare(java, echo)
                    echo(f"starting Kafka {self._version} on {self.kafka_bootstrap_servers} ...")
                    kafka_pid = self._kafka.start(java)
                    started.append(("Kafka", kafka_pid))
                began = time.monotonic()
                self._redis.wait(redis_pid)
                self._kafka.wait(kafka_pid)
                echo(f"Kafka and Redis answer ({time.monotonic() - began:.1f} s after start)")
            except BaseException:
                # Leave the machine as we found it: stop only what this call started.
                for name, pid in reversed(started):
                    with contextlib.suppress(StackError):
                        self._stop(name, pid, lambda _line: None)
                self._remove_stale_pidfiles()
                raise
            self._echo_where(echo, kafka_pid, redis_pid)

    def down(self, echo: Echo = print) -> None:
        """Stop the services this stack started (SIGTERM, then SIGKILL after a bound)."""
        with self._lock():
            for name, pid, pidfile in (
                ("Kafka", self._kafka.pid(), self._kafka.pidfile),
                ("Redis", self._redis.pid(), self._redis.pidfile),
            ):
                if pid is None:
                    stale = pidfile.exists()
                    pidfile.unlink(missing_ok=True)
                    echo(f"{name}: not running" + (" (removed a stale PID file)" if stale else ""))
                    continue
                self._stop(name, pid, echo)
                pidfile.unlink(missing_ok=True)

    def status(self, echo: Echo = print) -> bool:
        """Say what runs; True when both services run and accept connections."""
        ok = True
        for name, pid, port, where, log in (
            (
                "Kafka",
                self._kafka.pid(),
                self._kafka_port,
                self.kafka_bootstrap_servers,
                self._kafka.logs / "server.log",
            ),
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
        if self._kafka.pid() is None:
            self._kafka.pidfile.unlink(missing_ok=True)
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

    def _echo_where(self, echo: Echo, kafka_pid: int, redis_pid: int) -> None:
        echo(
            f"Kafka {self._version}: {self.kafka_bootstrap_servers} (pid {kafka_pid}), "
            f"log {self._kafka.logs / 'server.log'}"
        )
        echo(f"Redis: {self.redis_url} (pid {redis_pid}), log {self._redis.log}")

    def _require_free(self, port: int, what: str, env_var: str) -> None:
        if port_free(port):
            return
        owner = port_owner(port)
        who = f"pid {owner[0]} ({owner[1]})" if owner else "another process"
        raise StackError(
            f"port {port} for {what} is taken by {who}, which this stack did not start "
            f"(its PID files are in {self._root}). Stop that process, or pick another port "
            f"with {env_var}."
        )
