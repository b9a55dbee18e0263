"""`pitchcast dlq` options as an operator types them (no broker: refused before reading)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pitchcast.cli import main


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_one_is_refused(limit: str) -> None:
    """`dlq list --limit N` shows the newest N: 0 listed every letter and -1 every letter
    but the oldest, silently."""
    result = CliRunner().invoke(main, ["dlq", "list", "--limit", limit])
    assert result.exit_code == 2, result.output
    assert "--limit" in result.output
