"""``stack up --secure``: the TLS files, passwords, users and ACLs of the secure stack.

Everything is made once under ``<stack_dir>/secure`` (folder 0700, secrets 0600) and
reused by later starts::

    ca.pem, ca.key          a CA of this stack only (EC P-256, 30 days)
    server.pem, server.key  the broker's and Redis's certificate (127.0.0.1, localhost)
    broker-keystore.pem     server.key + server.pem, the broker's PEM keystore
    secrets.json            the passwords: Kafka users admin, pitchcast, pitchcast-ops; Redis
    admin.properties        Kafka client settings of the super user (also for Kafka's tools)
    worker.env              PITCHCAST_* settings of the worker (user ``pitchcast``)
    ops.env                 PITCHCAST_* settings of replay / tail / dlq (``pitchcast-ops``)

The users and what each may do (the ACLs :func:`acl_entries` lists, and
docs/operations.md explains): ``admin`` is the super user (inter-broker traffic, topic
creation, ACLs); ``pitchcast`` runs the worker; ``pitchcast-ops`` feeds matches and reads
the outputs. ACLs are created through Kafka's own Admin client (``AclSetup.java``, run
by ``java`` in source-file mode with the broker's jars): aiokafka has no ACL API.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pitchcast.exceptions import StackError
from pitchcast.localstack.processes import HOST, run_tool, tool_output
from pitchcast.settings import Settings

__all__ = [
    "ADMIN_USER",
    "OPS_USER",
    "WORKER_USER",
    "SecureMaterial",
    "acl_entries",
    "changelog_topic",
    "create_acls",
]

ADMIN_USER = "admin"
WORKER_USER = "pitchcast"
OPS_USER = "pitchcast-ops"
_CERT_DAYS = 30


def changelog_topic(settings: Settings) -> str:
    """faust's changelog of the match-state table (``<app_id>-<table>-changelog``)."""
    return f"{settings.app_id}-match-state-changelog"


def acl_entries(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(principal, resource type, resource name, operation): every ACL the secure stack
    creates, each LITERAL and ALLOW from any host. DESCRIBE is implied by READ and WRITE."""
    worker, ops = f"User:{WORKER_USER}", f"User:{OPS_USER}"
    entries = [
        (worker, "TOPIC", settings.topic_events, "READ"),
        (worker, "TOPIC", settings.topic_batches, "READ"),
        (worker, "TOPIC", settings.topic_batches, "WRITE"),
        (worker, "TOPIC", settings.topic_commentary, "WRITE"),
        (worker, "TOPIC", settings.topic_lines, "WRITE"),
        (worker, "TOPIC", settings.topic_dlq, "WRITE"),
        (worker, "TOPIC", changelog_topic(settings), "READ"),
        (worker, "TOPIC", changelog_topic(settings), "WRITE"),
        (worker, "GROUP", settings.app_id, "READ"),
        # The feed and the operator's tools: no consumer group (they assign partitions).
        (ops, "TOPIC", settings.topic_events, "WRITE"),
        (ops, "TOPIC", settings.topic_events, "READ"),  # the booth monitor draws the feed
        (ops, "TOPIC", settings.topic_batches, "WRITE"),  # `dlq replay` of a hand-off
        (ops, "TOPIC", settings.topic_commentary, "READ"),
        (ops, "TOPIC", settings.topic_lines, "READ"),
        (ops, "TOPIC", settings.topic_dlq, "READ"),
    ]
    return entries


@dataclass(frozen=True)
class SecureMaterial:
    """The files and passwords under ``<stack_dir>/secure`` (made on first use)."""

    folder: Path
    passwords: dict[str, str]  # user (and "redis") -> password

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def keystore(self) -> Path:
        return self.folder / "broker-keystore.pem"

    @property
    def admin_properties(self) -> Path:
        return self.folder / "admin.properties"

    @classmethod
    def ensure(cls, root: Path) -> SecureMaterial:
        folder = root / "secure"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        store = folder / "secrets.json"
        try:
            passwords = json.loads(store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            passwords = {
                name: secrets.token_urlsafe(24) for name in (ADMIN_USER, WORKER_USER, OPS_USER)
            }
            passwords["redis"] = secrets.token_urlsafe(24)
            _write_private(store, json.dumps(passwords))
        material = cls(folder, passwords)
        if not all(p.exists() for p in (material.ca, material.server_cert, material.keystore)):
            material._make_certificates()
        return material

    def _make_certificates(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)
        until = now + datetime.timedelta(days=_CERT_DAYS)

        def name(text: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = name(f"pitchcast local stack CA {secrets.token_hex(4)}")
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(HOST))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(until)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        # Kafka's PEM keystore wants an unencrypted PKCS#8 key before the certificate.
        key_pem = key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        ca_key_pem = ca_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(self.folder / "ca.key", ca_key_pem.decode())
        _write_private(self.server_key, key_pem.decode())
        self.ca.write_text(ca.public_bytes(pem).decode(), encoding="utf-8")
        self.server_cert.write_text(cert.public_bytes(pem).decode(), encoding="utf-8")
        _write_private(self.keystore, (key_pem + cert.public_bytes(pem)).decode())

    def client_env(self, user: str, *, bootstrap: str, redis_url: str) -> dict[str, str]:
        """The ``PITCHCAST_*`` settings a client of the secure stack needs, as ``user``."""
        return {
            "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PITCHCAST_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PITCHCAST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "PITCHCAST_KAFKA_SASL_USERNAME": user,
            "PITCHCAST_KAFKA_SASL_PASSWORD": self.passwords[user],
            "PITCHCAST_KAFKA_SSL_CAFILE": str(self.ca),
            "PITCHCAST_REDIS_URL": redis_url,
            "PITCHCAST_REDIS_PASSWORD": self.passwords["redis"],
            "PITCHCAST_REDIS_SSL_CAFILE": str(self.ca),
            # The topics exist (the admin made them); this user could not create them.
            "PITCHCAST_CREATE_TOPICS": "false",
        }

    def write_client_files(self, *, bootstrap: str, redis_url: str) -> None:
        for user, file in ((WORKER_USER, "worker.env"), (OPS_USER, "ops.env")):
            env = self.client_env(user, bootstrap=bootstrap, redis_url=redis_url)
            _write_private(self.folder / file, "".join(f"{k}={v}\n" for k, v in env.items()))
        admin = self.passwords[ADMIN_USER]
        _write_private(
            self.admin_properties,
            "\n".join(
                [
                    f"bootstrap.servers={bootstrap}",
                    "security.protocol=SASL_SSL",
                    "sasl.mechanism=SCRAM-SHA-512",
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule"
                    f' required username="{ADMIN_USER}" password="{admin}";',
                    "ssl.truststore.type=PEM",
                    f"ssl.truststore.location={self.ca}",
                ]
            )
            + "\n",
        )


def create_acls(java: str, libs: Path, material: SecureMaterial, settings: Settings) -> int:
    """Create the ACLs of :func:`acl_entries` as the admin; returns how many."""
    source = resources.files("pitchcast.localstack").joinpath("AclSetup.java")
    entries = acl_entries(settings)
    spec = "".join("\t".join(entry) + "\n" for entry in entries)
    with resources.as_file(source) as program:
        result = run_tool(
            [java, "-cp", str(libs / "*"), str(program), str(material.admin_properties)],
            input=spec,
            timeout_s=120,
        )
    if result.returncode != 0:
        output = tool_output(result, 15, hide=material.passwords.values())
        raise StackError(f"creating the Kafka ACLs failed (exit {result.returncode}): {output}")
    return len(entries)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)
