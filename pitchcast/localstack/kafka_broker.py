"""A local Kafka node: broker and controller in one JVM (KRaft) on 127.0.0.1; one alone,
or three forming a cluster."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

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
    run_tool,
    spawn_detached,
    tool_output,
)

__all__ = ["BrokerSecurity", "KafkaBroker", "Quorum", "new_cluster_id"]

_KAFKA_MAIN = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_MIN_JAVA = 17  # Kafka 4 brokers need Java 17


@dataclass(frozen=True)
class BrokerSecurity:
    """What a ``--secure`` broker needs: its TLS files and the admin's passwords.

    Clients use SASL_SSL (SCRAM-SHA-512); the controller listener, on 127.0.0.1 only, uses
    SASL_PLAINTEXT with PLAIN (KRaft controllers cannot use SCRAM). ``admin`` is the super
    user (inter-broker traffic, topic creation, ACLs); every other user gets only its ACLs.
    """

    keystore: Path  # PEM: the broker's private key and certificate
    truststore: Path  # PEM: the CA
    admin_password: str
    scram_users: tuple[tuple[str, str], ...]  # (name, password) created at format time


@dataclass(frozen=True)
class Quorum:
    """Where this node sits: its id, every voter's controller port, the shared cluster id."""

    node_id: int
    voters: dict[int, int]  # node id -> controller port; one entry: a standalone node
    cluster_id: str


class KafkaBroker:
    """One node's files under ``<root>/kafka`` (``kafka-<id>`` in a cluster) and its process.

    ``root`` is absolute: with the node id it is also the marker
    (``-Dpitchcast.stack.dir=``, ``-Dpitchcast.stack.node=``) that tells this stack's node
    from any other Java process.
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
        quorum: Quorum | None = None,
        replication_factor: int = 1,
        min_insync_replicas: int = 1,
        security: BrokerSecurity | None = None,
    ) -> None:
        self._root = root
        self._version = version
        self._port = port
        self._controller_port = controller_port
        self._libs = libs
        self._heap = heap
        self._ready_timeout_s = ready_timeout_s
        self.quorum = quorum or Quorum(1, {1: controller_port}, "")
        self._replication = replication_factor
        self._min_isr = min_insync_replicas
        self.security = security
        self.node_id = self.quorum.node_id
        clustered = len(self.quorum.voters) > 1
        self._dir = root / (f"kafka-{self.node_id}" if clustered else "kafka")
        self._data = self._dir / "data"
        self.logs = self._dir / "logs"
        self.pidfile = self._dir / "kafka.pid"

    @property
    def port(self) -> int:
        return self._port

    @property
    def controller_port(self) -> int:
        return self._controller_port

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self._port}"

    def pid(self) -> int | None:
        """The running node's PID, if this stack started it (None otherwise)."""
        return live_pid(self.pidfile, lambda argv: self._marks(argv))

    def _marks(self, argv: list[str]) -> bool:
        node = f"-Dpitchcast.stack.node={self.node_id}"
        # A node started before nodes were numbered carries only the directory marker.
        return f"-Dpitchcast.stack.dir={self._root}" in argv and (
            node in argv or not any(a.startswith("-Dpitchcast.stack.node=") for a in argv)
        )

    def require_java(self) -> str:
        java = require_tool("java", "the Kafka broker")
        result = run_tool([java, "-version"], timeout_s=30)
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
        voters = self.quorum.voters
        rf, isr = self._replication, self._min_isr
        client = "SASL_SSL" if self.security else "PLAINTEXT"
        lines = [
            "# Written by pitchcast.localstack on every start; edits are overwritten.",
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
        ]
        if len(voters) == 1:
            # A dynamic quorum of one, formatted with `StorageTool format --standalone`.
            lines.append(f"controller.quorum.bootstrap.servers={controller}")
        else:
            # Three combined nodes, a static quorum of three voters (formatted without
            # --standalone): any one node may die and the other two elect a controller.
            listed = ",".join(f"{n}@{HOST}:{p}" for n, p in sorted(voters.items()))
            lines.append(f"controller.quorum.voters={listed}")
        lines += [
            f"listeners={client}://{broker},CONTROLLER://{controller}",
            f"advertised.listeners={client}://{broker},CONTROLLER://{controller}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={client}",
            f"log.dirs={self._data}",
            # Topics are created explicitly with the partition count pitchcast checks.
            "auto.create.topics.enable=false",
            "num.partitions=1",
            # One node: internal topics with a replication factor above 1 would never
            # become available. Three: every topic on all three, a write acknowledged
            # (acks=all) once two have it, so one node may die without losing one.
            f"default.replication.factor={rf}",
            f"min.insync.replicas={isr}",
            # Without these a consumer group waits 3 s to form on every test.
            "group.initial.rebalance.delay.ms=0",
            f"offsets.topic.replication.factor={rf}",
            "offsets.topic.num.partitions=10",
            f"transaction.state.log.replication.factor={rf}",
            f"transaction.state.log.min.isr={isr}",
            "transaction.state.log.num.partitions=10",
            f"share.coordinator.state.topic.replication.factor={rf}",
            f"share.coordinator.state.topic.min.isr={isr}",
            # The compaction buffer defaults to 128 MB, too much for a modest heap.
            "log.cleaner.dedupe.buffer.size=33554432",
        ]
        lines += self._security_properties()
        return "\n".join(lines) + "\n"

    def _security_properties(self) -> list[str]:
        if self.security is None:
            return ["listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]
        sec = self.security
        admin = _jaas_quote(sec.admin_password)
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        return [
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram} required "
            f'username="admin" password="{admin}";',
            # KRaft controllers cannot authenticate with SCRAM (its credentials live in the
            # metadata they serve): PLAIN, with the admin's password, on 127.0.0.1 only.
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={plain} required "
            f'username="admin" password="{admin}" user_admin="{admin}";',
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={sec.keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={sec.truststore}",
            "ssl.client.auth=none",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users=User:admin",
            "allow.everyone.if.no.acl.found=false",
        ]

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
        properties.touch(mode=0o600)  # holds the admin's password when secure
        properties.chmod(0o600)
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
            "voters": {str(n): p for n, p in sorted(self.quorum.voters.items())},
            "cluster_id": self.quorum.cluster_id,
            "replication": [self._replication, self._min_isr],
            "secure": self.security is not None,
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
            self.quorum.cluster_id or new_cluster_id(),
        ]
        if len(self.quorum.voters) == 1:
            command.append("--standalone")
        if self.security is not None:
            # The SCRAM credentials go into the first metadata records (KIP-900): the
            # broker can authenticate its users, and itself, before anything else runs.
            for name, password in self.security.scram_users:
                command += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        result = run_tool(command, cwd=self._dir, timeout_s=120)
        if result.returncode != 0:
            users = self.security.scram_users if self.security is not None else ()
            output = tool_output(result, 15, hide=[password for _, password in users])
            raise StackError(
                f"formatting the Kafka storage failed (exit {result.returncode}): {output}"
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
            f"-Dpitchcast.stack.node={self.node_id}",
            *self._jvm_options(),
            _KAFKA_MAIN,
            str(self._dir / "server.properties"),
        ]
        pid = spawn_detached(command, console, cwd=self._dir)
        self.pidfile.write_text(f"{pid}\n", encoding="utf-8")
        return pid

    def wait(self, pid: int, *, brokers: int = 1, client: dict[str, Any] | None = None) -> None:
        """Until the node answers a metadata request listing ``brokers`` brokers."""
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
                    found = run_coroutine(
                        _broker_count, self.bootstrap_servers, remaining, client or {}
                    )
                except Exception as exc:  # any failure here only means "not ready yet"
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    if found >= brokers:
                        return
                    last_error = f"metadata lists {found} of {brokers} brokers"
            time.sleep(0.25)
        raise StackError(
            f"Kafka did not answer a metadata request on {self.bootstrap_servers} within "
            f"{self._ready_timeout_s:.0f} s ({last_error}); see {self.logs / 'server.log'}"
        )


def _jaas_quote(value: str) -> str:
    """A value inside a JAAS option's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # the CLI would read a leading dash as an option
            return text


async def _broker_count(bootstrap: str, timeout_s: float, client: dict[str, Any]) -> int:
    """Brokers listed in a metadata answer from ``bootstrap``."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        **client,
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
