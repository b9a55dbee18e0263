"""The local Kafka broker: one KRaft node (broker and controller in one JVM) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import shutil
import subprocess
import time
import uuid
from importlib import resources
from pathlib import Path

from pitchcast.exceptions import StackError
from pitchcast.localstack.processes import (
    HOST,
    INSTALL_HINTS,
    Echo,
    accepts,
    alive,
    last_lines,
    live_pid,
    read_text,
    require_tool,
    run_coroutine,
    spawn_detached,
)

__all__ = ["KafkaBroker"]

_KAFKA_MAIN = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_MIN_JAVA = 17  # Kafka 4 brokers need Java 17


class KafkaBroker:
    """The broker's files under ``<root>/kafka`` and its process.

    ``root`` is absolute: it is also the marker (``-Dpitchcast.stack.dir=``) that tells
    this stack's broker from any other Java process.
    """

    def __init__(
        self,
        root: Path,
        *,
        version: str,
        port: int,
        controller_port: int,
        libs: Path,
        heap: str,
        ready_timeout_s: float,
    ) -> None:
        self._root = root
        self._version = version
        self._port = port
        self._controller_port = controller_port
        self._libs = libs
        self._heap = heap
        self._ready_timeout_s = ready_timeout_s
        self._dir = root / "kafka"
        self._data = self._dir / "data"
        self.logs = self._dir / "logs"
        self.pidfile = self._dir / "kafka.pid"

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self._port}"

    def pid(self) -> int | None:
        """The running broker's PID, if this stack started it (None otherwise)."""
        marker = f"-Dpitchcast.stack.dir={self._root}"
        return live_pid(self.pidfile, lambda argv: marker in argv)

    def require_java(self) -> str:
        java = require_tool("java", "the Kafka broker")
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
                    f"Install it: {INSTALL_HINTS['java']}"
                )
        return java

    def _server_properties(self) -> str:
        broker = f"{HOST}:{self._port}"
        controller = f"{HOST}:{self._controller_port}"
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
            f"log.dirs={self._data}",
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
        log4j = self._dir / "log4j2.properties"
        return [
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.logs}",
            "-Djava.awt.headless=true",
            "-cp",
            str(self._libs / "*"),
        ]

    def prepare(self, java: str, echo: Echo) -> None:
        """Write the configuration and format the storage if it is new or stale."""
        self.logs.mkdir(parents=True, exist_ok=True)
        properties = self._dir / "server.properties"
        properties.write_text(self._server_properties(), encoding="utf-8")
        log4j = (
            resources.files("pitchcast.localstack")
            .joinpath("log4j2.properties")
            .read_text(encoding="utf-8")
        )
        (self._dir / "log4j2.properties").write_text(log4j, encoding="utf-8")

        stamp_path = self._dir / "format.json"
        wanted = {
            "kafka_version": self._version,
            "kafka_port": self._port,
            "controller_port": self._controller_port,
        }
        try:
            stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if stamp == wanted and (self._data / "meta.properties").exists():
            return
        if self._data.exists():
            # The controller's own address is written into the log at format time, so a
            # log formatted for other ports cannot start; local data is disposable.
            echo(f"Kafka data in {self._data} was made for other settings; starting empty")
            shutil.rmtree(self._data)
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
            cwd=self._dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise StackError(
                f"formatting the Kafka storage failed (exit {result.returncode}): "
                f"{last_lines(result.stdout + result.stderr, 15)}"
            )
        stamp_path.write_text(json.dumps(wanted), encoding="utf-8")

    def start(self, java: str) -> int:
        console = self.logs / "stdout.log"
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
            str(self._dir / "server.properties"),
        ]
        pid = spawn_detached(command, console, cwd=self._dir)
        self.pidfile.write_text(f"{pid}\n", encoding="utf-8")
        return pid

    def wait(self, pid: int) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not alive(pid):
                raise StackError(
                    f"Kafka (pid {pid}) exited during start-up. "
                    f"{self.logs / 'stdout.log'}: "
                    f"{last_lines(read_text(self.logs / 'stdout.log'), 15)}"
                )
            if accepts(self._port, 1.0):
                remaining = max(1.0, min(10.0, deadline - time.monotonic()))
                try:
                    brokers = run_coroutine(_broker_count, self.bootstrap_servers, remaining)
                except Exception as exc:  # any failure here only means "not ready yet"
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if brokers > 0:
                        return
                    last_error = "metadata lists no broker"
            time.sleep(0.25)
        raise StackError(
            f"Kafka did not answer a metadata request on {self.bootstrap_servers} within "
            f"{self._ready_timeout_s:.0f} s ({last_error}); see {self.logs / 'server.log'}"
        )


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # the CLI would read a leading dash as an option
            return text


async def _broker_count(bootstrap: str, timeout_s: float) -> int:
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
