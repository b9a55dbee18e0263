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


def test_counts_read_as_english() -> None:
    """`dlq list` ends with "1 dead letter in ...", not "1 dead letters"."""
    from pitchcast.cli.dlq import _dead_letters

    assert [_dead_letters(n) for n in (0, 1, 2)] == [
        "0 dead letters", "1 dead letter", "2 dead letters",
    ]  # fmt: skip
