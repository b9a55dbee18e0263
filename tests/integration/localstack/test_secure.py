"""`pitchcast stack up --secure`: a match through SASL_SSL (SCRAM-SHA-512) Kafka with ACLs
and a TLS Redis with a password, end to end, and the failures that must be clear.

One secure stack (one Kafka node, its Redis) for the module, on free ports in a temporary
folder, with this module's own topic names: the stack's admin creates the topics and the
ACLs of the worker (``pitchcast``) and the tools (``pitchcast-ops``). The worker, `replay`,
`tail` and `dlq` are the real commands in subprocesses, configured only by the env files
the stack wrote. Every output is grepped for every password the stack made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pitchcast.localstack import LocalStack
from pitchcast.settings import load_settings
from tests.support.pipeline import WorkerProcess
from tests.support.short_match import BAD_INPUTS
from tests.support.tls import make_tls_files
from tests.support.utils import unavailable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data"
GAME_ID = 4242
ACTIONS = 30  # three batches of ten


def _free_ports(count: int) -> list[int]:
    """``count`` free ports, the first two an odd distance apart as the stack wants."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


class SecureStack:
    """The running stack, its topic names, and every password it made."""

    def __init__(self, root: Path, prefix: str) -> None:
        kafka, controller, redis_port = _free_ports(3)
        self.topics = {
            "PITCHCAST_TOPIC_EVENTS": f"{prefix}-events",
            "PITCHCAST_TOPIC_BATCHES": f"{prefix}-batches",
            "PITCHCAST_TOPIC_COMMENTARY": f"{prefix}-commentary",
            "PITCHCAST_TOPIC_LINES": f"{prefix}-lines",
            "PITCHCAST_TOPIC_DLQ": f"{prefix}-dlq",
            "PITCHCAST_APP_ID": f"{prefix}-app",
            "PITCHCAST_PARTITIONS": "3",
        }
        settings = load_settings(
            stack_dir=root,
            stack_secure=True,
            stack_kafka_port=kafka,
            stack_kafka_controller_port=controller,
            stack_redis_port=redis_port,
            **{k.removeprefix("PITCHCAST_").lower(): v for k, v in self.topics.items()},
        )
        self.stack = LocalStack(settings, ready_timeout_s=90.0)
        self.root = root
        self.prefix = prefix
        self.log: list[str] = []

    @property
    def secure(self) -> Path:
        return self.root / "secure"

    def passwords(self) -> list[str]:
        return list(json.loads((self.secure / "secrets.json").read_text()).values())

    def env(self, user_file: str, **extra: str) -> dict[str, str]:
        """The process environment of a client: the env file the stack wrote, our topics."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("PITCHCAST_")}
        return {**base, **_env_file(self.secure / user_file), **self.topics, **extra}


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    missing = [t for t in ("java", "mvn", "redis-server") if shutil.which(t) is None]
    if missing:
        unavailable(f"the secure stack needs {', '.join(missing)} (see scripts/bootstrap)")
    stack = SecureStack(tmp_path_factory.mktemp("secure-stack"), f"sec-{uuid.uuid4().hex[:8]}")
    try:
        stack.stack.up(echo=stack.log.append)
        yield stack
    finally:
        stack.stack.down(echo=lambda _line: None)


def _cli(env: dict[str, str], *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pitchcast.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _short_csv(folder: Path) -> Path:
    """The first ``ACTIONS`` actions of sample match 1 (replay adds the period and match end)."""
    lines = (DATA / "events_metrica_1.csv").read_text(encoding="utf-8").splitlines()
    path = folder / "short.csv"
    path.write_text("\n".join(lines[: ACTIONS + 1]) + "\n", encoding="utf-8")
    return path


def _tail_until(env: dict[str, str], wanted: int, timeout_s: float) -> str:
    """`pitchcast tail --from-beginning` until ``wanted`` commentary blocks were printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pitchcast.cli", "tail", "--from-beginning", "--game-id",
         str(GAME_ID)],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if sum(line.startswith("── game") for line in list(lines)) >= wanted:
                break
            time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        reader.join(10)
    return "".join(lines)


def _dead_letters(env: dict[str, str]) -> list[dict[str, object]]:
    result = _cli(env, "dlq", "list", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


async def _produce_as(env: dict[str, str], records: tuple[tuple[bytes, bytes], ...]) -> None:
    from aiokafka import AIOKafkaProducer

    from pitchcast.streams.clients import aiokafka_options

    settings = load_settings(
        **{
            k.removeprefix("PITCHCAST_").lower(): v
            for k, v in env.items()
            if k.startswith("PITCHCAST_")
        }
    )
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        for _key, value in records:  # as the match's own records: keyed by its game id
            key = str(GAME_ID).encode()
            await producer.send_and_wait(settings.topic_events, key=key, value=value)
    finally:
        await producer.stop()


@pytest.mark.timeout(300)
def test_a_match_through_sasl_ssl_acls_and_redis_tls(
    secure_stack: SecureStack, tmp_path: Path
) -> None:
    """Worker, replay, tail and dlq replay through the secure stack; Redis really used over
    TLS; no password in any output."""
    stack = secure_stack
    worker_env = stack.env(
        "worker.env",
        PITCHCAST_REDIS_NAMESPACE=stack.prefix,
        PITCHCAST_PERSONAS="CASTER",
        PITCHCAST_LOG_LEVEL="INFO",
        PITCHCAST_DATA_DIR=str(tmp_path / "worker"),
        # A TLS handshake on a loaded 2-core CI machine can take longer than the 0.25 s
        # default (seen: one outage, TimeoutError, at the first call).
        PITCHCAST_REDIS_CONNECT_TIMEOUT_S="2",
    )
    ops_env = stack.env("ops.env", PITCHCAST_DLQ_AUDIT_FILE=str(tmp_path / "audit.jsonl"))
    worker = WorkerProcess({k: v for k, v in worker_env.items()}, tmp_path / "worker.log")
    outputs: dict[str, str] = {"stack up": "\n".join(stack.log)}
    worker.start()
    try:
        worker.wait_ready(timeout=90)
        replayed = _cli(
            ops_env, "replay", str(_short_csv(tmp_path)), "--match-info",
            str(DATA / "match_info.csv"), "--game-id", str(GAME_ID), "--max", "--quiet",
        )  # fmt: skip
        outputs["replay"] = replayed.stdout + replayed.stderr
        assert replayed.returncode == 0, outputs["replay"]
        asyncio.run(_produce_as(ops_env, BAD_INPUTS))
        tailed = _tail_until(ops_env, wanted=ACTIONS // 10, timeout_s=90)
        outputs["tail"] = tailed
        assert tailed.count("── game") >= ACTIONS // 10, tailed

        deadline = time.monotonic() + 60
        letters = _dead_letters(ops_env)
        while len(letters) < len(BAD_INPUTS) and time.monotonic() < deadline:
            time.sleep(1)
            letters = _dead_letters(ops_env)
        assert len(letters) == len(BAD_INPUTS), letters
        replay_dlq = _cli(ops_env, "dlq", "replay", "--all")
        outputs["dlq replay"] = replay_dlq.stdout + replay_dlq.stderr
        assert replay_dlq.returncode == 0, outputs["dlq replay"]
        # The worker reads the replayed records and dead-letters them again (still bad).
        deadline = time.monotonic() + 60
        while len(letters) < 2 * len(BAD_INPUTS) and time.monotonic() < deadline:
            time.sleep(1)
            letters = _dead_letters(ops_env)
        assert len(letters) == 2 * len(BAD_INPUTS), letters
        stats = worker.stats()
        outputs["stats"] = json.dumps(stats)
        assert stats.get("redis_up") == 1, stats
    finally:
        worker.stop()
    outputs["worker log"] = worker.log_path.read_text(errors="replace")
    assert "Worker]: Ready" in outputs["worker log"]

    # Redis over TLS with the password really held the worker's lines.
    redis_env = _env_file(stack.secure / "worker.env")
    client = redis.Redis.from_url(
        redis_env["PITCHCAST_REDIS_URL"],
        password=redis_env["PITCHCAST_REDIS_PASSWORD"],
        ssl_ca_certs=redis_env["PITCHCAST_REDIS_SSL_CAFILE"],
    )
    try:
        assert list(client.scan_iter(match=f"{stack.prefix}*", count=1000)), "no key in Redis"
    finally:
        client.close()

    for name, text in outputs.items():
        for n, password in enumerate(stack.passwords()):
            assert password not in text, f"password #{n + 1} appears in {name}"


@pytest.mark.timeout(120)
def test_the_acls_give_each_user_only_its_part(secure_stack: SecureStack) -> None:
    """The tools' user cannot read the hand-off topic; the worker's cannot create a topic."""
    ops = _cli(
        secure_stack.env(
            "ops.env", PITCHCAST_TOPIC_COMMENTARY=secure_stack.topics["PITCHCAST_TOPIC_BATCHES"]
        ),
        "tail", "--from-beginning",
        timeout=60,
    )  # fmt: skip
    assert ops.returncode != 0
    assert "TopicAuthorizationFailed" in ops.stdout + ops.stderr, ops.stdout + ops.stderr
    worker = _cli(
        secure_stack.env(
            "worker.env",
            PITCHCAST_CREATE_TOPICS="true",
            PITCHCAST_TOPIC_EVENTS=f"{secure_stack.prefix}-not-granted",
        ),
        "topics",
        timeout=60,
    )
    assert worker.returncode != 0
    assert "TopicAuthorizationFailed" in worker.stdout + worker.stderr or (
        "authoriz" in (worker.stdout + worker.stderr).lower()
    ), worker.stdout + worker.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("problem", ["wrong password", "untrusted CA"])
def test_kafka_refuses_clearly_without_naming_a_secret(
    secure_stack: SecureStack, tmp_path: Path, problem: str
) -> None:
    """A wrong SCRAM password or a CA that did not sign the broker: the command fails and
    says why; neither the right nor the wrong password shows."""
    wrong = f"not-the-password-{uuid.uuid4().hex}"
    extra = (
        {"PITCHCAST_KAFKA_SASL_PASSWORD": wrong}
        if problem == "wrong password"
        else {"PITCHCAST_KAFKA_SSL_CAFILE": str(make_tls_files(tmp_path).other_ca)}
    )
    result = _cli(secure_stack.env("ops.env", **extra), "topics", timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    expected = (
        "SaslAuthenticationFailed" if problem == "wrong password" else "CERTIFICATE_VERIFY_FAILED"
    )
    assert expected in output, output
    for secret in [wrong, *secure_stack.passwords()]:
        assert secret not in output


@pytest.mark.timeout(60)
@pytest.mark.parametrize("problem", ["wrong password", "untrusted CA"])
async def test_redis_refuses_clearly_without_naming_a_secret(
    secure_stack: SecureStack,
    tmp_path: Path,
    problem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worker's Redis store against the secure Redis with a wrong password or an
    untrusted CA: one outage warning whose error kind says why, naming no password."""
    from pitchcast.cache import RedisStore

    caplog.set_level(logging.DEBUG)
    env = _env_file(secure_stack.secure / "worker.env")
    wrong = f"not-the-password-{uuid.uuid4().hex}"
    values: dict[str, object] = {
        "redis_url": env["PITCHCAST_REDIS_URL"],
        "redis_password": env["PITCHCAST_REDIS_PASSWORD"],
        "redis_ssl_cafile": env["PITCHCAST_REDIS_SSL_CAFILE"],
        "redis_probe_interval_s": 0.05,
    }
    if problem == "wrong password":
        values["redis_password"] = wrong
    else:
        values["redis_ssl_cafile"] = make_tls_files(tmp_path).other_ca
    store = RedisStore.from_settings(load_settings(**values), namespace=secure_stack.prefix)
    try:
        assert await store.ping() is False
    finally:
        await store.aclose()
    warnings = [r for r in caplog.records if r.getMessage() == "pitchcast.redis_unavailable"]
    assert warnings, caplog.text
    kind = str(warnings[0].__dict__.get("error_kind"))
    assert kind == ("AuthenticationError" if problem == "wrong password" else "ConnectionError"), (
        kind
    )
    for record in caplog.records:
        for secret in [wrong, *secure_stack.passwords()]:
            assert secret not in record.getMessage() and secret not in repr(record.__dict__)
