"""A small HTTP/1.1 server on asyncio streams, serving from its own thread (test doubles).

Just enough HTTP for httpx and curl: keep-alive, Content-Length request bodies, chunked
or Content-Length responses. Subclasses answer in :meth:`MiniHTTPServer._dispatch`;
:meth:`MiniHTTPServer.start` runs the server in a daemon thread with its own event loop
(or :meth:`MiniHTTPServer.serve_forever` in the caller's loop). Slow and hanging
answers do not hold up other connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from types import TracebackType
from typing import Any, Self

__all__ = ["MiniHTTPServer", "Request"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_MAX_HEAD_BYTES = 64 * 1024


class Request:
    """One HTTP request as read: method, path, query string, lower-case headers, body."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.query = query


class MiniHTTPServer:
    """Serves :meth:`_dispatch` on ``host:port`` (0 = any free port, set once listening)."""

    thread_name = "mini-http-server"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    def start(self, timeout_s: float = 10.0) -> Self:
        """Serve from a daemon thread; return once the port is listening."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run_in_thread, name=self.thread_name, daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError(f"{type(self).__name__} did not start in time")
        if self._start_error is not None:
            raise RuntimeError(f"{type(self).__name__} could not start") from self._start_error
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving: hanging requests are dropped, the thread ends."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run_in_thread(self) -> None:
        try:
            asyncio.run(self.serve_forever())
        except BaseException as exc:  # surfaced by start()
            self._start_error = exc
            self._ready.set()

    async def serve_forever(self) -> None:
        """Serve in the running event loop until :meth:`stop` (or cancellation)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=_MAX_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            await self._on_stop()

    async def _on_stop(self) -> None:
        """Called last when serving ends (subclasses release what they started)."""

    # --- HTTP plumbing -------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                keep_open = await self._dispatch(request, writer)
                if not keep_open or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        except asyncio.CancelledError:
            # stop() cancels open connections; ending quietly keeps asyncio's stream
            # callback from reporting the cancellation as an error.
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3:
            return None
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        path, _, query = parts[1].partition("?")
        return Request(parts[0].upper(), path, headers, body, query)

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer ``request``; True keeps the connection open for the next one."""
        raise NotImplementedError

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_body(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> bool:
        headers = {"content-type": content_type, "content-length": str(len(body))}
        headers.update(extra_headers or {})
        await self._write(writer, self._head(status, headers) + body)
        return True

    async def _send_json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> bool:
        data = json.dumps(body, ensure_ascii=False).encode()
        return await self._send_body(writer, status, data, "application/json", extra_headers)

    async def _send_error(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        message: str,
        extra_headers: dict[str, str] | None = None,
    ) -> bool:
        kind = {400: "BadRequestError", 404: "NotFoundError", 409: "ConflictError"}
        error_type = kind.get(status, "InternalServerError" if status >= 500 else "Error")
        if status == 429:
            error_type = "RateLimitError"
        body = {"error": {"message": message, "type": error_type, "param": None, "code": status}}
        return await self._send_json(writer, status, body, extra_headers)
