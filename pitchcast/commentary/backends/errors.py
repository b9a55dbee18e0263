"""How pitchcast reads an LLM endpoint's errors. Pure.

By HTTP status first: 408 is a timeout, 429 a rate limit (``Retry-After`` honoured,
:func:`parse_retry_after`), 5xx an outage, and any other 4xx (400, 401, 403, 404,
422...) a refusal: the endpoint is up and this request is wrong, so it is neither
retried nor counted against the endpoint's breaker. RunPod's worker-vllm wraps vLLM
errors as ``{"error": {..., "code": null}}`` with the right HTTP status, so the status,
never the body's ``code``, decides for an HTTP error.

An error *object* that arrives with a success status (an error event inside an SSE
stream once the 200 went out, or a wrapper's 200 body) has no status to go by:
:func:`error_class` reads its ``code`` when that is an HTTP status (an int or a digit
string), else the words of its ``type`` and of a non-numeric ``code`` (vLLM's
``BadRequestError`` / ``NotFoundError``, OpenAI's ``invalid_request_error``,
``context_length_exceeded``: refusals; ``RateLimitError``: a rate limit), else it is
an outage (retried): an error event that says nothing of its class comes from a
server in trouble more often than from a bad request.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Literal

__all__ = ["ErrorKind", "as_status", "error_class", "parse_retry_after", "says_context_length"]

ErrorKind = Literal["refused", "rate_limited", "timeout", "unavailable"]

# Words of an error object's ``type`` (or non-numeric ``code``) by class, lower case.
_RATE_LIMIT_WORDS = ("ratelimit", "rate_limit", "too_many_requests")
_REFUSED_WORDS = (
    "badrequest",
    "bad_request",
    "invalid_request",
    "invalidrequest",
    "notfound",
    "not_found",
    "unprocessable",
    "authentication",
    "permission",
    "context_length",
)
_TIMEOUT_WORDS = ("timeout",)


# How servers say a request is longer than the model's context: vLLM ("This model's
# maximum context length is 4096 tokens. However, you requested ..."), OpenAI's code.
_CONTEXT_LENGTH_WORDS = ("maximum context length", "context_length_exceeded")


def says_context_length(text: str) -> bool:
    """Whether a refusal's text says the prompt does not fit the model's context."""
    lowered = text.lower()
    return any(words in lowered for words in _CONTEXT_LENGTH_WORDS)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def as_status(value: Any) -> int | None:
    """An HTTP error status from an error object's ``code``: an int or digit string in
    400..599; anything else (None, "context_length_exceeded") is not a status."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 400 <= value <= 599:
        return value
    return None


def error_class(error: Any) -> tuple[ErrorKind, int | None]:
    """``(kind, status)`` of an error object (a stream event's or a body's ``error``):
    kind is ``refused``, ``rate_limited``, ``timeout`` or ``unavailable``.

    By ``code`` (or ``status``) when it is an HTTP status; else by the words of
    ``type`` and a non-numeric ``code``; else an outage. RunPod's worker sends
    ``code: null`` with vLLM's ``type`` kept, so the type is what tells a refusal.
    """
    if not isinstance(error, dict):
        return "unavailable", None
    status = as_status(error.get("code"))
    if status is None:
        status = as_status(error.get("status"))
    if status is not None:
        if status == 429:
            return "rate_limited", status
        if status == 408:
            return "timeout", status
        if status < 500:
            return "refused", status
        return "unavailable", status
    words = " ".join(
        str(value).lower().replace(" ", "")
        for value in (error.get("type"), error.get("code"))
        if isinstance(value, str)
    )
    if any(word in words for word in _RATE_LIMIT_WORDS):
        return "rate_limited", None
    if any(word in words for word in _REFUSED_WORDS):
        return "refused", None
    if any(word in words for word in _TIMEOUT_WORDS):
        return "timeout", None
    return "unavailable", None
