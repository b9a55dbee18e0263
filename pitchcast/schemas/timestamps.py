"""Timestamps as records carry them."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now_iso"]


def utc_now_iso() -> str:
    """Now, as an ISO 8601 UTC timestamp with a Z suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
