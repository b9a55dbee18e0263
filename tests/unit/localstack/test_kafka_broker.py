"""The configuration a local Kafka node is started with (pitchcast/localstack/kafka_broker.py):
one node alone, one of three, and a secure one. Nothing is started."""

from __future__ import annotations

from pathlib import Path

from pitchcast.localstack.kafka_broker import BrokerSecurity, KafkaBroker, Quorum


def _node(tmp_path: Path, **options: object) -> KafkaBroker:
    return KafkaBroker(
        tmp_path,
        version="4.1.1",
        port=19100,
        controller_port=19101,
        libs=tmp_path / "libs",
        heap="256m",
        ready_timeout_s=1.0,
        **options,  # type: ignore[arg-type]
    )


def _properties(node: KafkaBroker) -> dict[str, str]:
    lines = node._server_properties().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_a_single_node_is_a_standalone_quorum_with_replication_one(tmp_path: Path) -> None:
    """One node: a dynamic quorum of itself, every replication setting 1, plaintext."""
    props = _properties(_node(tmp_path))
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19101"
    assert "controller.quorum.voters" not in props
    assert props["default.replication.factor"] == props["min.insync.replicas"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19100,CONTROLLER://127.0.0.1:19101"
    assert "authorizer.class.name" not in props


def test_a_cluster_node_lists_three_voters_and_replicates_three_ways(tmp_path: Path) -> None:
    """Node 2 of 3: a static quorum of three, replication 3 and min ISR 2 everywhere,
    its own folder and node id."""
    quorum = Quorum(2, {1: 19101, 2: 19103, 3: 19105}, "cluster-id-x")
    node = _node(tmp_path, quorum=quorum, replication_factor=3, min_insync_replicas=2)
    props = _properties(node)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:19101,2@127.0.0.1:19103,3@127.0.0.1:19105"
    )
    assert "controller.quorum.bootstrap.servers" not in props
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor"):  # fmt: skip
        assert props[key] == "3", key
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
    assert node.pidfile.parent.name == "kafka-2"


def test_a_secure_node_authenticates_authorizes_and_encrypts(tmp_path: Path) -> None:
    """SASL_SSL for clients and brokers (SCRAM-SHA-512), PLAIN on the local controller
    listener, the StandardAuthorizer denying what no ACL allows, admin the only super user."""
    security = BrokerSecurity(
        keystore=tmp_path / "ks.pem",
        truststore=tmp_path / "ca.pem",
        admin_password="pw",
        scram_users=(("admin", "pw"),),
    )
    props = _properties(_node(tmp_path, security=security))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19100,CONTROLLER://127.0.0.1:19101"
    assert props["listener.security.protocol.map"] == (
        "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == "User:admin"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
