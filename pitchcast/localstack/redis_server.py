"""The local Redis: Debian's ``redis-server`` on 127.0.0.1, daemonized, no persistence;
with ``--secure``, TLS only and a password."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pitchcast.exceptions import StackError
from pitchcast.localstack.processes import (
    HOST,
    alive,
    last_lines,
    live_pid,
    read_text,
    run_tool,
)

__all__ = ["RedisServer", "RedisTLS"]


@dataclass(frozen=True)
class RedisTLS:
    """A ``--secure`` Redis: TLS only (no plaintext port) and a password."""

    cert: Path
    key: Path
    ca: Path
    password: str


class RedisServer:
    """Redis's files under ``<root>/redis`` and its process."""

    def __init__(
        self, root: Path, *, port: int, ready_timeout_s: float, tls: RedisTLS | None = None
    ) -> None:
        self._port = port
        self.tls = tls
        self._ready_timeout_s = ready_timeout_s
        self._dir = root / "redis"
        self.pidfile = self._dir / "redis.pid"
        self.log = self._dir / "redis.log"

    @property
    def url(self) -> str:
        """Where it listens (database 0; the password, if any, is not in it)."""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{HOST}:{self._port}/0"

    def pid(self) -> int | None:
        """The running server's PID, if this stack started it (None otherwise)."""
        # redis-server rewrites its title to "redis-server 127.0.0.1:PORT".
        listen = f"{HOST}:{self._port}"
        return live_pid(
            self.pidfile,
            lambda argv: "redis-server" in " ".join(argv) and listen in " ".join(argv),
        )

    def start(self, redis_server: str) -> int:
        self._dir.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)
        # Secrets go through a config file only its owner reads, not the command line.
        config = self._dir / "redis.conf"
        config.unlink(missing_ok=True)
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if self.tls is not None:
                handle.write(
                    "port 0\n"
                    f"tls-port {self._port}\n"
                    f'tls-cert-file "{self.tls.cert}"\n'
                    f'tls-key-file "{self.tls.key}"\n'
                    f'tls-ca-cert-file "{self.tls.ca}"\n'
                    "tls-auth-clients no\n"
                    f'requirepass "{self.tls.password}"\n'
                )
            else:
                handle.write(f"port {self._port}\n")
        command = [
            redis_server,
            str(config),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.log),
            "--dir",
            str(self._dir),
        ]
        result = run_tool(command, cwd=self._dir, timeout_s=30, new_session=True)
        if result.returncode != 0:
            raise StackError(
                f"redis-server failed to start (exit {result.returncode}): "
                f"{last_lines(result.stdout + result.stderr + read_text(self.log), 10)}"
            )
        # The daemonized child writes the PID file once it is set up.
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise StackError(
            f"redis-server did not come up (no live PID in {self.pidfile}): "
            f"{last_lines(read_text(self.log), 10)}"
        )

    def wait(self, pid: int) -> None:
        import redis  # only `stack` commands need it at import time

        deadline = time.monotonic() + self._ready_timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not alive(pid):
                raise StackError(
                    f"Redis (pid {pid}) exited during start-up: "
                    f"{last_lines(read_text(self.log), 10)}"
                )
            secure: dict[str, object] = {}
            if self.tls is not None:
                secure = {
                    "ssl": True,
                    "ssl_ca_certs": str(self.tls.ca),
                    "password": self.tls.password,
                }
            client = redis.Redis(
                host=HOST,
                port=self._port,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
                **secure,  # type: ignore[arg-type]
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
            f"Redis did not answer PING on {self.url} within {self._ready_timeout_s:.0f} s "
            f"({last_error}); see {self.log}"
        )
