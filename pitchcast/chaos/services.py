"""Services a fault scenario may stop: a private Redis, a private Kafka, a slow TCP proxy.

The shared broker and Redis that every test uses are never stopped: a scenario that
stops a broker or Redis starts its own on free ports, and stops only that one.

* :class:`PrivateRedis`: ``redis-server`` as a child process on a free port, with a
  password (so every scenario also checks that the password never leaks), no
  persistence: a restart comes back empty, as a Redis without persistence does.
* :class:`PrivateKafka`: :class:`~pitchcast.localstack.LocalStack` on free ports and a
  folder of its own; ``stop`` / ``start`` keep its log (topics and offsets survive).
* :class:`SlowProxy`: a TCP proxy that holds every answer of the server for
  ``delay_s`` (a Redis that answers slower than its client's socket timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["PrivateKafka", "PrivateRedis", "SlowProxy", "free_port"]

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _accepts(port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class PrivateRedis:
    """A ``redis-server`` of one scenario: password-protected, restartable, no persistence."""

    def __init__(self, folder: Path, *, password: str) -> None:
        self.port = free_port()
        self.password = password
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        """The URL without the password (it goes in PITCHCAST_REDIS_PASSWORD)."""
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout_s: float = 15.0) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (scripts/bootstrap installs it)")
        self._folder.mkdir(parents=True, exist_ok=True)
        # The password is read from a config file, so it is not on a command line either.
        config = self._folder / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    f"bind {HOST}",
                    f'requirepass "{self.password}"',
                    'save ""',
                    "appendonly no",
                    f"dir {self._folder}",
                    f"logfile {self.log}",
                ]
            )
            + "\n"
        )
        config.chmod(0o600)
        self._process = subprocess.Popen(
            [server, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not _accepts(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


class PrivateKafka:
    """A single-node Kafka broker of one scenario (the local stack on free ports)."""

    def __init__(self, folder: Path) -> None:
        from pitchcast.localstack import LocalStack
        from pitchcast.settings import load_settings

        self._settings = load_settings(
            stack_dir=folder,
            stack_kafka_port=free_port(),
            stack_kafka_controller_port=free_port(),
            stack_redis_port=free_port(),
        )
        self._stack = LocalStack(self._settings)

    @property
    def bootstrap(self) -> str:
        return self._stack.kafka_bootstrap_servers

    def start(self) -> None:
        """Start (or start again, keeping the log) and wait until it answers."""
        self._stack.up(echo=lambda _line: None)

    def stop(self) -> None:
        """SIGTERM, as an operator or an orchestrator stops a broker."""
        self._stack.down(echo=lambda _line: None)


class SlowProxy:
    """TCP proxy to ``127.0.0.1:target_port`` whose server-to-client bytes wait ``delay_s``.

    Runs its own event loop in a daemon thread; ``delay_s`` may change at any time.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.delay_s = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SlowProxy:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("SlowProxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, slow: bool):
            try:
                while data := await reader.read(65536):
                    if slow and self.delay_s > 0:
                        await asyncio.sleep(self.delay_s)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
            except OSError:
                writer.close()
                return
            pair = [
                asyncio.create_task(pipe(reader, up_writer, False)),
                asyncio.create_task(pipe(up_reader, writer, True)),
            ]
            tasks.update(pair)
            await asyncio.wait(pair, return_when=asyncio.FIRST_COMPLETED)
            for task in pair:
                task.cancel()
                tasks.discard(task)

        server = await asyncio.start_server(on_client, HOST, 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(tasks):
                task.cancel()
            await server.wait_closed()
