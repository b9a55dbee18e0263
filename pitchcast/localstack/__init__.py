"""A local Apache Kafka broker and Redis for machines without Docker (``pitchcast stack``).

Kafka is the real broker from the ``org.apache.kafka:kafka_2.13`` jars, which Maven
resolves from Maven Central into a cache folder once per version; it runs as a single
KRaft node (broker and controller in one JVM) listening on 127.0.0.1 only. Redis is
Debian's ``redis-server``. Both run detached, so they outlive the command that started
them, and leave a PID file under ``settings.stack_dir``::

    <stack_dir>/kafka/server.properties   broker configuration, rewritten on every start
    <stack_dir>/kafka/data/               the log (kept across down/up)
    <stack_dir>/kafka/logs/server.log     the broker's log; stdout.log has its console
    <stack_dir>/kafka/kafka.pid
    <stack_dir>/redis/redis.log, redis.pid

``down`` stops only processes whose PID file this stack wrote and whose command line
still identifies them as ours, so a recycled PID is never signalled.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pitchcast.exceptions import StackError
from pitchcast.settings import Settings

__all__ = ["LocalStack"]

Echo = Callable[[str], None]
_T = TypeVar("_T")

_HOST = "127.0.0.1"
_KAFKA_MAIN = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_MIN_JAVA = 17  # Kafka 4 brokers need Java 17
_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){1,3}(-[0-9A-Za-z.]+)?$")
# Jars whose absence means a broken resolution rather than a broker that merely logs less.
_REQUIRED_JARS = (
    "kafka_2.13-{v}.jar",
    "kafka-clients-{v}.jar",
    "log4j-core-",
    "log4j-slf4j2-impl-",
)

_INSTALL_HINTS = {
    "java": "apt-get install -y openjdk-17-jre-headless",
    "mvn": "apt-get install -y maven",
    "redis-server": "apt-get install -y redis-server",
}


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
        self._heap = kafka_heap
        self._ready_timeout_s = ready_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._resolve_timeout_s = resolve_timeout_s

        # Absolute, because the path is also the marker in the broker's command line.
        self._root = settings.stack_dir.expanduser().resolve()
        self._kafka_dir = self._root / "kafka"
        self._kafka_data = self._kafka_dir / "data"
        self._kafka_logs = self._kafka_dir / "logs"
        self._kafka_pidfile = self._kafka_dir / "kafka.pid"
        self._redis_dir = self._root / "redis"
        self._redis_pidfile = self._redis_dir / "redis.pid"
        self._redis_log = self._redis_dir / "redis.log"

        cache_root = cache_dir if cache_dir is not None else Path.home() / ".cache" / "pitchcast"
        self._cache = cache_root.expanduser().resolve() / f"kafka-{version}"
        self._libs = self._cache / "libs"

    # --- public API ---------------------------------------------------------

    @property
    def kafka_bootstrap_servers(self) -> str:
        """Where the local broker listens, as ``host:port``."""
        return f"{_HOST}:{self._kafka_port}"

    @property
    def redis_url(self) -> str:
        """Where the local Redis listens (database 0, no password)."""
        return f"redis://{_HOST}:{self._redis_port}/0"

    def pids(self) -> dict[str, int | None]:
        """PIDs of the running services this stack started (None when not running)."""
        return {"kafka": self._kafka_pid(), "redis": self._redis_pid()}

    def fetch(self, echo: Echo = print) -> Path:
        """Resolve the Kafka jars into the cache (once per version); return the folder."""
        return self._ensure_libs(echo)

    def up(self, echo: Echo = print) -> None:
        """Start whatever is not running yet and wait until Kafka and Redis both answer."""
        with self._lock():
            kafka_pid, redis_pid = self._kafka_pid(), self._redis_pid()
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
                java = self._require_java()
                self._require_free(self._kafka_port, "Kafka", "PITCHCAST_STACK_KAFKA_PORT")
                self._require_free(
                    self._controller_port,
                    "the Kafka controller",
                    "PITCHCAST_STACK_KAFKA_CONTROLLER_PORT",
                )
            if redis_pid:
                echo(f"Redis already running (pid {redis_pid})")
            else:
                redis_server = _require_tool("redis-server", "Redis")
                self._require_free(self._redis_port, "Redis", "PITCHCAST_STACK_REDIS_PORT")
            if not kafka_pid:
                self._ensure_libs(echo)

            started: list[tuple[str, int]] = []
            try:
                if not redis_pid:
                    redis_pid = self._start_redis(redis_server)
                    started.append(("Redis", redis_pid))
                if not kafka_pid:
                    self._prepare_kafka(java, echo)
                    echo(f"starting Kafka {self._version} on {self.kafka_bootstrap_servers} ...")
                    kafka_pid = self._start_kafka(java)
                    started.append(("Kafka", kafka_pid))
                began = time.monotonic()
                self._wait_redis(redis_pid)
                self._wait_kafka(kafka_pid)
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
                ("Kafka", self._kafka_pid(), self._kafka_pidfile),
                ("Redis", self._redis_pid(), self._redis_pidfile),
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
                self._kafka_pid(),
                self._kafka_port,
                self.kafka_bootstrap_servers,
                self._kafka_logs / "server.log",
            ),
            ("Redis", self._redis_pid(), self._redis_port, self.redis_url, self._redis_log),
        ):
            if pid is None:
                echo(f"{name}: not running")
                ok = False
            elif _accepts(port, 1.0):
                echo(f"{name}: running, pid {pid}, {where}, log {log}")
            else:
                echo(f"{name}: pid {pid} is alive but not accepting connections on {where}")
                ok = False
        return ok

    # --- processes and PID files -------------------------------------------

    def _kafka_pid(self) -> int | None:
        marker = f"-Dpitchcast.stack.dir={self._root}"
        return _live_pid(self._kafka_pidfile, lambda argv: marker in argv)

    def _redis_pid(self) -> int | None:
        # redis-server rewrites its title to "redis-server 127.0.0.1:PORT".
        listen = f"{_HOST}:{self._redis_port}"
        return _live_pid(
            self._redis_pidfile,
            lambda argv: "redis-server" in " ".join(argv) and listen in " ".join(argv),
        )

    def _remove_stale_pidfiles(self) -> None:
        if self._kafka_pid() is None:
            self._kafka_pidfile.unlink(missing_ok=True)
        if self._redis_pid() is None:
            self._redis_pidfile.unlink(missing_ok=True)

    def _stop(self, name: str, pid: int, echo: Echo) -> None:
        began = time.monotonic()
        _signal(pid, signal.SIGTERM)
        if not _wait_gone(pid, self._stop_timeout_s):
            echo(f"{name} (pid {pid}) ignored SIGTERM for {self._stop_timeout_s:.0f} s; killing it")
            _signal(pid, signal.SIGKILL)
            if not _wait_gone(pid, 10.0):
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
            f"log {self._kafka_logs / 'server.log'}"
        )
        echo(f"Redis: {self.redis_url} (pid {redis_pid}), log {self._redis_log}")

    # --- prerequisites ------------------------------------------------------

    def _require_java(self) -> str:
        java = _require_tool("java", "the Kafka broker")
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
        found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
        if found:
            major = int(found.group(1))
            if major == 1 and found.group(2):  # "1.8.0_x" is Java 8
                major = int(found.group(2))
            if major < _MIN_JAVA:
                raise StackError(
                    f"{java} is Java {major}; Kafka {self._version} needs Java {_MIN_JAVA}+. "
                    f"Install it: {_INSTALL_HINTS['java']}"
                )
        return java

    def _require_free(self, port: int, what: str, env_var: str) -> None:
        if _port_free(port):
            return
        owner = _port_owner(port)
        who = f"pid {owner[0]} ({owner[1]})" if owner else "another process"
        raise StackError(
            f"port {port} for {what} is taken by {who}, which this stack did not start "
            f"(its PID files are in {self._root}). Stop that process, or pick another port "
            f"with {env_var}."
        )

    # --- Kafka --------------------------------------------------------------

    def _ensure_libs(self, echo: Echo) -> Path:
        complete = self._cache / "complete"
        if complete.exists() and self._libs_look_whole():
            return self._libs
        mvn = _require_tool("mvn", "resolving the Kafka jars from Maven Central")
        self._cache.mkdir(parents=True, exist_ok=True)
        with (self._cache / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # another process may be resolving right now
            if complete.exists() and self._libs_look_whole():
                return self._libs
            echo(
                f"resolving Kafka {self._version} jars from Maven Central into {self._libs} "
                "(once per version) ..."
            )
            began = time.monotonic()
            pom = resources.files(__name__).joinpath("pom.xml").read_text(encoding="utf-8")
            (self._cache / "pom.xml").write_text(pom, encoding="utf-8")
            partial = self._cache / "libs.partial"
            shutil.rmtree(partial, ignore_errors=True)
            command = [
                mvn,
                "-q",
                "-B",
                "dependency:copy-dependencies",
                f"-Dkafka.version={self._version}",
                f"-Dpitchcast.libs={partial}",
            ]
            try:
                result = subprocess.run(
                    command,
                    cwd=self._cache,
                    capture_output=True,
                    text=True,
                    timeout=self._resolve_timeout_s,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired as exc:
                raise StackError(
                    f"Maven did not finish resolving Kafka {self._version} within "
                    f"{self._resolve_timeout_s:.0f} s (is Maven Central reachable?)"
                ) from exc
            if result.returncode != 0:
                raise StackError(
                    f"Maven could not resolve Kafka {self._version} (exit {result.returncode}): "
                    f"{_last_lines(result.stdout + result.stderr, 15)}"
                )
            shutil.rmtree(self._libs, ignore_errors=True)
            partial.rename(self._libs)
            if not self._libs_look_whole():
                raise StackError(f"Maven finished but {self._libs} lacks the Kafka or log4j jars")
            complete.write_text(f"{self._version}\n", encoding="utf-8")
            jars = len(list(self._libs.glob("*.jar")))
            echo(f"resolved {jars} jars in {time.monotonic() - began:.1f} s")
        return self._libs

    def _libs_look_whole(self) -> bool:
        if not self._libs.is_dir():
            return False
        names = [p.name for p in self._libs.glob("*.jar")]
        return all(
            any(n.startswith(prefix.format(v=self._version)) for n in names)
            for prefix in _REQUIRED_JARS
        )

    def _server_properties(self) -> str:
        broker = f"{_HOST}:{self._kafka_port}"
        controller = f"{_HOST}:{self._controller_port}"
        lines = [
            "# Written by pitchcast.localstack on every start; edits are overwritten.",
            "process.roles=broker,controller",
            "node.id=1",
            # A dynamic quorum of one, formatted with `StorageTool format --standalone`.
            f"controller.quorum.bootstrap.servers={controller}",
            f"listeners=PLAINTEXT://{broker},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://{broker},CONTROLLER://{controller}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={self._kafka_data}",
            # Topics are created explicitly with the partition count pitchcast checks.
            "auto.create.topics.enable=false",
            "num.partitions=1",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            # Without these a consumer group waits 3 s to form on every test.
            "group.initial.rebalance.delay.ms=0",
            # One broker: internal topics with a replication factor above 1 would never
            # become available, and groups and transactions would hang.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=10",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # The compaction buffer defaults to 128 MB, too much for a modest heap.
            "log.cleaner.dedupe.buffer.size=33554432",
        ]
        return "\n".join(lines) + "\n"

    def _jvm_options(self) -> list[str]:
        log4j = self._kafka_dir / "log4j2.properties"
        return [
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self._kafka_logs}",
            "-Djava.awt.headless=true",
            "-cp",
            str(self._libs / "*"),
        ]

    def _prepare_kafka(self, java: str, echo: Echo) -> None:
        """Write the configuration and format the storage if it is new or stale."""
        self._kafka_logs.mkdir(parents=True, exist_ok=True)
        properties = self._kafka_dir / "server.properties"
        properties.write_text(self._server_properties(), encoding="utf-8")
        log4j = resources.files(__name__).joinpath("log4j2.properties").read_text(encoding="utf-8")
        (self._kafka_dir / "log4j2.properties").write_text(log4j, encoding="utf-8")

        stamp_path = self._kafka_dir / "format.json"
        wanted = {
            "kafka_version": self._version,
            "kafka_port": self._kafka_port,
            "controller_port": self._controller_port,
        }
        try:
            stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if stamp == wanted and (self._kafka_data / "meta.properties").exists():
            return
        if self._kafka_data.exists():
            # The controller's own address is written into the log at format time, so a
            # log formatted for other ports cannot start; local data is disposable.
            echo(f"Kafka data in {self._kafka_data} was made for other settings; starting empty")
            shutil.rmtree(self._kafka_data)
        command = [
            java,
            *self._jvm_options(),
            _STORAGE_TOOL,
            "format",
            "--config",
            str(properties),
            "--cluster-id",
            _new_cluster_id(),
            "--standalone",
        ]
        result = subprocess.run(
            command,
            cwd=self._kafka_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise StackError(
                f"formatting the Kafka storage failed (exit {result.returncode}): "
                f"{_last_lines(result.stdout + result.stderr, 15)}"
            )
        stamp_path.write_text(json.dumps(wanted), encoding="utf-8")

    def _start_kafka(self, java: str) -> int:
        console = self._kafka_logs / "stdout.log"
        console.write_text("", encoding="utf-8")
        command = [
            java,
            f"-Xmx{self._heap}",
            "-Xms256m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            # Identifies the process as this stack's broker before down() signals it.
            f"-Dpitchcast.stack.dir={self._root}",
            *self._jvm_options(),
            _KAFKA_MAIN,
            str(self._kafka_dir / "server.properties"),
        ]
        pid = _spawn_detached(command, console, cwd=self._kafka_dir)
        self._kafka_pidfile.write_text(f"{pid}\n", encoding="utf-8")
        return pid

    def _wait_kafka(self, pid: int) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise StackError(
                    f"Kafka (pid {pid}) exited during start-up. "
                    f"{self._kafka_logs / 'stdout.log'}: "
                    f"{_last_lines(_read(self._kafka_logs / 'stdout.log'), 15)}"
                )
            if _accepts(self._kafka_port, 1.0):
                remaining = max(1.0, min(10.0, deadline - time.monotonic()))
                try:
                    brokers = _run_coroutine(
                        _kafka_broker_count, self.kafka_bootstrap_servers, remaining
                    )
                except Exception as exc:  # any failure here only means "not ready yet"
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if brokers > 0:
                        return
                    last_error = "metadata lists no broker"
            time.sleep(0.25)
        raise StackError(
            f"Kafka did not answer a metadata request on {self.kafka_bootstrap_servers} within "
            f"{self._ready_timeout_s:.0f} s ({last_error}); see {self._kafka_logs / 'server.log'}"
        )

    # --- Redis --------------------------------------------------------------

    def _start_redis(self, redis_server: str) -> int:
        self._redis_dir.mkdir(parents=True, exist_ok=True)
        self._redis_pidfile.unlink(missing_ok=True)
        command = [
            redis_server,
            "--port",
            str(self._redis_port),
            "--bind",
            _HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(self._redis_pidfile),
            "--logfile",
            str(self._redis_log),
            "--dir",
            str(self._redis_dir),
        ]
        result = subprocess.run(
            command,
            cwd=self._redis_dir,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if result.returncode != 0:
            raise StackError(
                f"redis-server failed to start (exit {result.returncode}): "
                f"{_last_lines(result.stdout + result.stderr + _read(self._redis_log), 10)}"
            )
        # The daemonized child writes the PID file once it is set up.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            pid = self._redis_pid()
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise StackError(
            f"redis-server did not come up (no live PID in {self._redis_pidfile}): "
            f"{_last_lines(_read(self._redis_log), 10)}"
        )

    def _wait_redis(self, pid: int) -> None:
        import redis  # only `stack` commands need it at import time

        deadline = time.monotonic() + self._ready_timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise StackError(
                    f"Redis (pid {pid}) exited during start-up: "
                    f"{_last_lines(_read(self._redis_log), 10)}"
                )
            client = redis.Redis(
                host=_HOST, port=self._redis_port, socket_timeout=1.0, socket_connect_timeout=1.0
            )
            try:
                if client.ping():
                    return
            except redis.RedisError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            finally:
                client.close()
            time.sleep(0.1)
        raise StackError(
            f"Redis did not answer PING on {self.redis_url} within {self._ready_timeout_s:.0f} s "
            f"({last_error}); see {self._redis_log}"
        )


# --- helpers (no state) ------------------------------------------------------


def _require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(
            f"`{name}` is not installed (needed for {purpose}). Install it: {_INSTALL_HINTS[name]}"
        )
    return path


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # the CLI would read a leading dash as an option
            return text


def _spawn_detached(command: list[str], log: Path, *, cwd: Path) -> int:
    """Start ``command`` in its own session, not as our child; return its PID.

    A shell starts it in the background and exits at once, so the process is adopted by
    init: it outlives us, never becomes our zombie, and we never hold a Popen for it.
    """
    script = '"$@" >>"$0" 2>&1 </dev/null & echo $!'
    result = subprocess.run(
        ["/bin/sh", "-c", script, str(log), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return int(result.stdout.strip())
    except ValueError:
        raise StackError(f"could not start {command[0]}: {result.stderr.strip()}") from None


def _live_pid(pidfile: Path, is_ours: Callable[[list[str]], bool]) -> int | None:
    """The PID in ``pidfile`` if that process is alive and ``is_ours`` accepts its argv."""
    try:
        pid = int(pidfile.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    if pid <= 1 or not _alive(pid):
        return None
    argv = _argv(pid)
    if argv is None or not is_ours(argv):
        return None
    return pid


def _argv(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it happens to be our child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # Field 3, after the parenthesised command name, is the state; Z and X are dead.
    state = stat.rpartition(")")[2].split()[:1]
    return bool(state) and state[0] not in ("Z", "X")


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers do, so a port in TIME_WAIT after `down` counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
    return True


def _accepts(port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((_HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _port_owner(port: int) -> tuple[int, str] | None:
    """The process listening on ``port`` (best effort, from /proc), as (pid, command)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name), _describe(_argv(int(proc.name)) or ["?"])
    return None


def _describe(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("-Dpitchcast.stack.dir="):
            return f"the Kafka broker of the pitchcast stack in {arg.partition('=')[2]}"
    return " ".join(argv)[:120]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _last_lines(text: str, count: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:]) if lines else "(no output)"


async def _kafka_broker_count(bootstrap: str, timeout_s: float) -> int:
    """Brokers listed in a metadata answer from ``bootstrap``."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="pitchcast-stack",
        request_timeout_ms=int(timeout_s * 1000),
    )
    # aiokafka logs every refused attempt at ERROR; while the broker boots, that is noise.
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
        return len(cluster.get("brokers", []))
    finally:
        await admin.close()
        quiet.setLevel(level)


def _run_coroutine(function: Callable[..., Awaitable[_T]], *args: object) -> _T:
    """Run ``function(*args)`` to completion, also when the caller already runs a loop."""

    async def main() -> _T:
        return await function(*args)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # asyncio.run refuses to nest; a helper thread has no loop of its own yet.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pitchcast-stack") as pool:
        return pool.submit(asyncio.run, main()).result()
