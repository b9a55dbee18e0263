"""FakeLLMServer: a TEST DOUBLE of an OpenAI-compatible chat-completions server.

It is not a model. It reads the batch out of the prompt pitchcast sends
(:mod:`pitchcast.commentary.prompt`), writes valid commentary for it from phrase
tables, in the format the request asks for (``n|tone|text`` lines, or the
``{"lines": [[n, tone, text], ...]}`` JSON when ``response_format`` is set), with
``{P1}`` / ``{T1}`` references, and sends it like vLLM does: SSE chunks when
``stream`` is true (usage in a last chunk when ``stream_options.include_usage``),
one JSON body otherwise. Repair turns are understood: only the rows asked for in the
last ``[요청]`` line are written.

Timing is that of real tokens: the answer is cut into Qwen2.5 tokens (the
``qwen.tiktoken`` vocabulary shipped in the ``dashscope`` wheel, loaded offline by
tiktoken; about chars / 1.1 when those are not installed), sent after ``ttft_s`` and
then one every ``tpot_s``. Defaults are 0 (tests); a 7-8B model on a loaded A40 is
about ``ttft_s=0.22, tpot_s=0.036``. ``max_tokens`` is honoured (``finish_reason:
"length"``).

Faults are scripted per request: :meth:`FakeLLMServer.script` queues :class:`Fault`
values (``None`` = a normal answer) that the next chat requests consume in order; when
the queue is empty, ``fault_rate`` picks a fault from ``random_faults`` with a seeded
RNG. Every chat request is counted and recorded (:attr:`FakeLLMServer.request_count`,
:attr:`FakeLLMServer.requests`).

In a test::

    with FakeLLMServer() as server:
        server.script(Fault("status", status=500), None)
        ...  # point the backend at server.base_url

From a shell (the demo, benchmarks)::

    python -m pitchcast.testing.fake_llm --port 8000 --ttft 0.22 --tpot 0.036

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies, chunked responses)
for httpx and curl; it is built on asyncio streams so hanging and slow answers do not
hold up other requests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import codecs
import contextlib
import csv
import functools
import importlib.util
import io
import itertools
import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pitchcast.commentary.prompt import (
    LINE_CHARS,
    SECTION_ACTIONS,
    SECTION_PLAYERS,
    SECTION_REQUEST,
    SECTION_TEAMS,
    parse_rows,
)

__all__ = [
    "DEFAULT_RANDOM_FAULTS",
    "FakeLLMServer",
    "Fault",
    "FaultKind",
    "count_tokens",
    "main",
    "qwen_encoding",
    "split_tokens",
]

FaultKind = Literal[
    "status",  # an HTTP error status (``status``, default 500), JSON error body
    "rate_limit",  # 429 with a Retry-After header (``retry_after`` seconds)
    "hang",  # read the request, answer nothing for ``delay_s`` (default: until stop)
    "slow",  # a valid answer, paced with ``ttft_s`` / ``tpot_s`` of the fault
    "garbage",  # 200 with a body (or SSE data) that is not JSON
    "cut_stream",  # stream ``after_tokens`` tokens, then drop the connection
    "malformed",  # a completion whose content breaks the format (unclosed JSON)
    "wrong_count",  # a valid answer without its last line
    "extra_line",  # a valid answer plus a line for a row that does not exist
    "unknown_row",  # the last line renumbered to a row that does not exist
    "bad_tone",  # the first line with a tone outside the closed set
    "invented_name",  # ``name`` written out in the first line (a roster name, say)
    "unknown_ref",  # the first line uses a reference no table defines ({P99})
    # HTTP 200, ``after_tokens`` tokens, then an error event in the stream (vLLM's shape:
    # ``data: {"error": {...}}``) of class ``status``; ``null_code`` as RunPod sends it.
    # Not streamed: the error object in a 200 body.
    "stream_error",
]

DEFAULT_RANDOM_FAULTS: tuple[FaultKind, ...] = ("status", "rate_limit", "wrong_count", "malformed")


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, applied to one chat-completions request."""

    kind: FaultKind
    status: int = 500
    retry_after: float | None = 1.0
    delay_s: float | None = None
    ttft_s: float | None = None
    tpot_s: float | None = None
    after_tokens: int = 5
    name: str = "이동국"
    # For "status": put the request's Authorization header in the error body, as a
    # careless proxy would (checks that clients never repeat what the server echoes).
    echo_headers: bool = False
    # For "status" and "stream_error": the error object's ``code`` is null (RunPod's
    # worker-vllm wraps vLLM errors so), and its ``type`` is ``error_type`` or vLLM's
    # name for ``status`` (BadRequestError, NotFoundError, InternalServerError...).
    null_code: bool = False
    error_type: str | None = None


# --- Qwen2.5 tokens ------------------------------------------------------------

# Pre-tokenizer split of Qwen2.5 (as in its tokenizer config): contractions, letter runs
# with one leading non-letter, single digits, punctuation runs, newlines, spaces.
_QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


@functools.cache
def qwen_encoding() -> Any | None:
    """The Qwen2.5 BPE as a ``tiktoken.Encoding``, loaded offline; None if unavailable."""
    try:
        import tiktoken
    except ImportError:
        return None
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        return None
    vocab = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not vocab.is_file():
        return None
    ranks: dict[bytes, int] = {}
    for line in vocab.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        "qwen2.5", pat_str=_QWEN_SPLIT, mergeable_ranks=ranks, special_tokens={}
    )


def _estimated_count(text: str) -> int:
    return math.ceil(len(text) / 1.1) if text else 0


def count_tokens(text: str) -> int:
    """Qwen2.5 tokens in ``text`` (an estimate of chars / 1.1 without the vocabulary)."""
    encoding = qwen_encoding()
    if encoding is None:
        return _estimated_count(text)
    return len(encoding.encode(text, disallowed_special=()))


def split_tokens(text: str) -> list[str]:
    """``text`` cut where its tokens end; a token that ends inside a character adds an
    empty piece, so ``len(result)`` is the token count and ``"".join(result) == text``."""
    encoding = qwen_encoding()
    if encoding is None:
        count = _estimated_count(text)
        bounds = [round(i * len(text) / count) for i in range(count + 1)] if count else [0]
        return [text[a:b] for a, b in itertools.pairwise(bounds)]
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces = []
    for token in encoding.encode(text, disallowed_special=()):
        pieces.append(decoder.decode(encoding.decode_single_token_bytes(token)))
    tail = decoder.decode(b"", final=True)
    if tail:
        pieces.append(tail)
    return pieces


# --- reading pitchcast's prompt ------------------------------------------------------


@dataclass(slots=True)
class _PromptBatch:
    teams: dict[str, str] = field(default_factory=dict)
    players: dict[str, str] = field(default_factory=dict)
    actions: list[dict[str, str]] = field(default_factory=list)


_SECTION_RE = re.compile(r"^\[[^\]]+\]")
_REQUEST_RE = re.compile(re.escape(SECTION_REQUEST) + r"\s*([\d~,\s]+)번")
_LENGTH_RE = re.compile(r"(\d+)~(\d+)자")


def _csv_section(lines: list[str], header: str) -> list[dict[str, str]]:
    try:
        start = lines.index(header)
    except ValueError:
        return []
    block = []
    for line in lines[start + 1 :]:
        if _SECTION_RE.match(line):
            break
        block.append(line)
    return list(csv.DictReader(io.StringIO("\n".join(block))))


def _parse_prompt(text: str) -> _PromptBatch | None:
    lines = text.split("\n")
    if SECTION_ACTIONS not in lines:
        return None
    batch = _PromptBatch()
    batch.teams = {r["ref"]: r.get("name", "") for r in _csv_section(lines, SECTION_TEAMS)}
    batch.players = {r["ref"]: r.get("name", "") for r in _csv_section(lines, SECTION_PLAYERS)}
    batch.actions = _csv_section(lines, SECTION_ACTIONS)
    return batch


def _requested_rows(messages: Sequence[dict[str, Any]], batch: _PromptBatch) -> list[int]:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        match = _REQUEST_RE.search(str(message.get("content", "")))
        if match:
            return parse_rows(match.group(1))
    return list(range(1, len(batch.actions) + 1))


# --- writing commentary --------------------------------------------------------------

# Per K League type: (polite broadcast phrase, casual phrase). ``{p}`` is the player
# reference with a particle (이/가 picked at random: pitchcast fixes it), ``{t}`` the team,
# ``{zone}`` and ``{way}`` come from the coordinates.
_PHRASES: dict[str, tuple[str, str]] = {
    "Pass": ("{p} {zone}에서 {way} 패스를 보냅니다", "{p} {zone}에서 {way} 패스 줬어"),
    "Pass Received": ("{p} {zone}에서 공을 받아 냅니다", "{p} {zone}에서 받았어"),
    "Ball Received": ("{p} 흘러나온 공을 잡아 냅니다", "{p} 흐른 공 잡았어"),
    "Carry": ("{p} 공을 몰고 {way} 전진합니다", "{p} 공 몰고 {way} 치고 나가"),
    "Cross": ("{p} {zone}에서 크로스를 올립니다", "{p} 크로스 올렸어"),
    "Shot": ("{p} 과감하게 슈팅을 날립니다", "{p} 슛 때렸어"),
    "Goal": ("골입니다! {t} 환호합니다", "골! {t} 난리 났어"),
    "Own Goal": ("아, 자책골이 나옵니다", "헐, 자책골이야"),
    "Tackle": ("{p} 태클로 공을 빼앗으려 합니다", "{p} 태클 들어갔어"),
    "Interception": ("{p} 패스를 끊어 냅니다", "{p} 패스 끊었어"),
    "Recovery": ("{p} 공을 되찾아 옵니다", "{p} 공 다시 찾아왔어"),
    "Clearance": ("{p} 위험 지역에서 걷어 냅니다", "{p} 일단 걷어냈어"),
    "Duel": ("{p} 몸싸움을 벌입니다", "{p} 몸싸움 붙었어"),
    "Foul": ("{p} 반칙을 범합니다", "{p} 파울했어"),
    "Throw-In": ("{p} 스로인으로 다시 시작합니다", "{p} 스로인 던졌어"),
    "Goal Kick": ("{p} 골킥으로 길게 찹니다", "{p} 골킥 길게 찼어"),
    "Out": ("공이 라인 밖으로 나갑니다", "공 밖으로 나갔어"),
    "Block": ("{p} 몸을 던져 막아 냅니다", "{p} 몸으로 막았어"),
    "Take-On": ("{p} 수비를 앞에 두고 드리블합니다", "{p} 드리블로 제치려 해"),
    "Catch": ("{p} 공을 안전하게 잡아 냅니다", "{p} 깔끔하게 잡았어"),
    "Offside": ("오프사이드 깃발이 올라갑니다", "오프사이드 걸렸어"),
}
_DEFAULT_PHRASE = ("{p} 공을 다룹니다", "{p} 공 잡고 있어")
_FILLERS = (
    (" 관중석이 술렁입니다", " 관중석 난리야"),
    (" 흐름이 이어집니다", " 흐름 좋다"),
    (" 침착한 판단이네요", " 침착하네"),
    (" {t}의 공격이 계속됩니다", " {t} 계속 몰아쳐"),
)


def _zone(row: dict[str, str]) -> str:
    try:
        x, y = float(row.get("sx") or 0), float(row.get("sy") or 34)
    except ValueError:
        return "중원"
    third = "자기 진영" if x < 35 else ("중원" if x < 70 else "상대 진영")
    side = "오른쪽" if y < 20 else ("왼쪽" if y > 48 else "")
    return f"{side} {third}".strip()


def _way(row: dict[str, str]) -> str:
    try:
        dx = float(row.get("ex") or row.get("sx") or 0) - float(row.get("sx") or 0)
    except ValueError:
        return "옆으로"
    if dx > 10:
        return "앞으로 길게"
    if dx > 0:
        return "앞으로"
    return "뒤로" if dx < -3 else "옆으로"


def _tone(row: dict[str, str], casual: bool) -> str:
    kind, result = row.get("type", ""), row.get("result", "")
    if kind in ("Goal", "Own Goal") or result == "Goal":
        return "excited"
    if kind.startswith("Shot") and result == "On Target":
        return "excited"
    if kind in ("Foul", "Handball_Foul", "Tackle", "Offside") or "Card" in result:
        return "tense"
    if result in ("Unsuccessful", "Off Target", "Blocked"):
        return "disappointed"
    return "playful" if casual else "calm"


def _line_text(
    row: dict[str, str], casual: bool, length: tuple[int, int], rng: random.Random
) -> str:
    player = row.get("player") or ""
    team = row.get("team") or "T1"
    who = f"{{{player}}}{rng.choice(('이', '가'))}" if player else f"{{{team}}}"
    phrase = _PHRASES.get(row.get("type", ""), _DEFAULT_PHRASE)[1 if casual else 0]
    text = phrase.format(p=who, t=f"{{{team}}}", zone=_zone(row), way=_way(row))
    low, high = length
    target = rng.randint(low, high)
    for filler in itertools.islice(itertools.cycle(rng.sample(_FILLERS, len(_FILLERS))), 4):
        if len(text) >= target:
            break
        addition = filler[1 if casual else 0].format(t=f"{{{team}}}")
        if len(text) + len(addition) + 1 > high:
            break
        text += "," + addition
    return text + ("!" if casual else ".")


def _write_lines(
    batch: _PromptBatch, rows: list[int], *, casual: bool, length: tuple[int, int], seed: int
) -> list[list[Any]]:
    rng = random.Random(seed)
    lines: list[list[Any]] = []
    for row in rows:
        if 1 <= row <= len(batch.actions):
            action = batch.actions[row - 1]
            lines.append([row, _tone(action, casual), _line_text(action, casual, length, rng)])
    return lines


def _apply_content_fault(lines: list[list[Any]], fault: Fault | None) -> list[list[Any]]:
    if fault is None or not lines:
        return lines
    lines = [list(line) for line in lines]
    if fault.kind == "wrong_count":
        lines.pop()
    elif fault.kind == "extra_line":
        lines.append([max(line[0] for line in lines) + 50, "calm", "추가로 한 줄 더 씁니다."])
    elif fault.kind == "unknown_row":
        lines[-1][0] = lines[-1][0] + 90
    elif fault.kind == "bad_tone":
        lines[0][1] = "happy"
    elif fault.kind == "invented_name":
        lines[0][2] = f"{fault.name} 선수가 {lines[0][2]}"
    elif fault.kind == "unknown_ref":
        lines[0][2] = "{P99}가 " + lines[0][2]
    return lines


def _render(lines: list[list[Any]], *, structured: bool, fault: Fault | None) -> str:
    if structured:
        text = json.dumps({"lines": lines}, ensure_ascii=False, separators=(",", ":"))
    else:
        text = "\n".join(f"{n}|{tone}|{body}" for n, tone, body in lines)
    if fault is not None and fault.kind == "malformed":
        # An answer that stops mid-item and forgets its separators.
        return '{"lines":[[1,"calm" "' + text.replace("|", " ")[:40]
    return text


# --- the HTTP server -------------------------------------------------------------------

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_MAX_HEAD_BYTES = 64 * 1024
# vLLM's error ``type`` per status (its OpenAI server names them after the HTTP class).
_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


def _error_object(status: int, message: str, fault: Fault | None = None) -> dict[str, Any]:
    """The ``error`` object of an error body or event: vLLM's shape, or RunPod's
    (``code`` null) when the fault says so."""
    default_type = _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "Error")
    error_type = fault.error_type if fault is not None and fault.error_type else default_type
    null_code = fault is not None and fault.null_code
    return {
        "message": message,
        "type": error_type,
        "param": None,
        "code": None if null_code else status,
    }


class _Request:
    __slots__ = ("body", "headers", "method", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class FakeLLMServer:
    """A TEST DOUBLE of an OpenAI-compatible LLM server (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ttft_s: float = 0.0,
        tpot_s: float = 0.0,
        model: str | None = None,
        fault_rate: float = 0.0,
        random_faults: Sequence[FaultKind] = DEFAULT_RANDOM_FAULTS,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.model = model
        self._defaults = (ttft_s, tpot_s, fault_rate, seed)
        self.ttft_s = ttft_s
        self.tpot_s = tpot_s
        self.fault_rate = fault_rate
        self.random_faults: tuple[FaultKind, ...] = tuple(random_faults)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._script: deque[Fault | None] = deque()
        self._request_count = 0
        self._requests: list[dict[str, Any]] = []
        self._arrivals: list[float] = []  # time.monotonic() of each chat request
        self._faults_applied: list[FaultKind | None] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for ``PITCHCAST_LLM_BASE_URL``."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout_s: float = 10.0) -> FakeLLMServer:
        """Serve from a daemon thread; return once the port is listening."""
        if self._thread is not None:
            raise RuntimeError("FakeLLMServer is already started")
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run_in_thread, name="fake-llm-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("FakeLLMServer did not start in time")
        if self._start_error is not None:
            raise RuntimeError("FakeLLMServer could not start") from self._start_error
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

    def __enter__(self) -> FakeLLMServer:
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

    # --- scripting and observations ---------------------------------------------------

    def script(self, *faults: Fault | None) -> None:
        """Queue what the next chat requests get, one entry each (None = normal answer)."""
        with self._lock:
            self._script.extend(faults)

    def set_pacing(self, *, ttft_s: float | None = None, tpot_s: float | None = None) -> None:
        """Change the time to first token and the time per output token."""
        if ttft_s is not None:
            self.ttft_s = ttft_s
        if tpot_s is not None:
            self.tpot_s = tpot_s

    def reset(self) -> None:
        """Back to the constructor's pacing, fault rate and seed; script and records cleared."""
        ttft_s, tpot_s, fault_rate, seed = self._defaults
        with self._lock:
            self._script.clear()
            self._request_count = 0
            self._requests.clear()
            self._arrivals.clear()
            self._faults_applied.clear()
            self.ttft_s, self.tpot_s, self.fault_rate = ttft_s, tpot_s, fault_rate
            self._rng = random.Random(seed)

    @property
    def request_count(self) -> int:
        """Chat-completions requests received (``GET /v1/models`` is not counted)."""
        with self._lock:
            return self._request_count

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def arrivals(self) -> list[float]:
        """``time.monotonic()`` at which each request of :attr:`requests` arrived."""
        with self._lock:
            return list(self._arrivals)

    @property
    def faults_applied(self) -> list[FaultKind | None]:
        """The fault kind each chat request got (None = normal answer)."""
        with self._lock:
            return list(self._faults_applied)

    def pending_script(self) -> int:
        """Scripted entries not consumed yet."""
        with self._lock:
            return len(self._script)

    def _next_fault(self, payload: dict[str, Any]) -> Fault | None:
        with self._lock:
            self._request_count += 1
            self._requests.append(payload)
            self._arrivals.append(time.monotonic())
            if self._script:
                fault = self._script.popleft()
            elif self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                fault = Fault(self._rng.choice(self.random_faults), retry_after=0.1)
            else:
                fault = None
            self._faults_applied.append(fault.kind if fault else None)
            return fault

    # --- HTTP -----------------------------------------------------------------------------

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

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request | None:
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
        return _Request(parts[0].upper(), parts[1].split("?", 1)[0], headers, body)

    async def _dispatch(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        path = request.path.rstrip("/")
        if path == "/v1/models":
            if request.method != "GET":
                return await self._send_error(writer, 405, "use GET")
            listed = self.model or "pitchcast-fake-llm"
            body = {
                "object": "list",
                "data": [{"id": listed, "object": "model", "owned_by": "fake"}],
            }
            return await self._send_json(writer, 200, body)
        if path == "/v1/chat/completions":
            if request.method != "POST":
                return await self._send_error(writer, 405, "use POST")
            return await self._chat(request, writer)
        return await self._send_error(writer, 404, f"no route {request.path}")

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
        fault: Fault | None = None,
    ) -> bool:
        body = {"error": _error_object(status, message, fault)}
        return await self._send_json(writer, status, body, extra_headers)

    # --- chat completions ---------------------------------------------------------------

    async def _chat(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        try:
            payload = json.loads(request.body)
        except ValueError:
            return await self._send_error(writer, 400, "body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            return await self._send_error(writer, 400, "messages must be a list")
        fault = self._next_fault(payload)
        if self.model is not None and payload.get("model") != self.model:
            return await self._send_error(
                writer, 404, f"The model `{payload.get('model')}` does not exist."
            )

        if fault is not None and fault.kind == "status":
            message = f"fake failure {fault.status}"
            if fault.echo_headers:
                auth = request.headers.get("authorization", "")
                message = f"bad credentials: authorization={auth!r}; {message}"
            return await self._send_error(writer, fault.status, message, fault=fault)
        if fault is not None and fault.kind == "rate_limit":
            extra = {}
            if fault.retry_after is not None:
                extra["retry-after"] = f"{fault.retry_after:g}"
            return await self._send_error(writer, 429, "too many requests", extra)
        if fault is not None and fault.kind == "hang":
            if fault.delay_s is None:
                await asyncio.Event().wait()  # until stop() cancels this connection
            else:
                await asyncio.sleep(fault.delay_s)
            return False  # close without an answer
        stream = bool(payload.get("stream"))
        if fault is not None and fault.kind == "garbage":
            if stream:
                await self._write(
                    writer,
                    self._head(200, {"content-type": "text/event-stream", "connection": "close"})
                    + b"data: <html>this is not json</html>\n\n",
                )
                return False
            return await self._send_body(writer, 200, b"<html>502 upstream</html>", "text/html")

        content = self._answer(payload, fault)
        pieces = split_tokens(content)
        max_tokens = payload.get("max_tokens")
        finish_reason = "stop"
        if isinstance(max_tokens, int) and 0 < max_tokens < len(pieces):
            pieces, finish_reason = pieces[:max_tokens], "length"
        usage = {
            "prompt_tokens": self._prompt_tokens(payload["messages"]),
            "completion_tokens": len(pieces),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        ttft = (
            fault.ttft_s
            if fault and fault.kind == "slow" and fault.ttft_s is not None
            else self.ttft_s
        )
        tpot = (
            fault.tpot_s
            if fault and fault.kind == "slow" and fault.tpot_s is not None
            else self.tpot_s
        )
        model = str(payload.get("model") or self.model or "pitchcast-fake-llm")
        completion_id = f"chatcmpl-fake-{self.request_count}"
        if not stream and fault is not None and fault.kind == "stream_error":
            # Not streamed: the error object in a 200 body (a wrapper that does that).
            error_body = {"error": _error_object(fault.status, "fake error body", fault)}
            return await self._send_json(writer, 200, error_body)
        if not stream:
            await asyncio.sleep(ttft + tpot * max(len(pieces) - 1, 0))
            body = {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(pieces)},
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": usage,
            }
            return await self._send_json(writer, 200, body)
        cut_after = (
            fault.after_tokens if fault and fault.kind in ("cut_stream", "stream_error") else None
        )
        error = None
        if fault is not None and fault.kind == "stream_error":
            error = _error_object(fault.status, f"fake error event {fault.status}", fault)
        include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        return await self._stream(
            writer,
            completion_id,
            model,
            pieces,
            finish_reason,
            usage if include_usage else None,
            ttft,
            tpot,
            cut_after,
            error,
        )

    def _prompt_tokens(self, messages: list[Any]) -> int:
        # Content tokens plus the chat template's few tokens per message.
        total = 3
        for message in messages:
            if isinstance(message, dict):
                total += 4 + count_tokens(str(message.get("content") or ""))
        return total

    def _answer(self, payload: dict[str, Any], fault: Fault | None) -> str:
        messages = payload["messages"]
        system = next(
            (str(m.get("content", "")) for m in messages if m.get("role") == "system"), ""
        )
        first_user = next(
            (str(m.get("content", "")) for m in messages if m.get("role") == "user"), ""
        )
        batch = _parse_prompt(first_user)
        if batch is None:
            return "네"  # a warm-up or any other prompt: one short token
        casual = "반말" in system
        match = _LENGTH_RE.search(system)
        length = (int(match.group(1)), int(match.group(2))) if match else LINE_CHARS
        rows = _requested_rows(messages, batch)
        response_format = payload.get("response_format") or {}
        structured = response_format.get("type") in ("json_schema", "json_object")
        seed = len(first_user) * 31 + sum(rows)
        lines = _write_lines(batch, rows, casual=casual, length=length, seed=seed)
        return _render(_apply_content_fault(lines, fault), structured=structured, fault=fault)

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        completion_id: str,
        model: str,
        pieces: list[str],
        finish_reason: str,
        usage: dict[str, int] | None,
        ttft: float,
        tpot: float,
        cut_after: int | None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        created = int(time.time())

        def event(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **(extra or {}),
            }
            data = b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
            return f"{len(data):x}\r\n".encode() + data + b"\r\n"

        head = self._head(
            200,
            {
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
            },
        )
        await self._write(
            writer,
            head
            + event(
                [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            ),
        )
        start = time.monotonic()
        for index, piece in enumerate(pieces):
            due = start + ttft + tpot * index
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if cut_after is not None and index >= cut_after:
                if error is not None:
                    # An error event, then the end of the stream, as vLLM does.
                    data = b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
                    done = b"data: [DONE]\n\n"
                    await self._write(
                        writer,
                        f"{len(data):x}\r\n".encode()
                        + data
                        + b"\r\n"
                        + f"{len(done):x}\r\n".encode()
                        + done
                        + b"\r\n0\r\n\r\n",
                    )
                    return True
                return False  # drop the connection mid-stream, no terminating chunk
            if piece:
                choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                await self._write(writer, event([choice]))
        if not pieces and ttft > 0:
            await asyncio.sleep(ttft)
        final = event([{"index": 0, "delta": {}, "finish_reason": finish_reason}])
        tail = event([], {"usage": usage}) if usage is not None else b""
        done = b"data: [DONE]\n\n"
        await self._write(
            writer, final + tail + f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n"
        )
        return True


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pitchcast.testing.fake_llm",
        description="A fake OpenAI-compatible LLM server (a test double, not a model).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds to the first token")
    parser.add_argument("--tpot", type=float, default=0.0, help="seconds per output token")
    parser.add_argument("--model", default=None, help="only accept this model name")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of faulty answers")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake server in the foreground until Ctrl-C."""
    args = _parse_args(argv)
    server = FakeLLMServer(
        host=args.host,
        port=args.port,
        ttft_s=args.ttft,
        tpot_s=args.tpot,
        model=args.model,
        fault_rate=args.fault_rate,
        seed=args.seed,
    )

    async def run() -> None:
        task = asyncio.create_task(server.serve_forever())
        await asyncio.to_thread(server._ready.wait)
        tokenizer = "Qwen2.5 (qwen.tiktoken)" if qwen_encoding() else "chars/1.1 estimate"
        print(
            f"fake LLM server (a test double) on {server.base_url}: ttft {args.ttft}s, "
            f"tpot {args.tpot}s, tokens: {tokenizer}",
            flush=True,
        )
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
