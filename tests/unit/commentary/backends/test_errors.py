"""How an endpoint's errors are read (backends/errors.py): statuses, error objects,
RunPod's ``code: null`` bodies, Retry-After."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from pitchcast.commentary.backends.errors import as_status, error_class, parse_retry_after


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (400, 400),
        (599, 599),
        ("429", 429),
        (" 503 ", 503),
        (399, None),
        (600, None),
        (None, None),
        (True, None),  # a bool is an int in Python, never a status
        ("context_length_exceeded", None),
        (4.0e2, None),
    ],
)
def test_a_code_is_a_status_only_when_it_is_an_http_error_status(
    value: Any, status: int | None
) -> None:
    assert as_status(value) == status


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # A numeric code (or status) decides.
        ({"code": 400, "type": "RateLimitError"}, ("refused", 400)),
        ({"code": "404"}, ("refused", 404)),
        ({"status": 422}, ("refused", 422)),
        ({"code": 429}, ("rate_limited", 429)),
        ({"code": 408}, ("timeout", 408)),
        ({"code": 500, "type": "BadRequestError"}, ("unavailable", 500)),
        ({"code": 503}, ("unavailable", 503)),
        # RunPod's worker-vllm: code null, vLLM's type kept.
        ({"message": "m", "type": "BadRequestError", "code": None}, ("refused", None)),
        ({"message": "m", "type": "NotFoundError", "code": None}, ("refused", None)),
        ({"message": "m", "type": "InternalServerError", "code": None}, ("unavailable", None)),
        ({"type": "RateLimitError", "code": None}, ("rate_limited", None)),
        # OpenAI's words in type or a non-numeric code.
        ({"type": "invalid_request_error", "code": "context_length_exceeded"}, ("refused", None)),
        ({"type": "server_error", "code": "rate_limit_exceeded"}, ("rate_limited", None)),
        ({"type": "Authentication Error"}, ("refused", None)),
        ({"type": "GatewayTimeout"}, ("timeout", None)),
        # Saying nothing of its class: an outage (retried).
        ({"message": "boom"}, ("unavailable", None)),
        ({}, ("unavailable", None)),
        ("a bare string", ("unavailable", None)),
        (None, ("unavailable", None)),
    ],
)
def test_an_error_object_is_read_by_its_code_then_its_words(
    error: Any, expected: tuple[str, int | None]
) -> None:
    assert error_class(error) == expected


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-2") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = parse_retry_after(later)
    assert waited is not None and 25.0 <= waited <= 31.0
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after(past) == 0.0
