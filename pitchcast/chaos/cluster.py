"""A private three-node Kafka cluster for the cluster scenarios (:mod:`.cluster_faults`).

:class:`PrivateCluster` is ``pitchcast stack up --brokers 3`` (three combined KRaft nodes,
replication factor 3, ``min.insync.replicas=2``) in a folder of its own, without its
Redis (each run has its own), on ports of its own: seven consecutive free ports from
``PITCHCAST_CHAOS_PORT_BASE`` when set (so a shared machine can give the suite a range),
else from a free ephemeral port (the stack's own Redis takes the seventh, unused). It
can SIGKILL, SIGSTOP and SIGCONT one node, restart it (``stack up`` starts whatever is
not running), and say who leads what: the leader and ISR of each partition (a metadata
request) and the active controller (the highest Raft epoch a node's log says it became
leader in).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.coordination import FindCoordinatorRequest

from pitchcast.chaos.services import free_port
from pitchcast.localstack.processes import port_free, read_text, send_signal, wait_gone

__all__ = ["PrivateCluster"]

_RAFT_LEADER = re.compile(
    r"\[RaftManager id=(\d+)\] Completed transition to Leader\(.*?epoch=(\d+)"
)


def _port_base(first: int) -> int:
    """Seven consecutive free ports (node i: base + 2i, its controller base + 2i + 1; the
    stack's Redis base + 6), from ``first`` on (0: anywhere free)."""
    for _ in range(200):
        base = first if first else free_port()
        if all(port_free(base + i) for i in range(7)):
            return base
        if first:
            first += 7
    raise RuntimeError("no seven consecutive free ports for a private Kafka cluster")


class PrivateCluster:
    """Three KRaft nodes (broker and controller each) of one scenario."""

    brokers = 3

    def __init__(self, folder: Path) -> None:
        from pitchcast.localstack import LocalStack
        from pitchcast.settings import load_settings

        base = _port_base(load_settings().chaos_port_base)
        self._settings = load_settings(
            stack_dir=folder,
            stack_brokers=3,
            stack_kafka_port=base,
            stack_kafka_controller_port=base + 1,
            stack_redis_port=base + 6,  # started by `up`, unused (each run has its own)
        )
        self.stack = LocalStack(self._settings, kafka_heap="384m")
        self.folder = folder

    @property
    def bootstrap(self) -> str:
        return self.stack.kafka_bootstrap_servers

    @property
    def env(self) -> dict[str, str]:
        """What a worker on this cluster needs beyond the run's settings."""
        return {
            "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "PITCHCAST_REPLICATION_FACTOR": "3",
            "PITCHCAST_MIN_INSYNC_REPLICAS": "2",
        }

    def start(self) -> None:
        """Start every node that is not running and wait until all three are brokers."""
        self.stack.up(echo=lambda _line: None)

    def stop(self) -> None:
        self.stack.down(echo=lambda _line: None)

    def pid(self, node_id: int) -> int | None:
        return self.stack.nodes[node_id - 1].pid()

    def kill(self, node_id: int) -> None:
        """SIGKILL: no controlled shutdown, nothing flushed."""
        pid = self.pid(node_id)
        if pid is None:
            raise RuntimeError(f"Kafka node {node_id} is not running")
        send_signal(pid, signal.SIGKILL)
        if not wait_gone(pid, 10.0):
            raise RuntimeError(f"Kafka node {node_id} survived SIGKILL")

    def pause(self, node_id: int) -> None:
        """SIGSTOP: the node keeps its sockets but answers nothing."""
        pid = self.pid(node_id)
        if pid is None:
            raise RuntimeError(f"Kafka node {node_id} is not running")
        send_signal(pid, signal.SIGSTOP)

    def resume(self, node_id: int) -> None:
        pid = self.pid(node_id)
        if pid is not None:
            send_signal(pid, signal.SIGCONT)

    def active_controller(self) -> int | None:
        """The node that most recently became Raft leader (the highest epoch in the logs)."""
        best: tuple[int, int] | None = None
        for node in self.stack.nodes:
            for match in _RAFT_LEADER.finditer(read_text(node.logs / "server.log")):
                node_id, epoch = int(match.group(1)), int(match.group(2))
                if best is None or epoch > best[0]:
                    best = (epoch, node_id)
        return None if best is None else best[1]

    async def partitions(self, topic: str) -> dict[int, tuple[int, list[int]]]:
        """partition -> (leader node id, -1 if none; ISR node ids), from a metadata request."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {
            p["partition"]: (p["leader"], sorted(p["isr"])) for p in described.get("partitions", [])
        }

    async def coordinator(self, group: str, *, not_asking: int | None = None) -> int:
        """The node coordinating ``group``, asked of a node other than ``not_asking``.

        A paused node still accepts connections (the kernel answers the handshake), so a
        request that reaches it hangs until its timeout: while one node is paused, the
        bootstrap and the question go only to the other two.
        """
        nodes = [n for n in range(1, self.brokers + 1) if n != not_asking]
        bootstrap = ",".join(self.stack.nodes[n - 1].bootstrap_servers for n in nodes)
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await client.bootstrap()
            response = await client.send(nodes[0], FindCoordinatorRequest(group, 0))
            if response.error_code:
                raise for_code(response.error_code)(f"no coordinator for {group}")
            return int(response.coordinator_id)
        finally:
            await client.close()

    async def wait_leader_moves(
        self, topic: str, partition: int, away_from: int, timeout_s: float
    ) -> float | None:
        """Seconds until ``partition`` has a leader other than ``away_from`` (None: never)."""
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            try:
                leader, _ = (await self.partitions(topic)).get(partition, (-1, []))
            except Exception:  # a metadata request that fails mid-failover: ask again
                leader = -1
            if leader not in (-1, away_from):
                return time.monotonic() - began
            await asyncio.sleep(0.25)
        return None

    async def wait_controller_moves(self, away_from: int, timeout_s: float) -> float | None:
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            now = self.active_controller()
            if now not in (None, away_from):
                return time.monotonic() - began
            await asyncio.sleep(0.25)
        return None

    async def wait_in_sync(self, topics: list[str], timeout_s: float) -> float | None:
        """Seconds until every partition of ``topics`` has all three nodes in its ISR."""
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            try:
                described = [await self.partitions(t) for t in topics]
            except Exception:
                described = []
            if described and all(
                len(isr) == self.brokers for parts in described for _, isr in parts.values()
            ):
                return time.monotonic() - began
            await asyncio.sleep(0.5)
        return None
