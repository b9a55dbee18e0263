"""The misbehaviours the test-double LLM server (:mod:`.fake_llm`) can be scripted with.

:meth:`~pitchcast.testing.fake_llm.FakeLLMServer.script` queues :class:`Fault` values
that the next chat requests consume in order; :func:`error_object` is the ``error``
object of an error body or event, in vLLM's shape or RunPod's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["DEFAULT_RANDOM_FAULTS", "FAULT_KINDS", "Fault", "FaultKind", "error_object"]

FaultKind = Literal[
    "status",  # an HTTP error status (``status``, default 500), JSON error body
    "rate_limit",  # 429 with a Retry-After header (``retry_after`` seconds)
    "hang",  # read the request, answer nothing for ``delay_s`` (default: until stop)
    "slow",  # a valid answer, paced with ``ttft_s`` / ``tpot_s`` of the fault (and no
    # faster than the engine: on a timed profile each token waits for both)
    "garbage",  # 200 with a body (or SSE data) that is not JSON
    "cut_stream",  # stream ``after_tokens`` tokens, then drop the connection
    "malformed",  # a completion whose content breaks the format (unclosed JSON)
    "wrong_count",  # a valid answer without its last line
    "extra_line",  # a valid answer plus a line for a row that does not exist
    "unknown_row",  # the last line renumbered to a row that does not exist
    "bad_tone",  # the first line with a tone outside the closed set
    "invented_name",  # ``name`` written out in the first line (a roster name, say)
    "unknown_ref",  # the first line uses a reference no table defines ({P99})
    "untold",  # a scoring shot or a card told by its type alone (슈팅을 날립니다)
    # HTTP 200, ``after_tokens`` tokens, then an error event in the stream (vLLM's shape:
    # ``data: {"error": {...}}``) of class ``status``; ``null_code`` as RunPod sends it.
    # Not streamed: the error object in a 200 body.
    "stream_error",
]

FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
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


# vLLM's error ``type`` per status (its OpenAI server names them after the HTTP class).
_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


def error_object(status: int, message: str, fault: Fault | None = None) -> dict[str, Any]:
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
