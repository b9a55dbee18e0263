"""Process and port helpers of the local stack: detached starts, PID files, signals.

Nothing here keeps state; :mod:`.kafka_broker`, :mod:`.redis_server` and :mod:`.stack`
build on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from pitchcast.exceptions import StackError

__all__ = [
    "HOST",
    "INSTALL_HINTS",
    "Echo",
    "accepts",
    "alive",
    "argv_of",
    "last_lines",
    "live_pid",
    "port_free",
    "port_owner",
    "read_text",
    "require_tool",
    "run_coroutine",
    "run_tool",
    "send_signal",
    "spawn_detached",
    "tool_output",
    "wait_gone",
]

Echo = Callable[[str], None]
_T = TypeVar("_T")

HOST = "127.0.0.1"

INSTALL_HINTS = {
    "java": "apt-get install -y openjdk-17-jre-headless",
    "mvn": "apt-get install -y maven",
    "redis-server": "apt-get install -y redis-server",
}


def require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(
            f"`{name}` is not installed (needed for {purpose}). Install it: {INSTALL_HINTS[name]}"
        )
    return path


def spawn_detached(command: list[str], log: Path, *, cwd: Path) -> int:
    """Start ``command`` in its own session, not as our child; return its PID.

    A shell starts it in the background and exits at once, so the process is adopted by
    init: it outlives us, never becomes our zombie, and we never hold a Popen for it.
    """
    script = '"$@" >>"$0" 2>&1 </dev/null & echo $!'
    result = run_tool(
        ["/bin/sh", "-c", script, str(log), *command], cwd=cwd, timeout_s=30, new_session=True
    )
    try:
        return int(result.stdout.strip())
    except ValueError:
        raise StackError(f"could not start {command[0]}: {result.stderr.strip()}") from None


def live_pid(pidfile: Path, is_ours: Callable[[list[str]], bool]) -> int | None:
    """The PID in ``pidfile`` if that process is alive and ``is_ours`` accepts its argv."""
    try:
        pid = int(pidfile.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    if pid <= 1 or not alive(pid):
        return None
    argv = argv_of(pid)
    if argv is None or not is_ours(argv):
        return None
    return pid


def argv_of(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it happens to be our child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # Field 3, after the parenthesised command name, is the state; Z and X are dead.
    state = stat.rpartition(")")[2].split()[:1]
    return bool(state) and state[0] not in ("Z", "X")


def send_signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers do, so a port in TIME_WAIT after `down` counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def accepts(port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def port_owner(port: int) -> tuple[int, str] | None:
    """The process listening on ``port`` (best effort, from /proc), as (pid, command)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name), describe_argv(argv_of(int(proc.name)) or ["?"])
    return None


def describe_argv(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("-Dpitchcast.stack.dir="):
            return f"the Kafka broker of the pitchcast stack in {arg.partition('=')[2]}"
    return " ".join(argv)[:120]


def run_tool(
    command: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    input: str | None = None,
    new_session: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a short-lived tool to its end, its output captured as text; its stdin is
    ``input`` or nothing. The caller reads the exit status (nothing raised for it);
    ``subprocess.TimeoutExpired`` after ``timeout_s``."""
    return subprocess.run(
        list(command),
        cwd=cwd,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        start_new_session=new_session,
    )


def tool_output(
    result: subprocess.CompletedProcess[str], count: int, *, hide: Iterable[str] = ()
) -> str:
    """The last ``count`` lines a finished tool wrote (stdout, then stderr), each of
    ``hide`` (passwords it was given) masked."""
    output = last_lines(result.stdout + result.stderr, count)
    for secret in hide:
        output = output.replace(secret, "****")
    return output


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def last_lines(text: str, count: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:]) if lines else "(no output)"


def run_coroutine(function: Callable[..., Awaitable[_T]], *args: object) -> _T:
    """Run ``function(*args)`` to completion, also when the caller already runs a loop."""

    async def main() -> _T:
        return await function(*args)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # asyncio.run refuses to nest; a helper thread has no loop of its own yet.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pitchcast-stack") as pool:
        return pool.submit(asyncio.run, main()).result()
