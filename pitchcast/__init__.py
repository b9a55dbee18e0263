"""pitchcast: live K League match events in, Korean AI commentary out, on Kafka."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
