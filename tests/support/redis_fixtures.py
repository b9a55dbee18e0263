"""Private ``redis-server`` processes for tests that stop and restart Redis.

Tests that only read and write use the shared ``redis_url`` fixture of
``tests/conftest.py`` (``PITCHCAST_TEST_REDIS``, else testcontainers). Outage tests
cannot stop a shared server, so :func:`own_redis` starts Debian's ``redis-server`` on a
free loopback port in the test's tmp dir (no persistence) and stops it afterwards.
Without the binary the test skips, or fails under ``CI=true``.

Test modules import the fixtures they use from here (no ``pytest_plugins`` needed).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.tls import TLSFiles, client_context
from tests.support.utils import unavailable

__all__ = ["RedisServer", "free_port", "own_redis_fixture", "redis_server_bin_fixture"]

_START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(host: str, port: int, timeout: float = 0.5, tls: ssl.SSLContext | None = None) -> bool:
    """True when something on host:port answers a RESP PING (PONG or NOAUTH)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            s = tls.wrap_socket(raw, server_hostname=host) if tls is not None else raw
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


class RedisServer:
    """One ``redis-server`` child process on 127.0.0.1, startable and stoppable at will."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        password: str | None = None,
        tls: TLSFiles | None = None,
        tls_auth_clients: str = "optional",
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.password = password
        self.tls = tls  # TLS only (no plain port), with these files
        self.tls_auth_clients = tls_auth_clients  # "yes": client certificates required
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL without credentials (pass the password separately)."""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls is not None:
            args[1:3] = ["--port", "0", "--tls-port", str(self.port)]
            args += [
                "--tls-cert-file", str(self.tls.server_cert),
                "--tls-key-file", str(self.tls.server_key),
                "--tls-ca-cert-file", str(self.tls.ca),
                "--tls-auth-clients", self.tls_auth_clients,
            ]  # fmt: skip
        probe = client_context(self.tls) if self.tls is not None else None
        log = (self.workdir / "redis.log").open("ab")
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}")
            if _answers("127.0.0.1", self.port, tls=probe):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# Named explicitly so modules can import the function under another name than the
# fixture's (a test parameter named like an import is a redefinition to linters).
@pytest.fixture(scope="session", name="redis_server_bin")
def redis_server_bin_fixture() -> str:
    """Path of Debian's ``redis-server``; skip (or fail in CI) when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    assert binary is not None
    return binary


@pytest.fixture(name="own_redis")
def own_redis_fixture(
    redis_server_bin: str, tmp_path: Path
) -> Iterator[Callable[..., RedisServer]]:
    """Factory of private, started ``redis-server``s, all stopped after the test."""
    servers: list[RedisServer] = []

    def start(
        password: str | None = None, tls: TLSFiles | None = None, tls_auth_clients: str = "optional"
    ) -> RedisServer:
        server = RedisServer(
            redis_server_bin,
            tmp_path / f"redis-{len(servers)}",
            password=password,
            tls=tls,
            tls_auth_clients=tls_auth_clients,
        )
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
